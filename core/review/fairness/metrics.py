"""The fairness metric registry: each metric from a group's statistics, and the gaps."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.review.fairness import messages
from core.review.fairness.messages import FairnessError
from core.words import metric_in_sentence

TASKS = ("binary", "multiclass", "regression")
RATE_METRICS = ("selection_rate", "true_positive_rate", "false_positive_rate")
CLASSIFICATION_METRICS = (*RATE_METRICS, "accuracy", "precision", "roc_auc")
REGRESSION_METRICS = ("mae", "rmse")
DEFAULT_METRICS: dict[str, tuple[str, ...]] = {
    "binary": (
        "selection_rate",
        "true_positive_rate",
        "false_positive_rate",
        "accuracy",
        "precision",
    ),
    "multiclass": ("accuracy",),
    "regression": REGRESSION_METRICS,
}
BINARY_ONLY_METRICS = (*RATE_METRICS, "precision", "roc_auc")
# the by-group metrics each gap compares, to tell which groups a gap rests on
DISPARITY_SOURCES: dict[str, tuple[str, ...]] = {
    "demographic_parity_difference": ("selection_rate",),
    "demographic_parity_ratio": ("selection_rate",),
    "equalized_odds_difference": ("true_positive_rate", "false_positive_rate"),
    "equalized_odds_ratio": ("true_positive_rate", "false_positive_rate"),
    "true_positive_rate_difference": ("true_positive_rate",),
    "false_positive_rate_difference": ("false_positive_rate",),
    "accuracy_difference": ("accuracy",),
    "accuracy_ratio": ("accuracy",),
    "mae_difference": ("mae",),
    "rmse_difference": ("rmse",),
}
# what a group must hold for a metric to be defined, for the warning when it does not
UNDEFINED_WHEN_NO = {
    "true_positive_rate": "actual positives",
    "false_positive_rate": "actual negatives",
    "precision": "predicted positives",
    "roc_auc": "rows of both classes",
}


Statistic = Callable[[np.ndarray], np.ndarray]
_METRICS: dict[str, dict[str, Statistic]] = {task: {} for task in TASKS}


def _metric(task: str, name: str) -> Callable[[Statistic], Statistic]:
    def register(function: Statistic) -> Statistic:
        _METRICS[task][name] = function
        return function

    return register


def _divide(top: np.ndarray, bottom: np.ndarray) -> np.ndarray:
    """top / bottom as floats, NaN where bottom is 0 (an undefined rate)."""
    top, bottom = np.asarray(top, dtype=float), np.asarray(bottom, dtype=float)
    out = np.full(np.broadcast(top, bottom).shape, math.nan)
    return np.divide(top, bottom, out=out, where=bottom > 0)


# binary statistics: confusion counts [..., (tn, fp, fn, tp)]
@_metric("binary", "selection_rate")
def _selection_rate(c: np.ndarray) -> np.ndarray:
    return _divide(c[..., 1] + c[..., 3], c.sum(axis=-1))


@_metric("binary", "true_positive_rate")
def _true_positive_rate(c: np.ndarray) -> np.ndarray:
    return _divide(c[..., 3], c[..., 3] + c[..., 2])


@_metric("binary", "false_positive_rate")
def _false_positive_rate(c: np.ndarray) -> np.ndarray:
    return _divide(c[..., 1], c[..., 1] + c[..., 0])


@_metric("binary", "accuracy")
def _binary_accuracy(c: np.ndarray) -> np.ndarray:
    return _divide(c[..., 0] + c[..., 3], c.sum(axis=-1))


@_metric("binary", "precision")
def _precision(c: np.ndarray) -> np.ndarray:
    return _divide(c[..., 3], c[..., 3] + c[..., 1])


# multiclass statistics: [..., (wrong, right)]
@_metric("multiclass", "accuracy")
def _multiclass_accuracy(c: np.ndarray) -> np.ndarray:
    return _divide(c[..., 1], c.sum(axis=-1))


# regression statistics: [..., (mean absolute error, mean squared error)]
@_metric("regression", "mae")
def _mae(s: np.ndarray) -> np.ndarray:
    return np.asarray(s[..., 0], dtype=float)


@_metric("regression", "rmse")
def _rmse(s: np.ndarray) -> np.ndarray:
    return np.sqrt(np.asarray(s[..., 1], dtype=float))


@dataclass(frozen=True)
class _Outcome:
    """Per row: a cell code (classification) or the errors (regression), and optional scores."""

    task: str
    cells: np.ndarray | None
    errors: np.ndarray | None  # (2, n): absolute and squared errors
    scores: np.ndarray | None
    positive: np.ndarray | None
    positive_label: Any

    @property
    def rows(self) -> int:
        source = self.cells if self.cells is not None else self.errors
        assert source is not None
        return int(source.shape[-1])


def _outcome(
    y_true: Any, y_pred: Any, *, task: str, y_score: Any, pos_label: Any
) -> tuple[_Outcome, list[str]]:
    truth, guess = _column(y_true), _column(y_pred)
    if len(truth) != len(guess):
        raise FairnessError(
            messages.ROW_MISMATCH.format(sensitive=len(truth), predicted=len(guess))
        )
    if len(truth) == 0:
        raise FairnessError(messages.NO_ROWS)
    if task == "regression":
        return _regression_outcome(truth, guess), []
    if task == "multiclass":
        cells = (truth == guess).astype(np.int64)
        notes = [] if y_score is None else [messages.NEEDS_BINARY_FOR_SCORES]
        return _Outcome(task, cells, None, None, None, None), notes
    positive = _positive_label(truth, guess, pos_label)
    hits, called = truth == positive, guess == positive
    cells = 2 * hits.astype(np.int64) + called.astype(np.int64)
    scores = _scores(y_score, len(truth))
    return _Outcome(task, cells, None, scores, hits, positive), []


def _column(values: Any) -> np.ndarray:
    array = np.asarray(values.to_numpy() if hasattr(values, "to_numpy") else values)
    return array.reshape(-1) if array.ndim > 1 and array.shape[-1] == 1 else array


def _regression_outcome(truth: np.ndarray, guess: np.ndarray) -> _Outcome:
    truth_f = np.asarray(truth, dtype=float)
    guess_f = np.asarray(guess, dtype=float)
    bad = ~(np.isfinite(truth_f) & np.isfinite(guess_f))
    if bad.any():
        raise FairnessError(messages.NOT_FINITE.format(count=int(bad.sum())))
    # same operand order as sklearn's mean_absolute_error / mean_squared_error
    difference = guess_f - truth_f
    errors = np.ascontiguousarray(np.vstack([np.abs(difference), difference**2]))
    return _Outcome("regression", None, errors, None, None, None)


def _positive_label(truth: np.ndarray, guess: np.ndarray, pos_label: Any) -> Any:
    try:
        labels = np.unique(np.concatenate([truth, guess]))
    except TypeError as error:  # labels of types that do not sort together
        raise FairnessError(messages.NEEDS_POSITIVE.format(labels="of mixed types")) from error
    if len(labels) > 2:
        shown = ", ".join(map(str, labels[:10].tolist()))
        raise FairnessError(messages.NOT_BINARY.format(count=len(labels), labels=shown))
    if pos_label is not None:
        if len(labels) == 2 and pos_label not in set(labels.tolist()):
            raise FairnessError(messages.UNKNOWN_POSITIVE.format(label=pos_label))
        return pos_label
    if len(labels) == 2:
        return labels[1].item() if isinstance(labels[1], np.generic) else labels[1]
    only = labels[0].item() if isinstance(labels[0], np.generic) else labels[0]
    if only in (0, 1):
        return 1
    raise FairnessError(messages.NEEDS_POSITIVE.format(labels=f"'{only}'"))


def _scores(y_score: Any, rows: int) -> np.ndarray | None:
    if y_score is None:
        return None
    scores = np.asarray(y_score, dtype=float)
    if scores.ndim == 2 and scores.shape[1] == 2:
        scores = scores[:, 1]
    if scores.shape != (rows,):
        raise FairnessError(messages.BAD_SCORES.format(rows=rows, shape=scores.shape))
    return scores


def _chosen_metrics(
    task: str, metrics: Sequence[str] | None, *, has_scores: bool
) -> tuple[tuple[str, ...], list[str]]:
    """The by-group metrics to compute, and any warning about ones a task cannot have."""
    if metrics is None and task == "multiclass":
        return ("accuracy",), [
            messages.BINARY_ONLY.format(metrics=messages.MULTICLASS_LEFT_OUT, task=task)
        ]
    if metrics is None:
        default = DEFAULT_METRICS[task]
        return (*default, "roc_auc") if has_scores and task == "binary" else default, []
    names = list(dict.fromkeys(metrics))
    known = (*CLASSIFICATION_METRICS, *REGRESSION_METRICS)
    for name in names:
        if name not in known:
            raise FairnessError(
                messages.UNKNOWN_METRIC.format(metric=name, choices=", ".join(known))
            )
    if task == "regression":
        wrong = [name for name in names if name in CLASSIFICATION_METRICS]
        if wrong:
            raise FairnessError(messages.CLASSIFICATION_ONLY.format(metrics=", ".join(wrong)))
        return tuple(names), []
    wrong = [name for name in names if name in REGRESSION_METRICS]
    if wrong:
        choices = ", ".join(CLASSIFICATION_METRICS)
        raise FairnessError(
            messages.REGRESSION_ONLY.format(metrics=", ".join(wrong), task=task, choices=choices)
        )
    if "roc_auc" in names and not has_scores and task == "binary":
        raise FairnessError(messages.NEEDS_SCORE)
    if task == "multiclass":
        dropped = [metric_in_sentence(name) for name in names if name in BINARY_ONLY_METRICS]
        left_out = ", ".join(dropped) if dropped else messages.MULTICLASS_LEFT_OUT
        left_out = left_out[:1].upper() + left_out[1:]
        return ("accuracy",), [messages.BINARY_ONLY.format(metrics=left_out, task=task)]
    return tuple(names), []


def _point_statistics(outcome: _Outcome, rows: np.ndarray) -> np.ndarray:
    if outcome.task == "regression":
        assert outcome.errors is not None
        # np.mean over a contiguous slice sums as sklearn's metrics do, so values match exactly
        return np.array([np.mean(outcome.errors[0, rows]), np.mean(outcome.errors[1, rows])])
    assert outcome.cells is not None
    return np.bincount(outcome.cells[rows], minlength=_cell_count(outcome.task))


def _cell_count(task: str) -> int:
    return 4 if task == "binary" else 2


def _score_cells(outcome: _Outcome, rows: np.ndarray) -> tuple[np.ndarray, int]:
    """Each row's cell (score level x class), and the number of score levels."""
    assert outcome.scores is not None and outcome.positive is not None
    levels, level_of = np.unique(outcome.scores[rows], return_inverse=True)
    return level_of.astype(np.int64) * 2 + outcome.positive[rows], len(levels)


