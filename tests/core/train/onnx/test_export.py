"""ONNX export: default-spec pipelines convert and match sklearn; the others say why not."""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.calibration import CalibratedClassifierCV
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline
from sklearn.svm import LinearSVC
from sklearn.tree import DecisionTreeRegressor
from threadpoolctl import threadpool_limits

from core.data.ingest import read_table
from core.data.schema import ColumnSchema, infer_schema
from core.prep.features import build_feature_pipeline, default_feature_spec
from core.prep.transformers import DATE_PARTS, DateParts, FeatureColumns
from core.train.onnx import (
    MODEL_NOTE,
    PARITY_TOLERANCE,
    OnnxExport,
    OnnxInput,
    export_onnx,
    onnx_input_values,
    onnx_inputs,
    onnx_predict,
    onnx_session,
)
from core.train.onnx.export import _convert
from core.train.plan import ValidationPlan, split_holdout

N_TRAIN = 400
N_ROWS = 560
SCHEMA = [
    ColumnSchema("age", "double", "numeric"),
    ColumnSchema("income", "double", "numeric"),
    ColumnSchema("region", "string", "categorical"),
    ColumnSchema("plan", "string", "categorical"),
    ColumnSchema("is_member", "int64", "boolean"),
    ColumnSchema("has_card", "bool", "boolean"),
]
FEATURES = [column.name for column in SCHEMA]
TARGETS = {"binary": "bought", "multiclass": "tier", "regression": "spend"}
SAMPLE_DATA = Path(__file__).resolve().parents[4] / "sample_data"


