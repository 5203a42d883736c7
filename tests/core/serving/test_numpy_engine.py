"""The NumPy engine: registration checks it against the pipeline and records the verdict; a
live service then serves a sample-like model (target encoding, no ONNX copy) with it, giving
the pipeline's answers to the last digit; what it cannot compile stays on the pipeline."""

from __future__ import annotations

from pathlib import Path

import httpx
import numpy as np
import orjson
import pandas as pd
import pytest
from sklearn.preprocessing import QuantileTransformer

from core.serving.app import create_app
from core.serving.inputs import (
    BOOLEAN,
    DATETIME,
    NUMBER,
    TEXT,
    InputColumn,
    check_rows,
    typed_column,
)
from core.serving.keys import key_hash
from core.serving.numpy_engine import _array, check_fast_path
from core.serving.ood import training_ranges
from core.serving.payloads import read_records
from core.serving.scoring import load_served_model, score

KEY = "numpy-engine-key-0123456789"
# like the sample project's recipe: scaled numbers, one-hot, ordinal, rare levels grouped,
# target encoding (which has no ONNX converter), yes/no, date parts and interactions
FEATURES = {
    "columns": {
        "income": {"impute": "median", "missing_indicator": True, "transform": "log",
                   "scale": "robust"},
        "rate": {"impute": "median", "scale": "standard"},
        "region": {"encode": "target"},
        "purpose": {"encode": "onehot", "min_frequency": 0.05},
        "grade": {"encode": "ordinal"},
        "member": {"encode": "onehot"},
        "opened": {"date_parts": ["year", "month", "weekday", "days_since"]},
    },
    "interactions": {"columns": ["income", "rate"], "degree": 2},
    "selection": {"variance_threshold": 0.0, "correlation_threshold": 0.98},
}  # fmt: skip


