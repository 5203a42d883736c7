"""Holdout evaluation: metrics, JSON-ready plot data and the cost of a fitted pipeline."""

from __future__ import annotations

import math
import statistics
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    balanced_accuracy_score,
    confusion_matrix,
    f1_score,
    log_loss,
    make_scorer,
    mean_absolute_error,
    mean_absolute_percentage_error,
    precision_recall_curve,
    precision_score,
    r2_score,
    recall_score,
    roc_auc_score,
    roc_curve,
    root_mean_squared_error,
)

TASKS = ("binary", "multiclass", "regression")
CLASSIFICATION_METRICS = (
    "accuracy",
    "balanced_accuracy",
    "precision",
    "recall",
    "f1",
    "roc_auc",
    "pr_auc",
    "log_loss",
    "brier",
)
REGRESSION_METRICS = ("mae", "rmse", "r2", "mape")
TASK_METRICS: dict[str, tuple[str, ...]] = {
    "binary": CLASSIFICATION_METRICS,
    "multiclass": CLASSIFICATION_METRICS,
    "regression": REGRESSION_METRICS,
}
# which way is better, for ranking and for "best so far": True = higher is better
HIGHER_IS_BETTER: dict[str, bool] = {
    "accuracy": True,
    "balanced_accuracy": True,
    "precision": True,
    "recall": True,
    "f1": True,
    "roc_auc": True,
    "pr_auc": True,
    "log_loss": False,
    "brier": False,
    "mae": False,
    "rmse": False,
    "r2": True,
    "mape": False,
}
PRIMARY_METRIC = {"binary": "roc_auc", "multiclass": "f1", "regression": "rmse"}
METRIC_LABELS: dict[str, str] = {
    "accuracy": "Accuracy",
    "balanced_accuracy": "Balanced accuracy",
    "precision": "Precision",
    "recall": "Recall",
    "f1": "F1",
    "roc_auc": "ROC AUC",
    "pr_auc": "PR AUC",
    "log_loss": "Log loss",
    "brier": "Brier score",
    "mae": "MAE",
    "rmse": "RMSE",
    "r2": "R²",
    "mape": "MAPE",
}
_SCORERS = {
    "accuracy": "accuracy",
    "balanced_accuracy": "balanced_accuracy",
    "precision": "precision",
    "recall": "recall",
    "f1": "f1",
    "roc_auc": "roc_auc",
    "pr_auc": "average_precision",
    "log_loss": "neg_log_loss",
    "brier": "neg_brier_score",
    "mae": "neg_mean_absolute_error",
    "rmse": "neg_root_mean_squared_error",
    "r2": "r2",
    "mape": "neg_mean_absolute_percentage_error",
}
_MULTICLASS_SCORERS = {
    "precision": "precision_macro",
    "recall": "recall_macro",
    "f1": "f1_macro",
    "roc_auc": "roc_auc_ovr",
}
_LABEL_METRICS: dict[str, Callable[..., Any]] = {
    "precision": precision_score,
    "recall": recall_score,
    "f1": f1_score,
}
CALIBRATION_BINS = 10
MAX_HISTOGRAM_BINS = 50
COST_ROWS = 10
SAMPLE_SEED = 0

UNKNOWN_TASK = "The task must be one of {choices}, not {task!r}."
UNKNOWN_METRIC = "There is no {task} metric called {metric!r}. Choose from: {choices}."
BAD_MAX_POINTS = "max_points must be at least 2, not {value!r}."
BAD_PROBABILITIES = "Got {columns} probability columns for {classes} classes."


class EvaluationError(ValueError):
    """A task or metric name this module does not know, or inputs that do not fit together."""


# -- names -----------------------------------------------------------------------------------


def check_task(task: str) -> None:
    if task not in TASKS:
        raise EvaluationError(UNKNOWN_TASK.format(choices=", ".join(TASKS), task=task))


