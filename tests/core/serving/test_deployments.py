"""Deployments as real processes: a supervisor running uvicorn on a free loopback port, the
prediction log, feedback, keys, hot swap and kill -9 under load."""

from __future__ import annotations

import os
import signal
import sqlite3
import threading
import time
from pathlib import Path

import httpx
import pytest

from core.serving import deployments
from core.serving.deployments import DeployError
from core.settings import database_path
from core.store import connect, models
from core.store import deployments as deployments_store

REASON = "exercised by the test suite"
ROW = {"income": 30.0, "region": "north"}


@pytest.fixture(scope="module")
def home(tmp_path_factory, loans_studio) -> Path:
    """loans v1 (a logistic regression) and v2 (a decision tree), each with its ONNX copy."""
    return loans_studio(
        tmp_path_factory.mktemp("deploy") / "studio",
        rows=300,
        seed=3,
        models=("logistic_regression", "decision_tree"),
        onnx=True,
    )


@pytest.fixture(scope="module")
def live(home):
    deployment, api_key = deployments.deploy(home, "loans@1", override_reason=REASON)
    client = httpx.Client(base_url=deployment.url, headers={"X-API-Key": api_key}, timeout=30)
    yield deployment, api_key, client
    client.close()
    if deployments.get_deployment(home, deployment.id).active:
        deployments.undeploy(home, deployment.id)


def _predict(client: httpx.Client, rows=(ROW,)) -> httpx.Response:
    return client.post("/predict", json={"records": list(rows)})


def _logged(home: Path, request_ids: list[str]) -> set[str]:
    with connect(home) as db:
        return deployments_store.logged_request_ids(db, request_ids)


