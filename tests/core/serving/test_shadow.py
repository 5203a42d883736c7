"""Shadow mode on a real service: the challenger scores every answered request beside the
champion, nobody receives its answers, and the comparison counts agreement and, with labels,
which version is right more often."""

from __future__ import annotations

import time

import httpx
import pytest

from core.monitor.shadow import compare_shadow
from core.serving import deployments
from core.serving.deployments import DeployError
from core.store import connect
from core.train.registry import find_model_version

REASON = "exercised by the test suite"


@pytest.fixture(scope="module")
def live(tmp_path_factory, loans_studio):
    home = loans_studio(
        tmp_path_factory.mktemp("shadow") / "studio",
        rows=300,
        seed=3,
        models=("logistic_regression", "decision_tree"),
    )
    deployment, api_key = deployments.deploy(home, "loans@1", override_reason=REASON)
    client = httpx.Client(base_url=deployment.url, headers={"X-API-Key": api_key}, timeout=30)
    yield home, deployment, client
    client.close()
    deployments.undeploy(home, deployment.id)


def _shadow_rows(home, deployment_id) -> int:
    with connect(home) as db:
        sql = "SELECT COALESCE(SUM(rows), 0) FROM shadow_predictions WHERE deployment_id = ?"
        return int(db.execute(sql, [deployment_id]).fetchone()[0])


def test_shadow_scores_live_traffic_without_answering(live, wait_until):
    home, deployment, client = live
    shadow = find_model_version(home, "loans@2")
    with pytest.raises(DeployError, match="another version"):
        deployments.start_shadow(home, deployment.id, "loans@1")
    deployments.start_shadow(home, deployment.id, "loans@2")
    wait_until(lambda: client.get("/health").json()["shadow"] == "loans v2")
    request_ids = []
    for income in range(20, 80, 3):  # 20 requests of 2 rows
        rows = [{"income": float(income), "region": "north"}, {"income": 50.0, "region": "south"}]
        answer = client.post("/predict", json={"records": rows})
        assert answer.status_code == 200 and answer.json()["model_version"] == "loans v1"
        request_ids.append(answer.json()["request_id"])
    wait_until(lambda: _shadow_rows(home, deployment.id) == 40)
    feedback = [{"request_id": rid, "row": 0, "label": int(i < 10)} for i, rid in
                enumerate(request_ids)]  # fmt: skip
    assert client.post("/feedback", json={"feedback": feedback}).status_code == 200
    comparison = compare_shadow(home, deployment.id, shadow.id, minutes=10)
    assert comparison.rows == 40 and comparison.labelled == 20
    assert 0 <= comparison.agreement <= 1 and comparison.shadow_performance is not None
    assert sum(bucket.rows for bucket in comparison.buckets) == 40
    # stopped: the service follows within a second and scores no more shadow rows
    deployments.stop_shadow(home, deployment.id)
    wait_until(lambda: client.get("/health").json()["shadow"] is None)
    client.post("/predict", json={"records": [{"income": 40.0, "region": "north"}]})
    time.sleep(0.5)
    assert _shadow_rows(home, deployment.id) == 40
