"""`mlops-studio predict` gives, digit for digit, the answers a live deployment gives."""

from __future__ import annotations

from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest

from tests.studio_cli import run, run_json

REASON = "parity of batch scoring with the service"
# binary: gradient boosting, whose ONNX copy and pipeline differ in the last digits;
# multiclass: a logistic regression (softmax over a matrix product); regression: a tree sum
MODELS = {
    "default": ("binary", "hist_gradient_boosting"),
    "grade": ("multiclass", "logistic_regression"),
    "amount": ("regression", "hist_gradient_boosting"),
}
ALONE = 40  # rows also sent one per request, as the playground sends them


def _inputs(rows: int, seed: int) -> pd.DataFrame:
    """Loan applications with missing values in every column, a region never seen in
    training ('atlantis') and dates with and without a time of day."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "income": rng.normal(50, 10, rows).round(2),
            "region": rng.choice(["north", "south", "east"], rows).astype(object),
            "opened": pd.date_range("2023-01-01 06:00", periods=rows, freq="17h")
            .strftime("%Y-%m-%d %H:%M:%S")
            .astype(object),
            "member": rng.choice([True, False], rows).astype(object),
        }
    )
    frame.loc[rng.random(rows) < 0.1, "income"] = np.nan
    for column in ("region", "opened", "member"):
        frame.loc[rng.random(rows) < 0.1, column] = None
    return frame


def _training(target: str) -> pd.DataFrame:
    frame = _inputs(400, seed=1)
    income = frame["income"].fillna(50) + np.random.default_rng(2).normal(scale=5, size=400)
    targets = {
        "default": (income < 48).astype(int),
        "grade": pd.cut(income, [-np.inf, 45, 55, np.inf], labels=["C", "B", "A"]).astype(str),
        "amount": (income * 3 + (frame["region"] == "south") * 10).round(3),
    }
    return frame.assign(**{target: targets[target]})


@pytest.fixture(scope="module")
def studio(tmp_path_factory, train_frame) -> Path:
    """A home with one version per task, each trained on its own dataset, each with its
    verified ONNX copy."""
    from core.train.registry import register_run

    home = tmp_path_factory.mktemp("parity") / "studio"
    for target, (_, model) in MODELS.items():
        outcome = train_frame(home, _training(target), name=target, target=target, models=(model,))
        assert register_run(home, outcome.best.id, name=target).onnx_path
    return home


@pytest.fixture(scope="module")
def new_rows(tmp_path_factory) -> tuple[Path, list[dict]]:
    """300 rows to score: the file for `predict` and the records a client sends for them."""
    frame = _inputs(300, seed=7)
    frame.loc[[3, 50, 120], "region"] = "atlantis"
    path = tmp_path_factory.mktemp("rows") / "applications.csv"
    frame.to_csv(path, index=False)
    records = frame.astype(object).where(frame.notna(), None).to_dict("records")
    return path, records


def _service_answers(home: Path, ref: str, records: list[dict]) -> tuple[dict, list[dict]]:
    """The deployment's answer to all rows in one request, and to the first ALONE one by one."""
    deployed = run_json(home, "deploy", ref, "--reason", REASON)
    headers = {"Authorization": f"Bearer {deployed['api_key']}"}
    try:
        with httpx.Client(base_url=deployed["url"], headers=headers, timeout=60) as client:
            assert client.get("/health").json()["engine"] == "onnx"
            together = client.post("/predict", json={"records": records}).json()
            alone = [
                client.post("/predict", json={"records": [row]}).json() for row in records[:ALONE]
            ]
    finally:
        run(home, "undeploy", str(deployed["id"]))
    return together, alone


def _predicted(home: Path, ref: str, source: Path, out: Path, *engine: str) -> pd.DataFrame:
    run_json(home, "predict", ref, str(source), "--out", str(out), *engine)
    if out.suffix == ".csv":  # pandas' default float parser is off by an ulp at times
        return pd.read_csv(out, float_precision="round_trip")
    return pd.read_parquet(out)


def _answers(scored: pd.DataFrame, classes: list | None) -> dict:
    """The scored file's output columns in the service's answer shape."""
    answer: dict = {"predictions": scored["prediction"].tolist()}
    if classes is not None:
        columns = [f"probability_{label}" for label in classes]
        answer["probabilities"] = scored[columns].to_numpy().tolist()
    return answer


def _shape(body: dict) -> dict:
    return {key: body[key] for key in ("predictions", "probabilities") if key in body}


@pytest.mark.slow
@pytest.mark.parametrize("target", list(MODELS))
def test_predict_writes_the_live_services_answers_bit_for_bit(studio, new_rows, tmp_path, target):
    source, records = new_rows
    together, alone = _service_answers(studio, f"{target}@1", records)
    assert together["unseen_categories"] == 3
    classes = together.get("classes")
    assert (classes is None) == (MODELS[target][0] == "regression")
    for out in (tmp_path / "scored.parquet", tmp_path / "scored.csv"):
        scored = _answers(_predicted(studio, f"{target}@1", source, out), classes)
        assert scored == _shape(together)  # ==, not approximately
    one_by_one = {key: [value for body in alone for value in body[key]] for key in scored}
    assert one_by_one == {key: values[:ALONE] for key, values in scored.items()}


@pytest.mark.slow
def test_the_pipeline_alone_would_not_match_so_the_engine_matters(studio, new_rows, tmp_path):
    source, _ = new_rows
    onnx = _predicted(studio, "default@1", source, tmp_path / "onnx.parquet")
    sklearn = _predicted(
        studio, "default@1", source, tmp_path / "sklearn.parquet", "--engine", "sklearn"
    )
    assert onnx["prediction"].tolist() == sklearn["prediction"].tolist()
    gap = (onnx["probability_1"] - sklearn["probability_1"]).abs()
    assert 0 < gap.max() < 1e-12  # the old sklearn-only batch differed from the service here
