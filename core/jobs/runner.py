"""Starting, watching and cancelling jobs: each job waits in the queue for a slot of the local
pool, then runs in its own detached worker process."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.auth.access import authorized_actor
from core.auth.jobs import job_permission
from core.jobs.kinds import SLOTLESS_KINDS
from core.jobs.pool import job_slots
from core.processes import process_running, spawn_detached, start_ticks
from core.settings import artifacts_dir
from core.store import audit, connect
from core.store import jobs as jobs_store
from core.store.jobs import Job

WORKER_MODULE = "core.jobs.worker"
PROGRESS_INTERVAL_S = 0.25
UNSTARTED_GRACE_S = 60.0
WORKER_DIED = (
    "The job's worker process stopped unexpectedly (it may have been killed or run out of "
    "memory). Start the job again; the log has details."
)
log = logging.getLogger("mlops_studio.jobs")
NEVER_STARTED = "The job's worker process never started. Start the job again."
ENDED_BEFORE_START = (
    "The job's worker process ended before the job began. Start the job again; the log has details."
)
COULD_NOT_SPAWN = (
    "The job's worker process could not be started (the machine had no process or memory to "
    "spare). Start the job again; the scheduler's log has details."
)
# The job this process is a worker of (None outside workers): a job it submits is part of that
# job's work, which waits for it while holding its slot, so it starts at once without one (with
# one slot, queueing it would wait for ever).
_working_on: int | None = None


def working_on(job_id: int) -> None:
    """Note that this process is the worker of job ``job_id``."""
    global _working_on
    _working_on = job_id


class JobCancelled(Exception):
    """Raised inside a job when its user asked to cancel it."""


class Progress:
    """What a job calls to report progress; persists it (throttled) and notices cancellation."""

    def __init__(self, home: Path, job_id: int) -> None:
        self.home = home
        self.job_id = job_id
        self._last = 0.0

    def __call__(self, fraction: float, message: str) -> None:
        moment = time.monotonic()
        if moment - self._last < PROGRESS_INTERVAL_S and fraction < 1.0:
            return
        self._last = moment
        with connect(self.home) as db:
            cancel_requested = jobs_store.set_progress(db, self.job_id, fraction, message)
        if cancel_requested:
            raise JobCancelled()


def job_log_path(home: Path, job_id: int) -> Path:
    return artifacts_dir(home) / "logs" / f"job-{job_id}.log"


def submit_job(
    home: Path,
    *,
    kind: str,
    params: dict[str, Any],
    subject: str | None = None,
    dedupe_key: str | None = None,
    actor: str = "studio",
) -> Job:
    """Queue a job and start it if a slot is free, or return the job already doing the same
    work. Kinds that need no slot, and jobs a running job submits, start at once."""
    actor = authorized_actor(home, job_permission(kind), actor)
    needs_slot = kind not in SLOTLESS_KINDS and _working_on is None
    with connect(home) as db:
        job, created = jobs_store.insert(
            db,
            kind=kind,
            subject=subject,
            params=params,
            dedupe_key=dedupe_key,
            created_by=actor,
            needs_slot=needs_slot,
        )
        if created:
            audit.record(
                db,
                actor=actor,
                action="job.submit",
                entity_type="job",
                entity_id=job.id,
                details={"kind": kind, "subject": subject},
            )
    if created and not job.needs_slot and not _spawn_worker(home, job.id):
        with connect(home) as db:
            jobs_store.finish(db, job.id, status="failed", message="Failed", error=COULD_NOT_SPAWN)
    start_queued(home)  # any submit also starts what waits for a free slot
    return refresh_job(home, job.id) or job


def start_queued(home: Path, *, slots: int | None = None) -> list[int]:
    """Start queued jobs, oldest first, into the slots free now (a slot whose worker died is
    free again); returns the ids started. The scheduler, every submit and every worker that
    ends call this, so nothing waits while a slot is free. With MLOPS_STUDIO_JOB_SLOTS set
    wrong, nothing starts (the sidebar and `mlops-studio jobs` say why) and nothing is lost:
    the queue starts once it is fixed."""
    if slots is None:
        try:
            slots = job_slots()
        except ValueError as error:
            log.warning("%s", error)
            return []
    if not _notice_dead_workers(home, slots):
        return []
    started: list[int] = []
    while True:
        with connect(home) as db:
            job = jobs_store.claim_next(db, slots=slots)
        if job is None:
            return started
        if not _spawn_worker(home, job.id):
            with connect(home) as db:  # back to its place; the next round tries again
                jobs_store.back_to_queue(db, job.id)
            return started
        started.append(job.id)


def _notice_dead_workers(home: Path, slots: int) -> bool:
    """End the jobs whose worker is gone; whether a queued job may now find a free slot (read
    without the write lock, which only a claim that may succeed takes)."""
    with connect(home) as db:
        found = jobs_store.active(db)
        ended = {job.id for job in found if _end_if_orphaned(db, job)}
    left = [job for job in found if job.id not in ended]
    holding = sum(job.needs_slot and job.status != "queued" for job in left)
    return holding < slots and any(job.status == "queued" for job in left)


def _spawn_worker(home: Path, job_id: int) -> bool:
    """Start the worker of a job that was given a slot (or needs none); False when the
    machine had no process or memory to give."""
    args = [sys.executable, "-m", WORKER_MODULE, "--home", str(home), str(job_id)]
    try:
        process = spawn_detached(args, job_log_path(home, job_id))
    except OSError:
        log.exception("could not start the worker of job %s", job_id)
        return False
    # when it started, read now: its command line may stay empty a while longer (exec is not
    # done), so that could not tell this worker from a stranger
    with connect(home) as db:
        jobs_store.set_pid(db, job_id, process.pid, start_ticks(process.pid))
    return True


def _worker_alive(job: Job) -> bool:
    """Whether the job's worker is still the process spawned for it (a job whose worker has
    not begun it yet is not dead: only a process that is gone, or is another, is)."""
    assert job.pid is not None
    return process_running(job.pid, WORKER_MODULE, started=job.pid_start_ticks)


def _age_seconds(timestamp: str) -> float:
    return (datetime.now(UTC) - datetime.fromisoformat(timestamp)).total_seconds()


def refresh_job(home: Path, job_id: int) -> Job | None:
    """The job as stored, after marking it failed or cancelled if its worker is gone (and
    then starting the next queued job in the slot it left); a queued job starts if a slot is
    free (one whose worker died before it could hand its slot on)."""
    with connect(home) as db:
        job = jobs_store.get(db, job_id)
        if job is None or not job.active:
            return job
        freed = _end_if_orphaned(db, job)
    if freed or job.status == "queued":
        start_queued(home)
    with connect(home) as db:
        return jobs_store.get(db, job_id)


def _end_if_orphaned(db: Any, job: Job) -> bool:
    """End a job whose worker is gone (or never came); whether it did. A queued job has no
    worker yet and waits as long as the queue takes."""
    if job.status == "queued":
        return False
    if job.pid is not None and not _worker_alive(job):
        _finish_orphan(db, job)
        return True
    if job.pid is None and _age_seconds(job.claimed_at or job.created_at) > UNSTARTED_GRACE_S:
        jobs_store.finish(db, job.id, status="failed", message="Failed", error=NEVER_STARTED)
        return True
    return False


def _finish_orphan(db: Any, job: Job) -> None:
    if job.cancel_requested:
        jobs_store.finish(db, job.id, status="cancelled", message="Cancelled")
    else:
        error = ENDED_BEFORE_START if job.status == "starting" else WORKER_DIED
        jobs_store.finish(db, job.id, status="failed", message="Failed", error=error)


def cancel_job(home: Path, job_id: int, *, actor: str = "studio") -> Job | None:
    """Ask a job to stop: a queued job leaves the queue at once (it never starts), a running
    one stops at its next step."""
    with connect(home) as db:
        job = jobs_store.get(db, job_id)
        if job is None or not job.active:
            return job
        actor = authorized_actor(home, job_permission(job.kind), actor)
        # flagged first: from now on no claim picks it, so it cannot start behind our back
        jobs_store.request_cancel(db, job_id)
        audit.record(db, actor=actor, action="job.cancel", entity_type="job", entity_id=job_id)
        if job.status == "queued" and jobs_store.cancel_queued(db, job_id):
            return jobs_store.get(db, job_id)
        job = jobs_store.get(db, job_id)  # given a slot just before the cancel: it has a worker
    if job is not None and job.pid is not None and _worker_alive(job):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(job.pid, signal.SIGTERM)
    return refresh_job(home, job_id)


def wait_for_job(home: Path, job_id: int, *, timeout: float = 600.0, poll: float = 0.2) -> Job:
    """Block until the job ends (for the CLI and tests); raises TimeoutError past ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        job = refresh_job(home, job_id)
        if job is None:
            raise KeyError(f"There is no job {job_id}.")
        if not job.active:
            return job
        if time.monotonic() > deadline:
            raise TimeoutError(f"Job {job_id} is still {job.status} after {timeout:.0f} s.")
        time.sleep(poll)