def applications(rows: int, seed: int) -> pd.DataFrame:
    """Loan applications with gaps in every column."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "income": rng.lognormal(10, 0.5, rows).round(2),
            "rate": rng.normal(6, 2, rows).round(3),
            "region": rng.choice(["north", "south", "east", "west"], rows).astype(object),
            "purpose": rng.choice(
                ["car", "home", "study", "boat"], rows, p=[0.5, 0.3, 0.17, 0.03]
            ).astype(object),
            "grade": rng.choice(["A", "B", "C"], rows).astype(object),
            "member": rng.choice(["yes", "no"], rows).astype(object),
            "opened": pd.date_range("2022-01-01 08:00", periods=rows, freq="9h")
            .strftime("%Y-%m-%d %H:%M:%S")
            .astype(object),
        }
    )
    for column in frame.columns:
        frame.loc[rng.random(rows) < 0.07, column] = None
    return frame


@pytest.fixture(scope="module")
def studio(tmp_path_factory, train_frame) -> tuple[Path, str]:
    """A home with the sample-like model registered (with its ONNX export attempted)."""
    from core.prep.prepare import save_recipe
    from core.prep.recipe import Recipe
    from core.train.plan import ValidationPlan
    from core.train.registry import register_run
    from core.train.training import TrainRequest, train

    home = tmp_path_factory.mktemp("numpy-engine") / "studio"
    frame = applications(600, seed=1)
    signal = frame["rate"].fillna(6) + (frame["region"] == "south") * 2
    frame["default"] = (signal + np.random.default_rng(2).normal(0, 1, 600) > 7).astype(int)
    outcome = train_frame(home, frame, name="applications", target="default")
    recipe = save_recipe(home, Recipe("sample-like", "default", (), FEATURES))
    request = TrainRequest(
        version_id=outcome.best.dataset_version_id,
        target="default",
        recipe_id=recipe.id,
        models=("logistic_regression",),
        plan=ValidationPlan(folds=2),
    )
    version = register_run(home, train(home, request).best.id, name="applications")
    return home, version.label.replace(" v", "@")


def test_registration_records_that_the_numpy_engine_matched(studio):
    home, ref = studio
    model = load_served_model(home, ref)
    assert model.onnx is None and model.metadata["onnx"]["reason"]  # target encoding: none
    checked = model.metadata["fast_path"]
    assert checked["ok"] is True and checked["reason"] == "" and checked["rows"] > 100
    assert model.engine == "numpy" and model.metadata["engine"] == "numpy"
    assert load_served_model(home, ref, engine="numpy").engine == "numpy"
    assert load_served_model(home, ref, engine="sklearn").engine == "sklearn"
    with pytest.raises(ValueError, match="has no ONNX copy"):
        load_served_model(home, ref, engine="onnx")


def test_a_live_service_serves_it_with_numpy_and_the_pipelines_answers(studio, live_server):
    home, ref = studio
    records = applications(37, seed=9)
    records.loc[::5, "region"] = "atlantis"  # unseen levels
    records.loc[::6, "purpose"] = "spaceship"
    body = {"records": records.astype(object).where(records.notna(), None).to_dict("records")}
    pipeline = load_served_model(home, ref, engine="sklearn")
    expected = score(pipeline, check_rows(body["records"], pipeline.columns))
    app = create_app(home, ref, api_key_hash=key_hash(KEY))
    with live_server(app) as url:
        assert httpx.get(f"{url}/health").json()["engine"] == "numpy"
        headers = {"Authorization": f"Bearer {KEY}"}
        answer = httpx.post(f"{url}/predict", json=body, headers=headers, timeout=60).json()
        alone = httpx.post(
            f"{url}/predict", json={"records": body["records"][3:4]}, headers=headers
        ).json()
    assert answer["predictions"] == expected.predictions
    assert answer["probabilities"] == expected.probabilities.tolist()  # to the last digit
    assert alone["probabilities"] == expected.probabilities[3:4].tolist()
    assert answer["model_version"] == "applications v1"


def test_a_pipeline_it_cannot_compile_stays_on_the_pipeline_with_the_reason(studio):
    home, ref = studio
    model = load_served_model(home, ref, engine="sklearn")
    pipeline = model.pipeline
    numbers = pipeline.named_steps["features"].named_steps["columns"]
    inner = next(t for name, t, _ in numbers.transformers_ if name.startswith("numeric"))
    kept = inner.steps[-1]
    inner.steps[-1] = ("scale", QuantileTransformer(n_quantiles=5).fit(np.arange(9.0)[:, None]))
    try:
        checked = check_fast_path(
            pipeline, task="binary", columns=model.columns, holdout=applications(20, seed=4)
        )
    finally:
        inner.steps[-1] = kept
    assert checked.ok is False
    assert "QuantileTransformer" in checked.reason and "has no NumPy form" in checked.reason


def test_a_check_with_no_rows_or_no_inputs_refuses(studio):
    home, ref = studio
    model = load_served_model(home, ref, engine="sklearn")
    empty = check_fast_path(model.pipeline, task="binary", columns=model.columns,
                            holdout=applications(5, seed=1).head(0))  # fmt: skip
    assert not empty.ok and "no holdout rows" in empty.reason
    blind = check_fast_path(model.pipeline, task="binary", columns=[], holdout=applications(5, 1))
    assert not blind.ok and "input columns" in blind.reason
    lacking = applications(5, seed=1).drop(columns=["rate"])
    failed = check_fast_path(model.pipeline, task="binary", columns=model.columns, holdout=lacking)
    assert not failed.ok and "failed while scoring" in failed.reason and "'rate'" in failed.reason


@pytest.mark.parametrize(
    ("kind", "values"),
    [
        (NUMBER, [1, 2.5, None, -0.0, 10**17]),
        (TEXT, ["north", None, "south"]),
        (TEXT, ["3", 3, 3.0, True, None]),
        (BOOLEAN, [True, False, None]),
        (DATETIME, ["2024-02-29", "2024-03-01 13:45:00", None, "1960-01-01T00:00:01"]),
        (DATETIME, ["2024-02-29T10:00:00+02:00", "not a date", None]),
    ],
)
def test_inputs_reach_the_plan_as_the_pipelines_typed_columns(kind, values):
    column = InputColumn("x", kind, "string")
    expected = typed_column(values, column).to_numpy()
    found = _array(values, column)
    assert found.dtype == expected.dtype
    assert pd.Series(found).equals(pd.Series(expected))


def test_a_large_request_answers_as_the_pipeline_and_as_rows_sent_alone(studio, live_server):
    """10,000 rows through the typed decoder and the NumPy engine (arrays built once, shared
    with the out-of-distribution flags) answer exactly as the pandas pipeline scores them, as
    the general path's orientation reads them, and as each row sent alone."""
    home, ref = studio
    records = applications(10_000, seed=12)
    records.loc[::7, "region"] = "atlantis"  # unseen levels
    records.loc[::11, "rate"] = 1e6  # outside the training range
    records["member"] = records["member"].map({"yes": True, "no": False})  # as JSON sends them
    rows = records.astype(object).where(records.notna(), None).to_dict("records")
    raw = orjson.dumps({"records": rows})
    pipeline = load_served_model(home, ref, engine="sklearn")
    assert read_records(raw, pipeline.columns, "records", max_rows=10_000) is not None
    expected = score(pipeline, check_rows(rows, pipeline.columns, max_rows=10_000))
    split = {
        "dataframe_split": {
            "columns": list(records.columns),
            "data": [list(r.values()) for r in rows],
        }
    }
    app = create_app(home, ref, api_key_hash=key_hash(KEY))
    headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
    with live_server(app) as url, httpx.Client(base_url=url, headers=headers, timeout=120) as http:
        fast = http.post("/predict", content=raw).json()
        mlflow_fast = http.post("/invocations", json={"dataframe_records": rows}).json()
        general = http.post("/invocations", json=split).json()
        alone = [http.post("/predict", json={"records": [rows[i]]}).json() for i in (0, 7, 11)]
    assert fast["predictions"] == expected.predictions
    assert fast["probabilities"] == expected.probabilities.tolist()  # to the last digit
    # the flags as the rows' plain lists give them (no array shared with the engine)
    ranges = training_ranges(home, pipeline.version_id, pipeline.columns)
    plain = dict(check_rows(rows, pipeline.columns, max_rows=10_000))
    flagged = [bool(names) for names in ranges.flags(plain, expected.unseen, 10_000)]
    assert fast["out_of_distribution"] == flagged and flagged[7] and flagged[11]
    for other in (mlflow_fast, general):
        assert {k: v for k, v in other.items() if k != "request_id"} == {
            k: v for k, v in fast.items() if k != "request_id"
        }
    for index, answer in zip((0, 7, 11), alone, strict=True):
        assert answer["probabilities"] == [fast["probabilities"][index]]
        assert answer["out_of_distribution"] == [flagged[index]]
        assert answer["predictions"] == [fast["predictions"][index]]


