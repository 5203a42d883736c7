"""The prediction service in process: auth, payloads, refusals with paths, no tracebacks."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from core.data.datasets import import_dataset
from core.serving.app import create_app
from core.serving.keys import key_hash
from core.train.plan import ValidationPlan
from core.train.registry import load_model_version, register_run
from core.train.training import TrainRequest, train

KEY = "test-key-123"


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("serve") / "studio"
    rng = np.random.default_rng(2)
    n = 400
    frame = pd.DataFrame(
        {"income": rng.normal(50, 10, n), "region": rng.choice(["north", "south"], n)}
    )
    frame["default"] = (frame["income"] + rng.normal(scale=5, size=n) < 48).astype(int)
    path = home.parent / "loans.csv"
    frame.to_csv(path, index=False)
    version = import_dataset(home, path=path, name="loans").version
    request = TrainRequest(
        version_id=version.id,
        target="default",
        models=("logistic_regression",),
        plan=ValidationPlan(folds=3),
    )
    register_run(home, train(home, request).best.id, name="loans", onnx=False)
    return home


@pytest.fixture
def client(served):
    app = create_app(served, "loans@1", api_key_hash=key_hash(KEY), max_body_bytes=20_000)
    with TestClient(app) as client:
        client.headers["Authorization"] = f"Bearer {KEY}"
        yield client


ROWS = [{"income": 30.0, "region": "north"}, {"income": 70.0, "region": "south"}]


def test_health_metadata_and_predictions_match_the_model(client, served):
    health = client.get("/health").json()
    assert health["status"] == "ok" and health["model_version"] == "loans v1"
    meta = client.get("/metadata").json()
    assert [c["name"] for c in meta["inputs"]] == ["income", "region"]
    body = client.post("/predict", json={"records": ROWS}).json()
    model = load_model_version(served, "loans@1")
    expected = model.predict_proba(pd.DataFrame(ROWS))
    assert np.allclose(body["probabilities"], expected)
    assert body["model_version"] == "loans v1" and len(body["request_id"]) == 32
    assert body["classes"] == [0, 1]


@pytest.mark.parametrize(
    "payload",
    [
        {"dataframe_split": {"columns": ["income", "region"], "data": [[30.0, "north"]]}},
        {"dataframe_records": [{"income": 30.0, "region": "north"}]},
        {"instances": [[30.0, "north"]]},
    ],
)
def test_mlflow_payloads_on_invocations(client, payload):
    response = client.post("/invocations", json=payload)
    assert response.status_code == 200
    assert len(response.json()["predictions"]) == 1


def test_auth(client):
    assert (
        client.post("/predict", json={"records": ROWS}, headers={"Authorization": ""}).status_code
        == 401
    )
    wrong = client.post("/predict", json={"records": ROWS}, headers={"Authorization": "Bearer no"})
    assert wrong.status_code == 401
    by_header = client.post(
        "/predict", json={"records": ROWS}, headers={"Authorization": "", "X-API-Key": KEY}
    )
    assert by_header.status_code == 200


def test_refusals(client):
    unknown = client.post("/predict", json={"records": [{"income": 1, "extra": 2}]})
    assert unknown.status_code == 422
    assert unknown.json()["detail"][0]["loc"] == ["body", "records", 0, "extra"]
    nan = client.post(
        "/predict",
        content=b'{"records": [{"income": NaN}]}',
        headers={"Content-Type": "application/json"},
    )
    assert nan.status_code == 422 and "finite" in nan.text
    text = client.post("/predict", content=b"income=1", headers={"Content-Type": "text/plain"})
    assert text.status_code == 415
    big = client.post("/predict", json={"records": [{"income": 1.0}] * 2000})
    assert big.status_code == 413
    assert "Traceback" not in unknown.text + nan.text + big.text


def test_openapi_documents_the_request_from_the_training_schema(client):
    schema = client.get("/openapi.json").json()
    record = schema["components"]["schemas"]["Record"]
    assert set(record["properties"]) == {"income", "region"}
    assert record["additionalProperties"] is False
