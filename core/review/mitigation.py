"""Fairness mitigation: fairlearn's threshold optimizer and exponentiated gradient as new runs."""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import has_fit_parameter

from core import settings
from core.review.fairness import (
    FEATURE_JOINER,
    FairnessError,
    FairnessReport,
    fairness_report,
    group_labels,
)
from core.store import connect, writing
from core.store import records as store
from core.store.records import NewRun, Run
from core.train.evaluate import (
    PRIMARY_METRIC,
    Evaluation,
    check_metric,
    compute_metrics,
    plot_data,
)
from core.train.model_files import load_model, save_model
from core.train.training import TrainingData, run_data

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
METHOD_TITLES = {
    "threshold_optimizer": "Threshold optimizer",
    "exponentiated_gradient": "Exponentiated gradient",
}
CONSTRAINT_TITLES = {
    "demographic_parity": "demographic parity",
    "equalized_odds": "equalized odds",
    "true_positive_rate_parity": "true positive rate parity",
    "false_positive_rate_parity": "false positive rate parity",
}
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


# -- checks ----------------------------------------------------------------------------------


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


# -- fitting the mitigators ------------------------------------------------------------------


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
    probability = optimizer._pmf_predict(data.X_holdout, sensitive_features=holdout)[:, 1]
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
    probability = reduction._pmf_predict(holdout_rows)[:, 1]
    used = int((reduction.weights_ > 0).sum())
    return _Mitigated(np.asarray(predicted), np.asarray(probability), None, fit_seconds, used)


_FITTERS = {
    "threshold_optimizer": _threshold_optimizer,
    "exponentiated_gradient": _exponentiated_gradient,
}


# -- evaluating ------------------------------------------------------------------------------


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


# -- recording -------------------------------------------------------------------------------


def _record(
    home: Path,
    source: Run,
    *,
    method: str,
    constraint: str,
    features: list[str],
    mitigated: _Mitigated,
    evaluation: Evaluation,
    fairness: dict[str, Any],
    feature_names: list[str],
    actor: str,
    job_id: int | None,
    started: float,
) -> int:
    """Write the model file first (when there is one), then the run, its details and an event."""
    artifact: tuple[str | None, str | None, int | None] = (None, None, None)
    if mitigated.predictor is not None:
        artifact = save_model(home, mitigated.predictor)
    new = NewRun(
        experiment=source.experiment,
        kind="model",
        model=f"{source.model}+{method}",
        task=source.task,
        target=source.target,
        metric=source.metric,
        dataset_version_id=source.dataset_version_id,
        recipe_id=source.recipe_id,
        job_id=job_id,
        strategy="none",
        params={
            "mitigation": method,
            "constraint": constraint,
            "sensitive_features": features,
            "source_run_id": source.id,
        },
        plan=source.plan,
        environment=source.environment,
        tags=[MITIGATED_TAG],
        notes=_notes(
            source,
            method=method,
            constraint=constraint,
            features=features,
            mixture=mitigated.mixture,
        ),
        seed=source.seed,
        status="done",
    )
    metrics = {"holdout": evaluation.metrics, "fairness": fairness}
    with connect(home) as db, writing(db):
        run_id = store.insert_run(db, new, created_by=actor)
        store.save_run_details(db, run_id, evaluation=evaluation.to_dict(), features=feature_names)
        store.update_run(
            db,
            run_id,
            holdout_score=evaluation.metrics.get(source.metric),
            metrics=metrics,
            fit_seconds=mitigated.fit_seconds,
            duration_seconds=time.monotonic() - started,
            artifact_path=artifact[0],
            artifact_sha256=artifact[1],
            size_bytes=artifact[2],
            finished_at=store.now(),
        )
        store.record_event(
            db,
            actor=actor,
            action="run.mitigate",
            entity_type="run",
            entity_id=run_id,
            details={
                "source_run_id": source.id,
                "method": method,
                "constraint": constraint,
                "sensitive_features": features,
            },
        )
    return run_id


def _notes(
    source: Run, *, method: str, constraint: str, features: list[str], mixture: int | None
) -> str:
    values = {
        "constraint": CONSTRAINT_TITLES[constraint],
        "run_id": source.id,
        "features": ", ".join(features),
    }
    if method == "threshold_optimizer":
        return THRESHOLD_NOTES.format(**values)
    return GRADIENT_NOTES.format(**values, count=mixture, model=source.model)


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


# -- the public API --------------------------------------------------------------------------


