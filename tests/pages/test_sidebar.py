"""The sidebar's work list in AppTest against real jobs: running jobs in people's words, kept
live while they run, waiting jobs with their place in the queue, and the sample traffic shown
as what it is rather than as a job; a page's job progress shows the place in the queue too."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.runtime.forward_msg_queue import ForwardMsgQueue
from streamlit.testing.v1 import AppTest

from app.components import IDLE_REFRESH_SECONDS, WORK_REFRESH_SECONDS
from core.demo import TRAFFIC_KIND
from core.jobs import cancel_job, submit_job, wait_for_job
from core.jobs.pool import SLOTS_ENV
from core.processes import start_ticks
from core.store import connect, jobs
from tests.pages.apptest import ENTRYPOINT


@pytest.fixture
def refreshes() -> Iterator[list[float]]:
    """The intervals at which the app asked the browser to rerun a fragment on its own."""
    asked: list[float] = []

    def record(message: ForwardMsg) -> None:
        if message.HasField("auto_rerun"):
            asked.append(message.auto_rerun.interval)

    ForwardMsgQueue.on_before_enqueue_msg(record)
    try:
        yield asked
    finally:
        ForwardMsgQueue.on_before_enqueue_msg(None)


def sidebar_text(at: AppTest) -> list[str]:
    shown = [caption.value for caption in at.sidebar.caption]
    return shown + [bar.proto.text for bar in at.sidebar.get("progress")]


def _sample_traffic(home: Path) -> int:
    """A sample traffic job that has just started, this test's process standing in for its
    worker (alive, so the runner keeps it running)."""
    with connect(home) as db:
        job, _ = jobs.insert(
            db,
            kind=TRAFFIC_KIND,
            subject="credit",
            params={"deployment_id": 1, "seconds": 1200},
            dedupe_key=None,
            created_by="test",
            needs_slot=False,
        )
        jobs.start(db, job.id, os.getpid(), start_ticks(os.getpid()))
    return job.id


def test_running_jobs_stay_live_and_the_sample_traffic_is_not_a_job(
    studio_home: Path, refreshes: list[float]
) -> None:
    _sample_traffic(studio_home)
    at = AppTest.from_file(ENTRYPOINT, default_timeout=60)
    at.run()
    assert not at.exception
    shown = sidebar_text(at)
    assert "Sample traffic: 20 min left" in shown
    assert not any("job" in line for line in shown)  # the traffic is not a running job
    assert refreshes == [IDLE_REFRESH_SECONDS]  # now and then, for work started elsewhere

    waiting = submit_job(studio_home, kind="sleep", params={"steps": 600, "seconds": 0.05})
    refreshes.clear()
    at.run()
    shown = sidebar_text(at)
    assert "1 job running" in shown and "Sample traffic: 20 min left" in shown
    assert any(line.startswith("Waiting\\: ") for line in shown), shown  # its title, not "sleep"
    assert refreshes == [WORK_REFRESH_SECONDS]  # re-read every few seconds while it runs

    cancel_job(studio_home, waiting.id)
    wait_for_job(studio_home, waiting.id, timeout=60)
    at.run()
    assert not any("job" in line for line in sidebar_text(at))


LONG = {"steps": 600, "seconds": 0.05}


def test_waiting_jobs_show_their_place_in_the_queue(
    studio_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SLOTS_ENV, "1")
    running = submit_job(studio_home, kind="sleep", params=LONG)
    first = submit_job(studio_home, kind="train", params={}, subject="version:1")
    second = submit_job(studio_home, kind="sleep", params=LONG)
    try:
        at = AppTest.from_file(ENTRYPOINT, default_timeout=60)
        at.run()
        assert not at.exception
        shown = sidebar_text(at)
        assert "1 job running, 2 waiting" in shown
        waiting = [line for line in shown if "in the queue" in line]
        assert waiting == [
            "Training\\: Waiting — 1st in the queue",
            "Waiting\\: Waiting — 2nd in the queue",
        ]
        cancel_job(studio_home, first.id)  # it leaves the queue; the other moves up
        at.run()
        shown = sidebar_text(at)
        assert "1 job running, 1 waiting" in shown
        assert [line for line in shown if "in the queue" in line] == [
            "Waiting\\: Waiting — 1st in the queue"
        ]
    finally:
        for job in (second, running):
            cancel_job(studio_home, job.id)
            wait_for_job(studio_home, job.id, timeout=60)


def _progress_of(job_id: int) -> None:
    from app.components import job_progress

    job_progress(job_id, on_done=lambda job: None)


def test_a_pages_job_progress_shows_the_place_in_the_queue_and_cancel_removes_it(
    studio_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SLOTS_ENV, "1")
    running = submit_job(studio_home, kind="sleep", params=LONG)
    ahead = submit_job(studio_home, kind="sleep", params=LONG)
    mine = submit_job(studio_home, kind="sleep", params=LONG)
    try:
        at = AppTest.from_function(_progress_of, args=(mine.id,), default_timeout=60)
        at.run()
        assert not at.exception
        assert [bar.proto.text for bar in at.get("progress")] == ["Waiting — 2nd in the queue"]
        at.button(key=f"job.cancel.{mine.id}").click().run()
        assert not at.exception
        assert [alert.value for alert in at.info] == ["The job was cancelled."]
        with connect(studio_home) as db:
            assert jobs.get(db, mine.id).started_at is None  # it never started
    finally:
        for job in (ahead, running):
            cancel_job(studio_home, job.id)
            wait_for_job(studio_home, job.id, timeout=60)