def check_metric(metric: str, task: str) -> None:
    check_task(task)
    if metric not in TASK_METRICS[task]:
        choices = ", ".join(TASK_METRICS[task])
        raise EvaluationError(UNKNOWN_METRIC.format(task=task, metric=metric, choices=choices))


def scorer_name(metric: str, task: str) -> str:
    """The sklearn scorer string for cross-validation; losses come negated, as sklearn does.

    Binary precision, recall, f1, pr_auc and brier take sklearn's default positive label (1 or
    True); for other labels use ``cv_scorer`` with the fitted classes.
    """
    check_metric(metric, task)
    if task == "multiclass":
        return _MULTICLASS_SCORERS.get(metric, _SCORERS[metric])
    return _SCORERS[metric]


def cv_scorer(metric: str, task: str, *, classes: list | None = None) -> str | Callable:
    """What ``sklearn.metrics.get_scorer`` accepts, with the positive class set to classes[1].

    Differs from ``scorer_name`` only where sklearn's string would fail or warn: binary
    metrics that need a positive label (string targets such as "yes"/"no"), and multiclass
    macro precision/recall/f1, whose undefined classes count as 0 without a warning.
    """
    name = scorer_name(metric, task)
    if task == "multiclass" and metric in ("precision", "recall", "f1"):
        return make_scorer(_LABEL_METRICS[metric], average="macro", zero_division=0.0)
    if task != "binary" or classes is None or len(classes) < 2:
        return name
    positive = classes[1]
    if metric in ("precision", "recall", "f1"):
        return make_scorer(_LABEL_METRICS[metric], pos_label=positive, zero_division=0.0)
    if metric == "pr_auc":
        return make_scorer(
            average_precision_score,
            response_method=("decision_function", "predict_proba"),
            pos_label=positive,
        )
    if metric == "brier":
        return make_scorer(
            _binary_brier_loss,
            response_method="predict_proba",
            greater_is_better=False,
            pos_label=positive,
        )
    return name


def _binary_brier_loss(y_true: Any, y_proba: Any, *, pos_label: Any) -> float:
    hits = (np.asarray(y_true) == pos_label).astype(float)
    return float(np.mean((np.asarray(y_proba, dtype=float) - hits) ** 2))


# -- metrics ---------------------------------------------------------------------------------


def score_metric(
    metric: str,
    y_true: Any,
    *,
    predicted: Any,
    probabilities: np.ndarray | None,
    classes: list,
    task: str,
    scores: np.ndarray | None = None,
) -> float:
    """One metric as a plain float; NaN when undefined (one class present, no probabilities).

    ``scores`` (decision_function output) stand in for probabilities in roc_auc and pr_auc
    when the model has no predict_proba; log_loss and brier need real probabilities.
    """
    check_metric(metric, task)
    truth = np.asarray(y_true)
    guess = np.asarray(predicted)
    if len(truth) == 0:
        return math.nan
    if task == "regression":
        return _guarded(lambda: _REGRESSION[metric](truth.astype(float), guess.astype(float)))
    proba = _matrix(probabilities, len(classes), probability=True)
    ranking = proba if proba is not None else _matrix(scores, len(classes), probability=False)
    return _guarded(lambda: _classification(metric, truth, guess, proba, ranking, classes, task))


def compute_metrics(
    y_true: Any,
    *,
    predicted: Any,
    probabilities: np.ndarray | None,
    classes: list,
    task: str,
    scores: np.ndarray | None = None,
) -> dict[str, float]:
    """Every metric of the task (see ``TASK_METRICS``), in order; undefined ones are NaN.

    Binary precision/recall/f1 are for the positive class classes[1] (NaN when undefined);
    multiclass ones are macro averages over the labels seen in y_true or predicted, a label
    never predicted counting 0 as in sklearn's f1_macro; roc_auc is one-vs-rest macro and
    pr_auc the macro average precision, both over the classes present in y_true; brier is the
    multiclass Brier score (mean over rows of the summed squared differences). mape is NaN
    when y_true holds a zero; r2 is NaN for a constant or single-row y_true.
    """
    check_task(task)
    return {
        metric: score_metric(
            metric,
            y_true,
            predicted=predicted,
            probabilities=probabilities,
            classes=classes,
            task=task,
            scores=scores,
        )
        for metric in TASK_METRICS[task]
    }


