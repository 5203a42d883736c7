"""The Compute page in AppTest: with no cluster set, with one that cannot be reached, and with a
real two-process Dask LocalCluster, its workers and a job that ran there."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.jobs.compute import Placement
from core.serving.deployments import free_port
from core.store import connect, jobs
from tests.pages.apptest import no_errors, open_page, table_with


def compute_page() -> AppTest:
    at = open_page("compute")
    no_errors(at)
    return at


def _metrics(at: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in at.metric}


def test_without_a_cluster_it_says_work_runs_here_and_how_to_start_one(
    studio_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DASK_SCHEDULER_ADDRESS", raising=False)
    monkeypatch.delenv("MLOPS_STUDIO_DASK", raising=False)
    at = compute_page()
    assert at.title[0].value == "Compute"
    assert "runs on this machine" in at.info[0].value
    assert any("mlops-studio cluster start" in caption.value for caption in at.caption)


def test_an_unreachable_scheduler_is_shown_as_such(
    studio_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    address = f"tcp://127.0.0.1:{free_port()}"  # nothing listens there
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", address)
    monkeypatch.setenv("MLOPS_STUDIO_DASK_CONNECT_TIMEOUT", "2")
    at = compute_page()
    assert _metrics(at)["Reachable"] == "No"
    assert _metrics(at)["Scheduler"] == address
    assert "Jobs run on this machine until it answers" in at.warning[0].value


@pytest.mark.slow
def test_a_real_cluster_shows_its_workers_dashboard_and_jobs(
    studio_home: Path, dask_cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", dask_cluster.scheduler_address)
    address = dask_cluster.scheduler_address
    with connect(studio_home) as db:
        job, _ = jobs.insert(
            db, kind="train", subject=None, params={}, dedupe_key=None, created_by="test"
        )
        where = Placement("cluster", address, ("tcp://127.0.0.1:1", "tcp://127.0.0.1:2"))
        jobs.set_compute(db, job.id, where.to_dict())
    at = compute_page()
    metrics = _metrics(at)
    assert metrics["Reachable"] == "Yes" and metrics["Workers"] == "2" and metrics["Cores"] == "2"
    assert at.get("link_button")[0].proto.url == dask_cluster.dashboard_link
    workers = table_with(at, "Running tasks")
    assert len(workers) == 2 and set(workers["Cores"]) == {1}
    assert set(workers["Running tasks"]) == {0}
    listed = table_with(at, "Where")
    assert listed["Job"].tolist() == ["Training"]
    assert listed["Where"].tolist() == [f"On the Dask cluster at {address}, 2 workers"]
