"""Tests for holdout evaluation: sklearn ground truth, degenerate inputs, plot data and cost."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    balanced_accuracy_score,
    brier_score_loss,
    f1_score,
    get_scorer,
    log_loss,
    mean_absolute_error,
    mean_absolute_percentage_error,
    precision_score,
    r2_score,
    recall_score,
    roc_auc_score,
    root_mean_squared_error,
)
from sklearn.pipeline import Pipeline
from sklearn.svm import LinearSVC

from core.data.schema import infer_schema
from core.prep.features import build_feature_pipeline, default_feature_spec
from core.train import evaluate as ev
from core.words import METRICS


def _softmax(logits: np.ndarray) -> np.ndarray:
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)


@pytest.fixture
def binary() -> dict:
    rng = np.random.default_rng(1)
    n = 400
    truth = rng.choice(["no", "yes"], n, p=[0.7, 0.3])
    signal = (truth == "yes") * 1.2 + rng.normal(size=n)
    positive = 1 / (1 + np.exp(-(signal - 0.6)))
    probabilities = np.column_stack([1 - positive, positive])
    predicted = np.where(positive >= 0.5, "yes", "no")
    return {
        "truth": truth,
        "predicted": predicted,
        "probabilities": probabilities,
        "classes": ["no", "yes"],
    }


@pytest.fixture
def multiclass() -> dict:
    rng = np.random.default_rng(2)
    n = 450
    classes = ["a", "b", "c"]
    codes = rng.integers(0, 3, n)
    truth = np.array(classes)[codes]
    probabilities = _softmax(np.eye(3)[codes] * 1.5 + rng.normal(size=(n, 3)))
    predicted = np.array(classes)[probabilities.argmax(axis=1)]
    return {
        "truth": truth,
        "predicted": predicted,
        "probabilities": probabilities,
        "classes": classes,
    }


@pytest.fixture
def regression() -> dict:
    rng = np.random.default_rng(3)
    truth = rng.normal(100, 20, 300)
    return {"truth": truth, "predicted": truth + rng.normal(0, 5, 300)}


def _metrics(data: dict, task: str, **changes: object) -> dict[str, float]:
    arguments = {
        "predicted": data["predicted"],
        "probabilities": data.get("probabilities"),
        "classes": data.get("classes", []),
        "task": task,
        **changes,
    }
    return ev.compute_metrics(data["truth"], **arguments)


def _plots(data: dict, task: str, **changes: object) -> ev.PlotData:
    arguments = {
        "predicted": data["predicted"],
        "probabilities": data.get("probabilities"),
        "classes": data.get("classes", []),
        "task": task,
        **changes,
    }
    return ev.plot_data(data["truth"], **arguments)


def _all_nan_or_finite(metrics: dict[str, float]) -> bool:
    return all(isinstance(value, float) for value in metrics.values())


# -- names -----------------------------------------------------------------------------------


def test_every_metric_has_a_direction_a_label_and_a_working_scorer() -> None:
    for task in ev.TASKS:
        assert ev.PRIMARY_METRIC[task] in ev.TASK_METRICS[task]
        for metric in ev.TASK_METRICS[task]:
            assert isinstance(ev.HIGHER_IS_BETTER[metric], bool)
            assert metric in METRICS  # its label, from the one registry of the user's words
            get_scorer(ev.scorer_name(metric, task))
    assert ev.scorer_name("f1", "multiclass") == "f1_macro"
    assert ev.scorer_name("rmse", "regression") == "neg_root_mean_squared_error"
    assert ev.scorer_name("log_loss", "binary") == "neg_log_loss"
    assert ev.HIGHER_IS_BETTER["roc_auc"] and not ev.HIGHER_IS_BETTER["brier"]


def test_unknown_names_are_refused_with_the_choices() -> None:
    with pytest.raises(ev.EvaluationError, match="roc_auc"):
        ev.scorer_name("auc", "binary")
    with pytest.raises(ev.EvaluationError, match="regression"):
        ev.compute_metrics([1], predicted=[1], probabilities=None, classes=[], task="ranking")
    with pytest.raises(ev.EvaluationError, match="mae"):
        ev.scorer_name("mae", "binary")


def test_cv_scorer_uses_the_fitted_positive_class_for_text_labels(binary: dict) -> None:
    rng = np.random.default_rng(4)
    X = rng.normal(size=(200, 2))
    y = np.where(X[:, 0] + rng.normal(size=200) > 0.3, "yes", "no")
    model = LogisticRegression().fit(X, y)
    proba = model.predict_proba(X)
    expected = {
        "f1": f1_score(y, model.predict(X), pos_label="yes"),
        "pr_auc": average_precision_score(y == "yes", proba[:, 1]),
        "brier": -brier_score_loss(y, proba[:, 1], pos_label="yes"),
        "roc_auc": roc_auc_score(y == "yes", proba[:, 1]),
    }
    for metric, value in expected.items():
        scorer = get_scorer(ev.cv_scorer(metric, "binary", classes=list(model.classes_)))
        assert scorer(model, X, y) == pytest.approx(value)


# -- metrics against sklearn -----------------------------------------------------------------


def test_binary_metrics_match_sklearn(binary: dict) -> None:
    truth, predicted, proba = binary["truth"], binary["predicted"], binary["probabilities"]
    metrics = _metrics(binary, "binary")
    expected = {
        "accuracy": accuracy_score(truth, predicted),
        "balanced_accuracy": balanced_accuracy_score(truth, predicted),
        "precision": precision_score(truth, predicted, pos_label="yes"),
        "recall": recall_score(truth, predicted, pos_label="yes"),
        "f1": f1_score(truth, predicted, pos_label="yes"),
        "roc_auc": roc_auc_score(truth == "yes", proba[:, 1]),
        "pr_auc": average_precision_score(truth == "yes", proba[:, 1]),
        "log_loss": log_loss(truth, proba, labels=["no", "yes"]),
        "brier": brier_score_loss(truth, proba[:, 1], pos_label="yes"),
    }
    assert list(metrics) == list(ev.CLASSIFICATION_METRICS)
    assert metrics == pytest.approx(expected)
    assert all(type(value) is float for value in metrics.values())


def test_multiclass_metrics_match_sklearn(multiclass: dict) -> None:
    truth, predicted, proba = (
        multiclass["truth"],
        multiclass["predicted"],
        multiclass["probabilities"],
    )
    classes = multiclass["classes"]
    metrics = _metrics(multiclass, "multiclass")
    expected = {
        "accuracy": accuracy_score(truth, predicted),
        "balanced_accuracy": balanced_accuracy_score(truth, predicted),
        "precision": precision_score(truth, predicted, average="macro"),
        "recall": recall_score(truth, predicted, average="macro"),
        "f1": f1_score(truth, predicted, average="macro"),
        "roc_auc": roc_auc_score(truth, proba, multi_class="ovr", average="macro", labels=classes),
        "pr_auc": average_precision_score(truth, proba, average="macro"),
        "log_loss": log_loss(truth, proba, labels=classes),
        "brier": brier_score_loss(truth, proba, labels=classes),
    }
    assert metrics == pytest.approx(expected)


def test_regression_metrics_match_sklearn(regression: dict) -> None:
    truth, predicted = regression["truth"], regression["predicted"]
    metrics = _metrics(regression, "regression")
    assert metrics == pytest.approx(
        {
            "mae": mean_absolute_error(truth, predicted),
            "rmse": root_mean_squared_error(truth, predicted),
            "r2": r2_score(truth, predicted),
            "mape": mean_absolute_percentage_error(truth, predicted),
        }
    )


def test_score_metric_gives_one_metric(binary: dict) -> None:
    value = ev.score_metric(
        "roc_auc",
        binary["truth"],
        predicted=binary["predicted"],
        probabilities=binary["probabilities"],
        classes=binary["classes"],
        task="binary",
    )
    assert value == pytest.approx(_metrics(binary, "binary")["roc_auc"])


# -- degenerate inputs -----------------------------------------------------------------------


def test_one_class_present_gives_nan_not_an_error() -> None:
    truth = np.array(["no"] * 20)
    proba = np.column_stack([np.full(20, 0.8), np.full(20, 0.2)])
    predicted = np.array(["no"] * 18 + ["yes"] * 2)
    metrics = ev.compute_metrics(
        truth, predicted=predicted, probabilities=proba, classes=["no", "yes"], task="binary"
    )
    assert _all_nan_or_finite(metrics)
    assert math.isnan(metrics["roc_auc"]) and math.isnan(metrics["pr_auc"])
    assert math.isnan(metrics["recall"])  # no positives to recall
    assert metrics["precision"] == 0.0 and metrics["accuracy"] == pytest.approx(0.9)
    assert metrics["log_loss"] == pytest.approx(log_loss(truth, proba, labels=["no", "yes"]))
    plots = ev.plot_data(
        truth, predicted=predicted, probabilities=proba, classes=["no", "yes"], task="binary"
    )
    assert plots.roc is None and plots.gain is None and plots.calibration is not None
    json.dumps(plots.to_dict(), allow_nan=False)


def test_multiclass_with_a_missing_class_averages_the_defined_ones(multiclass: dict) -> None:
    keep = multiclass["truth"] != "c"
    data = {key: value[keep] for key, value in multiclass.items() if key != "classes"}
    metrics = _metrics({**data, "classes": multiclass["classes"]}, "multiclass")
    hits = [data["truth"] == label for label in ("a", "b")]
    columns = [data["probabilities"][:, index] for index in (0, 1)]
    expected = np.mean([roc_auc_score(h, c) for h, c in zip(hits, columns, strict=True)])
    assert metrics["roc_auc"] == pytest.approx(expected)
    assert _all_nan_or_finite(metrics)


def test_a_class_never_predicted_counts_zero_in_macro_averages(multiclass: dict) -> None:
    predicted = np.where(multiclass["predicted"] == "c", "a", multiclass["predicted"])
    metrics = _metrics(multiclass, "multiclass", predicted=predicted)
    truth = multiclass["truth"]
    assert metrics["precision"] == pytest.approx(
        precision_score(truth, predicted, average="macro", zero_division=0.0)
    )
    assert metrics["f1"] == pytest.approx(f1_score(truth, predicted, average="macro"))


def test_constant_probabilities_and_constant_predictions_do_not_raise(binary: dict) -> None:
    n = len(binary["truth"])
    constant = {
        **binary,
        "predicted": np.array(["no"] * n),
        "probabilities": np.full((n, 2), 0.5),
    }
    metrics = _metrics(constant, "binary")
    assert metrics["roc_auc"] == pytest.approx(0.5)
    assert math.isnan(metrics["precision"])  # nothing called positive
    assert metrics["recall"] == 0.0
    plots = _plots(constant, "binary")
    json.dumps(plots.to_dict(), allow_nan=False)
    assert plots.calibration is not None and plots.calibration.curves[0].count == (n,)


def test_mape_is_nan_when_the_truth_holds_a_zero(regression: dict) -> None:
    truth = regression["truth"].copy()
    truth[5] = 0.0
    metrics = _metrics({**regression, "truth": truth}, "regression")
    assert math.isnan(metrics["mape"]) and math.isfinite(metrics["rmse"])


def test_a_single_row_gives_nan_where_undefined(regression: dict, binary: dict) -> None:
    one = _metrics({"truth": np.array([3.0]), "predicted": np.array([2.5])}, "regression")
    assert one["mae"] == pytest.approx(0.5) and math.isnan(one["r2"])
    row = {key: value[:1] for key, value in binary.items() if key != "classes"}
    metrics = _metrics({**row, "classes": binary["classes"]}, "binary")
    assert _all_nan_or_finite(metrics) and math.isnan(metrics["roc_auc"])
    json.dumps(_plots({**row, "classes": binary["classes"]}, "binary").to_dict(), allow_nan=False)
    one_plots = _plots({"truth": np.array([3.0]), "predicted": np.array([2.5])}, "regression")
    assert one_plots.residual_histogram is not None
    assert one_plots.residual_histogram.counts == (1,)
    constant = _metrics({"truth": np.full(5, 2.0), "predicted": np.full(5, 2.0)}, "regression")
    assert math.isnan(constant["r2"])


def test_empty_inputs_give_nan_everywhere() -> None:
    empty = np.array([], dtype=object)
    metrics = ev.compute_metrics(
        empty, predicted=empty, probabilities=np.empty((0, 2)), classes=["a", "b"], task="binary"
    )
    assert all(math.isnan(value) for value in metrics.values())
    plots = ev.plot_data(
        empty, predicted=empty, probabilities=np.empty((0, 2)), classes=["a", "b"], task="binary"
    )
    assert plots == ev.PlotData(confusion_matrix=ev.ConfusionMatrix(("a", "b"), ((0, 0), (0, 0))))
    assert plots.to_dict() == {
        "confusion_matrix": {"labels": ["a", "b"], "counts": [[0, 0], [0, 0]]}
    }


def test_a_probability_matrix_that_does_not_fit_the_classes_is_refused(binary: dict) -> None:
    with pytest.raises(ev.EvaluationError, match="3 probability columns for 2 classes"):
        _metrics(binary, "binary", probabilities=np.full((len(binary["truth"]), 3), 1 / 3))


# -- plot data -------------------------------------------------------------------------------


def test_binary_plot_data_is_json_ready_and_shaped(binary: dict) -> None:
    plots = _plots(binary, "binary")
    json.dumps(plots.to_dict(), allow_nan=False)
    assert set(plots.present()) == {
        "confusion_matrix",
        "roc",
        "pr",
        "calibration",
        "gain",
        "threshold",
    }
    assert plots.confusion_matrix is not None and plots.roc is not None and plots.pr is not None
    counts = plots.confusion_matrix.counts
    assert plots.confusion_matrix.labels == ("no", "yes")
    assert sum(map(sum, counts)) == len(binary["truth"])
    (roc,) = plots.roc.curves
    assert roc.label == "yes" and roc.auc == pytest.approx(_metrics(binary, "binary")["roc_auc"])
    assert roc.fpr[0] == 0.0 and roc.tpr[-1] == 1.0
    assert list(plots.pr.prevalence) == [pytest.approx(np.mean(binary["truth"] == "yes"))]
    assert plots.calibration is not None
    calibration = plots.calibration.curves[0]
    assert sum(calibration.count) == len(binary["truth"])
    assert len(calibration.count) == ev.CALIBRATION_BINS
    gain = plots.gain
    assert gain is not None
    assert gain.fraction_captured[-1] == pytest.approx(1.0)
    assert gain.lift[-1] == pytest.approx(1.0)
    threshold = plots.threshold
    assert threshold is not None and threshold.scale == "probability"
    assert len(threshold.threshold) == len(threshold.f1) == len(threshold.precision)


def test_multiclass_plot_data_has_one_curve_per_class_and_no_gain(multiclass: dict) -> None:
    plots = _plots(multiclass, "multiclass")
    json.dumps(plots.to_dict(), allow_nan=False)
    assert plots.gain is None and plots.threshold is None
    assert plots.roc is not None and plots.pr is not None and plots.calibration is not None
    assert [curve.label for curve in plots.roc.curves] == ["a", "b", "c"]
    assert len(plots.pr.prevalence) == 3
    assert len(plots.calibration.curves) == 3


def test_regression_plot_data(regression: dict) -> None:
    plots = _plots(regression, "regression")
    json.dumps(plots.to_dict(), allow_nan=False)
    assert set(plots.present()) == {"residuals", "predicted_vs_actual", "residual_histogram"}
    histogram = plots.residual_histogram
    assert histogram is not None
    assert len(histogram.edges) == len(histogram.counts) + 1
    assert sum(histogram.counts) == len(regression["truth"])


def test_plot_data_is_downsampled_on_large_inputs() -> None:
    rng = np.random.default_rng(5)
    n = 50_000
    truth = rng.integers(0, 2, n)
    positive = np.clip(truth * 0.3 + rng.uniform(0, 0.7, n), 0, 1)
    proba = np.column_stack([1 - positive, positive])
    plots = ev.plot_data(
        truth,
        predicted=(positive > 0.5).astype(int),
        probabilities=proba,
        classes=[0, 1],
        task="binary",
        max_points=500,
    )
    text = json.dumps(plots.to_dict(), allow_nan=False)
    assert len(text) < 200_000
    assert plots.roc is not None and plots.pr is not None
    assert all(len(curve.fpr) <= 500 for curve in plots.roc.curves)
    assert all(len(curve.recall) <= 500 for curve in plots.pr.curves)
    assert plots.gain is not None and len(plots.gain.fraction_targeted) <= 500
    assert plots.threshold is not None and len(plots.threshold.threshold) <= 500
    actual = rng.normal(size=n)
    regression = ev.plot_data(
        actual, predicted=actual + 0.1, probabilities=None, classes=[], task="regression"
    )
    json.dumps(regression.to_dict(), allow_nan=False)
    assert regression.residuals is not None and len(regression.residuals.residual) == 2000
    assert regression.predicted_vs_actual is not None
    assert len(regression.predicted_vs_actual.actual) == 2000
    assert regression.residual_histogram is not None
    assert len(regression.residual_histogram.counts) <= ev.MAX_HISTOGRAM_BINS
    again = ev.plot_data(
        actual, predicted=actual + 0.1, probabilities=None, classes=[], task="regression"
    )
    assert again == regression  # the sample is seeded


# Plot data as runs already stored on disk hold it (evaluation_json); it must keep loading.
STORED_CLASSIFICATION = {
    "confusion_matrix": {"labels": ["no", "yes"], "counts": [[5, 1], [2, 4]]},
    "roc": {
        "curves": [{"label": "yes", "fpr": [0.0, 0.5, 1.0], "tpr": [0.0, 0.75, 1.0], "auc": 0.8}]
    },
    "pr": {
        "curves": [
            {
                "label": "yes",
                "recall": [1.0, 0.5, 0.0],
                "precision": [0.5, 0.8, 1.0],
                "average_precision": None,
            }
        ],
        "prevalence": [0.5],
    },
    "calibration": {
        "curves": [
            {
                "label": "yes",
                "mean_predicted": [0.2, 0.7],
                "fraction_positive": [0.1, 0.9],
                "count": [6, 6],
            }
        ]
    },
    "gain": {
        "label": "yes",
        "fraction_targeted": [0.5, 1.0],
        "fraction_captured": [0.8, 1.0],
        "lift": [1.6, 1.0],
    },
    "threshold": {
        "threshold": [0.3, 0.6],
        "precision": [0.5, 0.8],
        "recall": [1.0, 0.5],
        "f1": [0.667, None],
        "scale": "probability",
    },
}
STORED_REGRESSION = {
    "residuals": {"predicted": [1.5, 2.5], "residual": [0.5, -0.5]},
    "predicted_vs_actual": {"actual": [2.0, 2.0], "predicted": [1.5, 2.5]},
    "residual_histogram": {"edges": [-0.5, 0.0, 0.5], "counts": [1, 1]},
}


@pytest.mark.parametrize("stored", [STORED_CLASSIFICATION, STORED_REGRESSION, {}])
def test_stored_plot_data_loads_typed_and_writes_back_the_same_json(stored: dict) -> None:
    plots = ev.PlotData.from_dict(json.loads(json.dumps(stored)))
    assert json.dumps(plots.to_dict()) == json.dumps(stored)
    assert ev.PlotData.from_dict(plots.to_dict()) == plots
    assert plots.present() == tuple(stored)


def test_stored_plot_data_reads_as_the_charts_need_it() -> None:
    plots = ev.PlotData.from_dict(STORED_CLASSIFICATION)
    assert plots.residuals is None and plots.roc is not None and plots.pr is not None
    assert plots.roc.curves[0] == ev.RocCurve("yes", (0.0, 0.5, 1.0), (0.0, 0.75, 1.0), 0.8)
    assert plots.pr.curves[0].average_precision is None and plots.pr.prevalence == (0.5,)
    assert plots.threshold is not None and plots.threshold.f1 == (0.667, None)
    assert plots.confusion_matrix == ev.ConfusionMatrix(("no", "yes"), ((5, 1), (2, 4)))


def test_a_stored_evaluation_round_trips() -> None:
    stored = {"task": "binary", "metrics": {"roc_auc": 0.8, "log_loss": None}}
    stored["plots"] = STORED_CLASSIFICATION
    evaluation = ev.Evaluation.from_dict(json.loads(json.dumps(stored)))
    assert evaluation.task == "binary" and evaluation.plots.gain is not None
    assert json.dumps(evaluation.to_dict(), allow_nan=False) == json.dumps(stored)


def test_computed_plot_data_round_trips_through_json(binary: dict, regression: dict) -> None:
    for plots in (_plots(binary, "binary"), _plots(regression, "regression")):
        text = json.dumps(plots.to_dict(), allow_nan=False)
        assert ev.PlotData.from_dict(json.loads(text)) == plots


def test_max_points_below_two_is_refused(binary: dict) -> None:
    with pytest.raises(ev.EvaluationError, match="at least 2"):
        _plots(binary, "binary", max_points=1)


# -- predictions, cost and the whole evaluation ----------------------------------------------


@pytest.fixture
def credit() -> pd.DataFrame:
    rng = np.random.default_rng(6)
    n = 600
    income = rng.normal(50_000, 12_000, n)
    region = rng.choice(["north", "south", "east"], n)
    signal = (income - 50_000) / 12_000 + (region == "south") + rng.normal(size=n)
    return pd.DataFrame(
        {
            "age": rng.integers(18, 80, n).astype(float),
            "income": income,
            "region": region,
            "price": 200 + income / 1000 + rng.normal(0, 5, n),
            "outcome": np.where(signal > 0.5, "bad", "good"),
        }
    )


def _pipeline(frame: pd.DataFrame, target: str, model: object) -> Pipeline:
    schema = infer_schema(pa.Table.from_pandas(frame, preserve_index=False))
    spec = default_feature_spec(schema, target=target)
    features = build_feature_pipeline(spec, schema=schema, target=target)
    return Pipeline([("features", features), ("model", model)])


def _split(
    frame: pd.DataFrame, target: str
) -> tuple[pd.DataFrame, pd.Series, pd.DataFrame, pd.Series]:
    train, test = frame.iloc[:450], frame.iloc[450:]
    features = [column for column in frame.columns if column not in (target, "price", "outcome")]
    return train[features], train[target], test[features], test[target]


def test_evaluate_a_fitted_logistic_regression_pipeline(credit: pd.DataFrame) -> None:
    X, y, X_test, y_test = _split(credit, "outcome")
    pipeline = _pipeline(credit[[*X.columns, "outcome"]], "outcome", LogisticRegression())
    pipeline.fit(X, y)
    result = ev.evaluate(pipeline, X_test, y_test, task="binary")
    proba = pipeline.predict_proba(X_test)
    assert result.metrics["roc_auc"] == pytest.approx(roc_auc_score(y_test == "good", proba[:, 1]))
    assert result.metrics["log_loss"] == pytest.approx(log_loss(y_test, proba))
    assert result.plots.confusion_matrix is not None
    assert result.plots.confusion_matrix.labels == ("bad", "good")
    data = result.to_dict()
    assert set(data) == {"task", "metrics", "plots"} and data["task"] == "binary"
    json.dumps(data, allow_nan=False)


def test_evaluate_a_linear_svc_ranks_without_probabilities(credit: pd.DataFrame) -> None:
    X, y, X_test, y_test = _split(credit, "outcome")
    pipeline = _pipeline(credit[[*X.columns, "outcome"]], "outcome", LinearSVC())
    pipeline.fit(X, y)
    predicted, probabilities = ev.predictions(pipeline, X_test, task="binary")
    assert probabilities is None and len(predicted) == len(X_test)
    result = ev.evaluate(pipeline, X_test, y_test, task="binary")
    expected = roc_auc_score(y_test == "good", pipeline.decision_function(X_test))
    assert result.metrics["roc_auc"] == pytest.approx(expected)
    assert math.isfinite(result.metrics["pr_auc"])
    assert math.isnan(result.metrics["log_loss"]) and math.isnan(result.metrics["brier"])
    assert result.plots.calibration is None
    assert result.plots.threshold is not None and result.plots.threshold.scale == "decision"
    data = result.to_dict()
    assert data["metrics"]["log_loss"] is None
    json.dumps(data, allow_nan=False)


def test_evaluate_regression_and_multiclass(credit: pd.DataFrame) -> None:
    X, y, X_test, y_test = _split(credit, "price")
    pipeline = _pipeline(credit[[*X.columns, "price"]], "price", LinearRegression())
    pipeline.fit(X, y)
    result = ev.evaluate(pipeline, X_test, y_test, task="regression")
    predicted = pipeline.predict(X_test)
    assert result.metrics["rmse"] == pytest.approx(root_mean_squared_error(y_test, predicted))
    json.dumps(result.to_dict(), allow_nan=False)
    X, y, X_test, y_test = _split(credit, "region")
    pipeline = _pipeline(credit[[*X.columns, "region"]], "region", LogisticRegression())
    pipeline.fit(X, y)
    result = ev.evaluate(pipeline, X_test, y_test, task="multiclass")
    assert result.plots.roc is not None and len(result.plots.roc.curves) == 3
    json.dumps(result.to_dict(), allow_nan=False)


def test_measure_cost_times_single_row_predictions(credit: pd.DataFrame) -> None:
    X, y, X_test, _ = _split(credit, "outcome")
    pipeline = _pipeline(credit[[*X.columns, "outcome"]], "outcome", LogisticRegression())
    pipeline.fit(X, y)
    cost = ev.measure_cost(pipeline, X_test, fit_seconds=0.25, size_bytes=4096, repeats=5)
    assert cost.fit_seconds == 0.25 and cost.size_bytes == 4096
    assert cost.predict_ms_single_row > 0
    assert cost.to_dict() == {
        "fit_seconds": 0.25,
        "size_bytes": 4096,
        "predict_ms_single_row": cost.predict_ms_single_row,
    }
    none = ev.measure_cost(pipeline, X_test.iloc[:0], fit_seconds=0.1, size_bytes=1)
    assert (
        math.isnan(none.predict_ms_single_row) and none.to_dict()["predict_ms_single_row"] is None
    )
