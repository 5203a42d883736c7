"""Retraining: policies, each retraining's record and steps, the labels it learns from, shadows."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from core.store import _rows
from core.store.connection import writing

ACTIVE_RETRAIN_STATUSES = ("pending", "running")


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


_POLICY_JSON = ("triggers", "action")
_POLICY_FIELDS = _rows.fields_of(RetrainPolicy)
# steps are appended one at a time (add_step), never set whole
_RUN_JSON = ("triggers", "details")
_RUN_FIELDS = _rows.fields_of(RetrainRun, without=("id", "steps"))


def _policy(row: dict[str, Any]) -> RetrainPolicy:
    decoded = {"triggers": "{}", "action": "{}"}
    return _rows.record(RetrainPolicy, row, decoded=decoded, flags=("enabled",))


def add_policy(
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
        "created_at": _rows.now(),
    }
    return _rows.insert(db, "retrain_policies", fields)


def policies(
    db: Database, *, deployment_id: int | None = None, enabled_only: bool = False
) -> list[RetrainPolicy]:
    """Policies in the order they were added, optionally of one deployment or only enabled."""
    where, params = _rows.where(
        {"deployment_id": deployment_id}, *([("enabled = 1", [])] if enabled_only else [])
    )
    rows = db.table("retrain_policies").rows_where(where, params, order_by="id")
    return [_policy(row) for row in rows]


def get_policy(db: Database, policy_id: int) -> RetrainPolicy | None:
    row = _rows.first(db.table("retrain_policies").rows_where("id = ?", [policy_id]))
    return _policy(row) if row else None


def update_policy(db: Database, policy_id: int, **fields: Any) -> None:
    """Set some of a policy's fields (triggers and action given as Python objects)."""
    _rows.update(
        db, "retrain_policies", policy_id, fields, known=_POLICY_FIELDS, json_fields=_POLICY_JSON
    )


def _run(row: dict[str, Any]) -> RetrainRun:
    decoded = {"triggers": "[]", "details": "{}", "steps": "[]"}
    return _rows.record(RetrainRun, row, decoded=decoded, flags=("dry_run",))


def add_run(db: Database, **fields: Any) -> int:
    """A new retraining record (status 'pending' unless given)."""
    _rows.checked("retrain_runs", fields, _RUN_FIELDS)
    fields = {"status": "pending", "created_at": _rows.now(), **fields}
    return _rows.insert(db, "retrain_runs", _rows.columns(fields, _RUN_JSON))


def get_run(db: Database, run_id: int) -> RetrainRun | None:
    row = _rows.first(db.table("retrain_runs").rows_where("id = ?", [run_id]))
    return _run(row) if row else None


def runs(
    db: Database, *, deployment_id: int | None = None, active: bool = False, limit: int = 50
) -> list[RetrainRun]:
    """Newest retrainings first, optionally of one deployment or only those still going."""
    active_sql = f"status IN ({_rows.marks(ACTIVE_RETRAIN_STATUSES)})"
    where, params = _rows.where(
        {"deployment_id": deployment_id},
        *([(active_sql, ACTIVE_RETRAIN_STATUSES)] if active else []),
    )
    rows = db.table("retrain_runs").rows_where(where, params, order_by="id DESC", limit=limit)
    return [_run(row) for row in rows]


def update_run(db: Database, run_id: int, **fields: Any) -> None:
    """Set some of a retraining's fields (triggers and details given as Python objects)."""
    _rows.update(db, "retrain_runs", run_id, fields, known=_RUN_FIELDS, json_fields=_RUN_JSON)


def add_step(db: Database, run_id: int, step: dict[str, Any]) -> None:
    """Append one step (time, name, message) to a retraining's record, atomically."""
    with writing(db):
        # appended inside SQLite, so two writers never lose each other's step
        db.execute(
            """UPDATE retrain_runs SET steps_json = json_insert(steps_json, '$[#]', json(?))
               WHERE id = ?""",
            [_rows.dumps(step), run_id],
        )


def take_over(
    db: Database, run_id: int, job_id: int | None, *, status: str, step: dict[str, Any]
) -> bool:
    """Give a retraining whose job ``job_id`` stopped the status ``status`` (pending to start
    again, failed to give up), with ``step`` appended; False when it has moved on meanwhile
    (it ended, or another job took it over)."""
    with writing(db):
        # one conditional update: a retraining that ended between the caller's look at its job
        # and now is never started again
        cursor = db.execute(
            f"""UPDATE retrain_runs
                   SET status = ?, steps_json = json_insert(steps_json, '$[#]', json(?))
                 WHERE id = ? AND job_id IS ?
                   AND status IN ({_rows.marks(ACTIVE_RETRAIN_STATUSES)})""",
            [status, _rows.dumps(step), run_id, job_id, *ACTIVE_RETRAIN_STATUSES],
        )
        return cursor.rowcount == 1


def labelled_rows(
    db: Database, deployment_id: int, *, limit: int
) -> list[tuple[float, dict[str, Any], Any]]:
    """(time, input row, label) of a deployment's labelled rows, newest ``limit`` of them."""
    # a JOIN of labels and the log
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
    return db.table("prediction_labels").count_where(
        "deployment_id = ? AND labelled_at > ?", [deployment_id, since]
    )


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
    # executemany of prepared tuples, on the serving path beside the prediction log
    with writing(db):
        db.conn.executemany(
            f"INSERT INTO shadow_predictions ({', '.join(SHADOW_COLUMNS)}) "
            f"VALUES ({_rows.marks(SHADOW_COLUMNS)})",
            rows,
        )


def shadow_pairs(
    db: Database, deployment_id: int, version_id: int, start: float, end: float
) -> list[tuple[float, str, str, str, str | None]]:
    """(time, request id, served predictions, shadow predictions, label JSON object or None)
    for requests answered in [start, end) that the shadow version also scored."""
    # a JOIN of the shadow log, the log and the labels
    return db.execute(
        """SELECT p.created_at, p.request_id, p.predictions, s.predictions,
                  (SELECT json_group_object(l.row, json(l.label)) FROM prediction_labels l
                   WHERE l.request_id = p.request_id)
           FROM shadow_predictions s JOIN predictions p ON p.request_id = s.request_id
           WHERE s.deployment_id = ? AND s.model_version_id = ?
           AND s.created_at >= ? AND s.created_at < ? ORDER BY s.id""",
        [deployment_id, version_id, start, end],
    ).fetchall()