def _table(seed: int = 0) -> pd.DataFrame:
    """Numbers, text, 0/1 and bool columns with gaps, a rare region and three targets."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "age": rng.integers(18, 80, N_ROWS).astype(float),
            "income": rng.lognormal(10.5, 0.6, N_ROWS).round(2),
            "region": rng.choice(
                ["north", "south", "east", "west", "islands"],
                N_ROWS,
                p=[0.32, 0.3, 0.2, 0.175, 0.005],
            ),
            "plan": rng.choice(["basic", "plus", "pro"], N_ROWS),
            "is_member": rng.integers(0, 2, N_ROWS),
            "has_card": rng.choice([True, False], N_ROWS),
        }
    )
    score = (
        (frame["age"] - 50) / 10
        + 0.8 * (frame["plan"] == "pro")
        - 0.5 * (frame["region"] == "south")
        + 0.6 * frame["is_member"]
        + rng.normal(0, 0.8, N_ROWS)
    )
    frame["bought"] = (score > 0).astype(int)
    frame["tier"] = np.select([score < -0.7, score < 0.7], ["low", "mid"], "high")
    frame["spend"] = 3.0 * frame["age"] + frame["income"] / 50 + rng.normal(0, 5, N_ROWS)
    frame.loc[rng.choice(N_ROWS, 45, replace=False), "income"] = np.nan
    frame.loc[rng.choice(N_ROWS, 15, replace=False), "age"] = np.nan
    frame.loc[rng.choice(N_ROWS, 30, replace=False), "region"] = None
    frame.loc[rng.choice(N_ROWS, 20, replace=False), "plan"] = None
    return frame


TABLE = _table()


def _holdout() -> pd.DataFrame:
    """The held-out rows, plus rows with every gap and with levels never seen in training."""
    rows = TABLE.iloc[N_TRAIN:][FEATURES].copy()
    rows["is_member"] = rows["is_member"].astype(float)
    rows["has_card"] = rows["has_card"].astype(object)
    odd = pd.DataFrame(
        {
            "age": [np.nan, 44.0, 61.0, 30.0],
            "income": [np.nan, np.inf, 52_000.0, -np.inf],
            "region": [None, "mars", "islands", "north"],
            "plan": [None, "platinum", "pro", None],
            "is_member": [np.nan, 1.0, 0.0, 1.0],
            "has_card": [None, True, False, None],
        }
    )
    return pd.concat([rows, odd], ignore_index=True)


HOLDOUT = _holdout()


def _fitted(estimator: object, task: str, spec: dict | None = None) -> Pipeline:
    target = TARGETS[task]
    spec = spec or default_feature_spec(SCHEMA, target=target)
    features = build_feature_pipeline(spec, schema=SCHEMA, target=target)
    pipeline = Pipeline([("features", features), ("model", estimator)])
    train = TABLE.iloc[:N_TRAIN]
    return _fit(pipeline, train[FEATURES], train[target])


def _fit(pipeline: Pipeline, features: pd.DataFrame, target: pd.Series) -> Pipeline:
    # one OpenMP thread: HistGradientBoosting crawls when the cores are busy elsewhere
    with threadpool_limits(limits=1):
        return pipeline.fit(features, target)


def _sklearn_output(pipeline: Pipeline, task: str) -> np.ndarray:
    if task == "regression":
        return pipeline.predict(HOLDOUT)
    return pipeline.predict_proba(HOLDOUT)


def _assert_matches(pipeline: Pipeline, task: str) -> OnnxExport:
    result = export_onnx(pipeline, HOLDOUT, task=task)
    assert result.reason is None
    assert result.ok and result.data
    assert result.max_abs_difference is not None
    assert result.max_abs_difference <= PARITY_TOLERANCE
    predicted = onnx_predict(result.data, HOLDOUT, task=task)
    expected = _sklearn_output(pipeline, task)
    assert predicted.shape == expected.shape
    np.testing.assert_allclose(predicted, expected, rtol=0, atol=PARITY_TOLERANCE)
    return result


CLASSIFIERS = {
    "logistic": lambda: LogisticRegression(max_iter=2000),
    "random_forest": lambda: RandomForestClassifier(n_estimators=25, random_state=0),
    "hist_gradient_boosting": lambda: HistGradientBoostingClassifier(
        max_iter=20, early_stopping=False, random_state=0
    ),
}


@pytest.mark.parametrize("task", ["binary", "multiclass"])
@pytest.mark.parametrize("name", sorted(CLASSIFIERS))
def test_default_spec_classifiers_export_with_parity(name: str, task: str) -> None:
    pipeline = _fitted(CLASSIFIERS[name](), task)
    _assert_matches(pipeline, task)


def test_ridge_regression_exports_with_parity() -> None:
    _assert_matches(_fitted(Ridge(alpha=1.0), "regression"), "regression")


@pytest.mark.parametrize(
    "estimator",
    [
        RandomForestRegressor(n_estimators=20, random_state=0),
        DecisionTreeRegressor(max_depth=6, min_samples_leaf=10, random_state=0),
        HistGradientBoostingRegressor(max_iter=20, early_stopping=False, random_state=0),
    ],
    ids=type,
)
def test_tree_regressors_keep_double_precision_on_large_targets(estimator: object) -> None:
    spec = default_feature_spec(SCHEMA, target="spend")
    pipeline = Pipeline(
        [
            ("features", build_feature_pipeline(spec, schema=SCHEMA, target="spend")),
            ("model", estimator),
        ]
    )
    train = TABLE.iloc[:N_TRAIN]
    # targets near 1e6: float32 leaves would be off by about 0.06, far beyond the tolerance
    _fit(pipeline, train[FEATURES], train["spend"] * 1_000.0)
    _assert_matches(pipeline, "regression")


@pytest.mark.parametrize(
    ("estimator", "task"),
    [
        (KNeighborsClassifier(n_neighbors=15), "binary"),
        (CalibratedClassifierCV(LinearSVC(C=0.1, max_iter=5000), cv=3), "multiclass"),
        (DummyClassifier(strategy="prior"), "multiclass"),
        (DummyRegressor(strategy="mean"), "regression"),
    ],
    ids=lambda value: type(value).__name__ if not isinstance(value, str) else value,
)
def test_other_catalog_estimators_export(estimator: object, task: str) -> None:
    _assert_matches(_fitted(estimator, task), task)


def test_gaps_and_unseen_levels_match_row_by_row() -> None:
    pipeline = _fitted(LogisticRegression(max_iter=2000), "binary")
    result = _assert_matches(pipeline, "binary")
    assert result.data is not None
    odd = HOLDOUT.tail(4)
    assert odd.iloc[0].isna().all()  # every cell missing
    assert {"mars", "platinum"} <= set(odd["region"]) | set(odd["plan"])  # unseen levels
    assert np.isinf(odd["income"]).sum() == 2
    predicted = onnx_predict(result.data, odd, task="binary")
    np.testing.assert_allclose(predicted, pipeline.predict_proba(odd), rtol=0, atol=1e-12)


def _variant(**columns: dict) -> dict:
    spec = default_feature_spec(SCHEMA, target="bought")
    for name, options in columns.items():
        spec["columns"][name].update(options)
    return spec


def _with(section: str, value: dict) -> dict:
    spec = default_feature_spec(SCHEMA, target="bought")
    spec[section] = value
    return spec


SPEC_VARIANTS = {
    "missing_flags": _variant(
        income={"missing_indicator": True}, region={"missing_indicator": True}
    ),
    "signed_log": _variant(income={"transform": "log", "scale": "robust"}),
    "yeo_johnson": _variant(income={"transform": "yeo_johnson", "scale": "minmax"}),
    "bins": _variant(age={"bins": {"strategy": "quantile", "n_bins": 4}, "scale": "none"}),
    "constant_fills": _variant(
        income={"impute": "constant", "fill_value": -1.0},
        plan={"impute": "constant", "fill_value": "(missing)"},
    ),
    "missing_as_level": _variant(region={"impute": "none"}),
    "ordinal": _variant(
        plan={
            "encode": "ordinal",
            "order": ["basic", "plus", "pro"],
            "min_frequency": None,
            "max_categories": None,
        },
        region={"encode": "ordinal"},
    ),
    "rare_levels_capped": _variant(region={"max_categories": 3}),
    "interactions": _with("interactions", {"columns": ["age", "income"], "degree": 2}),
    "selection": _with(
        "selection",
        {"variance_threshold": 0.0, "correlation_threshold": 0.6, "mutual_info_top_k": 6},
    ),
}


@pytest.mark.parametrize("name", sorted(SPEC_VARIANTS))
def test_feature_spec_options_export_with_parity(name: str) -> None:
    spec = copy.deepcopy(SPEC_VARIANTS[name])
    _assert_matches(_fitted(LogisticRegression(max_iter=2000), "binary", spec), "binary")


# Dates the calendar arithmetic can trip on: leap days (2000 is a leap year, 1900 and 2100 are
# not) and the days around them, dates before 1970, midnight, times on the hour, the last
# second of a day and of a year, and the ends of the range pandas holds in nanoseconds.
HARD_DATES = [
    "2000-02-29T00:00:00",
    "2000-03-01T23:59:59",
    "1900-02-28T12:00:00",
    "1900-03-01T01:00:00",
    "2100-02-28T23:00:00",
    "2100-03-01T00:00:00",
    "2024-02-29T13:45:10.250",
    "1968-02-29T06:00:00",
    "1969-12-31T23:59:59",
    "1970-01-01T00:00:00",
    "1899-12-31T18:30:00",
    "1999-12-31T23:59:59.999",
    "1677-09-22T00:00:00",
    "2262-04-11T23:00:00",
]


def _moments(n: int, *, seed: int) -> pd.Series:
    """Whole seconds from 1890 to 2110, a quarter of them on the hour."""
    rng = np.random.default_rng(seed)
    low, high = pd.Timestamp("1890-01-01").value, pd.Timestamp("2110-12-31").value
    seconds = rng.integers(low, high, n) // 10**9
    seconds[: n // 4] = seconds[: n // 4] // 3600 * 3600
    return pd.Series(pd.to_datetime(rng.permutation(seconds), unit="s"))


def _dated(as_text: bool) -> tuple[Pipeline, pd.DataFrame]:
    """The table with a signup date (every part, gaps), fitted as datetimes or as ISO text;
    the holdout adds the hard dates, a gap and, for text, an offset and an unreadable one."""
    dtype = "string" if as_text else "timestamp[ns]"
    schema = [*SCHEMA, ColumnSchema("signup", dtype, "datetime")]
    signup = _moments(N_ROWS, seed=1).mask(TABLE.index % 11 == 0)
    frame = TABLE.assign(signup=signup.dt.strftime("%Y-%m-%dT%H:%M:%S") if as_text else signup)
    spec = default_feature_spec(schema, target="bought")
    spec["columns"]["signup"]["date_parts"] = list(DATE_PARTS)
    features = build_feature_pipeline(spec, schema=schema, target="bought")
    pipeline = Pipeline([("features", features), ("model", LogisticRegression(max_iter=2000))])
    columns = [*FEATURES, "signup"]
    _fit(pipeline, frame.iloc[:N_TRAIN][columns], frame.iloc[:N_TRAIN]["bought"])
    odd = [*HARD_DATES, None]
    if as_text:
        odd += ["2024-03-10T02:30:00+05:30", "2024-03-10", "not a date"]
    else:
        odd = list(pd.to_datetime(pd.Series(odd), format="ISO8601"))
    extra = HOLDOUT.sample(len(odd), random_state=0).assign(signup=odd)
    holdout = pd.concat([frame.iloc[N_TRAIN:][columns], extra[columns]], ignore_index=True)
    return pipeline, holdout


@pytest.mark.parametrize("as_text", [False, True], ids=["datetimes", "iso_text"])
def test_a_date_column_exports_with_parity(as_text: bool) -> None:
    pipeline, holdout = _dated(as_text)
    result = export_onnx(pipeline, holdout, task="binary")
    assert result.reason is None
    assert result.ok and result.data is not None
    predicted = onnx_predict(result.data, holdout, task="binary")
    np.testing.assert_allclose(predicted, pipeline.predict_proba(holdout), rtol=0, atol=1e-12)


def _hard_moments() -> pd.Series:
    """The hard dates, a gap, and whole seconds and milliseconds from 1677 to 2262."""
    rng = np.random.default_rng(2)
    low, high = pd.Timestamp("1677-09-22").value, pd.Timestamp("2262-04-11").value
    ticks = rng.integers(low, high, 4000)
    ticks[:2000] = ticks[:2000] // 10**9 * 10**9
    ticks[2000:] = ticks[2000:] // 10**6 * 10**6
    return pd.concat(
        [
            pd.to_datetime(pd.Series([*HARD_DATES, None]), format="ISO8601"),
            pd.Series(pd.to_datetime(ticks)),
        ],
        ignore_index=True,
    )


@pytest.mark.parametrize("unit", ["ns", "us", "s", "text"])
def test_every_date_part_matches_date_parts_exactly(unit: str) -> None:
    moments = _hard_moments()
    if unit == "text":
        dates = moments.dt.strftime("%Y-%m-%dT%H:%M:%S.%f")
    else:
        dates = moments.astype(f"datetime64[{unit}]")
    frame = pd.DataFrame({"signup": dates, "renewal": dates.iloc[::-1].to_numpy()})
    parts = FeatureColumns(
        [("dates", DateParts(parts=DATE_PARTS), ["signup", "renewal"])], sparse_threshold=0.0
    )
    pipeline = Pipeline([("columns", parts)]).fit(frame.sample(500, random_state=0))
    # the parts themselves rather than a model's output: the columns alone, converted
    session = onnx_session(_convert(pipeline, [("signup", "date"), ("renewal", "date")]))
    feeds = {
        put.name: onnx_input_values(frame[put.column], put.kind) for put in onnx_inputs(session)
    }
    expected = pipeline.transform(frame)
    assert np.isnan(expected[len(HARD_DATES), : len(DATE_PARTS)]).all()  # the gap
    np.testing.assert_array_equal(session.run(None, feeds)[0], expected)


def test_date_inputs_are_listed_in_the_metadata() -> None:
    pipeline, holdout = _dated(as_text=True)
    result = export_onnx(pipeline, holdout, task="binary")
    assert result.data is not None
    session = onnx_session(result.data)
    metadata = session.get_modelmeta().custom_metadata_map
    assert json.loads(metadata["date_columns"]) == ["signup"]
    assert json.loads(metadata["columns"]) == [*FEATURES, "signup"]
    assert "date_columns" in MODEL_NOTE
    assert onnx_inputs(session) == [
        OnnxInput(name="age", column="age", kind="number"),
        OnnxInput(name="income", column="income", kind="number"),
        OnnxInput(name="region", column="region", kind="text"),
        OnnxInput(name="plan", column="plan", kind="text"),
        OnnxInput(name="is_member", column="is_member", kind="number"),
        OnnxInput(name="has_card", column="has_card", kind="text"),
        OnnxInput(name="signup", column="signup", kind="date"),
    ]


def test_input_values_write_each_kind_as_the_model_reads_it() -> None:
    text = onnx_input_values(pd.Series([True, 3.0, None, "north"]), "text")
    numbers = onnx_input_values(pd.Series(["2.5", "x", None, True]), "number")
    flags = onnx_input_values(pd.Series([True, False]), "number")
    dates = onnx_input_values(
        pd.Series(["1970-01-02T06:00:00", None, "not a date", "1969-12-31T18:00:00-06:00"]), "date"
    )
    assert text.shape == (4, 1) and text.ravel().tolist() == ["True", "3", "", "north"]
    np.testing.assert_array_equal(numbers.ravel(), [2.5, np.nan, np.nan, 1.0])
    assert flags.dtype == np.float64 and flags.ravel().tolist() == [1.0, 0.0]
    np.testing.assert_array_equal(dates, [[1.25], [np.nan], [np.nan], [0.0]])
    with pytest.raises(ValueError, match="kind must be one of text, number, date, not 'time'"):
        onnx_input_values(pd.Series([1.0]), "time")


def _credit() -> tuple[Pipeline, pd.DataFrame]:
    """The credit sample imported and split as the studio does, with the catalog's boosted
    trees, as tests/bench/bench_shap.py builds it."""
    table = read_table(SAMPLE_DATA / "credit.csv").table.drop_columns(["applicant_id"])
    schema = infer_schema(table)
    frame = table.to_pandas()
    split = split_holdout(frame, "default", "binary", ValidationPlan())
    features, target = frame.drop(columns=["default"]), frame["default"]
    spec = default_feature_spec(schema, target="default")
    model = HistGradientBoostingClassifier(max_iter=200, early_stopping=False, random_state=0)
    pipeline = Pipeline(
        [
            ("features", build_feature_pipeline(spec, schema=schema, target="default")),
            ("model", model),
        ]
    )
    _fit(pipeline, features.iloc[split.train], target.iloc[split.train])
    return pipeline, features.iloc[split.holdout].reset_index(drop=True)


@pytest.mark.slow
def test_the_credit_sample_with_its_application_date_exports() -> None:
    pipeline, holdout = _credit()
    result = export_onnx(pipeline, holdout, task="binary")
    assert result.reason is None
    assert result.ok and result.data is not None
    session = onnx_session(result.data)
    inputs = onnx_inputs(session)
    assert OnnxInput("application_date", "application_date", "date") in inputs
    row = holdout.iloc[[0]]
    feeds = {put.name: onnx_input_values(row[put.column], put.kind) for put in inputs}
    probabilities = session.run(None, feeds)[1]
    np.testing.assert_allclose(probabilities, pipeline.predict_proba(row), rtol=0, atol=1e-12)
    # how fast one row runs, printed rather than asserted (run with -s to see it)
    for _ in range(20):
        session.run(None, feeds)
    runs = []
    for _ in range(200):
        started = time.perf_counter()
        session.run(None, feeds)
        runs.append(time.perf_counter() - started)
    print(f"credit pipeline, one row in ONNX Runtime: {np.median(runs) * 1e3:.3f} ms (median)")


@pytest.mark.parametrize(
    ("options", "step"),
    [
        ({"income": {"impute": "knn"}}, "KNNImpute"),
        (
            {"region": {"encode": "target", "min_frequency": None, "max_categories": None}},
            "TargetEncoding",
        ),
    ],
)
def test_steps_without_converter_name_themselves(options: dict, step: str) -> None:
    pipeline = _fitted(LogisticRegression(max_iter=2000), "binary", _variant(**options))
    result = export_onnx(pipeline, HOLDOUT, task="binary")
    assert result.data is None
    assert result.reason == (
        f"The pipeline uses {step}, which has no ONNX converter; the skops file is the model."
    )


def test_a_parity_failure_is_a_reason() -> None:
    # An empty string is a level of its own to scikit-learn but a gap to the ONNX copy
    frame = TABLE.copy()
    frame.loc[frame.index % 7 == 0, "plan"] = ""
    spec = default_feature_spec(SCHEMA, target="bought")
    pipeline = Pipeline(
        [
            ("features", build_feature_pipeline(spec, schema=SCHEMA, target="bought")),
            ("model", LogisticRegression(max_iter=2000)),
        ]
    )
    _fit(pipeline, frame.iloc[:N_TRAIN][FEATURES], frame.iloc[:N_TRAIN]["bought"])
    result = export_onnx(pipeline, frame.iloc[N_TRAIN:][FEATURES], task="binary")
    assert result.data is None
    assert result.max_abs_difference is not None and result.max_abs_difference > PARITY_TOLERANCE
    assert result.reason is not None
    assert result.reason.startswith("ONNX output differs from the model by ")
    assert result.reason.endswith("(more than 1e-5) on the holdout, so it is not offered.")


def test_to_dict_is_json_ready() -> None:
    exported = export_onnx(_fitted(Ridge(), "regression"), HOLDOUT, task="regression")
    refused = export_onnx(_fitted(Ridge(), "regression"), HOLDOUT.iloc[:0], task="regression")
    assert exported.data is not None
    assert json.loads(json.dumps(exported.to_dict())) == {
        "exported": True,
        "max_abs_difference": exported.max_abs_difference,
        "reason": None,
        "size_bytes": len(exported.data),
    }
    assert json.loads(json.dumps(refused.to_dict())) == {
        "exported": False,
        "max_abs_difference": None,
        "reason": "The holdout has no rows to check an ONNX copy against, so none is offered.",
        "size_bytes": None,
    }
    infinite = OnnxExport(data=None, max_abs_difference=float("inf"), reason="differs")
    assert json.dumps(infinite.to_dict(), allow_nan=False)


def test_column_names_that_skl2onnx_tidies_still_feed_their_inputs() -> None:
    renamed = {"age": "label", "income": "income (usd)", "region": "région"}
    schema = [
        ColumnSchema(renamed.get(column.name, column.name), column.dtype, column.role)
        for column in SCHEMA
    ]
    frame = TABLE.rename(columns=renamed)
    columns = [column.name for column in schema]
    spec = default_feature_spec(schema, target="bought")
    features = build_feature_pipeline(spec, schema=schema, target="bought")
    pipeline = Pipeline([("features", features), ("model", LogisticRegression(max_iter=2000))])
    _fit(pipeline, frame.iloc[:N_TRAIN][columns], frame.iloc[:N_TRAIN]["bought"])
    holdout = frame.iloc[N_TRAIN:][columns]
    result = export_onnx(pipeline, holdout, task="binary")
    assert result.ok and result.data is not None
    predicted = onnx_predict(result.data, holdout, task="binary")
    np.testing.assert_allclose(predicted, pipeline.predict_proba(holdout), rtol=0, atol=1e-12)


def test_an_unknown_task_is_a_programming_error() -> None:
    pipeline = _fitted(Ridge(), "regression")
    with pytest.raises(ValueError, match="task must be one of binary, multiclass, regression"):
        export_onnx(pipeline, HOLDOUT, task="ranking")
