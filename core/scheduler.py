"""The scheduler: one process per studio home that keeps the job queue moving and monitoring
(and retraining) going with no browser open. `mlops-studio ui` starts it; `mlops-studio worker`
runs it standalone."""

from __future__ import annotations

import fcntl
import logging
import os
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, TextIO

from core.auth.identity import acting_as, studio_itself
from core.processes import spawn_detached, start_ticks
from core.settings import artifacts_dir

TICK_SECONDS = 5.0
STOP_TIMEOUT_S = 60.0
LOCK_FILE = "scheduler.lock"
SCHEDULER_MODULE = "core.scheduler"
ALREADY_RUNNING = "A scheduler already runs for {home} (pid {pid})."
DID_NOT_STOP = (
    "The scheduler of {home} (pid {pid}) did not stop within {seconds:.0f} s. Its log is "
    "artifacts/logs/scheduler.log; end it with `kill -9 {pid}`."
)
log = logging.getLogger("mlops_studio.scheduler")


def lock_path(home: Path) -> Path:
    return home / LOCK_FILE


@contextmanager
def scheduler_lock(home: Path) -> Iterator[TextIO]:
    """Hold the home's scheduler lock (an flock, released by the OS if the process dies)."""
    home.mkdir(parents=True, exist_ok=True)
    handle = lock_path(home).open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        pid = handle.read().strip() or "?"
        handle.close()
        raise RuntimeError(ALREADY_RUNNING.format(home=home, pid=pid)) from None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    try:
        yield handle
    finally:
        handle.close()


def running_pid(home: Path) -> int | None:
    """The pid of the home's scheduler, or None when none runs."""
    path = lock_path(home)
    if not path.exists():
        return None
    with path.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            text = handle.read().strip()
            return int(text) if text.isdigit() else -1
        fcntl.flock(handle, fcntl.LOCK_UN)
    return None


def start_in_background(home: Path) -> int | None:
    """Start a detached scheduler for ``home`` unless one runs; returns its pid."""
    pid = running_pid(home)
    if pid is not None:
        return pid
    args = [sys.executable, "-m", SCHEDULER_MODULE, "--home", str(home)]
    process = spawn_detached(args, artifacts_dir(home) / "logs" / "scheduler.log")
    return process.pid


def stop(home: Path, *, timeout: float = STOP_TIMEOUT_S) -> int | None:
    """Stop the home's scheduler (it ends after the round it is in) and wait until its process
    has ended; its pid, or None when none ran. RuntimeError if it is still there after
    ``timeout`` s."""
    deadline = time.monotonic() + timeout
    pid = running_pid(home)
    while pid is not None and pid <= 0 and time.monotonic() < deadline:
        time.sleep(0.05)  # it holds the lock but is still writing its pid into it
        pid = running_pid(home)
    if pid is None:
        return None
    if pid > 0:
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    while running_pid(home) is not None or (pid > 0 and start_ticks(pid) is not None):
        if time.monotonic() > deadline:
            raise RuntimeError(DID_NOT_STOP.format(home=home, pid=pid, seconds=timeout))
        time.sleep(0.1)
    return pid


def tick(home: Path) -> dict[str, Any]:
    """One round: start queued jobs in free slots, fold new log rows, compute drift, evaluate
    alerts, run due policies (and resume retrains whose job stopped)."""
    from core.monitor.alerts import evaluate
    from core.monitor.drift_windows import update_drift
    from core.monitor.windows import aggregate
    from core.serving.deployments import list_deployments

    start_queued_jobs(home)
    done: dict[str, Any] = {"folded": 0, "alerts": 0, "retrains": []}
    for deployment in list_deployments(home):
        try:
            done["folded"] += aggregate(home, deployment.id)
            update_drift(home, deployment.id)
            done["alerts"] += len(evaluate(home, deployment.id))
        except Exception:  # one deployment's trouble must not stop the others
            log.exception("monitoring deployment %s failed", deployment.id)
    done["retrains"] = run_due_policies(home)
    return done


def start_queued_jobs(home: Path) -> list[int]:
    """Start queued jobs in the slots free now: a worker that was killed cannot hand its slot
    on, and after a restart the queue kept in the store starts here. Returns the job ids."""
    from core.jobs.runner import start_queued

    try:
        return start_queued(home)
    except Exception:  # the scheduler's other work goes on
        log.exception("could not start the queued jobs")
        return []


def run_due_policies(home: Path) -> list[int]:
    """Start a retrain for each enabled policy whose triggers fire; returns the retrain ids
    (one per deployment at a time: triggers that fire during a retrain join it)."""
    from core.retrain.challenger import resume_retrains, start_retrain
    from core.retrain.policies import fired_triggers
    from core.store import connect, retraining

    started: list[int] = []
    try:
        resume_retrains(home)
        with connect(home) as db:
            policies = retraining.policies(db, enabled_only=True)
    except Exception:
        log.exception("could not read the retraining policies")
        return started
    for policy in policies:
        try:
            fired = fired_triggers(home, policy)
            if fired:
                actor = f"policy {policy.id} ({policy.name})"
                retrain = start_retrain(
                    home, policy.deployment_id, policy_id=policy.id, fired=fired, actor=actor
                )
                started.append(retrain.id)
        except Exception:  # one policy's trouble must not stop the others
            log.exception("retraining policy %s failed", policy.id)
    return started


def _reattach(home: Path) -> None:
    """Services that should run but whose supervisor is gone (a reboot) start again now, not
    only when someone opens the Deploy page."""
    from core.serving.deployments import reattach

    try:
        reattach(home)
    except Exception:  # the scheduler's other work goes on
        log.exception("could not restart the deployments that should be running")


def run(home: Path, *, every: float = TICK_SECONDS, rounds: int | None = None) -> None:
    """Tick every ``every`` seconds until SIGTERM/SIGINT (or ``rounds`` ticks)."""
    stopping = False

    def stop(*_: Any) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    # the studio's own automation: it acts on policies people with permission set up
    with scheduler_lock(home), acting_as(studio_itself()):
        _reattach(home)
        done = 0
        while not stopping and (rounds is None or done < rounds):
            started = time.monotonic()
            tick(home)
            done += 1
            while not stopping and time.monotonic() - started < every:
                time.sleep(min(0.2, every))


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description="Keep a studio home's monitoring going.")
    parser.add_argument("--home", required=True)
    parser.add_argument("--every", type=float, default=TICK_SECONDS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    try:
        run(Path(args.home), every=args.every)
    except RuntimeError as error:
        print(error, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