def mitigate(
    home: Path,
    run_id: int,
    *,
    sensitive_features: list[str],
    method: str,
    constraint: str,
    actor: str = "studio",
    job_id: int | None = None,
    progress: Progress | None = None,
) -> Candidate:
    """Fit a mitigator over a finished binary run and record it as a new candidate run.

    The mitigator is fitted on the run's own training rows and evaluated on its holdout, so the
    new run and the original compare on the same rows. Its predictions are randomised (as
    fairlearn's are); they are drawn with the run's seed, so a repeat gives the same numbers.
    """
    from threadpoolctl import threadpool_limits

    report = progress or (lambda fraction, message: None)
    started = time.monotonic()
    check_choice(method, constraint)
    source = _source_run(home, run_id)
    report(0.05, f"Loading run #{run_id} and its rows")
    data = run_data(home, source)
    features = _check_features(source, data, sensitive_features)
    assert source.artifact_path and source.artifact_sha256
    pipeline = load_model(
        home, source.artifact_path, source.artifact_sha256, what=f"run {source.id}"
    )
    classes = list(pipeline.classes_)
    positives = (data.y_train == classes[1]).astype(int)
    seed = source.seed if source.seed is not None else 0
    report(0.15, f"{METHOD_TITLES[method]}: fitting for {CONSTRAINT_TITLES[constraint]}")
    with threadpool_limits(limits=settings.train_threads()), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mitigated = _FITTERS[method](
            pipeline,
            data,
            positives=positives,
            features=features,
            constraint=constraint,
            seed=seed,
        )
    report(0.8, "Evaluating on the holdout")
    predicted = np.where(mitigated.predicted == 1, classes[1], classes[0])
    evaluation = _evaluation(data.y_holdout, predicted, mitigated.probability, classes)
    fairness = _fairness(
        data.y_holdout,
        predicted,
        probability=mitigated.probability,
        sensitive=data.X_holdout[features],
        positive=classes[1],
        seed=seed,
        n_boot=200,
    )
    fairness.update({"constraint": constraint, "sensitive_features": features})
    report(0.9, "Recording the candidate run")
    new_id = _record(
        home,
        source,
        method=method,
        constraint=constraint,
        features=features,
        mitigated=mitigated,
        evaluation=evaluation,
        fairness=fairness,
        feature_names=[str(name) for name in pipeline[:-1].get_feature_names_out()],
        actor=actor,
        job_id=job_id,
        started=started,
    )
    report(1.0, "Done")
    return Candidate(
        name=f"#{new_id} {source.model}+{method}",
        run_id=new_id,
        performance=float(evaluation.metrics.get(PERFORMANCE_METRIC, math.nan)),
        disparity=float(fairness["differences"][constraint]),
        metrics=dict(evaluation.metrics),
        method=method,
        constraint=constraint,
        sensitive_features=tuple(features),
    )


def trade_off(
    home: Path,
    run_id: int,
    *,
    sensitive_features: list[str],
    constraint: str,
    metric: str = PERFORMANCE_METRIC,
) -> list[Candidate]:
    """The original run, then each run mitigated from it on the same features, oldest first
    (empty while nothing has been mitigated).

    ``performance`` is the holdout ``metric`` (any binary metric; the primary one by default).
    The original's disparity is measured now, on its holdout; a mitigated run's comes from what
    was recorded for it (every constraint's gap is recorded), so runs mitigated on other
    sensitive features are left out: their gaps were measured between other groups.
    """
    from core.train.tracking import get_run, list_runs

    if constraint not in CONSTRAINTS:
        raise FairnessError(
            UNKNOWN_CONSTRAINT.format(constraint=constraint, choices=", ".join(CONSTRAINTS))
        )
    run = get_run(home, run_id)
    if run.params.get("source_run_id") is not None and MITIGATED_TAG in run.tags:
        run = get_run(home, int(run.params["source_run_id"]))
    source = _source_run(home, run.id)
    check_metric(metric, "binary")
    features = list(dict.fromkeys(sensitive_features))
    mitigated = [
        _mitigated_candidate(other, constraint=constraint, metric=metric)
        for other in sorted(list_runs(home, experiment=source.experiment), key=lambda r: r.id)
        if other.params.get("source_run_id") == source.id
        and MITIGATED_TAG in other.tags
        # the same groups whatever the order the features were chosen in
        and set(other.params.get("sensitive_features") or []) == set(features)
    ]
    if not mitigated:
        return []  # nothing to trade off yet; scoring the original costs a pass over its data
    original = _original_candidate(
        home, source, features=features, constraint=constraint, metric=metric
    )
    return [original, *mitigated]


def _original_candidate(
    home: Path, run: Run, *, features: list[str], constraint: str, metric: str
) -> Candidate:
    data = run_data(home, run)
    features = _check_features(run, data, features)
    assert run.artifact_path and run.artifact_sha256
    pipeline = load_model(home, run.artifact_path, run.artifact_sha256, what=f"run {run.id}")
    predicted = np.asarray(pipeline.predict(data.X_holdout))
    fairness = _fairness(
        data.y_holdout,
        predicted,
        probability=None,
        sensitive=data.X_holdout[features],
        positive=list(pipeline.classes_)[1],
        seed=run.seed or 0,
        n_boot=0,
    )
    holdout = dict(run.metrics.get("holdout") or {})
    return Candidate(
        name=f"#{run.id} {run.model}",
        run_id=run.id,
        performance=_number(holdout.get(metric)),
        disparity=float(fairness["differences"][constraint]),
        metrics=holdout,
        sensitive_features=tuple(features),
    )


def _mitigated_candidate(run: Run, *, constraint: str, metric: str) -> Candidate:
    holdout = dict(run.metrics.get("holdout") or {})
    differences = (run.metrics.get("fairness") or {}).get("differences") or {}
    return Candidate(
        name=f"#{run.id} {run.model}",
        run_id=run.id,
        performance=_number(holdout.get(metric)),
        disparity=_number(differences.get(constraint)),
        metrics=holdout,
        method=run.params.get("mitigation"),
        constraint=run.params.get("constraint"),
        sensitive_features=tuple(run.params.get("sensitive_features") or ()),
    )


def _number(value: Any) -> float:
    return math.nan if value is None else float(value)
