"""Metric names by task, their scorers for cross-validation, and computing them on a holdout."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn import metrics
from sklearn.exceptions import UndefinedMetricWarning

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
    "precision": metrics.precision_score,
    "recall": metrics.recall_score,
    "f1": metrics.f1_score,
}

UNKNOWN_TASK = "The task must be one of {choices}, not {task!r}."
UNKNOWN_METRIC = "There is no {task} metric called {metric!r}. Choose from: {choices}."

BAD_PROBABILITIES = "Got {columns} probability columns for {classes} classes."


class EvaluationError(ValueError):
    """A task or metric name this module does not know, or inputs that do not fit together."""


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
        return metrics.make_scorer(_LABEL_METRICS[metric], average="macro", zero_division=0.0)
    if task != "binary" or classes is None or len(classes) < 2:
        return name
    positive = classes[1]
    if metric in ("precision", "recall", "f1"):
        return metrics.make_scorer(_LABEL_METRICS[metric], pos_label=positive, zero_division=0.0)
    if metric == "pr_auc":
        return metrics.make_scorer(
            metrics.average_precision_score,
            response_method=("decision_function", "predict_proba"),
            pos_label=positive,
        )
    if metric == "brier":
        return metrics.make_scorer(
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
    return float(metrics.mean_absolute_percentage_error(truth, guess))


_REGRESSION: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "mae": lambda truth, guess: float(metrics.mean_absolute_error(truth, guess)),
    "rmse": lambda truth, guess: float(metrics.root_mean_squared_error(truth, guess)),
    "r2": lambda truth, guess: (
        float(metrics.r2_score(truth, guess, force_finite=False)) if len(truth) > 1 else math.nan
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
        return float(metrics.accuracy_score(truth, guess))
    if metric == "balanced_accuracy":
        return float(metrics.balanced_accuracy_score(truth, guess))
    if metric in ("precision", "recall", "f1"):
        return _label_metric(metric, truth, guess, classes, task)
    if metric in ("roc_auc", "pr_auc"):
        return _ranking_metric(metric, truth, ranking, classes, task)
    if proba is None:
        return math.nan
    if metric == "log_loss":
        return float(metrics.log_loss(truth, proba, labels=classes))
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
        return float(metrics.roc_auc_score(hits, column))
    if positives == 0:
        return math.nan
    return float(metrics.average_precision_score(hits, column))


def _one_vs_rest(
    truth: np.ndarray, matrix: np.ndarray, classes: list, task: str
) -> list[tuple[Any, np.ndarray, np.ndarray]]:
    """(class, is-this-class, its score column): the positive class alone when binary."""
    if len(classes) < 2:
        return []
    chosen = [1] if task == "binary" else range(len(classes))
    return [(classes[index], truth == classes[index], matrix[:, index]) for index in chosen]
