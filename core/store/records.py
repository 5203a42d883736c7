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
RUN_STOPPED = "The training job stopped before this run finished."


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
        # a run never outlives its job: a killed or cancelled training leaves nothing "running"
        run_status = "cancelled" if status == "cancelled" else "failed"
        end_runs_of_job(db, job_id, status=run_status, error=error or RUN_STOPPED)


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


# ---------------------------------------------------------------- runs

RUN_STATUSES = ("running", "done", "failed", "cancelled", "pruned")
_RUN_LIST_COLUMNS = """r.id, r.parent_id, r.job_id, r.experiment, r.kind, r.status, r.model, r.task,
    r.target, r.dataset_version_id, r.recipe_id, r.strategy, r.metric, r.score, r.score_std,
    r.holdout_score, r.params_json, r.metrics_json, r.plan_json, r.environment_json, r.tags_json,
    r.notes, r.seed, r.fit_seconds, r.duration_seconds, r.size_bytes, r.predict_ms,
    r.artifact_path, r.artifact_sha256, r.archived, r.error, r.created_by, r.created_at,
    r.finished_at"""


@dataclass(frozen=True)
class Run:
    """One training run (or one tuning trial, as a child run) with what it used and scored."""

    id: int
    parent_id: int | None
    job_id: int | None
    experiment: str
    kind: str
    status: str
    model: str
    task: str
    target: str
    dataset_version_id: int | None
    recipe_id: int | None
    strategy: str | None
    metric: str
    score: float | None
    score_std: float | None
    holdout_score: float | None
    params: dict[str, Any]
    metrics: dict[str, Any]
    plan: dict[str, Any]
    environment: dict[str, Any]
    tags: list[str]
    notes: str
    seed: int | None
    fit_seconds: float | None
    duration_seconds: float | None
    size_bytes: int | None
    predict_ms: float | None
    artifact_path: str | None
    artifact_sha256: str | None
    archived: bool
    error: str | None
    created_by: str
    created_at: str
    finished_at: str | None

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


_RUN_JSON = {"params": "{}", "metrics": "{}", "plan": "{}", "environment": "{}", "tags": "[]"}


def _run(row: sqlite3.Row | dict[str, Any]) -> Run:
    row = dict(row)
    for name, default in _RUN_JSON.items():
        row[name] = json.loads(row.pop(f"{name}_json") or default)
    row["archived"] = bool(row["archived"])
    return Run(**row)


@dataclass(frozen=True)
class NewRun:
    """What is known when a run starts."""

    experiment: str
    kind: str
    model: str
    task: str
    target: str
    metric: str
    dataset_version_id: int | None = None
    recipe_id: int | None = None
    parent_id: int | None = None
    job_id: int | None = None
    strategy: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    plan: dict[str, Any] = field(default_factory=dict)
    environment: dict[str, Any] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    notes: str = ""
    seed: int | None = None
    status: str = "running"


