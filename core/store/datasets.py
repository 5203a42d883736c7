"""Datasets and their immutable versions: the Parquet file, its hash, shape and schema."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlite_utils import Database

from core.data.schema import ColumnSchema, schema_from_json, schema_to_json
from core.store import _rows
from core.store.connection import writing


@dataclass(frozen=True)
class DatasetVersion:
    """One immutable version of a dataset: a Parquet file, its hash, shape and schema."""

    id: int
    dataset_id: int
    dataset_name: str
    version: int
    content_hash: str
    artifact_path: str
    source_file_name: str | None
    row_count: int
    column_count: int
    size_bytes: int
    schema: list[ColumnSchema]
    ingest: dict[str, Any]
    parent_version_id: int | None
    recipe_id: int | None
    created_at: str

    @property
    def label(self) -> str:
        return f"{self.dataset_name} v{self.version}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "dataset_id": self.dataset_id,
            "dataset": self.dataset_name,
            "version": self.version,
            "content_hash": self.content_hash,
            "source_file_name": self.source_file_name,
            "rows": self.row_count,
            "columns": self.column_count,
            "size_bytes": self.size_bytes,
            "schema": schema_to_json(self.schema),
            "ingest": self.ingest,
            "parent_version_id": self.parent_version_id,
            "recipe_id": self.recipe_id,
            "created_at": self.created_at,
        }


@dataclass(frozen=True)
class DatasetSummary:
    """A dataset with its newest version, for lists and pickers."""

    id: int
    name: str
    created_at: str
    version_count: int
    latest: DatasetVersion

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "created_at": self.created_at,
            "versions": self.version_count,
            "latest_version": self.latest.to_dict(),
        }


@dataclass(frozen=True)
class NewDatasetVersion:
    """What a fresh import knows about the version it is about to record."""

    content_hash: str
    artifact_path: str
    source_file_name: str | None
    row_count: int
    column_count: int
    size_bytes: int
    schema: list[ColumnSchema]
    ingest: dict[str, Any] = field(default_factory=dict)
    parent_version_id: int | None = None
    recipe_id: int | None = None


# a JOIN: a version carries its dataset's name
_VERSION_SELECT = """
    SELECT v.*, d.name AS dataset_name
    FROM dataset_versions v JOIN datasets d ON d.id = v.dataset_id
"""


def _version(row: dict[str, Any]) -> DatasetVersion:
    schema = schema_from_json(json.loads(row["schema_json"]))
    return _rows.record(DatasetVersion, row, decoded={"ingest": "{}"}, schema=schema)


def _versions(db: Database, where: str | None, params: list[Any]) -> list[DatasetVersion]:
    sql = f"{_VERSION_SELECT} {f'WHERE {where}' if where else ''} ORDER BY v.dataset_id, v.version"
    return [_version(row) for row in db.query(sql, params)]


def get_version(db: Database, version_id: int) -> DatasetVersion | None:
    rows = _versions(db, "v.id = ?", [version_id])
    return rows[0] if rows else None


def versions(db: Database, dataset_id: int) -> list[DatasetVersion]:
    return _versions(db, "v.dataset_id = ?", [dataset_id])


def version_by_number(db: Database, name: str, version: int) -> DatasetVersion | None:
    rows = _versions(db, "d.name = ? AND v.version = ?", [name, version])
    return rows[0] if rows else None


def latest_version(db: Database, name: str) -> DatasetVersion | None:
    rows = _versions(db, "d.name = ?", [name])
    return rows[-1] if rows else None


def version_with_hash(db: Database, dataset_id: int, content_hash: str) -> DatasetVersion | None:
    rows = _versions(db, "v.dataset_id = ? AND v.content_hash = ?", [dataset_id, content_hash])
    return rows[0] if rows else None


def summaries(db: Database) -> list[DatasetSummary]:
    """Every dataset that has at least one version, by name."""
    latest = {v.dataset_id: v for v in _versions(db, None, [])}
    # an aggregate: one count per dataset
    counts = dict(
        db.execute("SELECT dataset_id, COUNT(*) FROM dataset_versions GROUP BY dataset_id")
    )
    return [
        DatasetSummary(
            row["id"], row["name"], row["created_at"], counts[row["id"]], latest[row["id"]]
        )
        for row in db.table("datasets").rows_where(order_by="name COLLATE NOCASE, id")
        if row["id"] in latest
    ]


def id_for_name(db: Database, name: str) -> int:
    """The id of the dataset called ``name``, creating it if it is new."""
    with writing(db):
        row = _rows.first(db.table("datasets").rows_where("name = ?", [name], select="id"))
        if row:
            return int(row["id"])
        return _rows.insert(db, "datasets", {"name": name, "created_at": _rows.now()})


def add_version(db: Database, *, dataset_id: int, new: NewDatasetVersion) -> int:
    """Record the next version number of a dataset."""
    with writing(db):
        # an aggregate: the next version number
        (latest,) = db.execute(
            "SELECT COALESCE(MAX(version), 0) FROM dataset_versions WHERE dataset_id = ?",
            [dataset_id],
        ).fetchone()
        return _rows.insert(
            db,
            "dataset_versions",
            {
                "dataset_id": dataset_id,
                "version": latest + 1,
                "content_hash": new.content_hash,
                "artifact_path": new.artifact_path,
                "source_file_name": new.source_file_name,
                "row_count": new.row_count,
                "column_count": new.column_count,
                "size_bytes": new.size_bytes,
                "schema_json": json.dumps(schema_to_json(new.schema)),
                "ingest_json": json.dumps(new.ingest),
                "parent_version_id": new.parent_version_id,
                "recipe_id": new.recipe_id,
                "created_at": _rows.now(),
            },
        )


def set_schema(db: Database, version_id: int, schema: list[ColumnSchema]) -> None:
    """Replace a version's column roles; its content and hash never change."""
    fields = {"schema": schema_to_json(schema)}
    _rows.update(db, "dataset_versions", version_id, fields, known=fields, json_fields=fields)