def _auc(counts: np.ndarray) -> np.ndarray:
    """ROC AUC (ties count half) from (..., levels, 2) counts of negatives and positives."""
    negatives, positives = counts[..., 0].astype(float), counts[..., 1].astype(float)
    below = np.cumsum(negatives, axis=-1) - negatives
    area = (positives * (below + 0.5 * negatives)).sum(axis=-1)
    return _divide(area, positives.sum(axis=-1) * negatives.sum(axis=-1))


def _auc_of(outcome: _Outcome, rows: np.ndarray) -> float:
    cells, levels = _score_cells(outcome, rows)
    return float(_auc(np.bincount(cells, minlength=2 * levels).reshape(levels, 2)))


def _spread(values: np.ndarray) -> np.ndarray:
    """Largest minus smallest over groups (axis 0), skipping undefined groups, as fairlearn."""
    defined = np.isfinite(values)
    high = np.where(defined, values, -np.inf).max(axis=0)
    low = np.where(defined, values, np.inf).min(axis=0)
    return np.where(defined.any(axis=0), high - low, math.nan)


def _ratio(values: np.ndarray) -> np.ndarray:
    """Smallest over largest over groups (axis 0); undefined when the largest is 0."""
    defined = np.isfinite(values)
    high = np.where(defined, values, -np.inf).max(axis=0)
    low = np.where(defined, values, np.inf).min(axis=0)
    return _divide(np.where(np.isfinite(low), low, 0.0), np.where(np.isfinite(high), high, 0.0))


def _disparities(task: str, by_metric: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Each gap from the metrics by group (arrays of groups x any replicate axes)."""
    if task == "regression":
        return {f"{name}_difference": _spread(by_metric[name]) for name in REGRESSION_METRICS}
    if task == "multiclass":
        accuracy = by_metric["accuracy"]
        return {"accuracy_difference": _spread(accuracy), "accuracy_ratio": _ratio(accuracy)}
    selection = by_metric["selection_rate"]
    tpr, fpr = by_metric["true_positive_rate"], by_metric["false_positive_rate"]
    tpr_gap, fpr_gap = _spread(tpr), _spread(fpr)
    return {
        "demographic_parity_difference": _spread(selection),
        "demographic_parity_ratio": _ratio(selection),
        "equalized_odds_difference": np.fmax(tpr_gap, fpr_gap),
        "equalized_odds_ratio": np.fmin(_ratio(tpr), _ratio(fpr)),
        "true_positive_rate_difference": tpr_gap,
        "false_positive_rate_difference": fpr_gap,
    }
