"""Jobs: long work run outside the UI, with its persisted status, progress and result."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from core.store import _rows, runs
from core.store.connection import writing

# queued: waiting for a free slot; starting: given a slot, its worker not begun yet
ACTIVE_JOB_STATUSES = ("queued", "starting", "running")
_ACTIVE = (f"status IN ({_rows.marks(ACTIVE_JOB_STATUSES)})", ACTIVE_JOB_STATUSES)
WAITING = "Waiting for a free slot"
STARTING = "Starting"
# every column, and a queued job's place in the queue (1: the next to start)
_SELECT = """*, CASE WHEN status = 'queued' THEN (SELECT COUNT(*) FROM jobs AS ahead
    WHERE ahead.status = 'queued' AND ahead.id <= jobs.id) END AS queue_place"""


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
    # when the worker process started (clock ticks after boot): with the pid, tells the worker
    # apart from a later process given the same pid; None where the system cannot tell
    pid_start_ticks: int | None = None
    # False for work that waits on something other than the CPU, or that a running job waits
    # for: it starts at once and takes no slot of the pool
    needs_slot: bool = True
    claimed_at: str | None = None  # when it was given a slot (or, needing none, submitted)
    queue_place: int | None = None  # a queued job's place in the queue, 1 being the next

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_JOB_STATUSES

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def _job(row: dict[str, Any]) -> Job:
    return _rows.record(
        Job,
        row,
        decoded={"params": "{}", "result": "null"},
        flags=("cancel_requested", "needs_slot"),
    )


def _jobs(db: Database, equal: dict[str, Any], *clauses: Any, **options: Any) -> list[Job]:
    where, params = _rows.where(equal, *clauses)
    rows = db.table("jobs").rows_where(where, params, select=_SELECT, **options)
    return [_job(row) for row in rows]


def get(db: Database, job_id: int) -> Job | None:
    found = _jobs(db, {"id": job_id})
    return found[0] if found else None


def _active_with_key(db: Database, dedupe_key: str) -> Job | None:
    found = _jobs(db, {"dedupe_key": dedupe_key}, _ACTIVE)
    return found[0] if found else None


def insert(
    db: Database,
    *,
    kind: str,
    subject: str | None,
    params: dict[str, Any],
    dedupe_key: str | None,
    created_by: str,
    needs_slot: bool = True,
) -> tuple[Job, bool]:
    """Queue a job (one that ``needs_slot`` False starts at once); returns ``(job, created)``,
    the already active one when the key matches."""
    submitted = _rows.now()
    with writing(db):
        if dedupe_key and (existing := _active_with_key(db, dedupe_key)):
            return existing, False
        job_id = _rows.insert(
            db,
            "jobs",
            {
                "kind": kind,
                "subject": subject,
                "params_json": json.dumps(params),
                "dedupe_key": dedupe_key,
                "status": "queued" if needs_slot else "starting",
                "needs_slot": int(needs_slot),
                "claimed_at": None if needs_slot else submitted,
                "created_by": created_by,
                "created_at": submitted,
                "message": WAITING if needs_slot else STARTING,
            },
        )
    job = get(db, job_id)
    assert job is not None
    return job, True


def set_pid(db: Database, job_id: int, pid: int, start_ticks: int | None = None) -> None:
    """Record the worker process spawned for a job: its pid and when it started."""
    fields = {"pid": pid, "pid_start_ticks": start_ticks}
    _rows.update(db, "jobs", job_id, fields, known=set(fields))


def slots_taken(db: Database) -> int:
    """How many jobs hold a slot of the pool: starting or running, and needing one."""
    return int(
        db.execute(
            "SELECT COUNT(*) FROM jobs WHERE status IN ('starting', 'running') AND needs_slot = 1"
        ).fetchone()[0]
    )


def claim_next(db: Database, *, slots: int) -> Job | None:
    """Give the oldest queued job a slot (it becomes starting) when fewer than ``slots`` are
    taken; None when every slot is taken or nothing waits."""
    # one BEGIN IMMEDIATE transaction counts and claims: the UI, the CLI, the scheduler and
    # exiting workers claim at the same time, and only one of them can take the last slot
    with writing(db):
        if slots_taken(db) >= slots:
            return None
        row = db.execute(
            "SELECT id FROM jobs WHERE status = 'queued' AND cancel_requested = 0 "
            "ORDER BY id LIMIT 1"
        ).fetchone()
        if row is None:
            return None
        db.execute(
            "UPDATE jobs SET status = 'starting', claimed_at = ?, message = ? WHERE id = ?",
            [_rows.now(), STARTING, row[0]],
        )
    return get(db, row[0])


def back_to_queue(db: Database, job_id: int) -> None:
    """Give back the slot of a starting job whose worker could not be started: it waits again,
    at its old place (the queue goes by submission)."""
    with writing(db):
        db.execute(
            """UPDATE jobs SET status = 'queued', claimed_at = NULL, message = ?
               WHERE id = ? AND status = 'starting' AND pid IS NULL""",
            [WAITING, job_id],
        )


def start(db: Database, job_id: int, pid: int, start_ticks: int | None = None) -> bool:
    """Mark a starting job running in process ``pid`` (started at ``start_ticks``); False
    when it was cancelled meanwhile (or was never given a slot)."""
    with writing(db):
        # a conditional update: its row count says whether the job was still starting
        cursor = db.execute(
            """UPDATE jobs SET status = 'running', pid = ?, pid_start_ticks = ?, started_at = ?,
                   message = 'Starting'
               WHERE id = ? AND status = 'starting' AND cancel_requested = 0""",
            [pid, start_ticks, _rows.now(), job_id],
        )
        return cursor.rowcount == 1


def cancel_queued(db: Database, job_id: int) -> bool:
    """End a job that still waits in the queue as cancelled; False when it has left the queue
    (given a slot meanwhile, or ended)."""
    with writing(db):
        cursor = db.execute(
            """UPDATE jobs SET status = 'cancelled', message = 'Cancelled', cancel_requested = 1,
                   finished_at = ?
               WHERE id = ? AND status = 'queued'""",
            [_rows.now(), job_id],
        )
        return cursor.rowcount == 1


def set_progress(db: Database, job_id: int, fraction: float, message: str) -> bool:
    """Persist progress; returns True when the user asked to cancel the job."""
    with writing(db):
        # a conditional update: a job that already ended keeps its last progress
        db.execute(
            "UPDATE jobs SET progress = ?, message = ? WHERE id = ? AND status = 'running'",
            [min(max(fraction, 0.0), 1.0), message, job_id],
        )
        row = _rows.first(
            db.table("jobs").rows_where("id = ?", [job_id], select="cancel_requested")
        )
    return bool(row and row["cancel_requested"])


def finish(
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
    active_sql, active_params = _ACTIVE
    with writing(db):
        # a conditional update: only an active job ends
        db.execute(
            f"""UPDATE jobs SET status = ?, message = ?, error = ?, result_json = ?,
                    finished_at = ?{progress_sql}
                WHERE id = ? AND {active_sql}""",
            [
                status,
                message,
                error,
                json.dumps(result) if result is not None else None,
                _rows.now(),
                job_id,
                *active_params,
            ],
        )
        # a run never outlives its job: a killed or cancelled training leaves nothing "running"
        run_status = "cancelled" if status == "cancelled" else "failed"
        runs.end_of_job(db, job_id, status=run_status, error=error or runs.RUN_STOPPED)


def request_cancel(db: Database, job_id: int) -> None:
    _rows.update(db, "jobs", job_id, {"cancel_requested": 1}, known={"cancel_requested"})


def find(
    db: Database, *, kind: str | None = None, subject: str | None = None, limit: int = 50
) -> list[Job]:
    """Newest jobs first, optionally of one kind and subject."""
    # '' filters nothing, as before
    equal = {"kind": kind or None, "subject": subject or None}
    return _jobs(db, equal, order_by="id DESC", limit=limit)


def active(db: Database) -> list[Job]:
    return _jobs(db, {}, _ACTIVE, order_by="id")


def set_compute(db: Database, job_id: int, placement: dict[str, Any]) -> None:
    """Record where a job does its work (see core.jobs.compute.Placement)."""
    _rows.update(
        db, "jobs", job_id, {"compute_json": json.dumps(placement)}, known={"compute_json"}
    )


def compute_of(db: Database, job_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Where each of these jobs did its work, for those that recorded it."""
    if not job_ids:
        return {}
    rows = db.table("jobs").rows_where(
        f"id IN ({_rows.marks(job_ids)}) AND compute_json IS NOT NULL",
        list(job_ids),
        select="id, compute_json",
    )
    return {row["id"]: _rows.loads(row["compute_json"], {}) for row in rows}
