"""Jobs: one active job per dedupe key, the queue (claims, places, cancel), progress and
cancel, ending once, filters."""

import subprocess
import sys
from pathlib import Path

from sqlite_utils import Database

from core.settings import database_path
from core.store import connect, jobs, runs
from core.store.migrations import migrations


def test_only_one_active_job_per_dedupe_key(studio_home: Path) -> None:
    with connect(studio_home) as db:
        first, created = jobs.insert(
            db, kind="k", subject="s", params={}, dedupe_key="same", created_by="t"
        )
        again, created_again = jobs.insert(
            db, kind="k", subject="s", params={}, dedupe_key="same", created_by="t"
        )
        assert created and not created_again and again.id == first.id
        jobs.finish(db, first.id, status="done", message="Done", result={"x": 1})
        fresh, created_fresh = jobs.insert(
            db, kind="k", subject="s", params={}, dedupe_key="same", created_by="t"
        )
        assert created_fresh and fresh.id != first.id
        done = jobs.get(db, first.id)
        assert done.status == "done" and done.progress == 1 and done.result == {"x": 1}
        # an ended job is never overwritten
        jobs.finish(db, first.id, status="failed", message="late")
        assert jobs.get(db, first.id).status == "done"


def _queue(db, kind: str = "train", subject: str | None = "s", key: str | None = None):
    job, _ = jobs.insert(
        db, kind=kind, subject=subject, params={"n": 1}, dedupe_key=key, created_by="ana"
    )
    return job


def test_a_job_round_trips_into_a_job(db) -> None:
    job = _queue(db)
    assert isinstance(job, jobs.Job) and job.active
    assert (job.status, job.message, job.params, job.cancel_requested) == (
        "queued",
        jobs.WAITING,
        {"n": 1},
        False,
    )
    assert job.to_dict()["kind"] == "train"
    assert jobs.get(db, 999) is None


def test_start_progress_cancel_and_finish(db) -> None:
    job = _queue(db)
    assert not jobs.start(db, job.id, 40)  # not given a slot yet
    assert jobs.claim_next(db, slots=1).id == job.id
    jobs.set_pid(db, job.id, 41, 7001)
    assert (jobs.get(db, job.id).pid, jobs.get(db, job.id).pid_start_ticks) == (41, 7001)
    assert jobs.start(db, job.id, 42, 7002)
    assert jobs.get(db, job.id).pid_start_ticks == 7002
    assert not jobs.start(db, job.id, 43)  # already running
    assert jobs.set_progress(db, job.id, 1.5, "half") is False
    running = jobs.get(db, job.id)
    assert (running.status, running.pid, running.progress, running.message) == (
        "running",
        42,
        1.0,
        "half",
    )
    jobs.request_cancel(db, job.id)
    assert jobs.set_progress(db, job.id, 0.6, "more") is True
    jobs.finish(db, job.id, status="cancelled", message="Cancelled")
    assert not jobs.get(db, job.id).active
    cancelled = _queue(db)
    assert jobs.claim_next(db, slots=1).id == cancelled.id
    jobs.request_cancel(db, cancelled.id)
    assert not jobs.start(db, cancelled.id, 44)


def test_claims_fill_the_free_slots_in_submission_order(db) -> None:
    first, second, third = _queue(db), _queue(db), _queue(db)
    assert [jobs.get(db, job.id).queue_place for job in (first, second, third)] == [1, 2, 3]
    assert jobs.claim_next(db, slots=2).id == first.id
    assert jobs.claim_next(db, slots=2).id == second.id
    assert jobs.claim_next(db, slots=2) is None  # both slots taken
    claimed = jobs.get(db, first.id)
    assert (claimed.status, claimed.queue_place, claimed.message) == ("starting", None, "Starting")
    assert claimed.claimed_at is not None and claimed.started_at is None
    assert jobs.get(db, third.id).queue_place == 1
    assert jobs.slots_taken(db) == 2
    jobs.finish(db, first.id, status="done", message="Done")
    assert jobs.claim_next(db, slots=2).id == third.id
    assert jobs.claim_next(db, slots=5) is None  # nothing waits
    jobs.back_to_queue(db, third.id)  # its worker could not be started
    back = jobs.get(db, third.id)
    assert (back.status, back.queue_place, back.claimed_at) == ("queued", 1, None)


def test_a_job_that_needs_no_slot_starts_at_once_and_takes_none(db) -> None:
    light, _ = jobs.insert(
        db, kind="k", subject=None, params={}, dedupe_key=None, created_by="t", needs_slot=False
    )
    assert (light.status, light.needs_slot, light.queue_place) == ("starting", False, None)
    assert light.claimed_at is not None and jobs.slots_taken(db) == 0
    waiting = _queue(db)
    assert jobs.claim_next(db, slots=1).id == waiting.id


