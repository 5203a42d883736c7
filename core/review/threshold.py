"""A binary classifier's decision threshold: the trade-off on its holdout, a suggestion, and the
chosen cut-off kept with the version, which every way of scoring then uses."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from core.auth import Permission
from core.auth.access import authorized_actor
from core.store import audit, connect, models
from core.store.models import ModelVersion

MAX_POINTS = 400  # thresholds kept for the chart; suggestions are found on every one
NOT_BINARY = "{label} is a {task} model; a decision threshold applies only to a binary classifier."
OUT_OF_RANGE = "A threshold is a probability between 0 and 1 (not included); got {value}."
APPROVED = (
    "{label} is approved with its threshold ({current}); an approved version's answers do not "
    "change. Register the run again as a new version to serve another threshold."
)
BAD_COSTS = "Costs must be positive numbers; got {fp} for a false alarm and {fn} for a miss."
DEFAULT_BASIS = "the most probable class (0.5)"


@dataclass(frozen=True)
class ThresholdPoint:
    """What the model does on the holdout at one threshold."""

    threshold: float
    predicted_positive: int
    true_positive: int
    false_positive: int
    false_negative: int
    precision: float
    recall: float
    f1: float

    def cost(self, *, false_alarm: float, miss: float) -> float:
        return false_alarm * self.false_positive + miss * self.false_negative

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass(frozen=True)
class ThresholdCurve:
    """Every threshold worth telling apart on the holdout (each distinct score), highest
    first, with the classes it decides between."""

    positive: Any
    negative: Any
    rows: int
    positives: int
    points: tuple[ThresholdPoint, ...]

    def at(self, threshold: float) -> ThresholdPoint:
        """The holdout's counts when rows scoring ``threshold`` or more are called positive."""
        reached = [point for point in self.points if point.threshold >= threshold]
        if reached:
            return replace(reached[-1], threshold=threshold)
        return _point(threshold, 0, 0, self.positives)

    def best_f1(self) -> ThresholdPoint:
        return max(self.points, key=lambda point: (point.f1, -point.threshold))

    def least_cost(self, *, false_alarm: float, miss: float) -> ThresholdPoint:
        if not (false_alarm > 0 and miss > 0):
            raise ValueError(BAD_COSTS.format(fp=false_alarm, fn=miss))
        return min(self.points, key=lambda p: (p.cost(false_alarm=false_alarm, miss=miss), -p.f1))

    def shown(self) -> tuple[ThresholdPoint, ...]:
        """At most MAX_POINTS points, evenly spread, for a chart."""
        if len(self.points) <= MAX_POINTS:
            return self.points
        keep = np.unique(np.linspace(0, len(self.points) - 1, MAX_POINTS).round().astype(int))
        return tuple(self.points[i] for i in keep)


def threshold_curve(truth: Any, scores: Any, *, positive: Any, negative: Any) -> ThresholdCurve:
    """The holdout's counts at every distinct score used as the threshold (exact, one sort)."""
    hits = np.asarray(truth) == positive
    scores = np.asarray(scores, dtype=float)
    order = np.argsort(-scores, kind="stable")
    ordered, hits = scores[order], hits[order]
    true_positive = np.cumsum(hits)
    # the last row of each run of equal scores: rows scoring at least that much are called positive
    ends = np.r_[np.flatnonzero(np.diff(ordered) != 0), len(ordered) - 1] if len(ordered) else []
    positives = int(hits.sum())
    points = tuple(
        _point(float(ordered[end]), int(end) + 1, int(true_positive[end]), positives)
        for end in ends
    )
    return ThresholdCurve(positive, negative, len(scores), positives, points)


def _point(threshold: float, called: int, caught: int, positives: int) -> ThresholdPoint:
    precision = caught / called if called else 0.0
    recall = caught / positives if positives else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return ThresholdPoint(
        threshold=threshold,
        predicted_positive=called,
        true_positive=caught,
        false_positive=called - caught,
        false_negative=positives - caught,
        precision=precision,
        recall=recall,
        f1=f1,
    )


def holdout_curve(home: Path, version: ModelVersion) -> ThresholdCurve:
    """The version's trade-off on the exact holdout its run was evaluated on."""
    from core.train.registry import load_model_version
    from core.train.tracking import get_run
    from core.train.training import holdout_for_run

    run = get_run(home, version.run_id)
    if run.task != "binary":
        raise ValueError(NOT_BINARY.format(label=version.label, task=run.task))
    pipeline = load_model_version(home, version)
    X, y = holdout_for_run(home, run)
    negative, positive = list(pipeline.classes_)
    scores = np.asarray(pipeline.predict_proba(X))[:, 1]
    return threshold_curve(y, scores, positive=positive, negative=negative)


def set_threshold(
    home: Path, version: ModelVersion, threshold: float | None, *, basis: str, actor: str
) -> ModelVersion:
    """Keep ``threshold`` (None: back to the most probable class) with a version that is not
    yet approved; recorded in the audit log with how it was chosen."""
    actor = authorized_actor(home, Permission.REVIEW, actor)
    from core.train.tracking import get_run

    task = get_run(home, version.run_id).task
    if task != "binary":
        raise ValueError(NOT_BINARY.format(label=version.label, task=task))
    if threshold is not None and not 0 < threshold < 1:
        raise ValueError(OUT_OF_RANGE.format(value=threshold))
    if version.review_state == "approved":
        raise ValueError(APPROVED.format(label=version.label, current=describe(version)))
    basis = basis if threshold is not None else ""
    with connect(home) as db:
        models.set_decision_threshold(db, version.id, threshold, basis)
        audit.record(
            db,
            actor=actor,
            action="model.threshold",
            entity_type="model_version",
            entity_id=version.id,
            details={"threshold": threshold, "basis": basis},
        )
        found = models.get_version(db, version.id)
    assert found is not None
    return found


def describe(version: ModelVersion) -> str:
    """The version's threshold in words, for pages, the card and the CLI."""
    if version.decision_threshold is None:
        return DEFAULT_BASIS
    basis = f", {version.threshold_basis}" if version.threshold_basis else ""
    return f"{version.decision_threshold:.3g}{basis}"