def test_a_request_of_no_whole_number_of_blocks_answers_as_the_pipeline(studio):
    """1,003 rows are scored as 1,008 (the last row repeated): the arrays and text levels
    reading built are padded alike, and the flags read the arrays scoring built, unpadded."""
    home, ref = studio
    model = load_served_model(home, ref)
    records = applications(1_003, seed=13)
    records.loc[::9, "region"] = "atlantis"
    records.loc[::13, "rate"] = 1e6
    records["member"] = records["member"].map({"yes": True, "no": False})  # as JSON sends them
    rows = records.astype(object).where(records.notna(), None).to_dict("records")
    read = read_records(orjson.dumps({"records": rows}), model.columns, "records", max_rows=1_003)
    assert read is not None and read.values.levels  # text columns factorized while reading
    found = score(model, read.values)
    pipeline = load_served_model(home, ref, engine="sklearn")
    expected = score(pipeline, check_rows(rows, pipeline.columns, max_rows=1_003))
    assert found.predictions == expected.predictions
    np.testing.assert_array_equal(found.probabilities, expected.probabilities)
    assert found.unseen == expected.unseen and any(found.unseen)
    assert all(len(array) == 1_003 for array in read.values.arrays.values())
    ranges = training_ranges(home, model.version_id, model.columns)
    plain = dict(check_rows(rows, model.columns, max_rows=1_003))
    assert ranges.flags(read.values, found.unseen, 1_003) == ranges.flags(
        plain, expected.unseen, 1_003
    )


def test_scoring_leaves_the_shared_column_arrays_as_they_were_built(studio):
    """The out-of-distribution flags read the arrays the engine built: no step may write
    into its input columns."""
    home, ref = studio
    model = load_served_model(home, ref)
    records = applications(304, seed=5)  # whole blocks of 8: scored without padded copies
    rows = records.astype(object).where(records.notna(), None).to_dict("records")
    values = check_rows(rows, model.columns, max_rows=304)
    score(model, values)
    assert set(values.arrays) == {column.name for column in model.columns}
    for column in model.columns:
        fresh = _array(values[column.name], column)
        assert pd.Series(values.arrays[column.name]).equals(pd.Series(fresh)), column.name
