"""The pipeline compiled to NumPy answers exactly as the pipeline itself (pandas between steps),
for every studio transformer and every catalog model family, on rows with gaps, unseen levels,
yes/no columns and dates; and a step it cannot compile is refused with its name."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import QuantileTransformer

from core.data.schema import ColumnSchema
from core.prep.features.pipeline import build_feature_pipeline
from core.prep.transformers import STUDIO_TRANSFORMERS, FeatureColumns
from core.train.catalog import model_spec, models_for
from core.train.fast_path import NotCompiled, compile_pipeline

SCHEMA = [
    ColumnSchema("amount", "double", "numeric"),
    ColumnSchema("rate", "double", "numeric"),
    ColumnSchema("score", "double", "numeric"),
    ColumnSchema("count", "double", "numeric"),
    ColumnSchema("years", "double", "numeric"),
    ColumnSchema("city", "string", "categorical"),
    ColumnSchema("grade", "string", "categorical"),
    ColumnSchema("channel", "string", "categorical"),
    ColumnSchema("member", "bool", "boolean"),
    ColumnSchema("opened", "timestamp[ns]", "datetime"),
    ColumnSchema("y", "double", "target"),
]
# every studio transformer and every option of the feature spec, in one pipeline
EVERY_STEP = {
    "columns": {
        "amount": {"impute": "median", "missing_indicator": True, "transform": "log",
                   "scale": "standard"},
        "rate": {"impute": "mean", "transform": "yeo_johnson", "scale": "minmax"},
        "score": {"impute": "knn", "bins": {"strategy": "quantile", "n_bins": 4},
                  "scale": "robust"},
        "count": {"impute": "constant", "fill_value": 0.0,
                  "bins": {"strategy": "uniform", "n_bins": 3}},
        "years": {"impute": "most_frequent", "missing_indicator": True},
        "city": {"encode": "onehot", "min_frequency": 0.05, "max_categories": 4},
        "grade": {"encode": "ordinal", "order": ["low", "mid", "high"], "impute": "constant"},
        "channel": {"encode": "target"},
        "member": {"encode": "onehot", "missing_indicator": True},
        "opened": {"date_parts": ["year", "month", "day", "weekday", "hour", "days_since"],
                   "scale": "standard"},
    },
    "interactions": {"columns": ["amount", "rate"], "degree": 2},
    "selection": {"variance_threshold": 0.0, "correlation_threshold": 0.95,
                  "mutual_info_top_k": 14},
}  # fmt: skip
# what a catalog model family meets most: gaps, text levels, target encoding, yes/no, dates
USUAL_STEPS = {
    "columns": {
        "amount": {"impute": "median", "scale": "standard"},
        "rate": {"impute": "median", "transform": "log"},
        "city": {"encode": "onehot"},
        "grade": {"encode": "ordinal"},
        "channel": {"encode": "target"},
        "member": {"encode": "onehot"},
        "opened": {"date_parts": ["year", "month", "weekday", "days_since"]},
    },
}
TASKS = ("binary", "multiclass", "regression")


def frame(rows: int, *, seed: int, unseen: bool = False) -> pd.DataFrame:
    """Rows typed as the service types a request: floats, text and yes/no as objects (None
    for a gap), dates as datetime64[ns]; gaps in every column; ``unseen`` adds new levels
    and dates outside training's range."""
    rng = np.random.default_rng(seed)
    cities = ["north", "south", "east", "west", "harbour", "hills"]
    out = pd.DataFrame(
        {
            "amount": rng.lognormal(8, 1, rows) * rng.choice([-1, 1], rows, p=[0.1, 0.9]),
            "rate": rng.normal(5, 2, rows),
            "score": rng.normal(600, 80, rows).round(),
            "count": rng.integers(0, 9, rows).astype(float),
            "years": rng.integers(0, 30, rows).astype(float),
            "city": rng.choice(cities, rows, p=[0.4, 0.3, 0.15, 0.1, 0.03, 0.02]).astype(object),
            "grade": rng.choice(["low", "mid", "high"], rows).astype(object),
            "channel": rng.choice(["web", "shop", "phone"], rows).astype(object),
            "member": rng.choice([True, False], rows).astype(object),
            "opened": pd.to_datetime("2021-01-01")
            + pd.to_timedelta(rng.integers(0, 900 * 24, rows), unit="h"),
        }
    )
    for index, name in enumerate(out.columns):
        gaps = rng.random(rows) < 0.08 + 0.01 * index
        out.loc[gaps, name] = None if out[name].dtype == object else np.nan
    if unseen:
        new = rng.random(rows) < 0.2
        out.loc[new, "city"] = "atlantis"
        out.loc[rng.random(rows) < 0.2, "grade"] = "unheard-of"
        out.loc[rng.random(rows) < 0.2, "channel"] = "carrier pigeon"
        out.loc[new, "opened"] = pd.Timestamp("1960-02-29 23:00")
    return out


