"""Jobs run in real worker processes: progress, dedupe, cancel, failure, a killed worker, a
worker slow to start."""

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from core.jobs import cancel_job, refresh_job, submit_job, wait_for_job
from core.jobs.kinds import JOB_KINDS, JOB_TITLES, job_title
from core.jobs.runner import ENDED_BEFORE_START, WORKER_DIED, job_log_path, list_recent_jobs
from core.processes import start_ticks
from core.store import connect, jobs

BUSY_SPAWNS = 24
SLOW_START_ENV = "STUDIO_TEST_SLOW_START_S"


@pytest.fixture
def slow_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """slow_start(seconds): every Python process started from then on (job workers) waits that
    long before it runs anything, as a worker does on a busy machine (a sitecustomize module
    on their PYTHONPATH)."""
    folder = tmp_path / "slow_start"
    folder.mkdir()
    (folder / "sitecustomize.py").write_text(
        f"import os, time\ntime.sleep(float(os.environ.get({SLOW_START_ENV!r}, '0')))\n"
    )
    paths = [str(folder), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(paths))
    return lambda seconds: monkeypatch.setenv(SLOW_START_ENV, str(seconds))


def test_job_runs_to_done_with_result_and_progress(studio_home: Path) -> None:
    job = submit_job(studio_home, kind="sleep", params={"steps": 4, "seconds": 0.05})
    done = wait_for_job(studio_home, job.id, timeout=60)
    assert done.status == "done" and done.progress == 1.0 and done.result == {"steps": 4}
    assert done.started_at and done.finished_at and done.pid
    assert job_log_path(studio_home, job.id).exists()


def test_same_dedupe_key_returns_the_running_job(studio_home: Path) -> None:
    params = {"steps": 30, "seconds": 0.1}
    first = submit_job(studio_home, kind="sleep", params=params, dedupe_key="one")
    second = submit_job(studio_home, kind="sleep", params=params, dedupe_key="one")
    assert second.id == first.id
    assert [job.id for job in list_recent_jobs(studio_home)] == [first.id]
    cancel_job(studio_home, first.id)
    assert wait_for_job(studio_home, first.id, timeout=60).status == "cancelled"


def test_progress_is_persisted_while_running_and_cancel_stops_it(
    studio_home: Path, wait_until
) -> None:
    job = submit_job(studio_home, kind="sleep", params={"steps": 200, "seconds": 0.05})
    wait_until(lambda: refresh_job(studio_home, job.id).progress > 0.02, timeout=20)
    running = refresh_job(studio_home, job.id)
    assert running.status == "running" and running.message.startswith("Step ")
    cancel_job(studio_home, job.id)
    ended = wait_for_job(studio_home, job.id, timeout=60)
    assert ended.status == "cancelled" and ended.progress < 1


def test_failure_is_recorded_as_a_message_not_a_traceback(studio_home: Path) -> None:
    job = submit_job(studio_home, kind="sleep", params={"steps": 1, "fail": "The column is gone."})
    ended = wait_for_job(studio_home, job.id, timeout=60)
    assert ended.status == "failed" and ended.error == "The column is gone."
    assert "Traceback" in job_log_path(studio_home, job.id).read_text()


def test_a_killed_worker_is_reported_failed(studio_home: Path, wait_until) -> None:
    job = submit_job(studio_home, kind="sleep", params={"steps": 200, "seconds": 0.05})
    wait_until(lambda: refresh_job(studio_home, job.id).status == "running", timeout=20)
    os.killpg(refresh_job(studio_home, job.id).pid, signal.SIGKILL)
    ended = wait_for_job(studio_home, job.id, timeout=30)
    assert ended.status == "failed" and ended.error == WORKER_DIED


def test_a_job_outlives_the_process_that_started_it(studio_home: Path, tmp_path: Path) -> None:
    """A UI restart must not kill a job: start one from a child process that then exits."""
    import subprocess
    import sys

    code = (
        "from pathlib import Path; from core.jobs import submit_job;"
        f"print(submit_job(Path({str(studio_home)!r}), kind='sleep',"
        " params={'steps': 10, 'seconds': 0.1}).id)"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    job_id = int(output.stdout.strip())
    assert wait_for_job(studio_home, job_id, timeout=60).status == "done"


def test_the_job_runner_never_reports_an_unstarted_job_as_dead_under_a_busy_spawn_loop(
    studio_home: Path, slow_start
) -> None:
    slow_start(0.5)
    spawning = True

    def check_liveness() -> None:  # what every open sidebar and `mlops-studio jobs` do
        while spawning:
            list_recent_jobs(studio_home)

    checkers = [threading.Thread(target=check_liveness) for _ in range(2)]
    for checker in checkers:
        checker.start()
    try:
        submitted = [
            submit_job(studio_home, kind="sleep", params={"steps": 1, "seconds": 0.01})
            for _ in range(BUSY_SPAWNS)
        ]
    finally:
        spawning = False
        for checker in checkers:
            checker.join()
    ended = [wait_for_job(studio_home, job.id, timeout=240) for job in submitted]
    assert [(job.id, job.error) for job in ended if job.status != "done"] == []


def test_a_worker_killed_before_it_began_its_job_is_reported(
    studio_home: Path, slow_start, wait_until
) -> None:
    slow_start(60)
    job = submit_job(studio_home, kind="sleep", params={"steps": 1})
    assert job.status == "starting" and job.pid and job.pid_start_ticks
    assert refresh_job(studio_home, job.id).status == "starting"  # not begun is not dead
    os.killpg(job.pid, signal.SIGKILL)
    ended = wait_for_job(studio_home, job.id, timeout=30)
    assert ended.status == "failed" and ended.error == ENDED_BEFORE_START


def test_a_worker_whose_pid_went_to_another_process_is_reported_failed(
    studio_home: Path,
) -> None:
    """A pid is recycled once its process is gone; even a stranger that looks like a worker is
    not the job's worker when it started at another time."""
    stranger = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)", "-m", "core.jobs.worker"]
    )
    try:
        with connect(studio_home) as db:
            job, _ = jobs.insert(
                db,
                kind="sleep",
                subject=None,
                params={},
                dedupe_key=None,
                created_by="test",
                needs_slot=False,
            )
            ticks = start_ticks(stranger.pid)
            assert ticks is not None
            jobs.start(db, job.id, stranger.pid, ticks - 100)  # the worker that had the pid
        ended = refresh_job(studio_home, job.id)
        assert ended.status == "failed" and ended.error == WORKER_DIED
    finally:
        stranger.kill()
        stranger.wait(10)


def test_every_job_kind_has_a_title_in_peoples_words() -> None:
    assert set(JOB_TITLES) == set(JOB_KINDS)
    assert not [title for title in JOB_TITLES.values() if "_" in title or not title[0].isupper()]
    assert job_title("train") == "Training"
    assert job_title("a_kind_added_later") == "A kind added later"
