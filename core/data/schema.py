"""Column schema of a dataset version: each column's storage type and its role in modelling."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

Role = Literal["numeric", "categorical", "datetime", "text", "id", "boolean", "target"]
ROLES: tuple[Role, ...] = ("numeric", "categorical", "datetime", "text", "id", "boolean", "target")


@dataclass(frozen=True)
class ColumnSchema:
    """One column: its name, its Arrow type as text (``int64``, ``string``...) and its role."""

    name: str
    dtype: str
    role: Role

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ColumnSchema:
        return cls(name=data["name"], dtype=data["dtype"], role=data["role"])


def schema_to_json(schema: list[ColumnSchema]) -> list[dict[str, Any]]:
    """Plain data for the store and for ``--json`` output."""
    return [column.to_dict() for column in schema]


def schema_from_json(data: list[dict[str, Any]]) -> list[ColumnSchema]:
    return [ColumnSchema.from_dict(item) for item in data]
