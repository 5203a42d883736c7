"""The sample project: seeded once per home through the same core functions the pages use, it
ends with an approved champion deployed, traffic with labels, drift, an alert and a policy."""

from __future__ import annotations

import time

import pytest

from core.demo import seed_demo
from core.jobs.runner import cancel_job, refresh_job, wait_for_job
from core.monitor.alerts import evaluate, open_alerts
from core.monitor.drift_windows import update_drift
from core.monitor.windows import aggregate
from core.retrain.policies import policies_of
from core.serving.deployments import list_deployments, undeploy
from core.train.registry import find_model_version


@pytest.mark.slow
def test_the_sample_project_comes_alive_once(tmp_path):
    home = tmp_path / "studio"
    first = seed_demo(home)
    assert first["datasets"] == ["credit", "credit_production", "credit_production_labels",
                                 "houses"]  # fmt: skip
    assert seed_demo(home)["job_id"] == first["job_id"]  # a second run joins the first
    deadline = time.monotonic() + 600
    while (job := refresh_job(home, first["job_id"])).active and job.progress < 0.7:
        assert time.monotonic() < deadline, job.message
        time.sleep(0.5)
    try:
        assert job.active and job.message.startswith("Sample traffic"), (job.status, job.error)
        champion = find_model_version(home, "credit@champion")
        assert champion.review_state == "approved"
        (deployment,) = list_deployments(home)
        assert deployment.active and deployment.model_version_id == champion.id
        (policy,) = policies_of(home, deployment.id)
        assert policy.triggers["new_labels"] and policy.action["promote"] == "review"
        # what the scheduler does each tick: fold the replayed hour, its drift, the alerts
        aggregate(home, deployment.id)
        update_drift(home, deployment.id)
        evaluate(home, deployment.id)
        assert any(a.metric == "drift_share" for a in open_alerts(home))
    finally:
        cancel_job(home, first["job_id"])
        wait_for_job(home, first["job_id"], timeout=60)
        for found in list_deployments(home, include_stopped=False):
            undeploy(home, found.id)
