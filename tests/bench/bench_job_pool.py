"""Benchmark: eight training jobs submitted at once, through the local pool vs all at once.

Each job is the studio's real `train` job kind: a random forest (one thread, as the catalog
builds it) cross-validated and fitted on the sample credit table. The peer is what the studio
did before the pool: every job in its own process at once, here `MLOPS_STUDIO_JOB_SLOTS=8`
(eight uncapped processes). The pool runs them with `MLOPS_STUDIO_JOB_SLOTS=<cores>`.
Targets: all eight done sooner with the pool than uncapped, and no job's model-fitting time
(its run's CV and final fit) more than 20% over the same job run alone. The alone time is
measured before, between and after the two runs and their mean taken, so a load that passes
over the machine meanwhile does not pass for the pool's cost (or its gain).

On a shared machine, `--calm` raises the CPU priority of every worker of the benchmark (as
root). Why: each worker is a session of its own, and Linux's autogroup scheduling shares the
CPU between sessions, so next to other people's work eight uncapped workers get four times the
share two pooled ones get; a machine running only the studio has no such gift to hand out.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from core.jobs.pool import SLOTS_ENV  # noqa: E402
from core.jobs.runner import submit_job, wait_for_job  # noqa: E402
from core.samples import import_samples  # noqa: E402
from core.store import connect  # noqa: E402
from core.store import jobs as jobs_store  # noqa: E402
from core.store import runs as runs_store  # noqa: E402
from core.train.plan import ValidationPlan  # noqa: E402
from core.train.training import TrainRequest  # noqa: E402

JOBS = 8
MODEL = "random_forest"
FIT_SLOWDOWN = 1.20


@dataclass(frozen=True)
class Batch:
    """What one way of running the jobs took: the wall time until the last one ended, the
    mean time until a job's result was there, and each job's model-fitting seconds."""

    wall: float
    mean_result: float
    fits: list[float]


def credit_request(home: Path, trees: int) -> dict:
    version_id = import_samples(home, actor="bench")[0]  # credit comes first
    request = TrainRequest(
        version_id=version_id,
        target="default",
        models=(MODEL,),
        plan=ValidationPlan(folds=3),
        experiment="pool bench",
        params={"n_estimators": trees},
    )
    return {"request": request.to_json(), "actor": "bench"}


def run_batch(home: Path, params: dict, *, count: int, slots: int, calm: bool) -> Batch:
    os.environ[SLOTS_ENV] = str(slots)  # the workers started from here inherit it
    started = time.monotonic()
    watching = threading.Event()
    raising = threading.Thread(target=_raise_priority, args=(home, watching), daemon=True)
    if calm:
        raising.start()
    submitted = [submit_job(home, kind="train", params=params, actor="bench") for _ in range(count)]
    try:
        ended = [wait_for_job(home, job.id, timeout=3600) for job in submitted]
    finally:
        watching.set()
        if calm:
            raising.join()
    wall = time.monotonic() - started
    failed = [(job.id, job.error) for job in ended if job.status != "done"]
    if failed:
        raise SystemExit(f"jobs failed: {failed}")
    print(f"  {count} job(s) with {slots} slot(s): {wall:.1f} s", flush=True)
    submit_moment = datetime.fromisoformat(submitted[0].created_at)
    results = [
        (datetime.fromisoformat(job.finished_at or "") - submit_moment).total_seconds()
        for job in ended
    ]
    return Batch(wall=wall, mean_result=statistics.mean(results), fits=_fit_seconds(home, ended))


def _raise_priority(home: Path, done: threading.Event) -> None:
    """Give each worker's session the top CPU priority as soon as it has a pid."""
    raised: set[int] = set()
    while not done.wait(0.05):
        with connect(home) as db:
            pids = {job.pid for job in jobs_store.active(db) if job.pid} - raised
        for pid in pids:
            with contextlib.suppress(OSError):
                Path(f"/proc/{pid}/autogroup").write_text("-19")
                os.setpriority(os.PRIO_PROCESS, pid, -19)
                raised.add(pid)


def _fit_seconds(home: Path, ended: list[jobs_store.Job]) -> list[float]:
    """Each job's model fitting (its forest's run: CV folds, the final fit and its evaluation),
    from the run's record; the dummy baseline each training adds is left out."""
    with connect(home) as db:
        found = [runs_store.find(db, job_id=job.id) for job in ended]
    return [
        next(float(run.duration_seconds or 0) for run in runs if run.model == MODEL)
        for runs in found
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=JOBS)
    parser.add_argument("--trees", type=int, default=30)
    parser.add_argument("--slots", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--calm", action="store_true", help="Raise the workers' priority.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder) / "studio"
        params = credit_request(home, args.trees)
        print(f"{args.jobs} train jobs (random forest, {args.trees} trees, 3-fold CV) on the "
              f"credit sample; {os.cpu_count()} cores; pool of {args.slots} slots")  # fmt: skip
        calm = args.calm
        alones = [run_batch(home, params, count=1, slots=1, calm=calm).fits[0]]
        pool = run_batch(home, params, count=args.jobs, slots=args.slots, calm=calm)
        alones.append(run_batch(home, params, count=1, slots=1, calm=calm).fits[0])
        uncapped = run_batch(home, params, count=args.jobs, slots=args.jobs, calm=calm)
        alones.append(run_batch(home, params, count=1, slots=1, calm=calm).fits[0])
    alone = statistics.mean(alones)
    worst_pool = max(pool.fits) / alone
    said = ", ".join(f"{seconds:.2f}" for seconds in alones)
    print(f"alone: fit {said} s (before, between, after; mean {alone:.2f} s)")
    for name, batch in (("pool", pool), ("uncapped", uncapped)):
        print(
            f"{name:>9}: all done in {batch.wall:6.1f} s, mean time to a result "
            f"{batch.mean_result:6.1f} s, fit per job {min(batch.fits):.2f}–{max(batch.fits):.2f}"
            f" s (worst {max(batch.fits) / alone:.2f}× alone)"
        )
    print(f"wall ratio uncapped/pool: {uncapped.wall / pool.wall:.2f}× "
          f"(mean time to a result {uncapped.mean_result / pool.mean_result:.2f}×)")  # fmt: skip
    sooner = pool.wall < uncapped.wall
    steady = worst_pool <= FIT_SLOWDOWN
    print(
        f"all {args.jobs} done: pool {pool.wall:.1f} s vs uncapped {uncapped.wall:.1f} s "
        f"(target: the pool sooner) -> {'PASS' if sooner else 'MISS'}"
    )
    print(
        f"worst pool fit / alone: {worst_pool:.2f} (target ≤ {FIT_SLOWDOWN:.2f}) -> "
        f"{'PASS' if steady else 'MISS'}"
    )
    if (os.cpu_count() or 0) != 2:
        print(f"(the targets are stated for 2 cores; this machine has {os.cpu_count()})")
    print("PASS" if sooner and steady else "MISS")
    return 0 if sooner and steady else 1


if __name__ == "__main__":
    raise SystemExit(main())
