"""Training runs and tuning trials: what each used, how it scored, and its details."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlite_utils import Database

from core.store import _rows
from core.store.connection import writing

RUN_STOPPED = "The training job stopped before this run finished."
_RUN_COLUMNS = """id, parent_id, job_id, experiment, kind, status, model, task, target,
    dataset_version_id, recipe_id, strategy, metric, score, score_std, holdout_score,
    params_json, metrics_json, plan_json, environment_json, tags_json, notes, seed, fit_seconds,
    duration_seconds, size_bytes, predict_ms, artifact_path, artifact_sha256, archived, error,
    created_by, created_at, finished_at"""


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
_UPDATABLE = (
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


def _run(row: dict[str, Any]) -> Run:
    return _rows.record(Run, row, decoded=_RUN_JSON, flags=("archived",))


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


def _new_row(new: NewRun, created_by: str) -> dict[str, Any]:
    return {
        "parent_id": new.parent_id,
        "job_id": new.job_id,
        "experiment": new.experiment,
        "kind": new.kind,
        "status": new.status,
        "model": new.model,
        "task": new.task,
        "target": new.target,
        "dataset_version_id": new.dataset_version_id,
        "recipe_id": new.recipe_id,
        "strategy": new.strategy,
        "metric": new.metric,
        "params_json": _rows.dumps(new.params),
        "plan_json": _rows.dumps(new.plan),
        "environment_json": _rows.dumps(new.environment),
        "tags_json": json.dumps(new.tags),
        "notes": new.notes,
        "seed": new.seed,
        "created_by": created_by,
        "created_at": _rows.now(),
    }


def insert(db: Database, new: NewRun, *, created_by: str) -> int:
    return _rows.insert(db, "runs", _new_row(new, created_by))


def update(db: Database, run_id: int, **fields: Any) -> None:
    """Set some of a run's results (JSON fields are given as Python objects)."""
    _rows.update(db, "runs", run_id, fields, known=_UPDATABLE, json_fields=_RUN_JSON)


def insert_trials(
    db: Database, trials: list[NewRun], results: list[dict[str, Any]], *, created_by: str
) -> None:
    """Record finished tuning trials in one transaction (a search may have hundreds)."""
    with writing(db):
        for new, result in zip(trials, results, strict=True):
            _rows.checked("runs", result, _UPDATABLE)
            row = {**_new_row(new, created_by), **_rows.columns(result, _RUN_JSON)}
            db.table("runs").insert(row)


def save_details(
    db: Database,
    run_id: int,
    *,
    evaluation: dict[str, Any] | None = None,
    search: dict[str, Any] | None = None,
    features: list[str] | None = None,
) -> None:
    with writing(db):
        db.table("run_details").upsert(
            {
                "run_id": run_id,
                "evaluation_json": json.dumps(evaluation or {}, allow_nan=False),
                "search_json": _rows.dumps(search or {}),
                "features_json": json.dumps(features or []),
            },
            pk="run_id",
        )


def details(db: Database, run_id: int) -> dict[str, Any]:
    row = _rows.first(db.table("run_details").rows_where("run_id = ?", [run_id]))
    if row is None:
        return {"evaluation": {}, "search": {}, "features": []}
    return {
        "evaluation": json.loads(row["evaluation_json"]),
        "search": json.loads(row["search_json"]),
        "features": json.loads(row["features_json"]),
    }


def get(db: Database, run_id: int) -> Run | None:
    row = _rows.first(db.table("runs").rows_where("id = ?", [run_id], select=_RUN_COLUMNS))
    return _run(row) if row else None


def find(
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
    equal = {"kind": kind, "parent_id": parent_id, "job_id": job_id, "experiment": experiment}
    where, params = _rows.where(equal, *([] if include_archived else [("archived = 0", [])]))
    rows = db.table("runs").rows_where(
        where, params, select=_RUN_COLUMNS, order_by="id DESC", limit=limit
    )
    return [_run(row) for row in rows]


def set_archived(db: Database, run_ids: list[int], archived: bool) -> None:
    with writing(db):
        # one statement for the whole selection
        db.execute(
            f"UPDATE runs SET archived = ? WHERE id IN ({_rows.marks(run_ids)})",
            [int(archived), *run_ids],
        )


def registered_ids(db: Database, run_ids: list[int]) -> set[int]:
    """Which of these runs are registered as a model version."""
    where = f"run_id IN ({_rows.marks(run_ids) or 'NULL'})"
    rows = db.table("model_versions").rows_where(where, run_ids, select="DISTINCT run_id")
    return {row["run_id"] for row in rows}


def delete(db: Database, run_ids: list[int]) -> list[str]:
    """Delete runs and their trials; returns the artifact paths that are no longer referenced."""
    marks = _rows.marks(run_ids)
    with writing(db):
        rows = db.table("runs").rows_where(
            f"(id IN ({marks}) OR parent_id IN ({marks})) AND artifact_path IS NOT NULL",
            [*run_ids, *run_ids],
            select="artifact_path",
        )
        paths = [row["artifact_path"] for row in rows]
        db.table("runs").delete_where(f"parent_id IN ({marks})", run_ids)
        db.table("runs").delete_where(f"id IN ({marks})", run_ids)
    return paths


def end_of_job(db: Database, job_id: int, *, status: str, error: str | None) -> int:
    """Close every run a dead or cancelled job left running; returns how many."""
    with writing(db):
        # a conditional update over many rows, keeping an error already recorded
        cursor = db.execute(
            """UPDATE runs SET status = ?, error = COALESCE(error, ?), finished_at = ?
               WHERE job_id = ? AND status = 'running'""",
            [status, error, _rows.now(), job_id],
        )
    return cursor.rowcount


def fingerprint(db: Database) -> tuple[Any, ...]:
    """A cheap summary of the model runs that changes whenever the runs listing would.

    Adding, deleting, finishing or (un)archiving a run changes it, so a cached listing keyed by
    it is never stale; ``SUM(archived * id)`` tells apart archiving one run and unarchiving
    another.
    """
    # an aggregate, read on every Experiments redraw
    row = db.execute(
        """SELECT COUNT(*), MAX(id), MAX(finished_at), SUM(archived), SUM(archived * id)
           FROM runs WHERE kind = 'model'"""
    ).fetchone()
    return tuple(row)


_SUMMARY_COLUMNS = """id, experiment, model, status, metric, score, score_std, holdout_score,
    fit_seconds, tags_json, archived, created_at"""


def summaries(db: Database, *, include_archived: bool = True) -> list[RunSummary]:
    """Model runs newest first, light enough to list thousands at once (JSON left unparsed
    except the tags)."""
    where = "kind = 'model'" + ("" if include_archived else " AND archived = 0")
    # raw tuples, not dicts: measured, this listing is read thousands of rows at a time
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


def set_compute(db: Database, run_id: int, placement: dict[str, Any]) -> None:
    """Record where a run's fits ran (see core.jobs.compute.Placement)."""
    _rows.update(
        db, "runs", run_id, {"compute_json": json.dumps(placement)}, known={"compute_json"}
    )


def compute_of(db: Database, run_id: int) -> dict[str, Any] | None:
    """Where a run's fits ran, when it recorded it."""
    row = _rows.first(db.table("runs").rows_where("id = ?", [run_id], select="compute_json"))
    return _rows.loads(row["compute_json"], None) if row else None
