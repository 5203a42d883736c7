"""The worker process: runs one job to its end, records done, failed or cancelled, then hands
its slot on to the next job in the queue."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import traceback
from pathlib import Path
from types import FrameType

from core.auth.identity import acting_as
from core.auth.jobs import job_identity
from core.jobs.kinds import job_function
from core.jobs.runner import JobCancelled, Progress, start_queued, working_on
from core.processes import start_ticks
from core.store import connect, jobs

UNEXPECTED = "The job failed unexpectedly ({kind}: {error}). The job log has details."
USER_ERRORS: tuple[type[Exception], ...] = (ValueError, KeyError, FileNotFoundError, RuntimeError)


def _cancel_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise JobCancelled()


def _too_late_to_cancel(signum: int, frame: FrameType | None) -> None:
    """A cancel that comes once the job has ended finds nothing to stop."""


def run_job(home: Path, job_id: int) -> str:
    """Run job ``job_id`` in this process; returns the status it ended with."""
    with connect(home) as db:
        job = jobs.get(db, job_id)
        if job is None:
            return "missing"
        if not jobs.start(db, job_id, os.getpid(), start_ticks(os.getpid())):
            if (now := jobs.get(db, job_id)) is not None and now.cancel_requested:
                jobs.finish(db, job_id, status="cancelled", message="Cancelled")
            return "skipped"
    working_on(job_id)
    try:
        with acting_as(job_identity(home, job.created_by)):  # checked when it was submitted
            result = job_function(job.kind)(home, job.params, Progress(home, job_id))
    except JobCancelled:
        return _finish(home, job_id, "cancelled", "Cancelled")
    except Exception as error:  # noqa: BLE001 - every failure must be recorded, never lost
        logging.error("job %s failed:\n%s", job_id, traceback.format_exc())
        return _finish(home, job_id, "failed", "Failed", error=_user_message(error))
    return _finish(home, job_id, "done", "Done", result=result)


def _user_message(error: Exception) -> str:
    if type(error) in USER_ERRORS or type(error).__module__.startswith("core."):
        return str(error)
    return UNEXPECTED.format(kind=type(error).__name__, error=error)


def _finish(home: Path, job_id: int, status: str, message: str, **fields: object) -> str:
    with connect(home) as db:
        jobs.finish(db, job_id, status=status, message=message, **fields)  # type: ignore[arg-type]
    return status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--home", required=True)
    parser.add_argument("job_id", type=int)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    signal.signal(signal.SIGTERM, _cancel_on_sigterm)
    status = run_job(Path(args.home), args.job_id)
    logging.info("job %s ended: %s", args.job_id, status)
    hand_on_slot(Path(args.home))
    return 0


def hand_on_slot(home: Path) -> None:
    """Start the next queued jobs in the slot this worker leaves (before it exits, so the
    queue moves on with no scheduler running)."""
    # a handler, not SIG_IGN: the workers started here must not inherit an ignored SIGTERM
    signal.signal(signal.SIGTERM, _too_late_to_cancel)
    try:
        started = start_queued(home)
    except Exception:  # noqa: BLE001 - the scheduler's next round starts them instead
        logging.error("could not start the next queued job:\n%s", traceback.format_exc())
        return
    if started:
        logging.info("started the next queued job(s): %s", started)


if __name__ == "__main__":
    raise SystemExit(main())