def current_job(home: Path, *, kind: str, subject: str) -> Job | None:
    """The newest job of this kind for this subject, whatever its status."""
    with connect(home) as db:
        jobs = jobs_store.find(db, kind=kind, subject=subject, limit=1)
    return refresh_job(home, jobs[0].id) if jobs else None


def latest_finished_job(home: Path, *, kind: str, subject: str) -> Job | None:
    """The newest job of this kind for this subject that finished successfully."""
    return next(iter(finished_jobs(home, kind=kind, subject=subject)), None)


def finished_jobs(home: Path, *, kind: str, subject: str, limit: int = 20) -> list[Job]:
    """The newest successful jobs of this kind for this subject, newest first."""
    with connect(home) as db:
        jobs = jobs_store.find(db, kind=kind, subject=subject, limit=limit)
    return [job for job in jobs if job.status == "done"]


def list_recent_jobs(home: Path, *, include_finished: bool = False) -> list[Job]:
    """Active jobs (refreshed), plus the newest finished ones when asked."""
    with connect(home) as db:
        jobs = jobs_store.find(db, limit=50) if include_finished else jobs_store.active(db)
    refreshed = [refresh_job(home, job.id) if job.active else job for job in jobs]
    return [job for job in refreshed if job is not None and (include_finished or job.active)]
