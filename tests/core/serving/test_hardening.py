"""Serving hardening against a real uvicorn: per-key rate limits (429 with Retry-After, then
recovery), rounded or labels-only answers, and out-of-distribution flags answered and logged."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from core.serving import deployments as deploying
from core.serving.app import create_app
from core.serving.hardening import (
    HardeningError,
    RateLimiter,
    checked_settings,
    parse_rate,
    shaped,
)
from core.serving.keys import key_hash
from core.serving.ood import ood_series
from core.store import connect, deployments
from core.store.deployments import ServingSettings
from core.train.registry import find_model_version

KEY = "mls_hardening-test-key"
ROWS = [{"income": 30.0, "region": "north"}, {"income": 70.0, "region": "south"}]
HEADERS = {"Authorization": f"Bearer {KEY}"}
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def home(tmp_path_factory, loans_studio) -> Path:
    return loans_studio(tmp_path_factory.mktemp("hardening") / "studio", rows=400, seed=4)


def served_by(home: Path, add_deployment, **settings) -> int:
    """A deployment row of loans v1 with this hardening, answered by the app under test."""
    version = find_model_version(home, "loans@1")
    return add_deployment(
        home, version.id, status="running", api_key_hash=key_hash(KEY), **settings
    )


def test_a_burst_gets_429_with_retry_after_and_the_key_recovers(home, add_deployment, live_server):
    deployment_id = served_by(home, add_deployment, rate_limit=5.0, rate_burst=5)
    app = create_app(home, deployment_id=deployment_id)
    with live_server(app) as url, httpx.Client(base_url=url, headers=HEADERS) as client:
        statuses = [client.post("/predict", json={"records": ROWS}) for _ in range(20)]
        codes = [response.status_code for response in statuses]
        assert codes[:5] == [200] * 5 and codes.count(429) >= 10
        limited = next(r for r in statuses if r.status_code == 429)
        assert limited.headers["Retry-After"] == "1"
        assert "Too many requests for this API key" in limited.json()["detail"]
        mlflow = client.post("/invocations", json={"dataframe_records": ROWS})
        assert mlflow.status_code == 429
        assert mlflow.json()["error_code"] == "REQUEST_LIMIT_EXCEEDED"
        time.sleep(int(limited.headers["Retry-After"]) + 0.2)
        assert client.post("/predict", json={"records": ROWS}).status_code == 200
        # a wrong key is refused as before (401, checked first), whatever the buckets hold
        wrong = [
            client.post("/predict", json={"records": ROWS}, headers={"Authorization": "Bearer no"})
            for _ in range(8)
        ]
        assert {response.status_code for response in wrong} == {401}
        # the service follows a changed limit from the store without a restart
        deploying.set_hardening(home, deployment_id, ServingSettings(), actor="test")
        time.sleep(1.5)
        burst = [client.post("/predict", json={"records": ROWS}).status_code for _ in range(15)]
        assert burst == [200] * 15


def test_rounding_and_labels_only_change_the_answers_not_the_log(
    home, add_deployment, live_server, wait_until
):
    deployment_id = served_by(home, add_deployment, round_decimals=2)
    app = create_app(home, deployment_id=deployment_id)
    with live_server(app) as url, httpx.Client(base_url=url, headers=HEADERS) as client:
        rounded = client.post("/predict", json={"records": ROWS}).json()
        assert all(p == round(p, 2) for row in rounded["probabilities"] for p in row)
        assert rounded["classes"] == [0, 1]
        deploying.set_hardening(home, deployment_id, ServingSettings(labels_only=True))

        def labels_only():
            body = client.post("/predict", json={"records": ROWS}).json()
            return body if "probabilities" not in body else None

        body = wait_until(labels_only, timeout=10)
        assert len(body["predictions"]) == 2 and "classes" not in body
        invocations = client.post("/invocations", json={"dataframe_records": ROWS}).json()
        assert "probabilities" not in invocations
    with connect(home) as db:
        logged = deployments.predictions(db, deployment_id, limit=20)
    assert all(row["probabilities"] is not None for row in logged if row["status"] == 200)
    assert any(p != round(p, 2) for row in logged for p in row["probabilities"] or [])


def test_out_of_distribution_rows_are_flagged_answered_and_logged(
    home, add_deployment, live_server
):
    deployment_id = served_by(home, add_deployment)
    app = create_app(home, deployment_id=deployment_id)
    rows = [
        {"income": 1_000.0, "region": "north"},  # far above anything in training
        {"income": 50.0, "region": "atlantis"},  # a region never seen
        {"income": 50.0, "region": "south"},
    ]
    with live_server(app) as url, httpx.Client(base_url=url, headers=HEADERS) as client:
        body = client.post("/predict", json={"records": rows}).json()
        assert body["out_of_distribution"] == [True, True, False]
        usual = client.post("/predict", json={"records": ROWS}).json()
        assert usual["out_of_distribution"] == [False, False]
    with connect(home) as db:
        logged = deployments.predictions(db, deployment_id, limit=10)
    request = body["request_id"]
    flagged = {r["row"]: r["out_of_distribution"] for r in logged if r["request_id"] == request}
    assert flagged == {0: ["income"], 1: ["region"], 2: []}
    series = ood_series(home, deployment_id, minutes=60)
    assert sum(series.rows) == 5 and sum(series.flagged) == 2
    assert series.total_share == pytest.approx(0.4)


def test_settings_are_checked_with_clear_messages():
    assert parse_rate("20/s") == 20.0 and parse_rate("600/min") == 10.0 and parse_rate("3") == 3.0
    for bad in ("fast", "0/s", "-1/s", "5/hour"):
        with pytest.raises(HardeningError, match="A rate limit reads like"):
            parse_rate(bad)
    with pytest.raises(HardeningError, match="whole number of decimals"):
        checked_settings(round_decimals=9)
    with pytest.raises(HardeningError, match="burst"):
        checked_settings(rate_limit=1.0, rate_burst=0)
    body = {"predictions": [1], "classes": [0, 1], "probabilities": [[0.12345, 0.87655]]}
    assert shaped(body, ServingSettings(round_decimals=1))["probabilities"].tolist() == [[0.1, 0.9]]
    assert shaped(body, ServingSettings(labels_only=True)) == {"predictions": [1]}


def test_the_token_bucket_refills_at_its_rate():
    now = [0.0]
    limiter = RateLimiter(rate=2.0, burst=2.0, clock=lambda: now[0])
    assert [limiter.wait("k") for _ in range(2)] == [0.0, 0.0]
    assert limiter.wait("k") == pytest.approx(0.5)
    assert limiter.wait("other") == 0.0  # each key has its own bucket
    now[0] = 0.5
    assert limiter.wait("k") == 0.0 and limiter.wait("k") > 0


TAKE_TOKENS = """
import sys
from pathlib import Path
from core.serving.hardening import RateLimiter
limiter = RateLimiter(rate=0.001, burst=10.0, path=Path(sys.argv[1]))
print(sum(limiter.wait("key") == 0.0 for _ in range(2000)))
"""


def test_processes_sharing_a_bucket_file_share_the_burst(tmp_path):
    # three processes take from one key's bucket at once: 10 tokens in all, not 10 each
    path = tmp_path / "buckets"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", TAKE_TOKENS, str(path)], stdout=subprocess.PIPE, env=env
        )
        for _ in range(3)
    ]
    passed = [int(process.communicate(timeout=60)[0]) for process in processes]
    assert sum(passed) == 10, passed


def test_a_service_with_two_workers_limits_a_key_at_its_rate_not_twice_it(home):
    settings = ServingSettings(rate_limit=1.0, rate_burst=5)
    reason = "Rate-limit test of an unreviewed version."
    deployment, api_key = deploying.deploy(
        home, "loans@1", workers=2, settings=settings, override_reason=reason
    )
    try:
        started = time.monotonic()
        codes = [  # a new connection each time, so both workers take requests
            httpx.post(
                f"{deployment.url}/predict",
                json={"records": ROWS},
                headers={"X-API-Key": api_key},
                timeout=30,
            ).status_code
            for _ in range(30)
        ]
        elapsed = time.monotonic() - started
    finally:
        deploying.undeploy(home, deployment.id)
    assert set(codes) == {200, 429}
    # the burst of 5, plus what one token a second refilled meanwhile (per-process buckets
    # let 10 through at once)
    assert codes.count(200) <= 5 + int(elapsed) + 1, (codes, elapsed)
