"""The sample project: seeded once per home through the same core functions the pages use, it
ends with an approved champion deployed, traffic with labels, drift, an alert and a policy; the
sample deployment's key stays reachable, and the live traffic runs on as a job of its own."""

from __future__ import annotations

import stat
from datetime import datetime, timedelta

import pytest

from core.artifacts import resolve
from core.demo import (
    KEY_REPLACED,
    SAMPLE_KEY_FILE,
    TRAFFIC_KIND,
    keep_sample_key,
    live_traffic_left,
    sample_key,
    seed_demo,
)
from core.jobs.runner import cancel_job, current_job, refresh_job, wait_for_job
from core.monitor.alerts import evaluate, open_alerts
from core.monitor.drift_windows import update_drift
from core.monitor.windows import aggregate
from core.retrain.policies import policies_of
from core.serving.deployments import (
    get_deployment,
    list_deployments,
    revoke_key,
    rotate_key,
    undeploy,
)
from core.serving.keys import key_hash
from core.store import connect, jobs
from core.train.registry import find_model_version
from tests.waiting import wait_until


def test_the_sample_key_opens_the_sample_deployment_only_while_it_works(
    tmp_path, loans_studio, add_deployment
):
    home = loans_studio(tmp_path / "studio", rows=200, seed=1)
    sample_id = add_deployment(home, 1, api_key_hash=key_hash("mls_sample"))
    other_id = add_deployment(home, 1, api_key_hash=key_hash("mls_sample"))
    assert sample_key(home, get_deployment(home, sample_id)) is None  # nothing kept yet
    keep_sample_key(home, sample_id, "mls_sample")
    assert stat.S_IMODE(resolve(home, SAMPLE_KEY_FILE).stat().st_mode) == 0o600
    assert sample_key(home, get_deployment(home, sample_id)) == "mls_sample"
    assert sample_key(home, get_deployment(home, other_id)) is None  # the sample's alone
    rotate_key(home, sample_id)
    assert sample_key(home, get_deployment(home, sample_id)) is None  # it no longer opens it
    keep_sample_key(home, other_id, "mls_sample")
    revoke_key(home, other_id)
    assert sample_key(home, get_deployment(home, other_id)) is None


def test_the_sample_traffic_says_how_long_it_has_left(studio_home):
    with connect(studio_home) as db:
        queued, _ = jobs.insert(
            db, kind=TRAFFIC_KIND, subject="credit", params={"seconds": 1200},
            dedupe_key=None, created_by="test", needs_slot=False,
        )  # fmt: skip
        assert live_traffic_left(queued) == 1200  # all of it, until it starts
        jobs.start(db, queued.id, 1)
        started = jobs.get(db, queued.id)
    begun = datetime.fromisoformat(started.started_at)
    assert live_traffic_left(started, now=begun + timedelta(minutes=6)) == 840
    assert live_traffic_left(started, now=begun + timedelta(minutes=30)) == 0


@pytest.mark.slow
def test_the_sample_project_comes_alive_once(tmp_path):
    home = tmp_path / "studio"
    first = seed_demo(home)
    assert first["datasets"] == ["credit", "credit_production", "credit_production_labels",
                                 "houses"]  # fmt: skip
    assert seed_demo(home)["job_id"] == first["job_id"]  # a second run joins the first
    traffic = None
    try:
        built = wait_for_job(home, first["job_id"], timeout=600)
        traffic = current_job(home, kind=TRAFFIC_KIND, subject="credit")
        # the building job ends when the project is built; the live traffic runs on, apart
        assert built.status == "done", built.error
        assert traffic is not None and built.result["traffic_job_id"] == traffic.id
        assert traffic.active and live_traffic_left(traffic) > 60
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
        # the sample's key is kept for its playground; the traffic sends with it
        assert sample_key(home, deployment) is not None

        def sending() -> bool:
            now = refresh_job(home, traffic.id)
            assert now.active, (now.status, now.error)
            return "Sent" in now.message

        wait_until(sending, timeout=60, every=0.5)
        # a key rotated from under it ends the traffic, which would otherwise be refused
        rotate_key(home, deployment.id)
        stopped = wait_for_job(home, traffic.id, timeout=60)
        assert stopped.status == "failed" and stopped.error == KEY_REPLACED
    finally:
        for job_id in (first["job_id"], traffic and traffic.id):
            if job_id:
                cancel_job(home, job_id)
                wait_for_job(home, job_id, timeout=60)
        for found in list_deployments(home, include_stopped=False):
            undeploy(home, found.id)
