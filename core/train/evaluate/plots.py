"""Plot data of a holdout: confusion, ROC, PR, calibration, gain, residuals (see plot_kinds)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from sklearn.metrics import (
    average_precision_score,
    confusion_matrix,
    precision_recall_curve,
    roc_auc_score,
    roc_curve,
)

from core.train.evaluate import plot_kinds as kinds
from core.train.evaluate.metrics import EvaluationError, _matrix, _one_vs_rest, check_task

CALIBRATION_BINS = 10
MAX_HISTOGRAM_BINS = 50

SAMPLE_SEED = 0

BAD_MAX_POINTS = "max_points must be at least 2, not {value!r}."


def plot_data(
    y_true: Any,
    *,
    predicted: Any,
    probabilities: np.ndarray | None,
    classes: list,
    task: str,
    max_points: int = 2000,
    scores: np.ndarray | None = None,
) -> kinds.PlotData:
    """The data behind the evaluation charts: no NaN (None instead), each curve ≤ max_points.

    Charts are left out (None) when they cannot be drawn: roc/pr/gain/threshold need
    probabilities or ``scores`` and both outcomes present; calibration needs probabilities;
    gain and threshold are binary only.
    """
    check_task(task)
    if max_points < 2:
        raise EvaluationError(BAD_MAX_POINTS.format(value=max_points))
    truth = np.asarray(y_true)
    guess = np.asarray(predicted)
    if task == "regression":
        return _regression_plots(truth, guess, max_points)
    confusion = _confusion(truth, guess, classes)
    proba = _matrix(probabilities, len(classes), probability=True)
    ranking = proba if proba is not None else _matrix(scores, len(classes), probability=False)
    if ranking is None or len(truth) == 0:
        return kinds.PlotData(confusion_matrix=confusion)
    pairs = _one_vs_rest(truth, ranking, classes, task)
    roc = [_roc(label, hits, column, max_points) for label, hits, column in pairs]
    pr = [_pr(label, hits, column, max_points) for label, hits, column in pairs]
    found_pr = [found for found in pr if found]
    calibration = None
    if proba is not None:
        calibration = kinds.CalibrationPlot(
            tuple(_calibration(label, hits, column) for label, hits, column in pairs)
        )
    gain = threshold = None
    if task == "binary" and pairs and pairs[0][1].any():
        label, hits, column = pairs[0]
        gain = _gain(label, hits, column, max_points)
        threshold = _threshold(hits, column, max_points, probability=proba is not None)
    return kinds.PlotData(
        confusion_matrix=confusion,
        roc=kinds.RocPlot(tuple(curve for curve in roc if curve)) if any(roc) else None,
        pr=kinds.PrPlot(
            curves=tuple(curve for curve, _ in found_pr),
            prevalence=kinds.series(prevalence for _, prevalence in found_pr),
        )
        if found_pr
        else None,
        calibration=calibration,
        gain=gain,
        threshold=threshold,
    )


def _thin(count: int, max_points: int) -> np.ndarray:
    """At most max_points evenly spaced indices, always keeping the first and the last."""
    if count <= max_points:
        return np.arange(count)
    return np.unique(np.linspace(0, count - 1, max_points).round().astype(int))


def _confusion(truth: np.ndarray, guess: np.ndarray, classes: list) -> kinds.ConfusionMatrix:
    if len(truth) == 0 or not classes:
        counts = np.zeros((len(classes), len(classes)), dtype=int)
    else:
        counts = confusion_matrix(truth, guess, labels=classes)
    rows = tuple(tuple(int(value) for value in row) for row in counts)
    return kinds.ConfusionMatrix(labels=tuple(str(label) for label in classes), counts=rows)


def _roc(
    label: Any, hits: np.ndarray, column: np.ndarray, max_points: int
) -> kinds.RocCurve | None:
    if hits.all() or not hits.any():
        return None
    fpr, tpr, _ = roc_curve(hits, column)
    keep = _thin(len(fpr), max_points)
    auc = float(roc_auc_score(hits, column))
    return kinds.RocCurve(
        label=str(label),
        fpr=kinds.series(fpr[keep]),
        tpr=kinds.series(tpr[keep]),
        auc=kinds._json_ready(auc),
    )


def _pr(
    label: Any, hits: np.ndarray, column: np.ndarray, max_points: int
) -> tuple[kinds.PrCurve, float] | None:
    if not hits.any():
        return None
    precision, recall, _ = precision_recall_curve(hits, column, drop_intermediate=True)
    keep = _thin(len(precision), max_points)
    curve = kinds.PrCurve(
        label=str(label),
        recall=kinds.series(recall[keep]),
        precision=kinds.series(precision[keep]),
        average_precision=kinds._json_ready(float(average_precision_score(hits, column))),
    )
    return curve, float(hits.mean())


def _calibration(label: Any, hits: np.ndarray, column: np.ndarray) -> kinds.CalibrationCurve:
    """Quantile bins (uniform over [0, 1] when the probabilities have too few distinct values)."""
    edges = np.unique(np.quantile(column, np.linspace(0, 1, CALIBRATION_BINS + 1)))
    if len(edges) < 3:
        edges = np.linspace(0, 1, CALIBRATION_BINS + 1)
    bins = np.searchsorted(edges[1:-1], column, side="right")
    count = np.bincount(bins, minlength=len(edges) - 1)
    used = count > 0
    predicted = np.bincount(bins, weights=column, minlength=len(edges) - 1)[used] / count[used]
    positive = np.bincount(bins, weights=hits.astype(float), minlength=len(edges) - 1)[used]
    return kinds.CalibrationCurve(
        label=str(label),
        mean_predicted=kinds.series(predicted),
        fraction_positive=kinds.series(positive / count[used]),
        count=tuple(int(value) for value in count[used]),
    )


def _gain(label: Any, hits: np.ndarray, column: np.ndarray, max_points: int) -> kinds.GainCurve:
    """Cumulative share of positives captured by the top-scored share of rows, ties together."""
    order = np.argsort(-column, kind="stable")
    ordered = column[order]
    captured = np.cumsum(hits[order]) / hits.sum()
    ends = np.r_[np.flatnonzero(np.diff(ordered) != 0), len(ordered) - 1]
    ends = ends[_thin(len(ends), max_points)]
    targeted = (ends + 1) / len(ordered)
    return kinds.GainCurve(
        label=str(label),
        fraction_targeted=kinds.series(targeted),
        fraction_captured=kinds.series(captured[ends]),
        lift=kinds.series(captured[ends] / targeted),
    )


def _threshold(
    hits: np.ndarray, column: np.ndarray, max_points: int, *, probability: bool
) -> kinds.ThresholdSweep:
    precision, recall, thresholds = precision_recall_curve(hits, column)
    precision, recall = precision[:-1], recall[:-1]
    total = precision + recall
    f1 = np.divide(2 * precision * recall, total, out=np.zeros_like(total), where=total > 0)
    keep = _thin(len(thresholds), max_points)
    return kinds.ThresholdSweep(
        threshold=kinds.series(thresholds[keep]),
        precision=kinds.series(precision[keep]),
        recall=kinds.series(recall[keep]),
        f1=kinds.series(f1[keep]),
        scale="probability" if probability else "decision",
    )


def _regression_plots(truth: np.ndarray, guess: np.ndarray, max_points: int) -> kinds.PlotData:
    actual = truth.astype(float)
    predicted = guess.astype(float)
    finite = np.isfinite(actual) & np.isfinite(predicted)
    actual, predicted = actual[finite], predicted[finite]
    residual = actual - predicted
    rows = np.arange(len(actual))
    if len(rows) > max_points:
        rows = np.sort(np.random.default_rng(SAMPLE_SEED).choice(rows, max_points, replace=False))
    counts, edges = _histogram(residual)
    return kinds.PlotData(
        residuals=kinds.Residuals(
            predicted=kinds.series(predicted[rows]), residual=kinds.series(residual[rows])
        ),
        predicted_vs_actual=kinds.PredictedVsActual(
            actual=kinds.series(actual[rows]), predicted=kinds.series(predicted[rows])
        ),
        residual_histogram=kinds.ResidualHistogram(
            edges=kinds.series(edges), counts=tuple(int(value) for value in counts)
        ),
    )


def _histogram(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """About sqrt(n) equal bins, at most MAX_HISTOGRAM_BINS; one bin for a near-constant spread."""
    if not len(values):
        return np.array([], dtype=int), np.array([])
    bins = min(MAX_HISTOGRAM_BINS, max(1, math.ceil(math.sqrt(len(values)))))
    try:
        return np.histogram(values, bins=bins)
    except ValueError:  # a range too narrow for that many distinct float edges
        return np.histogram(values, bins=1)