def insert_run(db: Database, new: NewRun, *, created_by: str) -> int:
    with writing(db):
        cursor = db.execute(
            """INSERT INTO runs (parent_id, job_id, experiment, kind, status, model, task, target,
                   dataset_version_id, recipe_id, strategy, metric, params_json, plan_json,
                   environment_json, tags_json, notes, seed, created_by, created_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            [
                new.parent_id,
                new.job_id,
                new.experiment,
                new.kind,
                new.status,
                new.model,
                new.task,
                new.target,
                new.dataset_version_id,
                new.recipe_id,
                new.strategy,
                new.metric,
                json.dumps(new.params, default=str),
                json.dumps(new.plan, default=str),
                json.dumps(new.environment, default=str),
                json.dumps(new.tags),
                new.notes,
                new.seed,
                created_by,
                now(),
            ],
        )
        return int(cursor.lastrowid or 0)


_RUN_UPDATABLE = (
    "status",
    "score",
    "score_std",
    "holdout_score",
    "params",
    "metrics",
    "fit_seconds",
    "duration_seconds",
    "size_bytes",
    "predict_ms",
    "artifact_path",
    "artifact_sha256",
    "error",
    "finished_at",
)


def update_run(db: Database, run_id: int, **fields: Any) -> None:
    """Set some of a run's results (JSON fields are given as Python objects)."""
    unknown = set(fields) - set(_RUN_UPDATABLE)
    if unknown:
        raise KeyError(f"runs cannot update {sorted(unknown)}")
    columns = [f"{name}_json" if name in _RUN_JSON else name for name in fields]
    values = [
        json.dumps(value, default=str) if name in _RUN_JSON else value
        for name, value in fields.items()
    ]
    assignments = ", ".join(f"{column} = ?" for column in columns)
    with writing(db):
        db.execute(f"UPDATE runs SET {assignments} WHERE id = ?", [*values, run_id])


def insert_trial_runs(
    db: Database, trials: list[NewRun], results: list[dict[str, Any]], *, created_by: str
) -> None:
    """Record finished tuning trials in one transaction (a search may have hundreds)."""
    with writing(db):
        for new, result in zip(trials, results, strict=True):
            run_id = insert_run(db, new, created_by=created_by)
            update_run(db, run_id, **result)


def save_run_details(
    db: Database,
    run_id: int,
    *,
    evaluation: dict[str, Any] | None = None,
    search: dict[str, Any] | None = None,
    features: list[str] | None = None,
) -> None:
    with writing(db):
        db.execute(
            """INSERT INTO run_details (run_id, evaluation_json, search_json, features_json)
               VALUES (?, ?, ?, ?)
               ON CONFLICT(run_id) DO UPDATE SET
                   evaluation_json = excluded.evaluation_json,
                   search_json = excluded.search_json,
                   features_json = excluded.features_json""",
            [
                run_id,
                json.dumps(evaluation or {}, allow_nan=False),
                json.dumps(search or {}, default=str),
                json.dumps(features or []),
            ],
        )


def run_details(db: Database, run_id: int) -> dict[str, Any]:
    rows = list(db.query("SELECT * FROM run_details WHERE run_id = ?", [run_id]))
    if not rows:
        return {"evaluation": {}, "search": {}, "features": []}
    row = rows[0]
    return {
        "evaluation": json.loads(row["evaluation_json"]),
        "search": json.loads(row["search_json"]),
        "features": json.loads(row["features_json"]),
    }


def get_run(db: Database, run_id: int) -> Run | None:
    rows = list(db.query(f"SELECT {_RUN_LIST_COLUMNS} FROM runs r WHERE r.id = ?", [run_id]))
    return _run(rows[0]) if rows else None


def list_runs(
    db: Database,
    *,
    kind: str | None = "model",
    include_archived: bool = False,
    parent_id: int | None = None,
    job_id: int | None = None,
    experiment: str | None = None,
    limit: int = 10_000,
) -> list[Run]:
    """Runs newest first, filtered; the listing the Experiments page and the CLI show."""
    clauses, params = ["1 = 1"], []
    for column, value in (
        ("kind", kind),
        ("parent_id", parent_id),
        ("job_id", job_id),
        ("experiment", experiment),
    ):
        if value is not None:
            clauses.append(f"r.{column} = ?")
            params.append(value)
    if not include_archived:
        clauses.append("r.archived = 0")
    sql = (
        f"SELECT {_RUN_LIST_COLUMNS} FROM runs r WHERE {' AND '.join(clauses)} "
        "ORDER BY r.id DESC LIMIT ?"
    )
    return [_run(row) for row in db.query(sql, [*params, limit])]


def count_trials(db: Database, run_ids: list[int]) -> dict[int, int]:
    if not run_ids:
        return {}
    placeholders = ", ".join("?" for _ in run_ids)
    sql = (
        f"SELECT parent_id, COUNT(*) AS n FROM runs WHERE parent_id IN ({placeholders}) "
        "GROUP BY parent_id"
    )
    return {row["parent_id"]: row["n"] for row in db.query(sql, run_ids)}


def set_runs_archived(db: Database, run_ids: list[int], archived: bool) -> None:
    placeholders = ", ".join("?" for _ in run_ids)
    with writing(db):
        db.execute(
            f"UPDATE runs SET archived = ? WHERE id IN ({placeholders})", [int(archived), *run_ids]
        )


def registered_run_ids(db: Database, run_ids: list[int]) -> set[int]:
    placeholders = ", ".join("?" for _ in run_ids) or "NULL"
    sql = f"SELECT DISTINCT run_id FROM model_versions WHERE run_id IN ({placeholders})"
    return {row["run_id"] for row in db.query(sql, run_ids)}


def delete_runs(db: Database, run_ids: list[int]) -> list[str]:
    """Delete runs and their trials; returns the artifact paths that are no longer referenced."""
    placeholders = ", ".join("?" for _ in run_ids)
    with writing(db):
        paths = [
            row["artifact_path"]
            for row in db.query(
                f"SELECT artifact_path FROM runs WHERE (id IN ({placeholders}) "
                f"OR parent_id IN ({placeholders})) AND artifact_path IS NOT NULL",
                [*run_ids, *run_ids],
            )
        ]
        db.execute(f"DELETE FROM runs WHERE parent_id IN ({placeholders})", run_ids)
        db.execute(f"DELETE FROM runs WHERE id IN ({placeholders})", run_ids)
    return paths


def end_runs_of_job(db: Database, job_id: int, *, status: str, error: str | None) -> int:
    """Close every run a dead or cancelled job left running; returns how many."""
    with writing(db):
        cursor = db.execute(
            """UPDATE runs SET status = ?, error = COALESCE(error, ?), finished_at = ?
               WHERE job_id = ? AND status = 'running'""",
            [status, error, now(), job_id],
        )
    return cursor.rowcount


def experiments(db: Database) -> list[str]:
    return [
        row["experiment"]
        for row in db.query("SELECT DISTINCT experiment FROM runs ORDER BY experiment")
    ]


# ---------------------------------------------------------------- registry


@dataclass(frozen=True)
class ModelVersion:
    """A registered run: a numbered version of a named model, with its aliases."""

    id: int
    model_id: int
    model_name: str
    version: int
    run_id: int
    artifact_path: str
    artifact_sha256: str
    onnx_path: str | None
    onnx_sha256: str | None
    onnx: dict[str, Any]
    review_state: str
    intended_use: str
    aliases: tuple[str, ...]
    created_by: str
    created_at: str

    @property
    def label(self) -> str:
        return f"{self.model_name} v{self.version}"

    def to_dict(self) -> dict[str, Any]:
        data = {name: getattr(self, name) for name in self.__dataclass_fields__}
        data["aliases"] = list(self.aliases)
        return data


_VERSION_COLUMNS = """v.id, v.model_id, m.name AS model_name, v.version, v.run_id, v.artifact_path,
    v.artifact_sha256, v.onnx_path, v.onnx_sha256, v.onnx_json, v.review_state, v.intended_use,
    v.created_by, v.created_at,
    (SELECT json_group_array(a.alias) FROM model_aliases a WHERE a.version_id = v.id) AS aliases"""


def _model_version(row: sqlite3.Row | dict[str, Any]) -> ModelVersion:
    row = dict(row)
    row["onnx"] = json.loads(row.pop("onnx_json") or "{}")
    row["aliases"] = tuple(sorted(json.loads(row["aliases"] or "[]")))
    return ModelVersion(**row)


def _version_query(where: str, params: list[Any]) -> tuple[str, list[Any]]:
    sql = (
        f"SELECT {_VERSION_COLUMNS} FROM model_versions v JOIN models m ON m.id = v.model_id "
        f"WHERE {where} ORDER BY m.name, v.version DESC"
    )
    return sql, params


def model_versions(db: Database, model_name: str | None = None) -> list[ModelVersion]:
    where, params = ("m.name = ?", [model_name]) if model_name else ("1 = 1", [])
    return [_model_version(row) for row in db.query(*_version_query(where, params))]


def get_model_version(db: Database, version_id: int) -> ModelVersion | None:
    rows = list(db.query(*_version_query("v.id = ?", [version_id])))
    return _model_version(rows[0]) if rows else None


def model_version_by_number(db: Database, model_name: str, version: int) -> ModelVersion | None:
    rows = list(db.query(*_version_query("m.name = ? AND v.version = ?", [model_name, version])))
    return _model_version(rows[0]) if rows else None


def model_version_by_alias(db: Database, model_name: str, alias: str) -> ModelVersion | None:
    where = (
        "m.name = ? AND v.id = "
        "(SELECT version_id FROM model_aliases a WHERE a.model_id = m.id AND a.alias = ?)"
    )
    rows = list(db.query(*_version_query(where, [model_name, alias])))
    return _model_version(rows[0]) if rows else None


def model_names(db: Database) -> list[str]:
    return [row["name"] for row in db.query("SELECT name FROM models ORDER BY name")]


@dataclass(frozen=True)
class NewModelVersion:
    """What registering a run stores: the run, its verified artifact and the ONNX copy if any."""

    model_name: str
    run_id: int
    artifact_path: str
    artifact_sha256: str
    onnx_path: str | None = None
    onnx_sha256: str | None = None
    onnx: dict[str, Any] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()


def register_model_version(db: Database, new: NewModelVersion, *, created_by: str) -> ModelVersion:
    """Add the next version of a named model (creating the model) and set its aliases, atomically.

    Registering a run that already is a version of this model returns that version.
    """
    with writing(db):
        model_id = _model_id(db, new.model_name, created_by)
        existing = list(
            db.query(
                "SELECT id FROM model_versions WHERE model_id = ? AND run_id = ?",
                [model_id, new.run_id],
            )
        )
        if existing:
            version_id = existing[0]["id"]
        else:
            (latest,) = db.execute(
                "SELECT COALESCE(MAX(version), 0) FROM model_versions WHERE model_id = ?",
                [model_id],
            ).fetchone()
            cursor = db.execute(
                """INSERT INTO model_versions (model_id, version, run_id, artifact_path,
                       artifact_sha256, onnx_path, onnx_sha256, onnx_json, created_by, created_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                [
                    model_id,
                    latest + 1,
                    new.run_id,
                    new.artifact_path,
                    new.artifact_sha256,
                    new.onnx_path,
                    new.onnx_sha256,
                    json.dumps(new.onnx),
                    created_by,
                    now(),
                ],
            )
            version_id = int(cursor.lastrowid or 0)
        for alias in new.aliases:
            set_model_alias(
                db, model_id=model_id, alias=alias, version_id=version_id, updated_by=created_by
            )
    found = get_model_version(db, version_id)
    assert found is not None
    return found


def _model_id(db: Database, name: str, created_by: str) -> int:
    rows = list(db.query("SELECT id FROM models WHERE name = ?", [name]))
    if rows:
        return int(rows[0]["id"])
    cursor = db.execute(
        "INSERT INTO models (name, created_by, created_at) VALUES (?, ?, ?)",
        [name, created_by, now()],
    )
    return int(cursor.lastrowid or 0)


def set_model_alias(
    db: Database, *, model_id: int, alias: str, version_id: int, updated_by: str
) -> None:
    """Point an alias at a version (an alias names one version of a model at a time)."""
    with writing(db):
        db.execute(
            """INSERT INTO model_aliases (model_id, alias, version_id, updated_by, updated_at)
               VALUES (?, ?, ?, ?, ?)
               ON CONFLICT(model_id, alias) DO UPDATE SET version_id = excluded.version_id,
                   updated_by = excluded.updated_by, updated_at = excluded.updated_at""",
            [model_id, alias, version_id, updated_by, now()],
        )


def remove_model_alias(db: Database, *, model_id: int, alias: str) -> None:
    with writing(db):
        db.execute("DELETE FROM model_aliases WHERE model_id = ? AND alias = ?", [model_id, alias])


# ---------------------------------------------------------------- runs fingerprint (Experiments)


def runs_fingerprint(db: Database) -> tuple[Any, ...]:
    """A cheap summary of the model runs that changes whenever the runs listing would.

    Adding, deleting, finishing or (un)archiving a run changes it, so a cached listing keyed by
    it is never stale; ``SUM(archived * id)`` tells apart archiving one run and unarchiving
    another.
    """
    row = db.execute(
        """SELECT COUNT(*), MAX(id), MAX(finished_at), SUM(archived), SUM(archived * id)
           FROM runs WHERE kind = 'model'"""
    ).fetchone()
    return tuple(row)


@dataclass(frozen=True)
class RunSummary:
    """A model run as the runs table lists it: no params, metrics or environment to parse."""

    id: int
    experiment: str
    model: str
    status: str
    metric: str
    score: float | None
    score_std: float | None
    holdout_score: float | None
    fit_seconds: float | None
    tags: list[str]
    archived: bool
    created_at: str


_SUMMARY_COLUMNS = """id, experiment, model, status, metric, score, score_std, holdout_score,
    fit_seconds, tags_json, archived, created_at"""


def run_summaries(db: Database, *, include_archived: bool = True) -> list[RunSummary]:
    """Model runs newest first, light enough to list thousands at once (JSON left unparsed
    except the tags)."""
    where = "kind = 'model'" + ("" if include_archived else " AND archived = 0")
    sql = f"SELECT {_SUMMARY_COLUMNS} FROM runs WHERE {where} ORDER BY id DESC"
    return [_summary(row) for row in db.execute(sql).fetchall()]


def _summary(row: tuple[Any, ...]) -> RunSummary:
    run_id, experiment, model, status, metric, score, std, holdout, fit, tags, archived, at = row
    return RunSummary(
        run_id, experiment, model, status, metric, score, std, holdout, fit, _tags(tags),
        bool(archived), at,
    )  # fmt: skip


def _tags(text: str | None) -> list[str]:
    # most runs have no tags; skipping the JSON parser for them halves the listing's cost
    return json.loads(text) if text and text != "[]" else []


# ---------------------------------------------------------------- reviews

REVIEW_STATES = {"approve": "approved", "changes": "changes requested", "reject": "rejected"}


@dataclass(frozen=True)
class Review:
    """One reviewer's recorded decision on a model version, with the evidence they saw."""

    id: int
    model_version_id: int
    reviewer: str
    decision: str
    comment: str
    checklist: dict[str, Any]
    evidence: dict[str, Any]
    created_at: str

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def _review(row: sqlite3.Row | dict[str, Any]) -> Review:
    row = dict(row)
    row["checklist"] = json.loads(row.pop("checklist_json") or "{}")
    row["evidence"] = json.loads(row.pop("evidence_json") or "{}")
    return Review(**row)


def add_review(
    db: Database,
    *,
    version_id: int,
    reviewer: str,
    decision: str,
    comment: str,
    checklist: dict[str, Any],
    evidence: dict[str, Any],
) -> Review:
    """Record a decision and set the version's review state, in one transaction."""
    with writing(db):
        cursor = db.execute(
            """INSERT INTO reviews (model_version_id, reviewer, decision, comment, checklist_json,
                   evidence_json, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)""",
            [
                version_id,
                reviewer,
                decision,
                comment,
                json.dumps(checklist),
                json.dumps(evidence, default=str),
                now(),
            ],
        )
        db.execute(
            "UPDATE model_versions SET review_state = ? WHERE id = ?",
            [REVIEW_STATES[decision], version_id],
        )
        review_id = int(cursor.lastrowid or 0)
    rows = list(db.query("SELECT * FROM reviews WHERE id = ?", [review_id]))
    return _review(rows[0])


def reviews_of(db: Database, version_id: int) -> list[Review]:
    """A version's decisions, newest first."""
    sql = "SELECT * FROM reviews WHERE model_version_id = ? ORDER BY id DESC"
    return [_review(row) for row in db.query(sql, [version_id])]


def set_intended_use(db: Database, version_id: int, text: str) -> None:
    with writing(db):
        db.execute("UPDATE model_versions SET intended_use = ? WHERE id = ?", [text, version_id])


def current_alias_version(db: Database, model_id: int, alias: str) -> int | None:
    rows = list(
        db.query(
            "SELECT version_id FROM model_aliases WHERE model_id = ? AND alias = ?",
            [model_id, alias],
        )
    )
    return int(rows[0]["version_id"]) if rows else None


# ---------------------------------------------------------------- deployments and predictions

ACTIVE_DEPLOYMENT_STATUSES = ("starting", "running", "restarting")


@dataclass(frozen=True)
class Deployment:
    """A prediction service: which version it serves, where, in which process, with which key."""

    id: int
    model_version_id: int
    model_label: str
    previous_version_id: int | None
    mode: str
    host: str
    port: int
    workers: int
    status: str
    desired: str
    foreground: bool
    supervisor_pid: int | None
    server_pid: int | None
    api_key_hash: str | None
    key_hint: str
    key_created_at: str | None
    key_revoked_at: str | None
    restarts: int
    last_error: str | None
    log_path: str
    created_by: str
    created_at: str
    started_at: str | None
    stopped_at: str | None
    shadow_version_id: int | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_DEPLOYMENT_STATUSES

    def to_dict(self) -> dict[str, Any]:
        data = {name: getattr(self, name) for name in self.__dataclass_fields__}
        data.pop("api_key_hash")
        data["url"] = self.url
        return data


_DEPLOYMENT_QUERY = """SELECT d.*, m.name || ' v' || v.version AS model_label
    FROM deployments d JOIN model_versions v ON v.id = d.model_version_id
    JOIN models m ON m.id = v.model_id"""


def _deployment(row: sqlite3.Row | dict[str, Any]) -> Deployment:
    row = dict(row)
    row["foreground"] = bool(row["foreground"])
    return Deployment(**row)


def insert_deployment(db: Database, **fields: Any) -> Deployment:
    """A new deployment row (status 'starting'); returns it as stored."""
    fields = {"created_at": now(), "status": "starting", **fields}
    found = get_deployment(db, _insert_one(db, "deployments", fields))
    assert found is not None
    return found


def get_deployment(db: Database, deployment_id: int) -> Deployment | None:
    rows = list(db.query(f"{_DEPLOYMENT_QUERY} WHERE d.id = ?", [deployment_id]))
    return _deployment(rows[0]) if rows else None


def list_deployments(db: Database, *, include_stopped: bool = True) -> list[Deployment]:
    where = "" if include_stopped else "WHERE d.status NOT IN ('stopped', 'failed')"
    return [_deployment(row) for row in db.query(f"{_DEPLOYMENT_QUERY} {where} ORDER BY d.id")]


def update_deployment(db: Database, deployment_id: int, **fields: Any) -> None:
    with writing(db):
        assignments = ", ".join(f"{name} = ?" for name in fields)
        db.execute(
            f"UPDATE deployments SET {assignments} WHERE id = ?", [*fields.values(), deployment_id]
        )


def deployment_watch(
    db: Database, deployment_id: int
) -> tuple[int, str | None, str, int | None] | None:
    """(version id, key hash, desired, shadow version id) — what a running service re-reads to
    follow changes."""
    rows = list(
        db.query(
            """SELECT model_version_id, api_key_hash, desired, shadow_version_id
               FROM deployments WHERE id = ?""",
            [deployment_id],
        )
    )
    if not rows:
        return None
    row = rows[0]
    return row["model_version_id"], row["api_key_hash"], row["desired"], row["shadow_version_id"]


PREDICTION_COLUMNS = (
    "deployment_id",
    "model_version_id",
    "request_id",
    "created_at",
    "latency_ms",
    "status",
    "rows",
    "inputs",
    "predictions",
    "probabilities",
    "unseen",
    "error",
)


def log_predictions(db: Database, requests: list[tuple[Any, ...]]) -> None:
    """Append prediction log rows, one per request (tuples in PREDICTION_COLUMNS order), in one
    transaction. A request's rows travel as JSON arrays: one write per request, not per row."""
    names = ", ".join(PREDICTION_COLUMNS)
    marks = ", ".join("?" for _ in PREDICTION_COLUMNS)
    with writing(db):
        db.conn.executemany(f"INSERT INTO predictions ({names}) VALUES ({marks})", requests)


def record_labels(
    db: Database, deployment_id: int | None, labels: list[tuple[str, int | None, str]], at: float
) -> list[str]:
    """Store true labels (request id, row or None for every row, label JSON); a later label for
    the same row replaces the earlier one. All or nothing: returns the request ids (or
    ``id[row]``) this deployment never answered, and then stores nothing."""
    sizes = answered_sizes(db, deployment_id, sorted({request_id for request_id, _, _ in labels}))
    unknown, rows = [], []
    for request_id, row, label in labels:
        size = sizes.get(request_id)
        if size is None or (row is not None and row >= size):
            unknown.append(request_id if row is None or size is None else f"{request_id}[{row}]")
            continue
        for index in range(size) if row is None else (row,):
            rows.append((request_id, index, deployment_id, label, at))
    if unknown:
        return unknown
    with writing(db):
        db.conn.executemany(
            """INSERT OR REPLACE INTO prediction_labels
               (request_id, row, deployment_id, label, labelled_at) VALUES (?, ?, ?, ?, ?)""",
            rows,
        )
    return []


def answered_sizes(
    db: Database, deployment_id: int | None, request_ids: list[str]
) -> dict[str, int]:
    """How many rows each of these requests had, for those the deployment answered."""
    sizes: dict[str, int] = {}
    for start in range(0, len(request_ids), 500):
        chunk = request_ids[start : start + 500]
        marks = ", ".join("?" for _ in chunk)
        # '+' keeps SQLite on the request_id index rather than scanning the deployment's rows
        sql = f"""SELECT request_id, rows FROM predictions WHERE +deployment_id IS ?
                  AND status = 200 AND request_id IN ({marks})"""
        sizes.update(db.execute(sql, [deployment_id, *chunk]).fetchall())
    return sizes


def predictions_of(db: Database, deployment_id: int, *, limit: int = 1000) -> list[dict[str, Any]]:
    """The newest logged rows of a deployment (one dict per row, label included), newest
    first; a refused request is one row with its status and error."""
    requests = db.execute(
        """SELECT request_id, created_at, latency_ms, status, rows, inputs, predictions,
                  probabilities, unseen, error, model_version_id
           FROM predictions WHERE deployment_id = ? ORDER BY id DESC LIMIT ?""",
        [deployment_id, limit],
    ).fetchall()
    labels = _labels_of(db, [request[0] for request in requests])
    found: list[dict[str, Any]] = []
    for request in requests:
        found.extend(_request_rows(request, labels))
        if len(found) >= limit:
            break
    return found[:limit]


def _labels_of(db: Database, request_ids: list[str]) -> dict[tuple[str, int], str]:
    labels: dict[tuple[str, int], str] = {}
    for start in range(0, len(request_ids), 500):
        chunk = request_ids[start : start + 500]
        marks = ", ".join("?" for _ in chunk)
        sql = f"SELECT request_id, row, label FROM prediction_labels WHERE request_id IN ({marks})"
        labels.update(((rid, row), label) for rid, row, label in db.execute(sql, chunk))
    return labels


def _request_rows(request: tuple[Any, ...], labels: dict[tuple[str, int], str]) -> list[dict]:
    request_id, created_at, latency, status, size, inputs, predictions, probabilities = request[:8]
    unseen, error, version_id = request[8:]
    common = {
        "request_id": request_id,
        "created_at": created_at,
        "latency_ms": latency,
        "status": status,
        "model_version_id": version_id,
    }
    if status != 200:
        return [{**common, "row": 0, "error": error}]
    rows_in = json.loads(inputs) if inputs else [None] * size
    predicted = json.loads(predictions)
    shares = json.loads(probabilities) if probabilities else [None] * size
    unseen_rows = json.loads(unseen) if unseen else [[]] * size
    return [
        {
            **common,
            "row": index,
            "inputs": rows_in[index],
            "prediction": predicted[index],
            "probabilities": shares[index],
            "unseen": unseen_rows[index],
            "label": json.loads(labels[(request_id, index)])
            if (request_id, index) in labels
            else None,
        }
        for index in range(size)
    ]


def prediction_request_ids(db: Database, request_ids: list[str]) -> set[str]:
    """Which of these request ids have a logged prediction."""
    found: set[str] = set()
    for start in range(0, len(request_ids), 500):
        chunk = request_ids[start : start + 500]
        marks = ", ".join("?" for _ in chunk)
        sql = f"SELECT request_id FROM predictions WHERE request_id IN ({marks})"
        found.update(row[0] for row in db.execute(sql, chunk))
    return found


# ---------------------------------------------------------------- monitoring


def monitor_state(db: Database, deployment_id: int) -> dict[str, Any]:
    """Where the monitor's aggregation of a deployment's log has got to."""
    rows = list(db.query("SELECT * FROM monitor_state WHERE deployment_id = ?", [deployment_id]))
    if rows:
        return dict(rows[0])
    return {
        "deployment_id": deployment_id,
        "last_prediction_id": 0,
        "last_labelled_at": 0.0,
        "last_drift_end": 0.0,
    }


def set_monitor_state(db: Database, deployment_id: int, **fields: Any) -> None:
    state = {**monitor_state(db, deployment_id), **fields}
    with writing(db):
        db.execute(
            """INSERT INTO monitor_state
               (deployment_id, last_prediction_id, last_labelled_at, last_drift_end)
               VALUES (?, ?, ?, ?)
               ON CONFLICT (deployment_id) DO UPDATE SET
               last_prediction_id = excluded.last_prediction_id,
               last_labelled_at = excluded.last_labelled_at,
               last_drift_end = excluded.last_drift_end""",
            [
                deployment_id,
                state["last_prediction_id"],
                state["last_labelled_at"],
                state["last_drift_end"],
            ],
        )


def predictions_after(
    db: Database, deployment_id: int, after_id: int, *, limit: int
) -> list[tuple[Any, ...]]:
    """(id, created_at, request_id, status, latency_ms, rows, predictions, unseen) of newer
    log rows, one per request."""
    return list(
        db.execute(
            """SELECT id, created_at, request_id, status, latency_ms, rows, predictions, unseen
               FROM predictions WHERE deployment_id = ? AND id > ? ORDER BY id LIMIT ?""",
            [deployment_id, after_id, limit],
        ).fetchall()
    )


def labelled_window_starts(
    db: Database, deployment_id: int, since: float, width: float
) -> tuple[list[float], float]:
    """Windows whose rows received labels after ``since``, and the newest labelling time."""
    rows = db.execute(
        """SELECT CAST(p.created_at / ? AS INTEGER) * ?, MAX(l.labelled_at)
           FROM prediction_labels l JOIN predictions p ON p.request_id = l.request_id
           WHERE l.deployment_id = ? AND l.labelled_at > ? GROUP BY 1""",
        [width, width, deployment_id, since],
    ).fetchall()
    newest = max((row[1] for row in rows), default=since)
    return [float(row[0]) for row in rows], float(newest)


def labelled_pairs(
    db: Database, deployment_id: int, start: float, end: float
) -> list[tuple[Any, Any]]:
    """(prediction, label) of the labelled rows of requests logged in [start, end)."""
    found = db.execute(
        """SELECT p.request_id, p.predictions, l.row, l.label
           FROM prediction_labels l JOIN predictions p ON p.request_id = l.request_id
           WHERE p.deployment_id = ? AND p.created_at >= ? AND p.created_at < ?
           AND p.status = 200 ORDER BY p.request_id""",
        [deployment_id, start, end],
    ).fetchall()
    parsed: dict[str, list[Any]] = {}
    pairs = []
    for request_id, predictions, row, label in found:
        if request_id not in parsed:
            parsed = {request_id: json.loads(predictions)}
        pairs.append((parsed[request_id][row], json.loads(label)))
    return pairs


def monitor_windows(
    db: Database, deployment_id: int, start: float, end: float
) -> list[dict[str, Any]]:
    return [
        dict(row)
        for row in db.query(
            """SELECT * FROM monitor_windows WHERE deployment_id = ?
               AND window_start >= ? AND window_start < ? ORDER BY window_start""",
            [deployment_id, start, end],
        )
    ]


def save_monitor_windows(db: Database, rows: list[dict[str, Any]]) -> None:
    """Insert or replace whole window rows (the caller merged them with what was stored)."""
    _insert_rows(db, "monitor_windows", rows, verb="INSERT OR REPLACE")


def _insert_rows(
    db: Database, table: str, rows: list[dict[str, Any]], *, verb: str = "INSERT"
) -> None:
    """Insert rows that share their keys (names from code, never from users) in one
    transaction."""
    if not rows:
        return
    names = list(rows[0])
    marks = ", ".join("?" for _ in names)
    with writing(db):
        db.conn.executemany(
            f"{verb} INTO {table} ({', '.join(names)}) VALUES ({marks})",
            [[row[name] for name in names] for row in rows],
        )


def _insert_one(db: Database, table: str, fields: dict[str, Any]) -> int:
    """Insert one row (column names from code, never from users); returns its id."""
    names = ", ".join(fields)
    marks = ", ".join("?" for _ in fields)
    with writing(db):
        cursor = db.execute(
            f"INSERT INTO {table} ({names}) VALUES ({marks})", list(fields.values())
        )
    assert cursor.lastrowid is not None
    return cursor.lastrowid


def window_inputs(
    db: Database, deployment_id: int, start: float, end: float, *, limit: int
) -> list[dict[str, Any]]:
    """The input rows of requests answered in [start, end), newest first, at most ``limit``."""
    found: list[dict[str, Any]] = []
    cursor = db.execute(
        """SELECT inputs FROM predictions WHERE deployment_id = ? AND created_at >= ?
           AND created_at < ? AND status = 200 ORDER BY id DESC""",
        [deployment_id, start, end],
    )
    for (inputs,) in cursor:
        found.extend(json.loads(inputs))
        if len(found) >= limit:
            break
    return found[:limit]


def first_prediction_time(db: Database, deployment_id: int) -> float | None:
    row = db.execute(
        "SELECT MIN(created_at) FROM predictions WHERE deployment_id = ?", [deployment_id]
    ).fetchone()
    return None if row is None or row[0] is None else float(row[0])


def add_monitor_metrics(db: Database, rows: list[dict[str, Any]]) -> None:
    _insert_rows(db, "monitor_metrics", rows)


def monitor_metrics(
    db: Database, deployment_id: int, start: float, end: float
) -> list[dict[str, Any]]:
    return [
        dict(row)
        for row in db.query(
            """SELECT * FROM monitor_metrics WHERE deployment_id = ?
               AND window_start >= ? AND window_start < ? ORDER BY window_start, feature""",
            [deployment_id, start, end],
        )
    ]


@dataclass(frozen=True)
class AlertRule:
    """When to raise an alert: a metric above or below a threshold over a window."""

    id: int
    deployment_id: int
    metric: str
    comparison: str
    threshold: float
    window_minutes: int
    severity: str
    enabled: bool
    created_at: str

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass(frozen=True)
class Alert:
    """A rule that fired: open until the metric recovers, acknowledged by a person."""

    id: int
    deployment_id: int
    rule_id: int | None
    metric: str
    severity: str
    value: float | None
    threshold: float | None
    message: str
    status: str
    acknowledged_by: str | None
    acknowledged_at: str | None
    opened_at: str
    cleared_at: str | None

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def alert_rules(db: Database, deployment_id: int) -> list[AlertRule]:
    rows = db.query(
        "SELECT * FROM alert_rules WHERE deployment_id = ? ORDER BY id", [deployment_id]
    )
    return [AlertRule(**{**dict(row), "enabled": bool(row["enabled"])}) for row in rows]


def add_alert_rule(db: Database, deployment_id: int, **fields: Any) -> int:
    return _insert_one(
        db, "alert_rules", {"deployment_id": deployment_id, "created_at": now(), **fields}
    )


def update_alert_rule(db: Database, rule_id: int, **fields: Any) -> None:
    assignments = ", ".join(f"{name} = ?" for name in fields)
    with writing(db):
        db.execute(
            f"UPDATE alert_rules SET {assignments} WHERE id = ?", [*fields.values(), rule_id]
        )


def open_alert(db: Database, **fields: Any) -> int:
    return _insert_one(db, "alerts", {"status": "open", "opened_at": now(), **fields})


def clear_alert(db: Database, alert_id: int) -> None:
    with writing(db):
        db.execute(
            "UPDATE alerts SET status = 'cleared', cleared_at = ? WHERE id = ?", [now(), alert_id]
        )


def acknowledge_alert(db: Database, alert_id: int, actor: str) -> bool:
    with writing(db):
        cursor = db.execute(
            """UPDATE alerts SET acknowledged_by = ?, acknowledged_at = ?
               WHERE id = ? AND acknowledged_at IS NULL""",
            [actor, now(), alert_id],
        )
    return cursor.rowcount > 0


def list_alerts(
    db: Database, *, deployment_id: int | None = None, status: str | None = None, limit: int = 200
) -> list[Alert]:
    clauses, params = ["1 = 1"], list[Any]()
    if deployment_id is not None:
        clauses.append("deployment_id = ?")
        params.append(deployment_id)
    if status is not None:
        clauses.append("status = ?")
        params.append(status)
    sql = f"SELECT * FROM alerts WHERE {' AND '.join(clauses)} ORDER BY id DESC LIMIT ?"
    return [Alert(**dict(row)) for row in db.query(sql, [*params, limit])]


def get_alert(db: Database, alert_id: int) -> Alert | None:
    rows = list(db.query("SELECT * FROM alerts WHERE id = ?", [alert_id]))
    return Alert(**dict(rows[0])) if rows else None


# ---------------------------------------------------------------- retraining


@dataclass(frozen=True)
class RetrainPolicy:
    """When to retrain a deployment's model (triggers) and what to do then (action)."""

    id: int
    deployment_id: int
    name: str
    enabled: bool
    triggers: dict[str, Any]
    action: dict[str, Any]
    cooldown_minutes: float
    created_by: str
    created_at: str
    last_fired_at: float | None

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def _policy(row: sqlite3.Row | dict[str, Any]) -> RetrainPolicy:
    row = dict(row)
    return RetrainPolicy(
        id=row["id"],
        deployment_id=row["deployment_id"],
        name=row["name"],
        enabled=bool(row["enabled"]),
        triggers=_loads(row["triggers_json"], {}),
        action=_loads(row["action_json"], {}),
        cooldown_minutes=row["cooldown_minutes"],
        created_by=row["created_by"],
        created_at=row["created_at"],
        last_fired_at=row["last_fired_at"],
    )


def add_retrain_policy(
    db: Database,
    *,
    deployment_id: int,
    name: str,
    triggers: dict[str, Any],
    action: dict[str, Any],
    cooldown_minutes: float,
    created_by: str,
) -> int:
    fields = {
        "deployment_id": deployment_id,
        "name": name,
        "triggers_json": json.dumps(triggers),
        "action_json": json.dumps(action),
        "cooldown_minutes": cooldown_minutes,
        "created_by": created_by,
        "created_at": now(),
    }
    return _insert_one(db, "retrain_policies", fields)


def retrain_policies(
    db: Database, *, deployment_id: int | None = None, enabled_only: bool = False
) -> list[RetrainPolicy]:
    clauses, params = ["1 = 1"], list[Any]()
    if deployment_id is not None:
        clauses.append("deployment_id = ?")
        params.append(deployment_id)
    if enabled_only:
        clauses.append("enabled = 1")
    sql = f"SELECT * FROM retrain_policies WHERE {' AND '.join(clauses)} ORDER BY id"
    return [_policy(row) for row in db.query(sql, params)]


def get_retrain_policy(db: Database, policy_id: int) -> RetrainPolicy | None:
    rows = list(db.query("SELECT * FROM retrain_policies WHERE id = ?", [policy_id]))
    return _policy(rows[0]) if rows else None


def update_retrain_policy(db: Database, policy_id: int, **fields: Any) -> None:
    for name in ("triggers", "action"):
        if name in fields:
            fields[f"{name}_json"] = json.dumps(fields.pop(name))
    assignments = ", ".join(f"{name} = ?" for name in fields)
    with writing(db):
        db.execute(
            f"UPDATE retrain_policies SET {assignments} WHERE id = ?", [*fields.values(), policy_id]
        )


@dataclass(frozen=True)
class RetrainRun:
    """One retraining: why it started, each step, the challenger and the decision."""

    id: int
    policy_id: int | None
    deployment_id: int
    status: str
    dry_run: bool
    triggers: list[dict[str, Any]]
    job_id: int | None
    champion_version_id: int | None
    challenger_version_id: int | None
    dataset_version_id: int | None
    metric: str | None
    champion_score: float | None
    challenger_score: float | None
    decision: str | None
    details: dict[str, Any]
    steps: list[dict[str, Any]]
    error: str | None
    created_by: str
    created_at: str
    finished_at: str | None

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_RETRAIN_STATUSES

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


ACTIVE_RETRAIN_STATUSES = ("pending", "running")


def _retrain_run(row: sqlite3.Row | dict[str, Any]) -> RetrainRun:
    row = dict(row)
    row["dry_run"] = bool(row["dry_run"])
    for name, default in (("triggers", []), ("details", {}), ("steps", [])):
        row[name] = _loads(row.pop(f"{name}_json"), default)
    return RetrainRun(**row)


def add_retrain_run(db: Database, **fields: Any) -> int:
    """A new retraining record (status 'pending' unless given)."""
    fields = {"status": "pending", "created_at": now(), **fields}
    for name in ("triggers", "details"):
        if name in fields:
            fields[f"{name}_json"] = json.dumps(fields.pop(name), default=str)
    return _insert_one(db, "retrain_runs", fields)


def get_retrain_run(db: Database, run_id: int) -> RetrainRun | None:
    rows = list(db.query("SELECT * FROM retrain_runs WHERE id = ?", [run_id]))
    return _retrain_run(rows[0]) if rows else None


def retrain_runs(
    db: Database, *, deployment_id: int | None = None, active: bool = False, limit: int = 50
) -> list[RetrainRun]:
    clauses, params = ["1 = 1"], list[Any]()
    if deployment_id is not None:
        clauses.append("deployment_id = ?")
        params.append(deployment_id)
    if active:
        marks = ", ".join("?" for _ in ACTIVE_RETRAIN_STATUSES)
        clauses.append(f"status IN ({marks})")
        params.extend(ACTIVE_RETRAIN_STATUSES)
    sql = f"SELECT * FROM retrain_runs WHERE {' AND '.join(clauses)} ORDER BY id DESC LIMIT ?"
    return [_retrain_run(row) for row in db.query(sql, [*params, limit])]


def update_retrain_run(db: Database, run_id: int, **fields: Any) -> None:
    for name in ("details", "triggers"):
        if name in fields:
            fields[f"{name}_json"] = json.dumps(fields.pop(name), default=str)
    assignments = ", ".join(f"{name} = ?" for name in fields)
    with writing(db):
        db.execute(
            f"UPDATE retrain_runs SET {assignments} WHERE id = ?", [*fields.values(), run_id]
        )


def add_retrain_step(db: Database, run_id: int, step: dict[str, Any]) -> None:
    """Append one step (time, name, message) to a retraining's record, atomically."""
    with writing(db):
        db.execute(
            """UPDATE retrain_runs SET steps_json = json_insert(steps_json, '$[#]', json(?))
               WHERE id = ?""",
            [json.dumps(step, default=str), run_id],
        )


def labelled_rows(
    db: Database, deployment_id: int, *, limit: int
) -> list[tuple[float, dict[str, Any], Any]]:
    """(time, input row, label) of a deployment's labelled rows, newest ``limit`` of them."""
    found = db.execute(
        """SELECT p.created_at, p.request_id, p.inputs, l.row, l.label
           FROM prediction_labels l JOIN predictions p ON p.request_id = l.request_id
           WHERE p.deployment_id = ? AND p.status = 200
           ORDER BY p.id DESC, l.row LIMIT ?""",
        [deployment_id, limit],
    ).fetchall()
    parsed: dict[str, list[Any]] = {}
    rows = []
    for created_at, request_id, inputs, row, label in found:
        if request_id not in parsed:
            parsed = {request_id: json.loads(inputs)}
        rows.append((created_at, parsed[request_id][row], json.loads(label)))
    return rows


def labels_since(db: Database, deployment_id: int, since: float) -> int:
    """How many rows of a deployment got a label after ``since`` (epoch seconds)."""
    row = db.execute(
        "SELECT COUNT(*) FROM prediction_labels WHERE deployment_id = ? AND labelled_at > ?",
        [deployment_id, since],
    ).fetchone()
    return int(row[0])


SHADOW_COLUMNS = (
    "deployment_id",
    "model_version_id",
    "request_id",
    "created_at",
    "latency_ms",
    "rows",
    "predictions",
    "probabilities",
)


def log_shadow_predictions(db: Database, rows: list[tuple[Any, ...]]) -> None:
    """Append a shadow model's answers (tuples in SHADOW_COLUMNS order) in one transaction."""
    marks = ", ".join("?" for _ in SHADOW_COLUMNS)
    with writing(db):
        db.conn.executemany(
            f"INSERT INTO shadow_predictions ({', '.join(SHADOW_COLUMNS)}) VALUES ({marks})", rows
        )


def shadow_pairs(
    db: Database, deployment_id: int, version_id: int, start: float, end: float
) -> list[tuple[float, str, str, str, str | None]]:
    """(time, request id, served predictions, shadow predictions, label JSON object or None)
    for requests answered in [start, end) that the shadow version also scored."""
    return db.execute(
        """SELECT p.created_at, p.request_id, p.predictions, s.predictions,
                  (SELECT json_group_object(l.row, json(l.label)) FROM prediction_labels l
                   WHERE l.request_id = p.request_id)
           FROM shadow_predictions s JOIN predictions p ON p.request_id = s.request_id
           WHERE s.deployment_id = ? AND s.model_version_id = ?
           AND s.created_at >= ? AND s.created_at < ? ORDER BY s.id""",
        [deployment_id, version_id, start, end],
    ).fetchall()