def _guarded(compute: Callable[[], float]) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            value = float(compute())
        except ValueError:  # inputs sklearn refuses, such as a label only seen in y_true
            return math.nan
    return value if math.isfinite(value) else math.nan


def _matrix(values: np.ndarray | None, n_classes: int, *, probability: bool) -> np.ndarray | None:
    """One column per class; a 1-D array is the positive-class column of a binary model."""
    if values is None:
        return None
    array = np.asarray(values, dtype=float)
    if array.ndim == 1:
        array = np.column_stack([1 - array if probability else -array, array])
    if array.shape[1] != n_classes:
        raise EvaluationError(BAD_PROBABILITIES.format(columns=array.shape[1], classes=n_classes))
    return array


def _mape(truth: np.ndarray, guess: np.ndarray) -> float:
    if np.any(truth == 0):
        return math.nan
    return float(mean_absolute_percentage_error(truth, guess))


_REGRESSION: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "mae": lambda truth, guess: float(mean_absolute_error(truth, guess)),
    "rmse": lambda truth, guess: float(root_mean_squared_error(truth, guess)),
    "r2": lambda truth, guess: (
        float(r2_score(truth, guess, force_finite=False)) if len(truth) > 1 else math.nan
    ),
    "mape": _mape,
}


def _classification(
    metric: str,
    truth: np.ndarray,
    guess: np.ndarray,
    proba: np.ndarray | None,
    ranking: np.ndarray | None,
    classes: list,
    task: str,
) -> float:
    if metric == "accuracy":
        return float(accuracy_score(truth, guess))
    if metric == "balanced_accuracy":
        return float(balanced_accuracy_score(truth, guess))
    if metric in ("precision", "recall", "f1"):
        return _label_metric(metric, truth, guess, classes, task)
    if metric in ("roc_auc", "pr_auc"):
        return _ranking_metric(metric, truth, ranking, classes, task)
    if proba is None:
        return math.nan
    if metric == "log_loss":
        return float(log_loss(truth, proba, labels=classes))
    onehot = np.column_stack([truth == label for label in classes]).astype(float)
    if task == "binary":
        return float(np.mean((proba[:, 1] - onehot[:, 1]) ** 2))
    return float(np.mean(np.sum((proba - onehot) ** 2, axis=1)))


def _label_metric(
    metric: str, truth: np.ndarray, guess: np.ndarray, classes: list, task: str
) -> float:
    function = _LABEL_METRICS[metric]
    if task == "binary":
        if len(classes) < 2:
            return math.nan
        hits = truth == classes[1]
        called = guess == classes[1]
        return float(function(hits, called, zero_division=np.nan))
    # over the labels present in y_true or predicted, an undefined one counting 0 (as sklearn)
    return float(function(truth, guess, average="macro", zero_division=0.0))


def _ranking_metric(
    metric: str, truth: np.ndarray, ranking: np.ndarray | None, classes: list, task: str
) -> float:
    if ranking is None:
        return math.nan
    values = [
        _one_ranking_metric(metric, hits, column)
        for _, hits, column in _one_vs_rest(truth, ranking, classes, task)
    ]
    defined = [value for value in values if math.isfinite(value)]
    return float(np.mean(defined)) if defined else math.nan


def _one_ranking_metric(metric: str, hits: np.ndarray, column: np.ndarray) -> float:
    positives = int(hits.sum())
    if metric == "roc_auc":
        if positives == 0 or positives == len(hits):
            return math.nan
        return float(roc_auc_score(hits, column))
    if positives == 0:
        return math.nan
    return float(average_precision_score(hits, column))