def test_cancelling_a_queued_job_takes_it_out_of_the_queue(db) -> None:
    first, second, third = _queue(db), _queue(db), _queue(db)
    assert jobs.cancel_queued(db, second.id)
    cancelled = jobs.get(db, second.id)
    assert (cancelled.status, cancelled.cancel_requested) == ("cancelled", True)
    assert cancelled.finished_at is not None
    assert jobs.get(db, third.id).queue_place == 2
    assert jobs.claim_next(db, slots=3).id == first.id
    assert not jobs.cancel_queued(db, first.id)  # given a slot: it is no longer in the queue
    assert jobs.claim_next(db, slots=3).id == third.id
    assert jobs.claim_next(db, slots=3) is None  # the cancelled one never starts


def test_a_dedupe_key_covers_a_starting_job(db) -> None:
    first = _queue(db, key="same")
    jobs.claim_next(db, slots=1)
    again = _queue(db, key="same")
    assert again.id == first.id and again.status == "starting"


CLAIMERS = 6
CLAIM = """
import sys
from pathlib import Path
from core.store import connect, jobs
home, rounds = Path(sys.argv[1]), int(sys.argv[2])
claimed = []
for _ in range(rounds):
    with connect(home) as db:
        job = jobs.claim_next(db, slots=2)
    if job is not None:
        claimed.append(job.id)
print(" ".join(map(str, claimed)))
"""


def test_processes_claiming_at_once_never_take_more_slots_than_there_are(studio_home) -> None:
    with connect(studio_home) as db:
        queued = [_queue(db).id for _ in range(10)]
    claimers = [
        subprocess.Popen(
            [sys.executable, "-c", CLAIM, str(studio_home), "40"], stdout=subprocess.PIPE, text=True
        )
        for _ in range(CLAIMERS)
    ]
    claimed = [int(n) for claimer in claimers for n in claimer.communicate(timeout=120)[0].split()]
    assert all(claimer.returncode == 0 for claimer in claimers)
    assert sorted(claimed) == queued[:2]  # the two oldest, each claimed once
    with connect(studio_home) as db:
        assert jobs.slots_taken(db) == 2


def test_finishing_a_job_ends_its_running_runs(db, new_run) -> None:
    job = _queue(db)
    run_id = runs.insert(db, new_run(job_id=job.id), created_by="ana")
    jobs.finish(db, job.id, status="failed", message="Failed", error="boom")
    run = runs.get(db, run_id)
    assert (run.status, run.error) == ("failed", "boom")


def test_find_filters_by_kind_and_subject_newest_first(db) -> None:
    first = _queue(db, "train", "a")
    second = _queue(db, "profile", "a")
    third = _queue(db, "train", "b")
    assert [j.id for j in jobs.find(db)] == [third.id, second.id, first.id]
    assert [j.id for j in jobs.find(db, kind="train")] == [third.id, first.id]
    assert [j.id for j in jobs.find(db, kind="train", subject="a")] == [first.id]
    assert [j.id for j in jobs.find(db, kind="", subject="")] == [third.id, second.id, first.id]
    assert [j.id for j in jobs.find(db, limit=1)] == [third.id]
    jobs.finish(db, second.id, status="done", message="Done")
    assert [j.id for j in jobs.active(db)] == [first.id, third.id]


def test_the_queue_migration_keeps_every_job_and_what_points_at_it(
    studio_home: Path, new_run
) -> None:
    """A store from before the pool: its jobs keep their ids and ends, the runs pointing at
    them stay linked, and a queued job whose worker was already spawned counts as starting."""
    studio_home.mkdir(parents=True)
    old = Database(database_path(studio_home))
    old.enable_wal()
    migrations.apply(old, stop_before="0011_job_queue")
    common = {"params_json": "{}", "created_by": "ana", "created_at": "2026-01-01T00:00:00+00:00"}
    rows = [
        {"id": 1, "kind": "train", "status": "done", **common},
        {"id": 2, "kind": "train", "status": "queued", "pid": 4242, **common},
        {"id": 3, "kind": "train", "status": "queued", "dedupe_key": "k", **common},
    ]
    old.table("jobs").insert_all(rows)
    run_id = runs.insert(old, new_run(job_id=1), created_by="ana")
    old.close()
    with connect(studio_home) as db:
        assert [(j.id, j.status) for j in jobs.find(db)] == [
            (3, "queued"),
            (2, "starting"),
            (1, "done"),
        ]
        assert jobs.get(db, 2).claimed_at == common["created_at"]
        assert runs.get(db, run_id).job_id == 1
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []
        assert _queue(db, key="k").id == 3  # still one active job per key
