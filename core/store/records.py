"""The only module that speaks SQL: named functions that read and write the studio's records."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlite_utils import Database

from core.data.schema import ColumnSchema, schema_from_json, schema_to_json
from core.store.connection import writing

ACTIVE_JOB_STATUSES = ("queued", "running")


def now() -> str:
    """The current UTC time as ISO-8601 text, the store's one time format."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _loads(text: str | None, default: Any) -> Any:
    return json.loads(text) if text else default


# ---------------------------------------------------------------- datasets


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


_VERSION_SELECT = """
    SELECT v.*, d.name AS dataset_name
    FROM dataset_versions v JOIN datasets d ON d.id = v.dataset_id
"""


def _version(row: sqlite3.Row | dict[str, Any]) -> DatasetVersion:
    row = dict(row)
    return DatasetVersion(
        id=row["id"],
        dataset_id=row["dataset_id"],
        dataset_name=row["dataset_name"],
        version=row["version"],
        content_hash=row["content_hash"],
        artifact_path=row["artifact_path"],
        source_file_name=row["source_file_name"],
        row_count=row["row_count"],
        column_count=row["column_count"],
        size_bytes=row["size_bytes"],
        schema=schema_from_json(json.loads(row["schema_json"])),
        ingest=_loads(row["ingest_json"], {}),
        parent_version_id=row["parent_version_id"],
        recipe_id=row["recipe_id"],
        created_at=row["created_at"],
    )


def _version_rows(db: Database, where: str, params: list[Any]) -> list[DatasetVersion]:
    sql = f"{_VERSION_SELECT} WHERE {where} ORDER BY v.dataset_id, v.version"
    return [_version(row) for row in db.query(sql, params)]


def get_dataset_version(db: Database, version_id: int) -> DatasetVersion | None:
    rows = _version_rows(db, "v.id = ?", [version_id])
    return rows[0] if rows else None


def dataset_versions(db: Database, dataset_id: int) -> list[DatasetVersion]:
    return _version_rows(db, "v.dataset_id = ?", [dataset_id])


def dataset_version_by_number(db: Database, name: str, version: int) -> DatasetVersion | None:
    rows = _version_rows(db, "d.name = ? AND v.version = ?", [name, version])
    return rows[0] if rows else None


def latest_dataset_version(db: Database, name: str) -> DatasetVersion | None:
    rows = _version_rows(db, "d.name = ?", [name])
    return rows[-1] if rows else None


def version_with_hash(db: Database, dataset_id: int, content_hash: str) -> DatasetVersion | None:
    rows = _version_rows(db, "v.dataset_id = ? AND v.content_hash = ?", [dataset_id, content_hash])
    return rows[0] if rows else None


def list_datasets(db: Database) -> list[DatasetSummary]:
    """Every dataset that has at least one version, by name."""
    latest = {v.dataset_id: v for v in _version_rows(db, "1 = 1", [])}
    counts = dict(
        db.execute("SELECT dataset_id, COUNT(*) FROM dataset_versions GROUP BY dataset_id")
    )
    summaries = [
        DatasetSummary(
            row["id"], row["name"], row["created_at"], counts[row["id"]], latest[row["id"]]
        )
        for row in db.query("SELECT * FROM datasets ORDER BY name COLLATE NOCASE, id")
        if row["id"] in latest
    ]
    return summaries


def dataset_id_for_name(db: Database, name: str) -> int:
    """The id of the dataset called ``name``, creating it if it is new."""
    with writing(db):
        row = db.execute("SELECT id FROM datasets WHERE name = ?", [name]).fetchone()
        if row:
            return int(row[0])
        cursor = db.execute("INSERT INTO datasets (name, created_at) VALUES (?, ?)", [name, now()])
        return int(cursor.lastrowid or 0)


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


def add_dataset_version(db: Database, *, dataset_id: int, new: NewDatasetVersion) -> int:
    """Record the next version number of a dataset."""
    with writing(db):
        return _insert_version(db, dataset_id=dataset_id, new=new)


