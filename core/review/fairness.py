"""Fairness: metrics by sensitive group with bootstrap intervals, and the gaps between groups."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from core.data.schema import ColumnSchema

# Name fragments that mark a protected attribute. Short ones must be a whole word of the name
# ("age" matches age_band, not wage or mortgage); longer ones may start a word (ethnicity).
SENSITIVE_HINTS: tuple[str, ...] = (
    "sex",
    "gender",
    "age",
    "age_band",
    "race",
    "ethnic",
    "religio",
    "marital",
    "nationalit",
    "citizen",
    "disab",
    "pregnan",
    "orientation",
    "caste",
    "veteran",
    "immigra",
    "ancestr",
)
WHOLE_WORD_HINTS = frozenset({"sex", "age", "race"})
BAND_WORDS = ("band", "group", "range", "bucket", "bracket", "bin", "class", "cat")
SUGGESTED_ROLES = frozenset({"categorical", "boolean"})

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
METRIC_LABELS: dict[str, str] = {
    "selection_rate": "Selection rate",
    "true_positive_rate": "True positive rate",
    "false_positive_rate": "False positive rate",
    "accuracy": "Accuracy",
    "precision": "Precision",
    "roc_auc": "ROC AUC",
    "mae": "MAE",
    "rmse": "RMSE",
    "demographic_parity_difference": "Demographic parity difference",
    "demographic_parity_ratio": "Demographic parity ratio",
    "equalized_odds_difference": "Equalized odds difference",
    "equalized_odds_ratio": "Equalized odds ratio",
    "true_positive_rate_difference": "True positive rate difference",
    "false_positive_rate_difference": "False positive rate difference",
    "accuracy_difference": "Accuracy difference",
    "accuracy_ratio": "Accuracy ratio",
    "mae_difference": "MAE gap (max − min)",
    "rmse_difference": "RMSE gap (max − min)",
}
# what a group must hold for a metric to be defined, for the warning when it does not
UNDEFINED_WHEN_NO = {
    "true_positive_rate": "actual positives",
    "false_positive_rate": "actual negatives",
    "precision": "predicted positives",
    "roc_auc": "rows of both classes",
}
MISSING_GROUP = "(missing)"
GROUP_JOINER = " · "
FEATURE_JOINER = " × "
DISPARITY_KEY = "{name} ({feature})"
MIN_GROUP_ROWS = 10
MAX_GROUPS = 50
MAX_INTERSECTION_GROUPS = 200
# bootstrap weights are built in blocks of at most this many cells (replicates x rows)
BLOCK_CELLS = 2_000_000

NO_SENSITIVE = "Choose at least one sensitive feature to compare groups on."
NO_ROWS = "There are no rows to compare."
UNKNOWN_TASK = "The task must be one of {choices}, not {task!r}."
ROW_MISMATCH = (
    "The sensitive features have {sensitive} rows but there are {predicted} predictions; give "
    "one row of sensitive features per prediction."
)
SINGLE_GROUP = (
    "Sensitive feature {feature!r} has a single group ({group!r}), so there is nothing to "
    "compare. Pick another column."
)
TOO_MANY_GROUPS = (
    "Sensitive feature {feature!r} has {count} groups (more than {limit}). Pick a column of "
    "categories or bands, e.g. age_band rather than age."
)
CLASSIFICATION_ONLY = (
    "{metrics} are classification metrics, but this is a regression model; its groups are "
    "compared on MAE and RMSE."
)
REGRESSION_ONLY = (
    "{metrics} are regression metrics, but this is a {task} model; choose from {choices}."
)
UNKNOWN_METRIC = "There is no fairness metric called {metric!r}. Choose from: {choices}."
NEEDS_BINARY_FOR_SCORES = "ROC AUC by group needs a binary task; the scores were not used."
NEEDS_SCORE = "ROC AUC by group needs the model's scores (y_score) as well as its predictions."
NEEDS_POSITIVE = "Cannot tell which of the labels {labels} is the positive class; pass pos_label."
NOT_BINARY = "A binary task has two labels, but these predictions hold {count}: {labels}."
UNKNOWN_POSITIVE = "The positive label {label!r} is neither in the labels nor the predictions."
NOT_FINITE = "Regression fairness needs finite targets and predictions; {count} rows are missing."
BAD_CONFIDENCE = "The confidence must be between 0 and 1 (e.g. 0.95), not {value!r}."
BAD_N_BOOT = "n_boot must be 0 (no intervals) or more, not {value!r}."
BAD_SCORES = "y_score must hold one score per prediction ({rows}), not {shape}."
SMALL_GROUP = (
    "Group '{group}' of {feature} has {count} rows: its interval is wide; treat its numbers "
    "with care."
)
UNDEFINED_METRIC = "Group '{group}' of {feature} has no {what}, so its {metric} is undefined."
BINARY_ONLY = (
    "{metrics} and the demographic parity and equalized odds gaps need a binary task; this "
    "{task} model is compared by group on accuracy only."
)
MULTICLASS_LEFT_OUT = "Selection rate, true and false positive rates, precision"
TOO_MANY_INTERSECTIONS = (
    "{feature} makes {count} groups (more than {limit}), so intersectional groups are left out."
)


class FairnessError(ValueError):
    """A fairness question that cannot be answered as asked; the message says what to change."""


# -- suggesting sensitive features -----------------------------------------------------------


_NAME_TOKEN = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")


def _words(name: str) -> list[str]:
    return [word.lower() for word in _NAME_TOKEN.findall(name)]


def sensitive_hint(name: str) -> str | None:
    """The hint a column name matches (``age_band`` → ``age``), or None."""
    for word in _words(name):
        for hint in SENSITIVE_HINTS:
            if word == hint or (hint not in WHOLE_WORD_HINTS and word.startswith(hint)):
                return hint
    return None


def _is_band_of_age(column: ColumnSchema) -> bool:
    """age_band, AgeGroup, agebracket... but not mortgage_category."""
    words = _words(column.name)
    banded = "age" in words and any(word in BAND_WORDS for word in words)
    joined = any(word.startswith("age") and word[3:] in BAND_WORDS for word in words)
    return column.role in SUGGESTED_ROLES and (banded or joined)


def suggest_sensitive_features(schema: list[ColumnSchema]) -> list[str]:
    """Columns that look like protected attributes, in schema order; the user edits the list.

    Categorical and boolean columns are suggested by name. A numeric age has too many values
    to compare groups on, so it suggests the age band column when the table has one.
    """
    chosen: list[str] = []
    for column in schema:
        hint = sensitive_hint(column.name)
        if hint is None:
            continue
        if column.role in SUGGESTED_ROLES:
            chosen.append(column.name)
        elif column.role == "numeric" and hint == "age":
            chosen.extend(other.name for other in schema if _is_band_of_age(other))
    return list(dict.fromkeys(chosen))


# -- results ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class GroupMetrics:
    """One group of one sensitive feature (or of an intersection) and its metrics."""

    feature: str
    group: str
    count: int
    metrics: dict[str, float]
    intervals: dict[str, tuple[float, float]]
    small: bool

    def to_dict(self) -> dict[str, Any]:
        return _json_ready(
            {
                "feature": self.feature,
                "group": self.group,
                "count": self.count,
                "metrics": self.metrics,
                "intervals": {name: list(pair) for name, pair in self.intervals.items()},
                "small": self.small,
            }
        )


@dataclass(frozen=True)
class FairnessReport:
    """Metrics by group for each sensitive feature (and their intersection), and the gaps.

    ``disparities`` is flat, keyed ``"demographic_parity_difference (sex)"`` (see
    ``disparity_key``); ``by_feature`` holds the same values keyed by feature (``"sex"``, or
    ``"sex × age_band"`` for the intersection), then by disparity name, and
    ``intervals_by_feature`` their bootstrap intervals.
    """

    task: str
    features: tuple[str, ...]
    metrics: tuple[str, ...]
    overall: dict[str, float]
    groups: tuple[GroupMetrics, ...]
    disparities: dict[str, float]
    disparity_intervals: dict[str, tuple[float, float]]
    by_feature: dict[str, dict[str, float]]
    intervals_by_feature: dict[str, dict[str, tuple[float, float]]]
    warnings: tuple[str, ...]
    positive_label: str | None
    n_boot: int
    confidence: float

    @property
    def partitions(self) -> tuple[str, ...]:
        """Each sensitive feature, then the intersection when there is one."""
        return tuple(dict.fromkeys(group.feature for group in self.groups))

    def groups_of(self, feature: str) -> tuple[GroupMetrics, ...]:
        return tuple(group for group in self.groups if group.feature == feature)

    def disparities_of(self, feature: str) -> dict[str, float]:
        """The gaps between the groups of one feature (or ``"a × b"``), by disparity name."""
        return dict(self.by_feature.get(feature, {}))

    def to_dict(self) -> dict[str, Any]:
        return {
            **_json_ready(
                {
                    "task": self.task,
                    "features": list(self.features),
                    "partitions": list(self.partitions),
                    "metrics": list(self.metrics),
                    "positive_label": self.positive_label,
                    "n_boot": self.n_boot,
                    "confidence": self.confidence,
                    "overall": self.overall,
                    "disparities": self.disparities,
                    "disparity_intervals": {
                        key: list(pair) for key, pair in self.disparity_intervals.items()
                    },
                    "by_feature": self.by_feature,
                    "intervals_by_feature": {
                        feature: {name: list(pair) for name, pair in values.items()}
                        for feature, values in self.intervals_by_feature.items()
                    },
                    "warnings": list(self.warnings),
                }
            ),
            "groups": [group.to_dict() for group in self.groups],
        }


def disparity_key(name: str, feature: str) -> str:
    """A flat disparities key: ``demographic_parity_difference (sex)``."""
    return DISPARITY_KEY.format(name=name, feature=feature)


def _json_ready(value: Any) -> Any:
    """Plain Python: NaN and infinities become None, numpy scalars become numbers."""
    if isinstance(value, dict):
        return {str(key): _json_ready(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_ready(item) for item in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


# -- metrics: each a function of a group's statistics, for one row or a block of replicates ----

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


# -- the rows, reduced to what the metrics read ----------------------------------------------


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
        raise FairnessError(ROW_MISMATCH.format(sensitive=len(truth), predicted=len(guess)))
    if len(truth) == 0:
        raise FairnessError(NO_ROWS)
    if task == "regression":
        return _regression_outcome(truth, guess), []
    if task == "multiclass":
        cells = (truth == guess).astype(np.int64)
        notes = [] if y_score is None else [NEEDS_BINARY_FOR_SCORES]
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
        raise FairnessError(NOT_FINITE.format(count=int(bad.sum())))
    # same operand order as sklearn's mean_absolute_error / mean_squared_error
    difference = guess_f - truth_f
    errors = np.ascontiguousarray(np.vstack([np.abs(difference), difference**2]))
    return _Outcome("regression", None, errors, None, None, None)


def _positive_label(truth: np.ndarray, guess: np.ndarray, pos_label: Any) -> Any:
    try:
        labels = np.unique(np.concatenate([truth, guess]))
    except TypeError as error:  # labels of types that do not sort together
        raise FairnessError(NEEDS_POSITIVE.format(labels="of mixed types")) from error
    if len(labels) > 2:
        shown = ", ".join(map(str, labels[:10].tolist()))
        raise FairnessError(NOT_BINARY.format(count=len(labels), labels=shown))
    if pos_label is not None:
        if len(labels) == 2 and pos_label not in set(labels.tolist()):
            raise FairnessError(UNKNOWN_POSITIVE.format(label=pos_label))
        return pos_label
    if len(labels) == 2:
        return labels[1].item() if isinstance(labels[1], np.generic) else labels[1]
    only = labels[0].item() if isinstance(labels[0], np.generic) else labels[0]
    if only in (0, 1):
        return 1
    raise FairnessError(NEEDS_POSITIVE.format(labels=[only]))


def _scores(y_score: Any, rows: int) -> np.ndarray | None:
    if y_score is None:
        return None
    scores = np.asarray(y_score, dtype=float)
    if scores.ndim == 2 and scores.shape[1] == 2:
        scores = scores[:, 1]
    if scores.shape != (rows,):
        raise FairnessError(BAD_SCORES.format(rows=rows, shape=scores.shape))
    return scores


# -- choosing metrics -------------------------------------------------------------------------


def _chosen_metrics(
    task: str, metrics: Sequence[str] | None, *, has_scores: bool
) -> tuple[tuple[str, ...], list[str]]:
    """The by-group metrics to compute, and any warning about ones a task cannot have."""
    if metrics is None and task == "multiclass":
        return ("accuracy",), [BINARY_ONLY.format(metrics=MULTICLASS_LEFT_OUT, task=task)]
    if metrics is None:
        default = DEFAULT_METRICS[task]
        return (*default, "roc_auc") if has_scores and task == "binary" else default, []
    names = list(dict.fromkeys(metrics))
    known = (*CLASSIFICATION_METRICS, *REGRESSION_METRICS)
    for name in names:
        if name not in known:
            raise FairnessError(UNKNOWN_METRIC.format(metric=name, choices=", ".join(known)))
    if task == "regression":
        wrong = [name for name in names if name in CLASSIFICATION_METRICS]
        if wrong:
            raise FairnessError(CLASSIFICATION_ONLY.format(metrics=", ".join(wrong)))
        return tuple(names), []
    wrong = [name for name in names if name in REGRESSION_METRICS]
    if wrong:
        choices = ", ".join(CLASSIFICATION_METRICS)
        raise FairnessError(
            REGRESSION_ONLY.format(metrics=", ".join(wrong), task=task, choices=choices)
        )
    if "roc_auc" in names and not has_scores and task == "binary":
        raise FairnessError(NEEDS_SCORE)
    if task == "multiclass":
        dropped = [_in_sentence(name) for name in names if name in BINARY_ONLY_METRICS]
        left_out = ", ".join(dropped) if dropped else MULTICLASS_LEFT_OUT
        left_out = left_out[:1].upper() + left_out[1:]
        return ("accuracy",), [BINARY_ONLY.format(metrics=left_out, task=task)]
    return tuple(names), []


# -- groups ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Partition:
    """One way of splitting the rows: a feature or an intersection, its group labels and rows."""

    feature: str
    labels: tuple[str, ...]
    rows: tuple[np.ndarray, ...]


def _sensitive_frame(sensitive: Any, *, rows: int) -> pd.DataFrame:
    frame = sensitive.to_frame() if isinstance(sensitive, pd.Series) else pd.DataFrame(sensitive)
    if frame.shape[1] == 0:
        raise FairnessError(NO_SENSITIVE)
    if len(frame) != rows:
        raise FairnessError(ROW_MISMATCH.format(sensitive=len(frame), predicted=rows))
    frame.columns = [str(name) for name in frame.columns]
    return frame.reset_index(drop=True)


def group_labels(column: pd.Series) -> pd.Series:
    """A sensitive column as group names: text, with missing values as ``(missing)``."""
    text = column.astype(object).map(str)
    return text.where(column.notna(), MISSING_GROUP)


def _codes(column: pd.Series) -> tuple[np.ndarray, list[str]]:
    codes, uniques = pd.factorize(group_labels(column), sort=True)
    return codes.astype(np.int64), [str(value) for value in uniques]


def _rows_by_code(codes: np.ndarray, count: int) -> tuple[np.ndarray, ...]:
    order = np.argsort(codes, kind="stable")
    bounds = np.cumsum(np.bincount(codes, minlength=count))[:-1]
    return tuple(np.split(order, bounds))


def _partitions(frame: pd.DataFrame, *, intersectional: bool) -> tuple[list[_Partition], list[str]]:
    partitions: list[_Partition] = []
    coded: list[tuple[np.ndarray, list[str]]] = []
    for feature in frame.columns:
        codes, labels = _codes(frame[feature])
        if len(labels) == 1:
            raise FairnessError(SINGLE_GROUP.format(feature=feature, group=labels[0]))
        if len(labels) > MAX_GROUPS:
            raise FairnessError(
                TOO_MANY_GROUPS.format(feature=feature, count=len(labels), limit=MAX_GROUPS)
            )
        coded.append((codes, labels))
        partitions.append(_Partition(feature, tuple(labels), _rows_by_code(codes, len(labels))))
    notes: list[str] = []
    if intersectional and len(coded) > 1:
        joined = _intersection(list(frame.columns), coded)
        if len(joined.labels) > MAX_INTERSECTION_GROUPS:
            notes.append(
                TOO_MANY_INTERSECTIONS.format(
                    feature=joined.feature,
                    count=len(joined.labels),
                    limit=MAX_INTERSECTION_GROUPS,
                )
            )
        else:
            partitions.append(joined)
    return partitions, notes


def _intersection(features: list[str], coded: list[tuple[np.ndarray, list[str]]]) -> _Partition:
    """The groups present in the data, ordered as a groupby over all the features orders them."""
    key = np.zeros(len(coded[0][0]), dtype=np.int64)
    for codes, labels in coded:
        key = key * len(labels) + codes
    combined, uniques = pd.factorize(key, sort=True)
    names = []
    for value in uniques.tolist():
        parts = []
        for _, labels in reversed(coded):
            value, index = divmod(value, len(labels))
            parts.append(labels[index])
        names.append(GROUP_JOINER.join(reversed(parts)))
    rows = _rows_by_code(combined.astype(np.int64), len(names))
    return _Partition(FEATURE_JOINER.join(features), tuple(names), rows)


# -- statistics: point estimates and bootstrap replicates -------------------------------------


def _point_statistics(outcome: _Outcome, rows: np.ndarray) -> np.ndarray:
    if outcome.task == "regression":
        assert outcome.errors is not None
        # np.mean over a contiguous slice sums as sklearn's metrics do, so values match exactly
        return np.array([np.mean(outcome.errors[0, rows]), np.mean(outcome.errors[1, rows])])
    assert outcome.cells is not None
    return np.bincount(outcome.cells[rows], minlength=_cell_count(outcome.task))


def _cell_count(task: str) -> int:
    return 4 if task == "binary" else 2


def _replicate_statistics(
    outcome: _Outcome, rows: np.ndarray, *, n_boot: int, rng: np.random.Generator
) -> np.ndarray:
    """(n_boot, k) statistics of the group's rows resampled with replacement n_boot times.

    Resampling rows of a classification group only changes how many fall in each confusion
    cell, so the cell counts are drawn at once from the multinomial they follow; regression
    needs each row's weight, drawn in blocks so memory stays bounded.
    """
    size = len(rows)
    if outcome.task != "regression":
        assert outcome.cells is not None
        counts = np.bincount(outcome.cells[rows], minlength=_cell_count(outcome.task))
        return rng.multinomial(size, counts / size, size=n_boot)
    assert outcome.errors is not None
    errors = np.ascontiguousarray(outcome.errors[:, rows].T)
    return np.vstack(
        [weights @ errors / size for weights in _resampling_weights(rng, size, n_boot)]
    )


def _resampling_weights(rng: np.random.Generator, size: int, n_boot: int) -> list[np.ndarray]:
    """Blocks of (replicates, size) counts: how often each row is drawn in each replicate."""
    per_block = max(1, BLOCK_CELLS // max(size, 1))
    blocks = []
    for start in range(0, n_boot, per_block):
        count = min(per_block, n_boot - start)
        picks = rng.integers(0, size, size=(count, size)) + size * np.arange(count)[:, None]
        blocks.append(
            np.bincount(picks.ravel(), minlength=count * size).reshape(count, size).astype(float)
        )
    return blocks


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


def _auc_replicates(
    outcome: _Outcome, rows: np.ndarray, *, n_boot: int, rng: np.random.Generator
) -> np.ndarray:
    """AUC of n_boot resamples: only the counts per (score level, class) cell matter."""
    cells, levels = _score_cells(outcome, rows)
    size, width = len(rows), 2 * levels
    per_block = max(1, BLOCK_CELLS // max(size, 1))
    values = []
    for start in range(0, n_boot, per_block):
        count = min(per_block, n_boot - start)
        keys = cells[rng.integers(0, size, size=(count, size))]
        keys += width * np.arange(count)[:, None]
        counts = np.bincount(keys.ravel(), minlength=count * width)
        values.append(_auc(counts.reshape(count, levels, 2)))
    return np.concatenate(values)


# -- disparities -----------------------------------------------------------------------------


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


def _interval(samples: np.ndarray, confidence: float) -> tuple[float, float]:
    finite = samples[np.isfinite(samples)]
    if finite.size == 0:
        return (math.nan, math.nan)
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(finite, [tail, 1.0 - tail])
    return (float(low), float(high))


# -- the report ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _PartitionResult:
    groups: list[GroupMetrics]
    disparities: dict[str, float]
    intervals: dict[str, tuple[float, float]]
    warnings: list[str]


def _partition_result(
    partition: _Partition,
    outcome: _Outcome,
    *,
    shown: tuple[str, ...],
    n_boot: int,
    confidence: float,
    rng: np.random.Generator,
) -> _PartitionResult:
    registry = _METRICS[outcome.task]
    points = np.array([_point_statistics(outcome, rows) for rows in partition.rows])
    point_metrics = {name: function(points) for name, function in registry.items()}
    boots = None
    if n_boot:
        replicates = [
            _replicate_statistics(outcome, rows, n_boot=n_boot, rng=rng) for rows in partition.rows
        ]
        boots = {name: function(np.array(replicates)) for name, function in registry.items()}
    if "roc_auc" in shown:
        point_metrics["roc_auc"] = np.array(
            [_auc_of(outcome, rows) for rows in partition.rows], dtype=float
        )
        if boots is not None:
            boots["roc_auc"] = np.array(
                [_auc_replicates(outcome, rows, n_boot=n_boot, rng=rng) for rows in partition.rows]
            )
    groups, notes = _groups(partition, point_metrics, boots, shown=shown, confidence=confidence)
    disparities = {
        name: float(value) for name, value in _disparities(outcome.task, point_metrics).items()
    }
    intervals = {}
    if boots is not None:
        intervals = {
            name: _interval(samples, confidence)
            for name, samples in _disparities(outcome.task, boots).items()
        }
    return _PartitionResult(groups, disparities, intervals, notes)


def _groups(
    partition: _Partition,
    points: dict[str, np.ndarray],
    boots: dict[str, np.ndarray] | None,
    *,
    shown: tuple[str, ...],
    confidence: float,
) -> tuple[list[GroupMetrics], list[str]]:
    groups, notes = [], []
    for index, (label, rows) in enumerate(zip(partition.labels, partition.rows, strict=True)):
        values = {name: float(points[name][index]) for name in shown}
        intervals = (
            {name: _interval(boots[name][index], confidence) for name in shown} if boots else {}
        )
        small = len(rows) < MIN_GROUP_ROWS
        if small:
            notes.append(
                SMALL_GROUP.format(group=label, feature=partition.feature, count=len(rows))
            )
        notes.extend(
            UNDEFINED_METRIC.format(
                group=label, feature=partition.feature, what=what, metric=_in_sentence(name)
            )
            for name, what in UNDEFINED_WHEN_NO.items()
            if name in values and math.isnan(values[name])
        )
        groups.append(GroupMetrics(partition.feature, label, len(rows), values, intervals, small))
    return groups, notes


def _in_sentence(name: str) -> str:
    """A metric's label inside a sentence: "true positive rate", but "ROC AUC" as it is."""
    label = METRIC_LABELS.get(name, name)
    return label if label[1:2].isupper() else label[:1].lower() + label[1:]


