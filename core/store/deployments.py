"""Deployments (which version a service serves, where, with which key) and its prediction log."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from core.store import _rows
from core.store.connection import writing

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
    rate_limit: float | None = None  # requests per second per API key; None: no limit
    rate_burst: int | None = None  # requests a key may send at once (None: one second's worth)
    round_decimals: int | None = None  # probabilities rounded to this many decimals
    labels_only: bool = False  # answers carry the predicted labels, no probabilities

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


_UPDATABLE = _rows.fields_of(Deployment, without=("id", "model_label"))
# a JOIN: a deployment carries its model version's label
_DEPLOYMENT_QUERY = """SELECT d.*, m.name || ' v' || v.version AS model_label
    FROM deployments d JOIN model_versions v ON v.id = d.model_version_id
    JOIN models m ON m.id = v.model_id"""


def _deployment(row: dict[str, Any]) -> Deployment:
    return _rows.record(Deployment, row, flags=("foreground", "labels_only"))


def insert(db: Database, **fields: Any) -> Deployment:
    """A new deployment row (status 'starting'); returns it as stored."""
    _rows.checked("deployments", fields, _UPDATABLE)
    fields = {"created_at": _rows.now(), "status": "starting", **fields}
    found = get(db, _rows.insert(db, "deployments", fields))
    assert found is not None
    return found


def get(db: Database, deployment_id: int) -> Deployment | None:
    rows = list(db.query(f"{_DEPLOYMENT_QUERY} WHERE d.id = ?", [deployment_id]))
    return _deployment(rows[0]) if rows else None


def find(db: Database, *, include_stopped: bool = True) -> list[Deployment]:
    """Every deployment (or only those not stopped or failed), oldest first."""
    where = "" if include_stopped else "WHERE d.status NOT IN ('stopped', 'failed')"
    return [_deployment(row) for row in db.query(f"{_DEPLOYMENT_QUERY} {where} ORDER BY d.id")]


def update(db: Database, deployment_id: int, **fields: Any) -> None:
    _rows.update(db, "deployments", deployment_id, fields, known=_UPDATABLE)


def watch(db: Database, deployment_id: int) -> tuple[int, str | None, str, int | None] | None:
    """(version id, key hash, desired, shadow version id) — what a running service re-reads to
    follow changes."""
    row = _rows.first(
        db.table("deployments").rows_where(
            "id = ?",
            [deployment_id],
            select="model_version_id, api_key_hash, desired, shadow_version_id",
        )
    )
    if row is None:
        return None
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
# what the service logs after those: each row's out-of-distribution inputs and how many rows
LOGGED_COLUMNS = (*PREDICTION_COLUMNS, "ood", "ood_rows")


@dataclass(frozen=True)
class ServingSettings:
    """The hardening a running service follows from its deployment row."""

    rate_limit: float | None = None
    rate_burst: int | None = None
    round_decimals: int | None = None
    labels_only: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def serving_settings(db: Database, deployment_id: int) -> ServingSettings | None:
    """The deployment's rate limit and answer shape (None: no such deployment)."""
    row = _rows.first(
        db.table("deployments").rows_where(
            "id = ?",
            [deployment_id],
            select="rate_limit, rate_burst, round_decimals, labels_only",
        )
    )
    if row is None:
        return None
    return ServingSettings(
        row["rate_limit"], row["rate_burst"], row["round_decimals"], bool(row["labels_only"])
    )


def log_predictions(db: Database, requests: list[tuple[Any, ...]]) -> None:
    """Append prediction log rows, one per request (tuples in PREDICTION_COLUMNS order, or
    LOGGED_COLUMNS with the out-of-distribution flags), in one transaction. A request's rows
    travel as JSON arrays: one write per request, not per row."""
    full = [request for request in requests if len(request) == len(LOGGED_COLUMNS)]
    short = [request for request in requests if len(request) != len(LOGGED_COLUMNS)]
    # executemany of prepared tuples: the serving hot path, measured
    with writing(db):
        for columns, rows in ((LOGGED_COLUMNS, full), (PREDICTION_COLUMNS, short)):
            if rows:
                db.conn.executemany(
                    f"INSERT INTO predictions ({', '.join(columns)}) "
                    f"VALUES ({_rows.marks(columns)})",
                    rows,
                )


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
    # executemany of prepared tuples: a label upload may hold hundreds of thousands of rows
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
        # '+' keeps SQLite on the request_id index rather than scanning the deployment's rows
        sql = f"""SELECT request_id, rows FROM predictions WHERE +deployment_id IS ?
                  AND status = 200 AND request_id IN ({_rows.marks(chunk)})"""
        sizes.update(db.execute(sql, [deployment_id, *chunk]).fetchall())
    return sizes


def predictions(db: Database, deployment_id: int, *, limit: int = 1000) -> list[dict[str, Any]]:
    """The newest logged rows of a deployment (one dict per row, label included), newest
    first; a refused request is one row with its status and error."""
    # raw tuples: a request's rows are unpacked from its JSON arrays below
    requests = db.execute(
        """SELECT request_id, created_at, latency_ms, status, rows, inputs, predictions,
                  probabilities, unseen, error, model_version_id, ood
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
        sql = (
            "SELECT request_id, row, label FROM prediction_labels "
            f"WHERE request_id IN ({_rows.marks(chunk)})"
        )
        labels.update(((rid, row), label) for rid, row, label in db.execute(sql, chunk))
    return labels


def _request_rows(request: tuple[Any, ...], labels: dict[tuple[str, int], str]) -> list[dict]:
    request_id, created_at, latency, status, size, inputs, predicted_json, *rest = request
    probabilities, unseen, error, version_id, ood = rest
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
    predicted = json.loads(predicted_json)
    shares = json.loads(probabilities) if probabilities else [None] * size
    unseen_rows = json.loads(unseen) if unseen else [[]] * size
    ood_rows = json.loads(ood) if ood else [[]] * size
    return [
        {
            **common,
            "row": index,
            "inputs": rows_in[index],
            "prediction": predicted[index],
            "probabilities": shares[index],
            "unseen": unseen_rows[index],
            "out_of_distribution": ood_rows[index],
            "label": json.loads(labels[(request_id, index)])
            if (request_id, index) in labels
            else None,
        }
        for index in range(size)
    ]


def logged_request_ids(db: Database, request_ids: list[str]) -> set[str]:
    """Which of these request ids have a logged prediction."""
    found: set[str] = set()
    for start in range(0, len(request_ids), 500):
        chunk = request_ids[start : start + 500]
        sql = f"SELECT request_id FROM predictions WHERE request_id IN ({_rows.marks(chunk)})"
        found.update(row[0] for row in db.execute(sql, chunk))
    return found


def ood_counts(
    db: Database, deployment_id: int, *, since: float, bucket_seconds: float
) -> list[tuple[float, int, int]]:
    """(bucket start, rows answered, rows flagged out of distribution) per time bucket of a
    deployment's answered requests since ``since`` (epoch seconds), oldest first."""
    sql = """SELECT CAST(created_at / ? AS INTEGER) * ? AS bucket, SUM(rows), SUM(ood_rows)
             FROM predictions WHERE deployment_id = ? AND created_at >= ? AND status = 200
             GROUP BY bucket ORDER BY bucket"""
    found = db.execute(sql, [bucket_seconds, bucket_seconds, deployment_id, since]).fetchall()
    return [(float(bucket), int(rows or 0), int(flagged or 0)) for bucket, rows, flagged in found]
