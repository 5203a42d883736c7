"""Stopping a studio home's background work leaves the jobs people wait for alone, says they
still run, and creates nothing where no studio is."""

from __future__ import annotations

from pathlib import Path

from core.jobs import cancel_job, refresh_job, submit_job, wait_for_job
from core.shutdown import stop_studio


def test_jobs_people_wait_for_are_left_running_and_listed(studio_home: Path) -> None:
    job = submit_job(studio_home, kind="sleep", params={"steps": 600, "seconds": 0.05})
    try:
        stopped = stop_studio(studio_home, deployments=True)
        assert (stopped.scheduler_pid, stopped.sample_traffic_job, stopped.deployments) == (
            None,
            None,
            [],
        )
        assert [found.id for found in stopped.jobs_running] == [job.id]
        assert refresh_job(studio_home, job.id).active
        assert stopped.to_dict()["jobs_running"][0]["kind"] == "sleep"
    finally:
        cancel_job(studio_home, job.id)
        wait_for_job(studio_home, job.id, timeout=60)


def test_stopping_where_no_studio_is_creates_nothing(tmp_path: Path) -> None:
    home = tmp_path / "nowhere"
    assert stop_studio(home, deployments=True).to_dict() == {
        "scheduler_pid": None,
        "sample_traffic_job": None,
        "deployments": [],
        "deployments_running": [],
        "jobs_running": [],
    }
    assert not home.exists()
