"""Mitigating a run: fit the chosen method, measure it and record it as a new run."""

from __future__ import annotations

import math
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from core import settings, store
from core.auth import Permission
from core.auth.access import authorized_actor
from core.review.mitigation.choices import (
    CONSTRAINT_TITLES,
    GRADIENT_NOTES,
    METHOD_TITLES,
    MITIGATED_TAG,
    PERFORMANCE_METRIC,
    THRESHOLD_NOTES,
    Progress,
    _check_features,
    _source_run,
    check_choice,
)
from core.review.mitigation.fitting import _FITTERS, _Mitigated
from core.review.mitigation.measuring import Candidate, _evaluation, _fairness
from core.store import audit, connect, runs, writing
from core.store.runs import NewRun, Run
from core.train.evaluate import (
    Evaluation,
)
from core.train.model_files import load_model, save_model
from core.train.training import run_data


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
        run_id = runs.insert(db, new, created_by=actor)
        runs.save_details(db, run_id, evaluation=evaluation.to_dict(), features=feature_names)
        runs.update(
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
        audit.record(
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
    actor = authorized_actor(home, Permission.TRAIN, actor)
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