def _insert_version(db: Database, *, dataset_id: int, new: NewDatasetVersion) -> int:
    (latest,) = db.execute(
        "SELECT COALESCE(MAX(version), 0) FROM dataset_versions WHERE dataset_id = ?", [dataset_id]
    ).fetchone()
    cursor = db.execute(
        """INSERT INTO dataset_versions (dataset_id, version, content_hash, artifact_path,
               source_file_name, row_count, column_count, size_bytes, schema_json, ingest_json,
               parent_version_id, recipe_id, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        [
            dataset_id,
            latest + 1,
            new.content_hash,
            new.artifact_path,
            new.source_file_name,
            new.row_count,
            new.column_count,
            new.size_bytes,
            json.dumps(schema_to_json(new.schema)),
            json.dumps(new.ingest),
            new.parent_version_id,
            new.recipe_id,
            now(),
        ],
    )
    return int(cursor.lastrowid or 0)


def set_version_schema(db: Database, version_id: int, schema: list[ColumnSchema]) -> None:
    """Replace a version's column roles; its content and hash never change."""
    with writing(db):
        db.execute(
            "UPDATE dataset_versions SET schema_json = ? WHERE id = ?",
            [json.dumps(schema_to_json(schema)), version_id],
        )


# ---------------------------------------------------------------- jobs


@dataclass(frozen=True)
class Job:
    """Long work run outside the UI, with its persisted status, progress and result."""

    id: int
    kind: str
    subject: str | None
    params: dict[str, Any]
    dedupe_key: str | None
    status: str
    progress: float
    message: str
    cancel_requested: bool
    pid: int | None
    error: str | None
    result: dict[str, Any] | None
    created_by: str
    created_at: str
    started_at: str | None
    finished_at: str | None

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_JOB_STATUSES

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def _job(row: sqlite3.Row | dict[str, Any]) -> Job:
    row = dict(row)
    return Job(
        id=row["id"],
        kind=row["kind"],
        subject=row["subject"],
        params=_loads(row["params_json"], {}),
        dedupe_key=row["dedupe_key"],
        status=row["status"],
        progress=row["progress"],
        message=row["message"],
        cancel_requested=bool(row["cancel_requested"]),
        pid=row["pid"],
        error=row["error"],
        result=_loads(row["result_json"], None),
        created_by=row["created_by"],
        created_at=row["created_at"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
    )


def get_job(db: Database, job_id: int) -> Job | None:
    rows = list(db.query("SELECT * FROM jobs WHERE id = ?", [job_id]))
    return _job(rows[0]) if rows else None


def active_job_with_key(db: Database, dedupe_key: str) -> Job | None:
    placeholders = ", ".join("?" for _ in ACTIVE_JOB_STATUSES)
    rows = list(
        db.query(
            f"SELECT * FROM jobs WHERE dedupe_key = ? AND status IN ({placeholders})",
            [dedupe_key, *ACTIVE_JOB_STATUSES],
        )
    )
    return _job(rows[0]) if rows else None


def insert_job(
    db: Database,
    *,
    kind: str,
    subject: str | None,
    params: dict[str, Any],
    dedupe_key: str | None,
    created_by: str,
) -> tuple[Job, bool]:
    """Queue a job; returns ``(job, created)``, the already active one when the key matches."""
    with writing(db):
        if dedupe_key and (existing := active_job_with_key(db, dedupe_key)):
            return existing, False
        cursor = db.execute(
            """INSERT INTO jobs (kind, subject, params_json, dedupe_key, status, created_by,
                   created_at, message)
               VALUES (?, ?, ?, ?, 'queued', ?, ?, 'Waiting to start')""",
            [kind, subject, json.dumps(params), dedupe_key, created_by, now()],
        )
        job_id = int(cursor.lastrowid or 0)
    job = get_job(db, job_id)
    assert job is not None
    return job, True


def set_job_pid(db: Database, job_id: int, pid: int) -> None:
    with writing(db):
        db.execute("UPDATE jobs SET pid = ? WHERE id = ?", [pid, job_id])


def start_job(db: Database, job_id: int, pid: int) -> bool:
    """Mark a queued job running in process ``pid``; False when it was cancelled meanwhile."""
    with writing(db):
        cursor = db.execute(
            """UPDATE jobs SET status = 'running', pid = ?, started_at = ?, message = 'Starting'
               WHERE id = ? AND status = 'queued' AND cancel_requested = 0""",
            [pid, now(), job_id],
        )
        return cursor.rowcount == 1


def set_job_progress(db: Database, job_id: int, fraction: float, message: str) -> bool:
    """Persist progress; returns True when the user asked to cancel the job."""
    with writing(db):
        db.execute(
            "UPDATE jobs SET progress = ?, message = ? WHERE id = ? AND status = 'running'",
            [min(max(fraction, 0.0), 1.0), message, job_id],
        )
        row = db.execute("SELECT cancel_requested FROM jobs WHERE id = ?", [job_id]).fetchone()
    return bool(row and row[0])


def finish_job(
    db: Database,
    job_id: int,
    *,
    status: str,
    message: str,
    error: str | None = None,
    result: dict[str, Any] | None = None,
) -> None:
    """Record a job's end (done, failed or cancelled); a job that already ended stays as it is."""
    progress_sql = ", progress = 1" if status == "done" else ""
    placeholders = ", ".join("?" for _ in ACTIVE_JOB_STATUSES)
    with writing(db):
        db.execute(
            f"""UPDATE jobs SET status = ?, message = ?, error = ?, result_json = ?,
                    finished_at = ?{progress_sql}
                WHERE id = ? AND status IN ({placeholders})""",
            [
                status,
                message,
                error,
                json.dumps(result) if result is not None else None,
                now(),
                job_id,
                *ACTIVE_JOB_STATUSES,
            ],
        )


def request_job_cancel(db: Database, job_id: int) -> None:
    with writing(db):
        db.execute("UPDATE jobs SET cancel_requested = 1 WHERE id = ?", [job_id])


def list_jobs(
    db: Database, *, kind: str | None = None, subject: str | None = None, limit: int = 50
) -> list[Job]:
    """Newest jobs first, optionally of one kind and subject."""
    clauses, params = ["1 = 1"], []
    if kind:
        clauses.append("kind = ?")
        params.append(kind)
    if subject:
        clauses.append("subject = ?")
        params.append(subject)
    sql = f"SELECT * FROM jobs WHERE {' AND '.join(clauses)} ORDER BY id DESC LIMIT ?"
    return [_job(row) for row in db.query(sql, [*params, limit])]


def active_jobs(db: Database) -> list[Job]:
    placeholders = ", ".join("?" for _ in ACTIVE_JOB_STATUSES)
    sql = f"SELECT * FROM jobs WHERE status IN ({placeholders}) ORDER BY id"
    return [_job(row) for row in db.query(sql, list(ACTIVE_JOB_STATUSES))]


# ---------------------------------------------------------------- audit log


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


def record_event(
    db: Database,
    *,
    actor: str,
    action: str,
    entity_type: str,
    entity_id: str | int | None,
    details: dict[str, Any] | None = None,
) -> None:
    """Append to the audit log (inside the caller's write transaction when there is one)."""
    with writing(db):
        db.execute(
            """INSERT INTO audit_events (at, actor, action, entity_type, entity_id, details_json)
               VALUES (?, ?, ?, ?, ?, ?)""",
            [
                now(),
                actor,
                action,
                entity_type,
                None if entity_id is None else str(entity_id),
                json.dumps(details or {}),
            ],
        )


def audit_events(
    db: Database, *, entity_type: str | None = None, entity_id: str | None = None, limit: int = 100
) -> list[AuditEvent]:
    clauses, params = ["1 = 1"], []
    if entity_type:
        clauses.append("entity_type = ?")
        params.append(entity_type)
    if entity_id:
        clauses.append("entity_id = ?")
        params.append(entity_id)
    sql = f"SELECT * FROM audit_events WHERE {' AND '.join(clauses)} ORDER BY id DESC LIMIT ?"
    return [
        AuditEvent(
            id=row["id"],
            at=row["at"],
            actor=row["actor"],
            action=row["action"],
            entity_type=row["entity_type"],
            entity_id=row["entity_id"],
            details=_loads(row["details_json"], {}),
        )
        for row in db.query(sql, [*params, limit])
    ]


# ---------------------------------------------------------------- recipes


@dataclass(frozen=True)
class StoredRecipe:
    """One saved version of a named recipe."""

    id: int
    name: str
    version: int
    content_hash: str
    recipe_json: str
    source_version_id: int | None
    created_by: str
    created_at: str

    @property
    def label(self) -> str:
        return f"{self.name} v{self.version}"

    def to_dict(self) -> dict[str, Any]:
        data = {name: getattr(self, name) for name in self.__dataclass_fields__}
        data["recipe"] = json.loads(data.pop("recipe_json"))
        return data


def _recipe(row: sqlite3.Row | dict[str, Any]) -> StoredRecipe:
    return StoredRecipe(**{key: dict(row)[key] for key in StoredRecipe.__dataclass_fields__})


def save_recipe_version(
    db: Database,
    *,
    name: str,
    content_hash: str,
    recipe_json: str,
    source_version_id: int | None,
    created_by: str,
) -> tuple[StoredRecipe, bool]:
    """Store the next version of a recipe; returns ``(recipe, created)``, reusing identical ones."""
    with writing(db):
        rows = list(
            db.query(
                "SELECT * FROM recipes WHERE name = ? AND content_hash = ?", [name, content_hash]
            )
        )
        if rows:
            return _recipe(rows[0]), False
        (latest,) = db.execute(
            "SELECT COALESCE(MAX(version), 0) FROM recipes WHERE name = ?", [name]
        ).fetchone()
        cursor = db.execute(
            """INSERT INTO recipes (name, version, content_hash, recipe_json, source_version_id,
                   created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)""",
            [name, latest + 1, content_hash, recipe_json, source_version_id, created_by, now()],
        )
        recipe_id = int(cursor.lastrowid or 0)
    stored = get_recipe(db, recipe_id)
    assert stored is not None
    return stored, True


def get_recipe(db: Database, recipe_id: int) -> StoredRecipe | None:
    rows = list(db.query("SELECT * FROM recipes WHERE id = ?", [recipe_id]))
    return _recipe(rows[0]) if rows else None


def list_recipes(db: Database) -> list[StoredRecipe]:
    """Every recipe version, newest first."""
    return [_recipe(row) for row in db.query("SELECT * FROM recipes ORDER BY id DESC")]


def recipe_by_name(db: Database, name: str, version: int | None = None) -> StoredRecipe | None:
    params: list[Any]
    if version is None:
        sql, params = "SELECT * FROM recipes WHERE name = ? ORDER BY version DESC LIMIT 1", [name]
    else:
        sql, params = "SELECT * FROM recipes WHERE name = ? AND version = ?", [name, version]
    rows = list(db.query(sql, params))
    return _recipe(rows[0]) if rows else None
