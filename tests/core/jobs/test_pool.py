"""The local pool with real worker processes: slots respected, submission order, cancelling a
queued job, the next job started when one ends or its worker is killed, a restart with a
queue, jobs that wait for jobs they submit."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest

from core import scheduler
from core.jobs import cancel_job, refresh_job, submit_job, wait_for_job
from core.jobs.pool import (
    BAD_SLOTS,
    SLOTS_ENV,
    job_slots,
    job_state,
    ordinal,
    slots_problem,
)
from core.jobs.runner import WORKER_DIED, list_recent_jobs
from core.store import connect, jobs
from core.store.jobs import Job

QUICK = {"steps": 4, "seconds": 0.25}  # about a second of work, then the worker ends
LONG = {"steps": 600, "seconds": 0.05}  # half a minute: holds its slot until told otherwise


@pytest.fixture
def slots(monkeypatch: pytest.MonkeyPatch) -> Callable[[int], None]:
    """slots(n): the pool of this test (and of the workers it starts) has n slots."""
    return lambda n: monkeypatch.setenv(SLOTS_ENV, str(n))


def stored(home: Path, job_id: int) -> Job:
    """The job as stored, read without the runner (which would notice dead workers and start
    queued jobs itself): what the workers did on their own."""
    with connect(home) as db:
        job = jobs.get(db, job_id)
    assert job is not None
    return job


def submit(home: Path, params: dict | None = None, **options) -> Job:
    return submit_job(home, kind="sleep", params=params or QUICK, **options)


def most_at_once(ended: list[Job]) -> int:
    """The most jobs that held a slot at the same moment, from when each was given its slot
    to when it ended."""
    moments = sorted(
        [(datetime.fromisoformat(job.claimed_at), 1) for job in ended]
        + [(datetime.fromisoformat(job.finished_at), -1) for job in ended]
    )
    holding = most = 0
    for _, change in moments:
        holding += change
        most = max(most, holding)
    return most


def wait_all(home: Path, submitted: list[Job], timeout: float = 180) -> list[Job]:
    return [wait_for_job(home, job.id, timeout=timeout) for job in submitted]


@pytest.mark.parametrize("count", [1, 2])
def test_never_more_jobs_run_than_there_are_slots(
    studio_home: Path, slots, wait_until, count: int
) -> None:
    slots(count)
    submitted = [submit(studio_home) for _ in range(count + 3)]
    seen = 0

    def all_ended() -> bool:
        nonlocal seen
        with connect(studio_home) as db:
            taken = jobs.slots_taken(db)
            active = jobs.active(db)
        assert taken <= count
        seen = max(seen, taken)
        return not active

    wait_until(all_ended, timeout=180, every=0.05)
    ended = wait_all(studio_home, submitted)
    assert [job.status for job in ended] == ["done"] * len(submitted)
    assert most_at_once(ended) == count == seen  # every slot used, never one more


def test_queued_jobs_start_in_the_order_they_were_submitted(studio_home: Path, slots) -> None:
    slots(1)
    blocker = submit(studio_home, LONG)
    waiting = [submit(studio_home) for _ in range(4)]
    assert [stored(studio_home, job.id).queue_place for job in waiting] == [1, 2, 3, 4]
    assert job_state(stored(studio_home, waiting[1].id)) == "Waiting — 2nd in the queue"
    cancel_job(studio_home, blocker.id)
    ended = wait_all(studio_home, waiting)
    claimed = [job.claimed_at for job in ended]
    assert claimed == sorted(claimed) and [job.status for job in ended] == ["done"] * 4


def test_cancelling_a_queued_job_removes_it_from_the_queue(studio_home: Path, slots) -> None:
    slots(1)
    blocker = submit(studio_home, LONG)
    first, second, third = (submit(studio_home) for _ in range(3))
    cancelled = cancel_job(studio_home, second.id)
    assert cancelled.status == "cancelled"  # at once: there is no worker to wait for
    assert stored(studio_home, third.id).queue_place == 2
    cancel_job(studio_home, blocker.id)
    assert [job.status for job in wait_all(studio_home, [first, third])] == ["done", "done"]
    never = stored(studio_home, second.id)
    assert (never.status, never.claimed_at, never.started_at, never.pid) == (
        "cancelled",
        None,
        None,
        None,
    )


def test_a_worker_that_ends_starts_the_next_queued_job_itself(
    studio_home: Path, slots, wait_until
) -> None:
    slots(1)
    first, second = submit(studio_home), submit(studio_home)
    # read straight from the store: nobody but the first job's worker starts the second
    done = wait_until(
        lambda: (job := stored(studio_home, second.id)).status == "done" and job, timeout=120
    )
    ended_first = stored(studio_home, first.id)
    assert ended_first.status == "done" and done.claimed_at >= ended_first.finished_at


@pytest.mark.parametrize(
    "who_notices",
    [
        pytest.param(lambda home: scheduler.tick(home), id="the scheduler's tick"),
        pytest.param(lambda home: list_recent_jobs(home), id="the sidebar's refresh"),
        pytest.param(lambda home: submit(home), id="the next submit"),
    ],
)
def test_a_killed_worker_frees_its_slot_for_the_next_job(
    studio_home: Path, slots, wait_until, who_notices: Callable[[Path], object]
) -> None:
    slots(1)
    killed = submit(studio_home, LONG)
    waiting = submit(studio_home)
    running = wait_until(
        lambda: (job := stored(studio_home, killed.id)).status == "running" and job, timeout=60
    )
    os.killpg(running.pid, signal.SIGKILL)
    wait_until(lambda: running.pid is not None and not _alive(running.pid), timeout=30)
    assert stored(studio_home, waiting.id).status == "queued"  # nobody has noticed yet
    who_notices(studio_home)
    assert stored(studio_home, killed.id).error == WORKER_DIED
    assert stored(studio_home, waiting.id).status in ("starting", "running", "done")
    assert wait_for_job(studio_home, waiting.id, timeout=120).status == "done"
    for job in list_recent_jobs(studio_home):  # the next submit's own job
        cancel_job(studio_home, job.id)


def _alive(pid: int) -> bool:
    from core.processes import start_ticks

    return start_ticks(pid) is not None


def test_a_restart_keeps_the_queue_and_the_scheduler_starts_it(studio_home: Path, slots) -> None:
    """Jobs left queued when the studio stopped (no worker runs, nobody submits) are started
    by a fresh scheduler process, in their order, within the slots."""
    slots(2)
    with connect(studio_home) as db:  # what a studio that stopped leaves behind
        left = [
            jobs.insert(db, kind="sleep", subject=None, params=QUICK, dedupe_key=None,
                        created_by="ana")[0]
            for _ in range(3)
        ]  # fmt: skip
    assert [job.queue_place for job in left] == [1, 2, 3]
    pid = scheduler.start_in_background(studio_home)
    try:
        ended = wait_all(studio_home, left)
    finally:
        assert scheduler.stop(studio_home) == pid
    assert [job.status for job in ended] == ["done"] * 3
    assert most_at_once(ended) <= 2
    assert [job.claimed_at for job in ended] == sorted(job.claimed_at for job in ended)


def test_a_job_waiting_for_a_job_it_submitted_does_not_wait_for_ever(
    studio_home: Path, slots
) -> None:
    """With one slot, a job that submits another and waits for it (the sample project's
    build waits for its review) must not queue it behind itself."""
    slots(1)
    parent = submit(studio_home, {"steps": 1, "seconds": 0.01, "child": QUICK})
    assert wait_for_job(studio_home, parent.id, timeout=120).status == "done"
    (child,) = [job for job in jobs_of(studio_home) if job.id != parent.id]
    assert child.status == "done" and not child.needs_slot


def jobs_of(home: Path) -> list[Job]:
    with connect(home) as db:
        return jobs.find(db)


def test_the_same_work_submitted_again_while_queued_is_one_job(studio_home: Path, slots) -> None:
    slots(1)
    blocker = submit(studio_home, LONG)
    queued = submit(studio_home, dedupe_key="profile:7")
    again = submit(studio_home, dedupe_key="profile:7")
    assert again.id == queued.id and again.status == "queued"
    cancel_job(studio_home, blocker.id)
    assert wait_for_job(studio_home, queued.id, timeout=120).status == "done"
    assert submit(studio_home, dedupe_key="profile:7").id != queued.id  # ended: new work
    for job in list_recent_jobs(studio_home):
        cancel_job(studio_home, job.id)


def test_slots_default_to_the_core_count_and_a_bad_setting_keeps_the_queue_waiting(
    studio_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(SLOTS_ENV, raising=False)
    assert job_slots() == os.cpu_count() and slots_problem() is None
    monkeypatch.setenv(SLOTS_ENV, "3")
    assert job_slots() == 3
    for bad in ("0", "two", "-1", "1.5"):
        monkeypatch.setenv(SLOTS_ENV, bad)
        with pytest.raises(ValueError) as refused:
            job_slots()
        assert str(refused.value) == slots_problem() == BAD_SLOTS.format(value=bad)
    waiting = submit(studio_home)  # kept, not lost: it starts once the setting is fixed
    assert refresh_job(studio_home, waiting.id).status == "queued"
    monkeypatch.setenv(SLOTS_ENV, "1")
    assert refresh_job(studio_home, waiting.id).status in ("starting", "running", "done")
    assert wait_for_job(studio_home, waiting.id, timeout=120).status == "done"


def test_places_in_words() -> None:
    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 101, 111)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "101st", "111th",
    ]  # fmt: skip


def test_a_cancel_asked_just_as_the_job_gets_its_slot_still_stops_it(
    studio_home: Path, slots
) -> None:
    slots(1)
    first = submit(studio_home, LONG)
    second = submit(studio_home, LONG)
    cancel_job(studio_home, first.id)  # the second is given the slot now …
    cancel_job(studio_home, second.id)  # … and cancelled before or after its worker began
    assert wait_for_job(studio_home, second.id, timeout=60).status == "cancelled"
    assert refresh_job(studio_home, first.id).status == "cancelled"


def test_a_worker_that_cannot_be_started_leaves_its_job_waiting_at_its_place(
    studio_home: Path, slots, monkeypatch: pytest.MonkeyPatch
) -> None:
    import core.jobs.runner as runner

    slots(1)
    python = runner.sys.executable
    monkeypatch.setattr(runner.sys, "executable", str(studio_home / "no-python-here"))
    first, second = submit(studio_home), submit(studio_home)
    assert [stored(studio_home, job.id).queue_place for job in (first, second)] == [1, 2]
    monkeypatch.setattr(runner.sys, "executable", python)  # processes can start again
    scheduler.start_queued_jobs(studio_home)
    assert [job.status for job in wait_all(studio_home, [first, second])] == ["done", "done"]