class Load:
    """Threads sending single-row requests until stopped; keeps every answer."""

    def __init__(self, client: httpx.Client, threads: int = 4) -> None:
        self.client = client
        self.answers: list[tuple[int, dict]] = []
        self.errors = 0
        self.running = True
        self.threads = [threading.Thread(target=self._send) for _ in range(threads)]

    def __enter__(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.running = False
        for thread in self.threads:
            thread.join()

    def _send(self) -> None:
        while self.running:
            try:
                response = _predict(self.client)
                self.answers.append((response.status_code, response.json()))
            except httpx.HTTPError:
                self.errors += 1
                time.sleep(0.05)

    def ok(self) -> list[dict]:
        return [body for status, body in self.answers if status == 200]


def test_deploy_serves_logs_and_takes_feedback(home, live):
    deployment, _, client = live
    assert deployment.status == "running" and deployment.host == "127.0.0.1"
    health = client.get("/health").json()
    assert health["status"] == "ok" and health["model_version"] == "loans v1"
    assert health["engine"] == "onnx"
    body = _predict(client, [ROW, {"income": 70.0, "region": "south"}]).json()
    assert body["model_version"] == "loans v1" and len(body["predictions"]) == 2
    with connect(home) as db:
        logged = deployments_store.predictions(db, deployment.id, limit=10)
    mine = [row for row in logged if row["request_id"] == body["request_id"]]
    assert sorted(row["row"] for row in mine) == [0, 1]
    assert all(row["status"] == 200 and row["latency_ms"] > 0 for row in mine)

    feedback = client.post("/feedback", json={"request_id": body["request_id"], "label": 1})
    assert feedback.json() == {"recorded": 1}
    batch = [
        {"request_id": body["request_id"], "row": 0, "label": 0},
        {"request_id": "no-such-request", "label": 1},
    ]
    refused = client.post("/feedback", json={"feedback": batch})
    assert refused.status_code == 404 and "no-such-request" in refused.text
    wrong = client.post("/feedback", json={"request_id": body["request_id"], "label": "maybe"})
    assert wrong.status_code == 422 and wrong.json()["detail"][0]["loc"][-1] == "label"
    with connect(home) as db:
        labels = {
            r["row"]: r["label"]
            for r in deployments_store.predictions(db, deployment.id)
            if r["request_id"] == body["request_id"]
        }
    assert labels == {0: 1, 1: 1}  # the refused batch changed nothing


def test_bad_requests_get_clear_refusals_and_are_counted(home, live):
    deployment, _, client = live
    nan = client.post(
        "/predict",
        content=b'{"records": [{"income": Infinity}]}',
        headers={"Content-Type": "application/json"},
    )
    assert nan.status_code == 422
    assert nan.json()["detail"][0]["loc"] == ["body", "records", 0, "income"]
    assert (
        client.post("/predict", content=b"x", headers={"Content-Type": "text/csv"}).status_code
        == 415
    )
    unseen = _predict(client, [{"income": 50.0, "region": "atlantis"}]).json()
    assert unseen["unseen_categories"] == 1
    with connect(home) as db:
        rows = deployments_store.predictions(db, deployment.id, limit=20)
    assert any(row["status"] == 422 for row in rows)
    assert any(row.get("unseen") == ["region"] for row in rows)


def test_keys_are_checked_rotated_and_revoked(home, live):
    deployment, api_key, client = live
    url = deployment.url
    assert httpx.post(f"{url}/predict", json={"records": [ROW]}).status_code == 401
    wrong = httpx.post(f"{url}/predict", json={"records": [ROW]}, headers={"X-API-Key": "nope"})
    assert wrong.status_code == 401
    bearer = {"Authorization": f"Bearer {api_key}"}
    assert httpx.post(f"{url}/predict", json={"records": [ROW]}, headers=bearer).status_code == 200

    new_key = deployments.rotate_key(home, deployment.id)
    time.sleep(1.2)
    assert _predict(client).status_code == 401  # the old key
    client.headers["X-API-Key"] = new_key
    assert _predict(client).status_code == 200
    deployments.revoke_key(home, deployment.id)
    time.sleep(1.2)
    revoked = _predict(client)
    assert revoked.status_code == 401 and "revoked" in revoked.json()["detail"]
    client.headers["X-API-Key"] = deployments.rotate_key(home, deployment.id)
    time.sleep(1.2)
    assert _predict(client).status_code == 200
    with connect(home) as db:
        row = deployments_store.get(db, deployment.id)
    assert row is not None and row.api_key_hash and client.headers["X-API-Key"] not in str(row)


def test_hot_swap_under_load_fails_no_request(home, live):
    deployment, _, client = live
    with Load(client) as load:
        time.sleep(0.5)
        deployments.switch_version(home, deployment.id, "loans@2", override_reason=REASON)
        time.sleep(0.5)
        deployments.roll_back(home, deployment.id)
        time.sleep(0.5)
    assert load.errors == 0 and all(status == 200 for status, _ in load.answers)
    served = {body["model_version"] for body in load.ok()}
    assert served == {"loans v1", "loans v2"}
    ids = {body["request_id"]: body["model_version"] for body in load.ok()}
    with connect(home) as db:
        rows = deployments_store.predictions(db, deployment.id, limit=100_000)
        labels = {v.id: v.label for v in models.versions(db, "loans")}
    logged = {row["request_id"]: labels[row["model_version_id"]] for row in rows}
    assert all(logged[request_id] == version for request_id, version in ids.items())


def test_kill_9_under_load_loses_no_acknowledged_prediction(home, live, wait_until):
    deployment, _, client = live
    server_pid = deployments.get_deployment(home, deployment.id).server_pid
    with Load(client) as load:
        time.sleep(1.0)
        os.kill(server_pid, signal.SIGKILL)
        wait_until(lambda: deployments.get_deployment(home, deployment.id).restarts, every=0.05)
        # the supervisor noticed and starts it again
        restarted = deployments.wait_until_ready(home, deployment.id, timeout=90)
        wait_until(lambda: len(load.ok()) >= 50, timeout=60)
    assert restarted.server_pid != server_pid and restarted.restarts >= 1
    ids = [body["request_id"] for body in load.ok()]
    assert _logged(home, ids) == set(ids)
    with sqlite3.connect(database_path(home)) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_graceful_stop_flushes_the_log_and_frees_the_port(home):
    deployment, api_key = deployments.deploy(home, "loans@2", override_reason=REASON)
    client = httpx.Client(base_url=deployment.url, headers={"X-API-Key": api_key})
    with Load(client) as load:
        time.sleep(1.0)
        stopped = deployments.undeploy(home, deployment.id)
    assert stopped.status == "stopped" and stopped.server_pid is None
    ids = [body["request_id"] for body in load.ok()]
    assert ids and _logged(home, ids) == set(ids)
    assert deployments.health(stopped) is None
    deployments._usable_port(stopped.host, stopped.port)  # free again


def test_reattach_restarts_a_deployment_whose_supervisor_died(home):
    deployment, api_key = deployments.deploy(home, "loans@1", override_reason=REASON)
    try:
        os.killpg(deployment.server_pid, signal.SIGKILL)
        os.kill(deployment.supervisor_pid, signal.SIGKILL)
        time.sleep(0.3)
        deployments.reattach(home)
        back = deployments.wait_until_ready(home, deployment.id, timeout=90)
        assert back.supervisor_pid != deployment.supervisor_pid
        answer = httpx.post(
            f"{back.url}/predict", json={"records": [ROW]}, headers={"X-API-Key": api_key}
        )
        assert answer.status_code == 200
    finally:
        deployments.undeploy(home, deployment.id)


def test_deploy_refusals_say_what_to_do(home, live):
    deployment = live[0]
    with pytest.raises(DeployError, match="only an approved version is deployed"):
        deployments.deploy(home, "loans@1")
    with pytest.raises(DeployError, match="at least 10 characters"):
        deployments.deploy(home, "loans@1", override_reason="why not")
    with pytest.raises(DeployError, match="already in use"):
        deployments.deploy(home, "loans@1", port=deployment.port, override_reason=REASON)
    with pytest.raises(DeployError, match="Workers must be"):
        deployments.deploy(home, "loans@1", workers=0, override_reason=REASON)
    with pytest.raises(ValueError, match="no model 'loans@9'"):
        deployments.deploy(home, "loans@9", override_reason=REASON)
    with pytest.raises(DeployError, match="no deployment 999"):
        deployments.undeploy(home, 999)
    with pytest.raises(DeployError, match="already serves"):
        deployments.switch_version(home, deployment.id, "loans@1")
