"""What can be mitigated: methods, constraints, their messages, and checks on the run."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from core.review.fairness import (
    FairnessError,
    group_labels,
)
from core.store.runs import Run
from core.train.evaluate import (
    PRIMARY_METRIC,
)
from core.train.training import TrainingData
from core.words import MITIGATION_CONSTRAINTS, MITIGATION_METHODS

METHODS = ("threshold_optimizer", "exponentiated_gradient")
CONSTRAINTS = (
    "demographic_parity",
    "equalized_odds",
    "true_positive_rate_parity",
    "false_positive_rate_parity",
)
# Both fairlearn methods take all four: ThresholdOptimizer by name, ExponentiatedGradient as a
# Moment. fairlearn's other ThresholdOptimizer constraints (selection_rate_parity, the
# negative-rate parities) and ErrorRateParity are not offered, to keep one disparity per choice.
SUPPORTED: dict[str, tuple[str, ...]] = {method: CONSTRAINTS for method in METHODS}
# the gap (on the holdout, between the groups of all chosen features) each constraint narrows
CONSTRAINT_DISPARITY = {
    "demographic_parity": "demographic_parity_difference",
    "equalized_odds": "equalized_odds_difference",
    "true_positive_rate_parity": "true_positive_rate_difference",
    "false_positive_rate_parity": "false_positive_rate_difference",
}
# what the methods and constraints are called where people read them (core.words owns them)
METHOD_TITLES = MITIGATION_METHODS
CONSTRAINT_TITLES = MITIGATION_CONSTRAINTS
MITIGATED_TAG = "mitigated"
PERFORMANCE_METRIC = PRIMARY_METRIC["binary"]

UNKNOWN_METHOD = "There is no mitigation method {method!r}. Choose from: {choices}."
UNKNOWN_CONSTRAINT = "There is no fairness constraint {constraint!r}. Choose from: {choices}."
UNSUPPORTED = "{method} does not support {constraint}; it supports: {choices}."
NO_FEATURES = "Choose at least one sensitive feature to mitigate on."
UNKNOWN_FEATURES = "Run {run_id} has no column(s) {missing}. Its columns are: {available}."
BINARY_ONLY = (
    "Mitigation needs a binary classification model; run {run_id} is a {task} model. Use the "
    "fairness report to compare its groups instead."
)
NOT_A_MODEL = "Run {run_id} is {status}, not a finished model run with a model file."
ALREADY_MITIGATED = (
    "Run {run_id} is already a mitigated candidate; mitigate its source run {source} instead."
)
NO_SAMPLE_WEIGHT = (
    "{model} cannot be trained with sample weights, which exponentiated gradient needs. Use "
    "the threshold optimizer, or mitigate a model such as logistic regression."
)
THRESHOLD_NOTES = (
    "Threshold optimizer ({constraint}) over run #{run_id} for {features}. Its model file holds "
    "fairlearn's InterpolatedThresholder: it needs the sensitive features ({features}) with "
    "every prediction and predicts at random between thresholds, so it cannot be served like a "
    "plain pipeline."
)
GRADIENT_NOTES = (
    "Exponentiated gradient ({constraint}) over run #{run_id} for {features}: a randomised "
    "mixture of {count} {model} models. fairlearn's ExponentiatedGradient keeps pandas frames "
    "and functions that skops cannot save with the studio's allowlist, so this run has no model "
    "file; it is a candidate for the trade-off, not for deployment."
)

Progress = Callable[[float, str], None]


def check_choice(method: str, constraint: str) -> None:
    if method not in METHODS:
        raise FairnessError(UNKNOWN_METHOD.format(method=method, choices=", ".join(METHODS)))
    if constraint not in CONSTRAINTS:
        raise FairnessError(
            UNKNOWN_CONSTRAINT.format(constraint=constraint, choices=", ".join(CONSTRAINTS))
        )
    if constraint not in SUPPORTED[method]:
        choices = ", ".join(SUPPORTED[method])
        raise FairnessError(
            UNSUPPORTED.format(method=method, constraint=constraint, choices=choices)
        )


def _source_run(home: Path, run_id: int) -> Run:
    from core.train.tracking import get_run

    run = get_run(home, run_id)
    if MITIGATED_TAG in run.tags and run.params.get("source_run_id") is not None:
        raise FairnessError(
            ALREADY_MITIGATED.format(run_id=run_id, source=run.params["source_run_id"])
        )
    if run.kind != "model" or run.status != "done" or not run.artifact_path:
        raise FairnessError(NOT_A_MODEL.format(run_id=run_id, status=run.status))
    if run.task != "binary":
        raise FairnessError(BINARY_ONLY.format(run_id=run_id, task=run.task))
    return run


def _check_features(run: Run, data: TrainingData, features: list[str]) -> list[str]:
    chosen = list(dict.fromkeys(features))
    if not chosen:
        raise FairnessError(NO_FEATURES)
    missing = [name for name in chosen if name not in data.X_train.columns]
    if missing:
        raise FairnessError(
            UNKNOWN_FEATURES.format(
                run_id=run.id,
                missing=", ".join(missing),
                available=", ".join(map(str, data.X_train.columns)),
            )
        )
    return chosen


def _groups(frame: pd.DataFrame, features: list[str]) -> pd.DataFrame:
    """The sensitive columns as text groups (missing values as a group of their own)."""
    return pd.DataFrame({name: group_labels(frame[name]) for name in features})
