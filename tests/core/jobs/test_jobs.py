"""Jobs run in real worker processes: progress, dedupe, cancel, failure, a killed worker."""

import os
import signal
from pathlib import Path

from core.jobs import cancel_job, refresh_job, submit_job, wait_for_job
from core.jobs.runner import WORKER_DIED, job_log_path, list_recent_jobs


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