def _overall(outcome: _Outcome, shown: tuple[str, ...]) -> dict[str, float]:
    every = np.arange(outcome.rows)
    statistics = _point_statistics(outcome, every)
    values = {
        name: float(_METRICS[outcome.task][name](statistics)) for name in shown if name != "roc_auc"
    }
    if "roc_auc" in shown:
        values["roc_auc"] = _auc_of(outcome, every)
    return {name: values[name] for name in shown}


def _check_options(task: str, n_boot: int, confidence: float) -> None:
    if task not in TASKS:
        raise FairnessError(UNKNOWN_TASK.format(choices=", ".join(TASKS), task=task))
    if not isinstance(n_boot, int | np.integer) or n_boot < 0:
        raise FairnessError(BAD_N_BOOT.format(value=n_boot))
    if not 0.0 < confidence < 1.0:
        raise FairnessError(BAD_CONFIDENCE.format(value=confidence))


def fairness_report(
    y_true: Any,
    y_pred: Any,
    *,
    sensitive: pd.DataFrame,
    task: str,
    y_score: Any = None,
    metrics: Sequence[str] | None = None,
    pos_label: Any = None,
    n_boot: int = 200,
    confidence: float = 0.95,
    seed: int = 0,
    intersectional: bool = True,
) -> FairnessReport:
    """Metrics by group for each sensitive column (and their intersection), with the gaps.

    Point estimates equal fairlearn's ``MetricFrame.by_group`` and the gaps its
    ``demographic_parity_*`` and ``equalized_odds_*`` functions, except that a rate with no rows
    to divide by (a group without actual positives has no true positive rate) is NaN and
    skipped, where fairlearn reports 0. Intervals are percentile bootstrap intervals: each
    group's rows are resampled ``n_boot`` times (stratified by group, so every replicate holds
    every group), and a gap's interval comes from the same replicates of all its groups.
    Binary metrics take ``pos_label`` as the positive class (default: the second of the sorted
    labels, as sklearn's ``classes_``); ``y_score`` adds ROC AUC by group.
    """
    _check_options(task, n_boot, confidence)
    outcome, notes = _outcome(y_true, y_pred, task=task, y_score=y_score, pos_label=pos_label)
    frame = _sensitive_frame(sensitive, rows=outcome.rows)
    shown, more = _chosen_metrics(task, metrics, has_scores=outcome.scores is not None)
    partitions, skipped = _partitions(frame, intersectional=intersectional)
    streams = np.random.SeedSequence(seed).spawn(len(partitions))
    groups: list[GroupMetrics] = []
    disparities: dict[str, dict[str, float]] = {}
    intervals: dict[str, dict[str, tuple[float, float]]] = {}
    warnings = [*notes, *more, *skipped]
    for partition, stream in zip(partitions, streams, strict=True):
        result = _partition_result(
            partition,
            outcome,
            shown=shown,
            n_boot=n_boot,
            confidence=confidence,
            rng=np.random.default_rng(stream),
        )
        groups.extend(result.groups)
        disparities[partition.feature] = result.disparities
        intervals[partition.feature] = result.intervals
        warnings.extend(result.warnings)
    positive = outcome.positive_label
    return FairnessReport(
        task=task,
        features=tuple(frame.columns),
        metrics=shown,
        overall=_overall(outcome, shown),
        groups=tuple(groups),
        disparities={
            disparity_key(name, feature): value
            for feature, values in disparities.items()
            for name, value in values.items()
        },
        disparity_intervals={
            disparity_key(name, feature): pair
            for feature, values in intervals.items()
            for name, pair in values.items()
        },
        by_feature=disparities,
        intervals_by_feature=intervals,
        warnings=tuple(dict.fromkeys(warnings)),
        positive_label=None if positive is None else str(positive),
        n_boot=int(n_boot),
        confidence=float(confidence),
    )
