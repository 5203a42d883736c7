"""schemathesis against a live service's /openapi.json, every check on: no 5xx, answers that
conform to the schema, every schema-valid body answered and every schema-violating one refused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

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
            "member": rng.choice(["yes", "no"], n),  # a yes/no input, as a file writes it
        }
    )
    frame["default"] = (frame["income"] + rng.normal(scale=5, size=n) < 48).astype(int)
    register_run(
        home, train_frame(home, frame, name="loans", target="default").best.id, name="loans"
    )
    deployment, api_key = deployments.deploy(home, "loans@1", override_reason="fuzzed by tests")
    yield deployment, api_key
    deployments.undeploy(home, deployment.id)


def _operations(url: str) -> list:
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
    return [result.ok() for result in schema.get_all_operations()]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_the_service_keeps_its_schema_for_every_generated_request(service, mode):
    deployment, api_key = service
    operations = _operations(deployment.url)
    assert {op.path for op in operations} >= {"/predict", "/invocations", "/feedback", "/ping"}
    statuses: list[int] = []
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=60,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def keeps_its_schema(case):
            # every default check: not_a_server_error, status code / content type / headers /
            # response schema conformance, positive_data_acceptance, negative_data_rejection,
            # ignored_auth ...
            response = case.call_and_validate(headers={"X-API-Key": api_key})
            statuses.append(response.status_code)
            assert "Traceback" not in response.text

        try:
            keeps_its_schema()
        except Unsatisfiable:  # a GET without parameters has no schema-violating request
            assert mode == GenerationMode.NEGATIVE and operation.method.upper() == "GET"
    assert len(statuses) > 100
    expected = {200} if mode == GenerationMode.POSITIVE else {400, 422}
    assert expected <= set(statuses)
