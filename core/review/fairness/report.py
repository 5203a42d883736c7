"""The FairnessReport dataclasses and fairness_report, which assembles one."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from core.review.fairness.bootstrap import _auc_replicates, _interval, _replicate_statistics
from core.review.fairness.groups import MIN_GROUP_ROWS, _Partition, _partitions, _sensitive_frame
from core.review.fairness.messages import (
    BAD_CONFIDENCE,
    BAD_N_BOOT,
    SMALL_GROUP,
    UNDEFINED_METRIC,
    UNKNOWN_TASK,
    FairnessError,
)
from core.review.fairness.metrics import (
    _METRICS,
    TASKS,
    UNDEFINED_WHEN_NO,
    _auc_of,
    _chosen_metrics,
    _disparities,
    _in_sentence,
    _Outcome,
    _outcome,
    _point_statistics,
)

DISPARITY_KEY = "{name} ({feature})"


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
