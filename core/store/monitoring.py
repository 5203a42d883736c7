"""Monitoring: the aggregation state, windows and metrics of a deployment's log, and alerts."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import orjson
from sqlite_utils import Database

from core.store import _rows
from core.store.connection import writing

_STATE_DEFAULTS = {"last_prediction_id": 0, "last_labelled_at": 0.0, "last_drift_end": 0.0}


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


def state(db: Database, deployment_id: int) -> dict[str, Any]:
    """Where the monitor's aggregation of a deployment's log has got to."""
    row = _rows.first(db.table("monitor_state").rows_where("deployment_id = ?", [deployment_id]))
    return row or {"deployment_id": deployment_id, **_STATE_DEFAULTS}


def set_state(db: Database, deployment_id: int, **fields: Any) -> None:
    _rows.checked("monitor_state", fields, _STATE_DEFAULTS)
    with writing(db):
        merged = {**state(db, deployment_id), **fields}
        db.table("monitor_state").upsert(merged, pk="deployment_id")


def predictions_after(
    db: Database, deployment_id: int, after_id: int, *, limit: int
) -> list[tuple[Any, ...]]:
    """(id, created_at, request_id, status, latency_ms, rows, predictions, unseen) of newer
    log rows, one per request."""
    # raw tuples: the monitor reads the log in large batches
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
    # an aggregate over a JOIN of labels and the log
    rows = db.execute(
        """SELECT CAST(p.created_at / ? AS INTEGER) * ?, MAX(l.labelled_at)
           FROM prediction_labels l JOIN predictions p ON p.request_id = l.request_id
           WHERE l.deployment_id = ? AND l.labelled_at > ? GROUP BY 1""",
        [width, width, deployment_id, since],
    ).fetchall()
    newest = max((row[1] for row in rows), default=since)
    return [float(row[0]) for row in rows], float(newest)


def _labelled(
    db: Database, columns: str, deployment_id: int, start: float, end: float
) -> list[tuple[Any, ...]]:
    """``columns`` of the labelled rows of answered requests logged in [start, end), request by
    request: a JOIN of the labels and the log (``l`` and ``p``)."""
    return db.execute(
        f"""SELECT {columns}
           FROM prediction_labels l JOIN predictions p ON p.request_id = l.request_id
           WHERE p.deployment_id = ? AND p.created_at >= ? AND p.created_at < ?
           AND p.status = 200 ORDER BY p.request_id""",
        [deployment_id, start, end],
    ).fetchall()


def labelled_pairs(
    db: Database, deployment_id: int, start: float, end: float
) -> list[tuple[Any, Any]]:
    """(prediction, label) of the labelled rows of requests logged in [start, end)."""
    found = _labelled(db, "p.request_id, p.predictions, l.row, l.label", deployment_id, start, end)
    parsed: dict[str, list[Any]] = {}
    pairs = []
    for request_id, predictions, row, label in found:
        if request_id not in parsed:
            parsed = {request_id: json.loads(predictions)}
        pairs.append((parsed[request_id][row], json.loads(label)))
    return pairs


def _in_window(
    db: Database, table: str, deployment_id: int, start: float, end: float, *, order_by: str
) -> list[dict[str, Any]]:
    where = "deployment_id = ? AND window_start >= ? AND window_start < ?"
    return list(db.table(table).rows_where(where, [deployment_id, start, end], order_by=order_by))


def windows(db: Database, deployment_id: int, start: float, end: float) -> list[dict[str, Any]]:
    return _in_window(db, "monitor_windows", deployment_id, start, end, order_by="window_start")


def save_windows(db: Database, rows: list[dict[str, Any]]) -> None:
    """Insert or replace whole window rows (the caller merged them with what was stored)."""
    with writing(db):
        db.table("monitor_windows").insert_all(rows, replace=True)


def window_inputs(
    db: Database, deployment_id: int, start: float, end: float, *, limit: int
) -> list[dict[str, Any]]:
    """The input rows of requests answered in [start, end), newest first, at most ``limit``."""
    found: list[dict[str, Any]] = []
    # a cursor read lazily: it stops as soon as ``limit`` rows are in
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
    # an aggregate
    row = db.execute(
        "SELECT MIN(created_at) FROM predictions WHERE deployment_id = ?", [deployment_id]
    ).fetchone()
    return None if row is None or row[0] is None else float(row[0])


def add_metrics(db: Database, rows: list[dict[str, Any]]) -> None:
    with writing(db):
        db.table("monitor_metrics").insert_all(rows)


def metrics(db: Database, deployment_id: int, start: float, end: float) -> list[dict[str, Any]]:
    order_by = "window_start, feature"
    return _in_window(db, "monitor_metrics", deployment_id, start, end, order_by=order_by)


_RULE_FIELDS = _rows.fields_of(AlertRule)
_ALERT_FIELDS = _rows.fields_of(Alert)


def alert_rules(db: Database, deployment_id: int) -> list[AlertRule]:
    rows = db.table("alert_rules").rows_where("deployment_id = ?", [deployment_id], order_by="id")
    return [AlertRule(**{**row, "enabled": bool(row["enabled"])}) for row in rows]


def add_alert_rule(db: Database, deployment_id: int, **fields: Any) -> int:
    _rows.checked("alert_rules", fields, _RULE_FIELDS)
    row = {"deployment_id": deployment_id, "created_at": _rows.now(), **fields}
    return _rows.insert(db, "alert_rules", row)


def update_alert_rule(db: Database, rule_id: int, **fields: Any) -> None:
    _rows.update(db, "alert_rules", rule_id, fields, known=_RULE_FIELDS)


def open_alert(db: Database, **fields: Any) -> int:
    _rows.checked("alerts", fields, _ALERT_FIELDS)
    return _rows.insert(db, "alerts", {"status": "open", "opened_at": _rows.now(), **fields})


def clear_alert(db: Database, alert_id: int) -> None:
    fields = {"status": "cleared", "cleared_at": _rows.now()}
    _rows.update(db, "alerts", alert_id, fields, known=_ALERT_FIELDS)


def acknowledge_alert(db: Database, alert_id: int, actor: str) -> bool:
    with writing(db):
        # a conditional update: its row count says whether this person was the first
        cursor = db.execute(
            """UPDATE alerts SET acknowledged_by = ?, acknowledged_at = ?
               WHERE id = ? AND acknowledged_at IS NULL""",
            [actor, _rows.now(), alert_id],
        )
    return cursor.rowcount > 0


def alerts(
    db: Database, *, deployment_id: int | None = None, status: str | None = None, limit: int = 200
) -> list[Alert]:
    """Newest alerts first, optionally of one deployment and status."""
    where, params = _rows.where({"deployment_id": deployment_id, "status": status})
    rows = db.table("alerts").rows_where(where, params, order_by="id DESC", limit=limit)
    return [Alert(**row) for row in rows]


def get_alert(db: Database, alert_id: int) -> Alert | None:
    row = _rows.first(db.table("alerts").rows_where("id = ?", [alert_id]))
    return Alert(**row) if row else None


def window_log(
    db: Database, deployment_id: int, start: float, end: float, *, limit: int
) -> list[tuple[Any, Any, Any]]:
    """(inputs, predictions, probabilities), parsed, of requests answered in [start, end), newest
    first, until ``limit`` rows are in."""
    found: list[tuple[Any, Any, Any]] = []
    rows = 0
    cursor = db.execute(
        """SELECT inputs, predictions, probabilities FROM predictions WHERE deployment_id = ?
           AND created_at >= ? AND created_at < ? AND status = 200 ORDER BY id DESC""",
        [deployment_id, start, end],
    )
    for inputs, predictions, probabilities in cursor:
        answered = _parsed(inputs)
        shares = None if probabilities is None else _parsed(probabilities)
        found.append((answered, _parsed(predictions), shares))
        rows += len(answered)
        if rows >= limit:
            break
    return found


def _parsed(text: str) -> Any:
    """JSON read with orjson (a window's log is read whole, and orjson parses it ~3x faster),
    falling back to json for what orjson refuses (NaN, which json.dumps writes)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def labelled_log(
    db: Database, deployment_id: int, start: float, end: float
) -> list[tuple[float, Any, Any, Any]]:
    """(logged at, prediction, probabilities or None, label) of every labelled row of requests
    logged in [start, end)."""
    columns = "p.created_at, p.request_id, p.predictions, p.probabilities, l.row, l.label"
    found = _labelled(db, columns, deployment_id, start, end)
    parsed: dict[str, tuple[Any, Any]] = {}
    rows = []
    for created_at, request_id, predictions, probabilities, row, label in found:
        if request_id not in parsed:
            parsed = {
                request_id: (
                    json.loads(predictions),
                    None if probabilities is None else json.loads(probabilities),
                )
            }
        answers, shares = parsed[request_id]
        rows.append(
            (created_at, answers[row], None if shares is None else shares[row], json.loads(label))
        )
    return rows
