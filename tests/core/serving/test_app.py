"""The prediction service in process: auth, payloads, refusals with paths, no tracebacks."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from core.serving.app import create_app
from core.serving.inputs import check_rows
from core.serving.keys import key_hash
from core.serving.scoring import load_served_model, score
from core.train.registry import load_model_version, register_run

KEY = "test-key-123"


@pytest.fixture(scope="module")
def served(tmp_path_factory, loans_studio) -> Path:
    return loans_studio(tmp_path_factory.mktemp("serve") / "studio", rows=400, seed=2, folds=3)


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


@pytest.fixture(scope="module")
def mixed(tmp_path_factory, train_frame) -> Path:
    """A version with a date, a boolean and text inputs, registered with its ONNX copy."""
    home = tmp_path_factory.mktemp("mixed") / "studio"
    rng = np.random.default_rng(4)
    n = 400
    frame = pd.DataFrame(
        {
            "income": rng.normal(50, 10, n).round(1),
            "region": rng.choice(["north", "south", "east"], n),
            "opened": pd.date_range("2023-01-01 06:00", periods=n, freq="17h").astype(str),
            "member": rng.choice([True, False], n),
        }
    )
    frame["default"] = (frame["income"] + rng.normal(scale=5, size=n) < 48).astype(int)
    outcome = train_frame(
        home, frame, name="mixed", target="default", models=("hist_gradient_boosting",)
    )
    registered = register_run(home, outcome.best.id, name="mixed")
    assert registered.onnx_path, registered.onnx
    return home


MIXED_ROWS = [
    {"income": 41.5, "region": "north", "opened": "2023-03-04", "member": True},
    {"income": 60, "region": "east", "opened": "2023-05-06T13:45:00", "member": False},
    {"income": None, "region": None, "opened": None, "member": None},
    {"income": 48.0, "region": "atlantis", "opened": "2023-07-08 23:59:59.5", "member": None},
    {"income": 52.0, "region": 7, "opened": "2023-01-02T03:04:05+02:00", "member": True},
    {"income": 47.0, "region": "south", "opened": "not a date", "member": None},
]


def test_onnx_and_sklearn_engines_answer_alike(mixed):
    answers, larges = {}, {}
    for engine in ("onnx", "sklearn"):
        app = create_app(mixed, "mixed@1", api_key_hash=None, engine=engine)
        with TestClient(app) as client:
            assert client.get("/health").json()["engine"] == engine
            single = [client.post("/predict", json={"records": [row]}).json() for row in MIXED_ROWS]
            batch = client.post("/predict", json={"records": MIXED_ROWS}).json()
            large = client.post("/predict", json={"records": MIXED_ROWS * 420}).json()
        answers[engine] = (single, batch)
        larges[engine] = large
    onnx_single, onnx_batch = answers["onnx"]
    sklearn_single, sklearn_batch = answers["sklearn"]
    assert onnx_batch["predictions"] == sklearn_batch["predictions"]
    assert np.allclose(onnx_batch["probabilities"], sklearn_batch["probabilities"], atol=1e-5)
    for by_onnx, by_sklearn, together in zip(
        onnx_single, sklearn_single, onnx_batch["probabilities"], strict=True
    ):
        assert np.allclose(by_onnx["probabilities"], by_sklearn["probabilities"], atol=1e-5)
        assert by_onnx["probabilities"][0] == together  # alone or batched: the same digits
    assert onnx_batch["unseen_categories"] == sklearn_batch["unseen_categories"] == 2
    # 2,520 rows: ONNX scores two halves side by side
    assert larges["onnx"]["predictions"] == larges["sklearn"]["predictions"]
    assert np.allclose(
        larges["onnx"]["probabilities"], larges["sklearn"]["probabilities"], atol=1e-5
    )


def _random_rows(count: int, seed: int, *, mixed: bool) -> list[dict]:
    rng = np.random.default_rng(seed)
    rows = [
        {"income": float(rng.normal(50, 10)), "region": str(rng.choice(["north", "south"]))}
        for _ in range(count)
    ]
    if mixed:
        for row in rows:
            hours = int(rng.integers(0, 24 * 365))
            opened = pd.Timestamp("2023-01-01") + pd.Timedelta(hours=hours)
            row.update(opened=opened.isoformat(), member=bool(rng.integers(0, 2)))
    return rows


@pytest.mark.parametrize(
    ("home", "ref", "engine"),
    [
        ("mixed", "mixed@1", "onnx"),
        ("mixed", "mixed@1", "sklearn"),
        ("served", "loans@1", "sklearn"),
    ],
)
def test_a_rows_answer_does_not_depend_on_the_rows_scored_with_it(request, home, ref, engine):
    """Vectorised kernels round the rows after their last full block differently; scoring in
    whole blocks keeps a row's digits the same alone, in a small batch or in a large one.
    (mixed is gradient boosting, served a logistic regression: a BLAS product.)"""
    model = load_served_model(request.getfixturevalue(home), ref, engine=engine)
    rows = _random_rows(2_100, seed=5, mixed=home == "mixed")  # scored in two halves
    values = check_rows(rows, model.columns, max_rows=len(rows))
    together = score(model, values).probabilities
    assert together is not None
    for size in (1, 3, 7):
        parts = [
            score(model, {name: column[start : start + size] for name, column in values.items()})
            for start in range(0, 210, size)
        ]
        scored = np.vstack([part.probabilities for part in parts])
        assert scored.tolist() == together[: len(scored)].tolist()


def test_docs_page_loads_its_files_from_the_service_not_a_cdn(client):
    page = client.get("/docs", headers={"Authorization": ""})
    assert page.status_code == 200 and "cdn" not in page.text.lower()
    assert "/docs-assets/swagger-ui-bundle.js" in page.text
    script = client.get("/docs-assets/swagger-ui-bundle.js", headers={"Authorization": ""})
    assert script.status_code == 200 and len(script.content) > 100_000


def test_an_omitted_input_is_refused_on_every_endpoint(client):
    partial = client.post("/predict", json={"records": [{"income": 30.0}, {}]})
    assert partial.status_code == 422
    assert [item["loc"] for item in partial.json()["detail"]] == [
        ["body", "records", 1, "income"],  # each missing input once, in the model's order
        ["body", "records", 0, "region"],
    ]
    mlflow = client.post("/invocations", json={"dataframe_records": [{"region": "north"}]})
    assert mlflow.status_code == 400 and mlflow.json()["error_code"] == "BAD_REQUEST"
    assert "dataframe_records[0].income: Missing input" in mlflow.json()["message"]
    nulls = client.post("/predict", json={"records": [{"income": None, "region": None}]})
    assert nulls.status_code == 200 and len(nulls.json()["predictions"]) == 1
