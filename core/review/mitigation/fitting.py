"""Fitting fairlearn's mitigators over a trained pipeline: threshold optimizer, gradient."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.utils.validation import has_fit_parameter

from core.review.fairlearn_internals import positive_probability
from core.review.fairness import FairnessError
from core.review.mitigation.choices import NO_SAMPLE_WEIGHT, _groups
from core.train.training import TrainingData


@dataclass(frozen=True)
class _Mitigated:
    """A fitted mitigator's holdout predictions (0/1), positive-class probabilities, and file."""

    predicted: np.ndarray
    probability: np.ndarray
    predictor: Any | None
    fit_seconds: float
    mixture: int | None = None  # how many models a randomised mixture draws from


def _threshold_optimizer(
    pipeline: Any,
    data: TrainingData,
    *,
    positives: pd.Series,
    features: list[str],
    constraint: str,
    seed: int,
) -> _Mitigated:
    from fairlearn.postprocessing import ThresholdOptimizer

    optimizer = ThresholdOptimizer(
        estimator=pipeline,
        constraints=constraint,
        prefit=True,
        predict_method="predict_proba",
    )
    started = time.monotonic()
    optimizer.fit(data.X_train, positives, sensitive_features=_groups(data.X_train, features))
    fit_seconds = time.monotonic() - started
    holdout = _groups(data.X_holdout, features)
    predicted = optimizer.predict(data.X_holdout, sensitive_features=holdout, random_state=seed)
    probability = positive_probability(optimizer, data.X_holdout, sensitive_features=holdout)
    # the thresholder is the fitted predictor; the optimizer itself also keeps plotting caches
    # (pandas frames) that skops cannot save
    thresholder = optimizer.interpolated_thresholder_
    return _Mitigated(np.asarray(predicted), np.asarray(probability), thresholder, fit_seconds)


def _moment(constraint: str) -> Any:
    from fairlearn import reductions

    moments = {
        "demographic_parity": reductions.DemographicParity,
        "equalized_odds": reductions.EqualizedOdds,
        "true_positive_rate_parity": reductions.TruePositiveRateParity,
        "false_positive_rate_parity": reductions.FalsePositiveRateParity,
    }
    return moments[constraint]()


def _exponentiated_gradient(
    pipeline: Any,
    data: TrainingData,
    *,
    positives: pd.Series,
    features: list[str],
    constraint: str,
    seed: int,
) -> _Mitigated:
    """Refit the run's estimator under the constraint, on the run's own feature head.

    The head ignores sample weights, so fitting it once and reusing its output is the same as
    refitting ``head + estimator`` for each of the reduction's weighted fits, and much faster.
    """
    from fairlearn.reductions import ExponentiatedGradient

    estimator = clone(pipeline.named_steps["model"])
    if not has_fit_parameter(estimator, "sample_weight"):
        raise FairnessError(NO_SAMPLE_WEIGHT.format(model=type(estimator).__name__))
    head = clone(pipeline.named_steps["features"])
    started = time.monotonic()
    train_rows = head.fit_transform(data.X_train, data.y_train)
    reduction = ExponentiatedGradient(estimator=estimator, constraints=_moment(constraint))
    reduction.fit(train_rows, positives, sensitive_features=_groups(data.X_train, features))
    fit_seconds = time.monotonic() - started
    holdout_rows = head.transform(data.X_holdout)
    predicted = reduction.predict(holdout_rows, random_state=seed)
    probability = positive_probability(reduction, holdout_rows)
    used = int((reduction.weights_ > 0).sum())
    return _Mitigated(np.asarray(predicted), np.asarray(probability), None, fit_seconds, used)


_FITTERS = {
    "threshold_optimizer": _threshold_optimizer,
    "exponentiated_gradient": _exponentiated_gradient,
}