def _one_vs_rest(
    truth: np.ndarray, matrix: np.ndarray, classes: list, task: str
) -> list[tuple[Any, np.ndarray, np.ndarray]]:
    """(class, is-this-class, its score column): the positive class alone when binary."""
    if len(classes) < 2:
        return []
    chosen = [1] if task == "binary" else range(len(classes))
    return [(classes[index], truth == classes[index], matrix[:, index]) for index in chosen]


# -- plot data -------------------------------------------------------------------------------


def plot_data(
    y_true: Any,
    *,
    predicted: Any,
    probabilities: np.ndarray | None,
    classes: list,
    task: str,
    max_points: int = 2000,
    scores: np.ndarray | None = None,
) -> dict[str, Any]:
    """The data behind the evaluation charts: plain lists, no NaN, each curve ≤ max_points.

    Keys are left out when they cannot be drawn: roc/pr/gain/threshold need probabilities or
    ``scores`` and both outcomes present; calibration needs probabilities; gain and threshold
    are binary only.
    """
    check_task(task)
    if max_points < 2:
        raise EvaluationError(BAD_MAX_POINTS.format(value=max_points))
    truth = np.asarray(y_true)
    guess = np.asarray(predicted)
    if task == "regression":
        return _json_ready(_regression_plots(truth, guess, max_points))
    plots: dict[str, Any] = {"confusion_matrix": _confusion(truth, guess, classes)}
    proba = _matrix(probabilities, len(classes), probability=True)
    ranking = proba if proba is not None else _matrix(scores, len(classes), probability=False)
    if ranking is None or len(truth) == 0:
        return _json_ready(plots)
    pairs = _one_vs_rest(truth, ranking, classes, task)
    roc = [_roc(label, hits, column, max_points) for label, hits, column in pairs]
    pr = [_pr(label, hits, column, max_points) for label, hits, column in pairs]
    if any(roc):
        plots["roc"] = {"curves": [curve for curve in roc if curve]}
    if any(pr):
        plots["pr"] = {
            "curves": [curve for curve, _ in filter(None, pr)],
            "prevalence": [prevalence for _, prevalence in filter(None, pr)],
        }
    if proba is not None:
        plots["calibration"] = {
            "curves": [_calibration(label, hits, column) for label, hits, column in pairs]
        }
    if task == "binary" and pairs and pairs[0][1].any():
        label, hits, column = pairs[0]
        plots["gain"] = _gain(label, hits, column, max_points)
        plots["threshold"] = _threshold(hits, column, max_points, probability=proba is not None)
    return _json_ready(plots)


def _thin(count: int, max_points: int) -> np.ndarray:
    """At most max_points evenly spaced indices, always keeping the first and the last."""
    if count <= max_points:
        return np.arange(count)
    return np.unique(np.linspace(0, count - 1, max_points).round().astype(int))


def _confusion(truth: np.ndarray, guess: np.ndarray, classes: list) -> dict[str, Any]:
    if len(truth) == 0 or not classes:
        counts = np.zeros((len(classes), len(classes)), dtype=int)
    else:
        counts = confusion_matrix(truth, guess, labels=classes)
    return {"labels": [str(label) for label in classes], "counts": counts.astype(int)}


def _roc(label: Any, hits: np.ndarray, column: np.ndarray, max_points: int) -> dict | None:
    if hits.all() or not hits.any():
        return None
    fpr, tpr, _ = roc_curve(hits, column)
    keep = _thin(len(fpr), max_points)
    auc = float(roc_auc_score(hits, column))
    return {"label": str(label), "fpr": fpr[keep], "tpr": tpr[keep], "auc": auc}


def _pr(
    label: Any, hits: np.ndarray, column: np.ndarray, max_points: int
) -> tuple[dict, float] | None:
    if not hits.any():
        return None
    precision, recall, _ = precision_recall_curve(hits, column, drop_intermediate=True)
    keep = _thin(len(precision), max_points)
    curve = {
        "label": str(label),
        "recall": recall[keep],
        "precision": precision[keep],
        "average_precision": float(average_precision_score(hits, column)),
    }
    return curve, float(hits.mean())


