"""The FairnessReport dataclasses and fairness_report, which assembles one."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from core.review.fairness.bootstrap import _auc_replicates, _interval, _replicate_statistics
from core.review.fairness.counts import MIN_COUNT, Basis, GroupCounts, basis, group_counts
from core.review.fairness.groups import MIN_GROUP_ROWS, _Partition, _partitions, _sensitive_frame
from core.review.fairness.messages import (
    BAD_CONFIDENCE,
    BAD_N_BOOT,
    RESTS_ON,
    SMALL_GROUP,
    TOO_FEW,
    TOO_FEW_EXAMPLE,
    UNDEFINED_METRIC,
    UNKNOWN_TASK,
    FairnessError,
)
from core.review.fairness.metrics import (
    _METRICS,
    DISPARITY_SOURCES,
    TASKS,
    UNDEFINED_WHEN_NO,
    _auc_of,
    _chosen_metrics,
    _disparities,
    _Outcome,
    _outcome,
    _point_statistics,
)
from core.words import metric_in_sentence

DISPARITY_KEY = "{name} ({feature})"
_EXAMPLES = 4


@dataclass(frozen=True)
class GroupMetrics:
    """One group of one sensitive feature (or of an intersection) and its metrics.

    ``counts`` holds the rows behind the metrics (None in reviews saved before they were
    kept); ``basis`` and ``too_few`` read them (see core.review.fairness.counts).
    """

    feature: str
    group: str
    count: int
    metrics: dict[str, float]
    intervals: dict[str, tuple[float, float]]
    small: bool
    counts: GroupCounts | None = None

    def basis(self, metric: str) -> Basis | None:
        """What the group's ``metric`` rests on, in words; None without counts."""
        return None if self.counts is None else basis(metric, self.counts)

    def too_few(self, metric: str) -> bool:
        """Whether ``metric`` rests on too few rows (without counts: whether the group is small)."""
        found = self.basis(metric)
        return self.small if found is None else found.too_few

    def shortfall(self, metric: str) -> str:
        """The count that falls short, in words: ``only 2 predicted positives``."""
        found = self.basis(metric)
        return (found.shortfall if found else None) or f"only {self.count:,} rows"

    def to_dict(self) -> dict[str, Any]:
        found: dict[str, Any] = {
            "feature": self.feature,
            "group": self.group,
            "count": self.count,
            "metrics": self.metrics,
            "intervals": {name: list(pair) for name, pair in self.intervals.items()},
            "small": self.small,
        }
        if self.counts is not None:  # a review saved before counts were kept reads back as it was
            found["counts"] = self.counts.to_dict()
            found["too_few"] = [name for name in self.metrics if self.too_few(name)]
        return _json_ready(found)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GroupMetrics:
        """The inverse of ``to_dict``: a None (a non-finite number in JSON) is NaN again."""
        return cls(
            feature=str(data["feature"]),
            group=str(data["group"]),
            count=int(data["count"]),
            metrics=_numbers(data.get("metrics") or {}),
            intervals=_pairs(data.get("intervals") or {}),
            small=bool(data.get("small", False)),
            counts=GroupCounts.from_dict(data["counts"]) if data.get("counts") else None,
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

    def caution(self, feature: str, disparity: str) -> str | None:
        """Why a gap is shaky, or None: it rests on a group (the highest or lowest of a metric
        it compares) whose figure rests on too few rows."""
        groups = self.groups_of(feature)
        for metric in DISPARITY_SOURCES.get(disparity, ()):
            values = [(group, _metric_value(group, metric)) for group in groups]
            defined = [(group, value) for group, value in values if math.isfinite(value)]
            if not defined:
                continue
            ends = {min(value for _, value in defined), max(value for _, value in defined)}
            for group, value in defined:
                if value in ends and group.too_few(metric):
                    return RESTS_ON.format(group=group.group, shortfall=group.shortfall(metric))
        return None

    def cautions(self) -> dict[str, dict[str, str]]:
        """Each shaky gap's caution, by feature then disparity name."""
        found: dict[str, dict[str, str]] = {}
        for feature, values in self.by_feature.items():
            for name in values:
                why = self.caution(feature, name)
                if why:
                    found.setdefault(feature, {})[name] = why
        return found

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
            **self._cautions_dict(),
        }

    def _cautions_dict(self) -> dict[str, Any]:
        """Reviews saved before counts were kept read back without this key, as they were."""
        if not self.groups or any(group.counts is None for group in self.groups):
            return {}
        return {"cautions": self.cautions()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FairnessReport:
        """The inverse of ``to_dict`` (``partitions`` follows from the groups); a None (a
        non-finite number in JSON) is NaN again, an interval a pair."""
        return cls(
            task=str(data["task"]),
            features=tuple(data.get("features") or ()),
            metrics=tuple(data.get("metrics") or ()),
            overall=_numbers(data.get("overall") or {}),
            groups=tuple(GroupMetrics.from_dict(group) for group in data.get("groups") or ()),
            disparities=_numbers(data.get("disparities") or {}),
            disparity_intervals=_pairs(data.get("disparity_intervals") or {}),
            by_feature={
                feature: _numbers(values)
                for feature, values in (data.get("by_feature") or {}).items()
            },
            intervals_by_feature={
                feature: _pairs(values)
                for feature, values in (data.get("intervals_by_feature") or {}).items()
            },
            warnings=tuple(data.get("warnings") or ()),
            positive_label=data.get("positive_label"),
            n_boot=int(data.get("n_boot") or 0),
            confidence=float(data.get("confidence", 0.95)),
        )


def _number(value: Any) -> float:
    return math.nan if value is None else float(value)


def _metric_value(group: GroupMetrics, metric: str) -> float:
    """The group's metric, or for a rate the report did not show, the rate from its counts."""
    value = group.metrics.get(metric)
    if value is not None:
        return float(value)
    counts = group.counts
    if counts is None:
        return math.nan
    parts = {
        "selection_rate": (counts.predicted_positives, counts.rows),
        "true_positive_rate": (counts.true_positives, counts.actual_positives),
        "false_positive_rate": (counts.false_positives, counts.actual_negatives),
        "accuracy": (counts.correct, counts.rows),
    }
    part, whole = parts.get(metric, (None, None))
    return part / whole if part is not None and whole else math.nan


def _numbers(values: dict[str, Any]) -> dict[str, float]:
    return {str(name): _number(value) for name, value in values.items()}


def _pairs(values: dict[str, Any]) -> dict[str, tuple[float, float]]:
    return {str(name): (_number(pair[0]), _number(pair[1])) for name, pair in values.items()}


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
    counts = [
        group_counts(outcome.task, statistics, len(rows))
        for statistics, rows in zip(points, partition.rows, strict=True)
    ]
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
    groups, notes = _groups(
        partition, point_metrics, boots, counts, shown=shown, confidence=confidence
    )
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
    counts: list[GroupCounts],
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
                group=label, feature=partition.feature, what=what, metric=metric_in_sentence(name)
            )
            for name, what in UNDEFINED_WHEN_NO.items()
            if name in values and math.isnan(values[name])
        )
        groups.append(
            GroupMetrics(
                partition.feature, label, len(rows), values, intervals, small, counts[index]
            )
        )
    too_few = _too_few_note(partition.feature, groups)
    return groups, notes + ([too_few] if too_few else [])


def _too_few_note(feature: str, groups: list[GroupMetrics]) -> str | None:
    """One sentence for the groups whose defined figures rest on too few rows; groups under
    MIN_GROUP_ROWS rows have their own sentence already."""
    examples = []
    for group in groups:
        shaky = [
            name
            for name, value in group.metrics.items()
            if math.isfinite(value) and group.too_few(name)
        ]
        if shaky and not group.small:
            examples.append((group, shaky))
    if not examples:
        return None
    shown = [
        TOO_FEW_EXAMPLE.format(
            group=group.group,
            metrics=_words([metric_in_sentence(name) for name in shaky]),
            shortfall=_words(list(dict.fromkeys(group.shortfall(name) for name in shaky))),
        )
        for group, shaky in examples[:_EXAMPLES]
    ]
    more = len(examples) - _EXAMPLES
    if more > 0:
        shown.append(f"{more} more group{'s' if more > 1 else ''}")
    figures = sum(len(shaky) for _, shaky in examples)
    count = "1 figure" if figures == 1 else f"{figures} figures"
    return TOO_FEW.format(
        feature=feature, count=count, minimum=MIN_COUNT, examples="; ".join(shown)
    )


def _words(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


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