def target(rows: pd.DataFrame, task: str, *, seed: int) -> pd.Series:
    rng = np.random.default_rng(seed)
    signal = rows["rate"].fillna(5) + (rows["channel"] == "web") * 2 + rng.normal(0, 1, len(rows))
    if task == "regression":
        return signal.round(3)
    if task == "binary":
        return (signal > 6).astype(int)
    return pd.cut(signal, [-np.inf, 5, 7, np.inf], labels=["C", "B", "A"]).astype(str)


def fitted(spec: dict, model: str, task: str) -> Pipeline:
    features = build_feature_pipeline(spec, schema=SCHEMA, target="y")
    estimator = model_spec(model, task=task).estimator(task, seed=0)
    rows = frame(300, seed=1)
    with warnings.catch_warnings():  # a short fit on a small table: convergence is not tested
        warnings.simplefilter("ignore", ConvergenceWarning)
        return Pipeline([("features", features), ("model", estimator)]).fit(
            rows, target(rows, task, seed=2)
        )


def assert_same_answers(pipeline: Pipeline, task: str) -> None:
    plan = compile_pipeline(pipeline, task=task)
    rows = pd.concat([frame(120, seed=5, unseen=True), frame(40, seed=6)], ignore_index=True)
    found = plan.output([rows[name].to_numpy() for name in plan.inputs])
    expected = pipeline.predict_proba(rows) if plan.probabilities else pipeline.predict(rows)
    # exactly: the same values to the last bit, not approximately
    np.testing.assert_array_equal(found, expected)
    assert found.dtype == np.asarray(expected).dtype


@pytest.mark.parametrize("task", TASKS)
def test_every_studio_transformer_gives_the_pipelines_exact_answers(task):
    pipeline = fitted(EVERY_STEP, "ridge" if task == "regression" else "logistic_regression", task)
    used = {type(step) for step in _steps(pipeline)}
    # the spec really puts each studio transformer in the pipeline
    assert set(STUDIO_TRANSFORMERS) - used == set()
    assert_same_answers(pipeline, task)


@pytest.mark.parametrize(
    ("task", "model"), [(task, model) for task in TASKS for model in models_for(task)]
)
def test_every_catalog_model_family_gives_the_pipelines_exact_answers(task, model):
    assert_same_answers(fitted(USUAL_STEPS, model, task), task)


def test_a_step_without_a_numpy_form_is_refused_by_name():
    pipeline = fitted(USUAL_STEPS, "logistic_regression", "binary")
    columns = pipeline.named_steps["features"].named_steps["columns"]
    numeric = columns.named_transformers_["numeric_1"]
    numeric.steps[-1] = ("scale", QuantileTransformer(n_quantiles=10).fit(np.arange(20.0)[:, None]))
    with pytest.raises(NotCompiled, match=r"QuantileTransformer.*has no NumPy form"):
        compile_pipeline(pipeline, task="binary")


def test_a_model_that_is_no_pipeline_is_refused():
    with pytest.raises(NotCompiled, match="not a fitted pipeline"):
        compile_pipeline(QuantileTransformer(), task="binary")


def _steps(step) -> list:
    """Every fitted step inside a pipeline, column transformers and nested pipelines opened."""
    if isinstance(step, Pipeline):
        return [step, *(inner for _, s in step.steps for inner in _steps(s))]
    if isinstance(step, FeatureColumns):
        found = [step]
        for _, transformer, _ in step.transformers_:
            if not isinstance(transformer, str):
                found.extend(_steps(transformer))
        return found
    if hasattr(step, "encoder_"):
        return [step]
    return [step]
