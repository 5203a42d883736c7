"""Jobs: one active job per dedupe key, progress and cancel, ending once, filters."""

from pathlib import Path

from core.store import connect, jobs, runs


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
        "Waiting to start",
        {"n": 1},
        False,
    )
    assert job.to_dict()["kind"] == "train"
    assert jobs.get(db, 999) is None


def test_start_progress_cancel_and_finish(db) -> None:
    job = _queue(db)
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
    jobs.request_cancel(db, cancelled.id)
    assert not jobs.start(db, cancelled.id, 44)


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
