"""The audit log: who did what to which entity, and when."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from core.store import _rows


@dataclass(frozen=True)
class AuditEvent:
    """Who did what to which entity, and when."""

    id: int
    at: str
    actor: str
    action: str
    entity_type: str
    entity_id: str | None
    details: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def record(
    db: Database,
    *,
    actor: str,
    action: str,
    entity_type: str,
    entity_id: str | int | None,
    details: dict[str, Any] | None = None,
) -> None:
    """Append to the audit log (inside the caller's write transaction when there is one)."""
    _rows.insert(
        db,
        "audit_events",
        {
            "at": _rows.now(),
            "actor": actor,
            "action": action,
            "entity_type": entity_type,
            "entity_id": None if entity_id is None else str(entity_id),
            "details_json": json.dumps(details or {}),
        },
    )


def events(
    db: Database, *, entity_type: str | None = None, entity_id: str | None = None, limit: int = 100
) -> list[AuditEvent]:
    """Newest events first, optionally about one entity type and id."""
    # '' filters nothing, as before
    equal = {"entity_type": entity_type or None, "entity_id": entity_id or None}
    where, params = _rows.where(equal)
    return [
        AuditEvent(
            id=row["id"],
            at=row["at"],
            actor=row["actor"],
            action=row["action"],
            entity_type=row["entity_type"],
            entity_id=row["entity_id"],
            details=_rows.loads(row["details_json"], {}),
        )
        for row in db.table("audit_events").rows_where(
            where, params, order_by="id DESC", limit=limit
        )
    ]