def _calibration(label: Any, hits: np.ndarray, column: np.ndarray) -> dict[str, Any]:
    """Quantile bins (uniform over [0, 1] when the probabilities have too few distinct values)."""
    edges = np.unique(np.quantile(column, np.linspace(0, 1, CALIBRATION_BINS + 1)))
    if len(edges) < 3:
        edges = np.linspace(0, 1, CALIBRATION_BINS + 1)
    bins = np.searchsorted(edges[1:-1], column, side="right")
    count = np.bincount(bins, minlength=len(edges) - 1)
    used = count > 0
    predicted = np.bincount(bins, weights=column, minlength=len(edges) - 1)[used] / count[used]
    positive = np.bincount(bins, weights=hits.astype(float), minlength=len(edges) - 1)[used]
    return {
        "label": str(label),
        "mean_predicted": predicted,
        "fraction_positive": positive / count[used],
        "count": count[used],
    }


def _gain(label: Any, hits: np.ndarray, column: np.ndarray, max_points: int) -> dict[str, Any]:
    """Cumulative share of positives captured by the top-scored share of rows, ties together."""
    order = np.argsort(-column, kind="stable")
    ordered = column[order]
    captured = np.cumsum(hits[order]) / hits.sum()
    ends = np.r_[np.flatnonzero(np.diff(ordered) != 0), len(ordered) - 1]
    ends = ends[_thin(len(ends), max_points)]
    targeted = (ends + 1) / len(ordered)
    return {
        "label": str(label),
        "fraction_targeted": targeted,
        "fraction_captured": captured[ends],
        "lift": captured[ends] / targeted,
    }


def _threshold(
    hits: np.ndarray, column: np.ndarray, max_points: int, *, probability: bool
) -> dict[str, Any]:
    precision, recall, thresholds = precision_recall_curve(hits, column)
    precision, recall = precision[:-1], recall[:-1]
    total = precision + recall
    f1 = np.divide(2 * precision * recall, total, out=np.zeros_like(total), where=total > 0)
    keep = _thin(len(thresholds), max_points)
    return {
        "threshold": thresholds[keep],
        "precision": precision[keep],
        "recall": recall[keep],
        "f1": f1[keep],
        "scale": "probability" if probability else "decision",
    }


def _regression_plots(truth: np.ndarray, guess: np.ndarray, max_points: int) -> dict[str, Any]:
    actual = truth.astype(float)
    predicted = guess.astype(float)
    finite = np.isfinite(actual) & np.isfinite(predicted)
    actual, predicted = actual[finite], predicted[finite]
    residual = actual - predicted
    rows = np.arange(len(actual))
    if len(rows) > max_points:
        rows = np.sort(np.random.default_rng(SAMPLE_SEED).choice(rows, max_points, replace=False))
    counts, edges = _histogram(residual)
    return {
        "residuals": {"predicted": predicted[rows], "residual": residual[rows]},
        "predicted_vs_actual": {"actual": actual[rows], "predicted": predicted[rows]},
        "residual_histogram": {"edges": edges, "counts": counts},
    }


