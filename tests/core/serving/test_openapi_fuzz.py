"""schemathesis against a live service's /openapi.json: no generated request gets a 5xx."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from core.serving import deployments
from core.train.registry import register_run


@pytest.fixture(scope="module")
def service(tmp_path_factory, train_frame):
    home: Path = tmp_path_factory.mktemp("fuzz") / "studio"
    rng = np.random.default_rng(5)
    n = 200
    frame = pd.DataFrame(
        {
            "income": rng.normal(50, 10, n),
            "region": rng.choice(["north", "south"], n),
            "opened": pd.date_range("2024-01-01", periods=n, freq="D").astype(str),
            "member": rng.choice([True, False], n),
        }
    )
    frame["default"] = (frame["income"] + rng.normal(scale=5, size=n) < 48).astype(int)
    register_run(
        home, train_frame(home, frame, name="loans", target="default").best.id, name="loans"
    )
    deployment, api_key = deployments.deploy(home, "loans@1", override_reason="fuzzed by tests")
    yield deployment, api_key
    deployments.undeploy(home, deployment.id)


def test_no_generated_request_gets_a_server_error(service):
    deployment, api_key = service
    schema = schemathesis.openapi.from_url(f"{deployment.url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} >= {"/predict", "/invocations", "/feedback", "/health"}
    statuses: list[int] = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=60,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def no_server_error(case):
            response = case.call(headers={"X-API-Key": api_key})
            statuses.append(response.status_code)
            assert response.status_code < 500, f"{case.method} {case.path}: {response.text}"
            assert "Traceback" not in response.text

        no_server_error()
    assert len(statuses) > 100 and {200, 422} <= set(statuses)
