"""Measuring a model for the trade-off: fairness gaps, holdout metrics, the Candidate."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from core.review.fairness import (
    FEATURE_JOINER,
    FairnessReport,
    fairness_report,
)
from core.review.mitigation.choices import CONSTRAINT_DISPARITY
from core.train.evaluate import (
    Evaluation,
    compute_metrics,
    plot_data,
)


@dataclass(frozen=True)
class Candidate:
    """One point of the trade-off: a run's holdout performance and its disparity."""

    name: str
    run_id: int | None
    performance: float
    disparity: float
    metrics: dict[str, Any]
    method: str | None = None
    constraint: str | None = None
    sensitive_features: tuple[str, ...] = field(default=())

    @property
    def original(self) -> bool:
        return self.method is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "run_id": self.run_id,
            "performance": _finite_or_none(self.performance),
            "disparity": _finite_or_none(self.disparity),
            "metrics": {key: _finite_or_none(value) for key, value in self.metrics.items()},
            "method": self.method,
            "constraint": self.constraint,
            "sensitive_features": list(self.sensitive_features),
            "original": self.original,
        }


def _finite_or_none(value: Any) -> Any:
    if isinstance(value, float | np.floating) and not math.isfinite(value):
        return None
    return float(value) if isinstance(value, np.floating) else value


def constraint_disparities(report: FairnessReport, features: list[str]) -> dict[str, float]:
    """Each constraint's gap between the groups of all the features (their intersection)."""
    gaps = report.disparities_of(FEATURE_JOINER.join(features))
    return {key: gaps.get(name, math.nan) for key, name in CONSTRAINT_DISPARITY.items()}


def _fairness(
    y_true: pd.Series,
    predicted: np.ndarray,
    *,
    probability: np.ndarray | None,
    sensitive: pd.DataFrame,
    positive: Any,
    seed: int,
    n_boot: int,
) -> dict[str, Any]:
    report = fairness_report(
        y_true,
        predicted,
        sensitive=sensitive,
        task="binary",
        y_score=probability,
        pos_label=positive,
        n_boot=n_boot,
        seed=seed,
    )
    features = list(sensitive.columns)
    return {
        "report": report.to_dict(),
        "differences": constraint_disparities(report, features),
    }


def _evaluation(
    y_true: pd.Series, predicted: np.ndarray, probability: np.ndarray, classes: list
) -> Evaluation:
    probabilities = np.column_stack([1.0 - probability, probability])
    metrics = compute_metrics(
        y_true, predicted=predicted, probabilities=probabilities, classes=classes, task="binary"
    )
    plots = plot_data(
        y_true, predicted=predicted, probabilities=probabilities, classes=classes, task="binary"
    )
    return Evaluation(task="binary", metrics=metrics, plots=plots)


def _number(value: Any) -> float:
    return math.nan if value is None else float(value)