def _histogram(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """About sqrt(n) equal bins, at most MAX_HISTOGRAM_BINS; one bin for a near-constant spread."""
    if not len(values):
        return np.array([], dtype=int), np.array([])
    bins = min(MAX_HISTOGRAM_BINS, max(1, math.ceil(math.sqrt(len(values)))))
    try:
        return np.histogram(values, bins=bins)
    except ValueError:  # a range too narrow for that many distinct float edges
        return np.histogram(values, bins=1)


def _json_ready(value: Any) -> Any:
    """Plain lists, dicts, str, int, float and None: numpy unwrapped, NaN and ±inf as None."""
    if isinstance(value, dict):
        return {str(key): _json_ready(item) for key, item in value.items()}
    if isinstance(value, np.ndarray):
        return _json_ready(value.tolist())
    if isinstance(value, list | tuple):
        return [_json_ready(item) for item in value]
    if value is None or isinstance(value, bool | np.bool_):
        return None if value is None else bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        number = float(value)
        return number if math.isfinite(number) else None
    return str(value)


# -- predictions and cost --------------------------------------------------------------------


def predictions(
    pipeline: Any, frame: pd.DataFrame, *, task: str
) -> tuple[np.ndarray, np.ndarray | None]:
    """(predicted labels or values, class probabilities or None when there is no predict_proba).

    Probability columns follow ``pipeline.classes_``; see ``decision_scores`` for models such
    as LinearSVC that only rank.
    """
    check_task(task)
    predicted = np.asarray(pipeline.predict(frame))
    if task == "regression" or not hasattr(pipeline, "predict_proba"):
        return predicted, None
    return predicted, np.asarray(pipeline.predict_proba(frame), dtype=float)


def decision_scores(pipeline: Any, frame: pd.DataFrame) -> np.ndarray | None:
    """decision_function as one column per class (binary: [-d, d]), or None when absent."""
    if not hasattr(pipeline, "decision_function"):
        return None
    values = np.asarray(pipeline.decision_function(frame), dtype=float)
    return np.column_stack([-values, values]) if values.ndim == 1 else values


@dataclass(frozen=True)
class ModelCost:
    """What a model costs: seconds to fit, bytes on disk, milliseconds to score one row."""

    fit_seconds: float
    size_bytes: int
    predict_ms_single_row: float

    def to_dict(self) -> dict[str, Any]:
        return _json_ready(asdict(self))


def measure_cost(
    pipeline: Any, rows: pd.DataFrame, *, fit_seconds: float, size_bytes: int, repeats: int = 30
) -> ModelCost:
    """Median wall time of ``repeats`` single-row predicts, cycling through the first rows.

    One untimed call warms caches first; no rows (or repeats < 1) gives a NaN latency.
    """
    singles = [rows.iloc[[index]] for index in range(min(len(rows), COST_ROWS))]
    latency = math.nan
    if singles and repeats >= 1:
        pipeline.predict(singles[0])
        times = []
        for attempt in range(repeats):
            started = time.perf_counter()
            pipeline.predict(singles[attempt % len(singles)])
            times.append(time.perf_counter() - started)
        latency = statistics.median(times) * 1000
    return ModelCost(float(fit_seconds), int(size_bytes), latency)


# -- the whole evaluation --------------------------------------------------------------------


@dataclass(frozen=True)
class Evaluation:
    """Metrics and plot data of one model on one holdout: plain data, rendered in app/."""

    task: str
    metrics: dict[str, float]
    plots: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"task": self.task, **_json_ready({"metrics": self.metrics, "plots": self.plots})}


def evaluate(
    pipeline: Any,
    frame: pd.DataFrame,
    y_true: pd.Series,
    *,
    task: str,
    max_points: int = 2000,
) -> Evaluation:
    """Score a fitted pipeline on held-out rows; classes come from ``pipeline.classes_``."""
    predicted, probabilities = predictions(pipeline, frame, task=task)
    classes = [] if task == "regression" else np.asarray(pipeline.classes_).tolist()
    scores = None
    if task != "regression" and probabilities is None:
        scores = decision_scores(pipeline, frame)
    metrics = compute_metrics(
        y_true,
        predicted=predicted,
        probabilities=probabilities,
        classes=classes,
        task=task,
        scores=scores,
    )
    plots = plot_data(
        y_true,
        predicted=predicted,
        probabilities=probabilities,
        classes=classes,
        task=task,
        max_points=max_points,
        scores=scores,
    )
    return Evaluation(task=task, metrics=metrics, plots=plots)
