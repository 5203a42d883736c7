"""Training the chosen models: one tracked run each, tuned, cross-validated, evaluated, saved."""

from __future__ import annotations

import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning

from core import settings, store
from core.auth.access import acting_name
from core.jobs.compute import ComputeBackend, LocalBackend, job_compute, with_notice
from core.store import audit, connect
from core.store import runs as runs_store
from core.store.runs import NewRun, Run
from core.train import catalog
from core.train.environment import environment
from core.train.evaluate import (
    HIGHER_IS_BETTER,
    PRIMARY_METRIC,
    compute_metrics,
    decision_scores,
    evaluate,
    measure_cost,
    predictions,
)
from core.train.fold_fits import FoldTask
from core.train.model_files import save_model
from core.train.training.data import TrainingData, training_data
from core.train.training.request import Progress, TrainOutcome, TrainRequest
from core.train.tuning import Budget, SearchResult, Trial, TuningError, tune

NO_MODELS_LEFT = "Every model failed to train. The first error was: {error}"


def train(
    home: Path,
    request: TrainRequest,
    *,
    actor: str = "studio",
    job_id: int | None = None,
    progress: Progress | None = None,
) -> TrainOutcome:
    """Train, tune and evaluate each chosen model (plus the baseline); every run is tracked."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=settings.train_threads()), job_compute(home, job_id) as backend:
        report = with_notice(progress, backend.placement()) if progress else None
        return _train(home, request, actor=actor, job_id=job_id, progress=report, backend=backend)


def _train(
    home: Path,
    request: TrainRequest,
    *,
    actor: str,
    job_id: int | None,
    progress: Progress | None,
    backend: ComputeBackend,
) -> TrainOutcome:
    report = progress or (lambda fraction, message: None)
    data = training_data(home, request, report)
    names = chosen_models(request.models, data.task)
    metric = PRIMARY_METRIC[data.task]
    runs: list[Run] = []
    failed: list[Run] = []
    first_error = None
    for index, name in enumerate(names):
        span = (0.05 + 0.93 * index / len(names), 0.05 + 0.93 * (index + 1) / len(names))
        run = train_model(
            home,
            data,
            request,
            name,
            actor=actor,
            job_id=job_id,
            report=report,
            span=span,
            backend=backend,
        )
        if run.status == "done":
            runs.append(run)
        else:
            failed.append(run)
            first_error = first_error or run.error
    if not runs:
        raise TuningError(NO_MODELS_LEFT.format(error=first_error))
    report(1.0, "Done")
    ranked = sorted(runs, key=lambda r: _oriented(r.score, metric), reverse=True)
    return TrainOutcome(task=data.task, metric=metric, runs=tuple(ranked), failed=tuple(failed))


def _oriented(score: float | None, metric: str) -> float:
    if score is None or np.isnan(score):
        return -np.inf
    return score if HIGHER_IS_BETTER[metric] else -score


def chosen_models(models: tuple[str, ...], task: str) -> list[str]:
    """The requested models (all for the task when none), with the baseline always first."""
    names = list(models) or catalog.models_for(task)
    for name in names:
        catalog.model_spec(name, task=task)
    return [catalog.BASELINE, *[name for name in dict.fromkeys(names) if name != catalog.BASELINE]]


def train_model(
    home: Path,
    data: TrainingData,
    request: TrainRequest,
    name: str,
    *,
    actor: str,
    job_id: int | None,
    report: Progress,
    span: tuple[float, float],
    backend: ComputeBackend | None = None,
) -> Run:
    """One model: tune over the CV folds, refit on all training rows, evaluate on the holdout.

    The trials' fold fits run on ``backend`` (default: this process); the final refit and the
    holdout evaluation run here, where the run's files are written."""
    backend = backend or LocalBackend()
    first_task = backend.tasks_run
    spec = catalog.model_spec(name, task=data.task)
    metric = PRIMARY_METRIC[data.task]
    started = time.monotonic()
    run_id = _start_run(home, data, request, spec, actor=actor, job_id=job_id)
    budget = Budget(trials=request.trials, seconds=request.seconds)
    strategy = request.strategy if spec.search_space(data.task) else "none"
    watcher = _TrialWatcher(home, run_id, data, request, spec, actor, job_id, report, span)
    try:
        search = tune(
            lambda params: data.pipeline(
                spec.estimator(data.task, seed=request.plan.seed, params=params)
            ),
            data.X_train,
            data.y_train,
            folds=data.folds,
            space=spec.search_space(data.task),
            strategy=strategy,
            metric=metric,
            task=data.task,
            budget=budget,
            seed=request.plan.seed,
            defaults=request.params,
            on_trial=watcher,
            model_title=spec.title,
            backend=backend,
        )
        report(span[1] - 0.02 * (span[1] - span[0]), f"{spec.title}: fitting on all training rows")
        _finish_run(home, run_id, data, spec, search, started=started, backend=backend)
    except (TuningError, ValueError) as error:
        with connect(home) as db:
            runs_store.update(
                db, run_id, status="failed", error=str(error), finished_at=store.now()
            )
    with connect(home) as db:
        runs_store.set_compute(db, run_id, backend.placement(since=first_task).to_dict())
        run = runs_store.get(db, run_id)
    assert run is not None
    return run


def _start_run(
    home: Path,
    data: TrainingData,
    request: TrainRequest,
    spec: catalog.ModelSpec,
    *,
    actor: str,
    job_id: int | None,
) -> int:
    new = NewRun(
        experiment=request.experiment or data.version.dataset_name,
        kind="model",
        model=spec.name,
        task=data.task,
        target=data.target,
        metric=PRIMARY_METRIC[data.task],
        dataset_version_id=data.version.id,
        recipe_id=data.recipe_id,
        job_id=job_id,
        strategy=request.strategy if spec.search_space(data.task) else "none",
        plan={**request.plan.to_dict(), "description": request.plan.describe(data.task)},
        environment=environment(),
        tags=list(request.tags),
        notes=request.notes,
        seed=request.plan.seed,
    )
    with connect(home) as db:
        run_id = runs_store.insert(db, new, created_by=acting_name(actor))
        audit.record(
            db,
            actor=actor,
            action="run.start",
            entity_type="run",
            entity_id=run_id,
            details={"model": spec.name, "dataset_version_id": data.version.id},
        )
    return run_id


class _TrialWatcher:
    """Records each finished trial as a child run and reports live progress."""

    def __init__(
        self,
        home: Path,
        run_id: int,
        data: TrainingData,
        request: TrainRequest,
        spec: catalog.ModelSpec,
        actor: str,
        job_id: int | None,
        report: Progress,
        span: tuple[float, float],
    ) -> None:
        self.home, self.run_id, self.data, self.request = home, run_id, data, request
        self.spec, self.actor, self.job_id, self.report, self.span = (
            spec,
            actor,
            job_id,
            report,
            span,
        )
        self.expected = _expected_trials(request, spec, data.task)

    def __call__(self, trial: Trial, best: Trial | None) -> None:
        self._record(trial)
        done = min(trial.number + 1, self.expected)
        fraction = self.span[0] + (self.span[1] - self.span[0]) * 0.9 * done / self.expected
        best_text = (
            f"best CV {best.score:.4f}" if best and best.score is not None else "no score yet"
        )
        self.report(
            fraction,
            f"{self.spec.title}: trial {trial.number + 1} of ~{self.expected}, {best_text}",
        )

    def _record(self, trial: Trial) -> None:
        new = NewRun(
            experiment=self.request.experiment or self.data.version.dataset_name,
            kind="trial",
            model=self.spec.name,
            task=self.data.task,
            target=self.data.target,
            metric=PRIMARY_METRIC[self.data.task],
            dataset_version_id=self.data.version.id,
            recipe_id=self.data.recipe_id,
            parent_id=self.run_id,
            job_id=self.job_id,
            strategy=self.request.strategy,
            params=trial.params,
            seed=self.request.plan.seed,
            status=trial.status,
        )
        result = {
            "score": trial.score,
            "score_std": trial.std,
            "metrics": {
                "fold_scores": list(trial.fold_scores),
                "rows": trial.rows,
                "round": trial.round,
                "number": trial.number,
            },
            "duration_seconds": trial.seconds,
            "error": trial.error,
            "finished_at": store.now(),
        }
        with connect(self.home) as db:
            runs_store.insert_trials(db, [new], [result], created_by=self.actor)


def _expected_trials(request: TrainRequest, spec: catalog.ModelSpec, task: str) -> int:
    space = spec.search_space(task)
    if request.strategy == "none" or not space:
        return 1
    grid = len(catalog.grid_of(space))
    if request.strategy == "grid":
        return grid
    if request.strategy == "halving":
        from core.train.tuning import halving_schedule

        candidates = min(grid, (request.trials or grid) * 3)
        return sum(count for count, _ in halving_schedule(candidates, 10_000))
    return request.trials or 20


def cross_validated_metrics(
    pipeline: Any, data: TrainingData, *, backend: ComputeBackend | None = None
) -> dict[str, dict[str, float | None]]:
    """Every metric's mean and std over the CV folds, for the chosen parameters.

    On a cluster the folds are fitted by its workers at once (the same fits, so the same
    numbers): done here, they were the tail that kept a tuned run on one core after its search.
    """
    tasks = [FoldTask(pipeline, fit, check) for fit, check in data.folds]
    if backend is None or not backend.placement().on_cluster:
        per_fold = [
            fold_metrics(task, X=data.X_train, y=data.y_train, task_kind=data.task)
            for task in tasks
        ]
    else:
        shared = {"X": data.X_train, "y": data.y_train, "task_kind": data.task}
        per_fold = backend.map(_fold_metrics_on_worker, tasks, shared=shared)
    return {name: _mean_std([fold[name] for fold in per_fold]) for name in per_fold[0]}


def fold_metrics(
    task: FoldTask, *, X: pd.DataFrame, y: pd.Series, task_kind: str
) -> dict[str, float]:
    """Fit a fresh copy of the task's pipeline on its fit rows; every metric on its check rows."""
    model = clone(task.pipeline)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X.iloc[task.fit], y.iloc[task.fit])
    rows = X.iloc[task.check]
    predicted, probabilities = predictions(model, rows, task=task_kind)
    ranks = None
    if probabilities is None and task_kind != "regression":
        ranks = decision_scores(model, rows)
    return compute_metrics(
        y.iloc[task.check],
        predicted=predicted,
        probabilities=probabilities,
        classes=list(getattr(model, "classes_", [])),
        task=task_kind,
        scores=ranks,
    )


def _fold_metrics_on_worker(
    task: FoldTask, *, X: pd.DataFrame, y: pd.Series, task_kind: str
) -> dict[str, float]:
    """One fold's metrics on a compute worker (one BLAS/OpenMP thread; it never opens the store)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        return fold_metrics(task, X=X, y=y, task_kind=task_kind)


def _mean_std(values: list[float]) -> dict[str, float | None]:
    finite = [value for value in values if value is not None and np.isfinite(value)]
    if not finite:
        return {"mean": None, "std": None}
    return {"mean": float(np.mean(finite)), "std": float(np.std(finite))}


def _finish_run(
    home: Path,
    run_id: int,
    data: TrainingData,
    spec: catalog.ModelSpec,
    search: SearchResult,
    *,
    started: float,
    backend: ComputeBackend | None = None,
) -> None:
    estimator = spec.estimator(data.task, seed=data.seed, params=search.best_params)
    pipeline = data.pipeline(estimator)
    cv = cross_validated_metrics(pipeline, data, backend=backend)
    fit_started = time.monotonic()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        pipeline.fit(data.X_train, data.y_train)
    fit_seconds = time.monotonic() - fit_started
    evaluation = evaluate(pipeline, data.X_holdout, data.y_holdout, task=data.task)
    relative, sha256, size = save_model(home, pipeline)
    cost = measure_cost(pipeline, data.X_holdout, fit_seconds=fit_seconds, size_bytes=size)
    metric = PRIMARY_METRIC[data.task]
    metrics = {"cv": cv, "holdout": evaluation.metrics, "cost": cost.to_dict()}
    search_summary = {
        "strategy": search.strategy,
        "metric": search.metric,
        "best_params": search.best_params,
        "seconds": search.seconds,
        "trials": len(search.trials),
        "pruned": sum(t.status == "pruned" for t in search.trials),
        "failed": sum(t.status == "failed" for t in search.trials),
        "space": catalog.space_to_json(spec.search_space(data.task)),
    }
    names = [str(name) for name in pipeline[:-1].get_feature_names_out()]
    with connect(home) as db:
        runs_store.save_details(
            db, run_id, evaluation=evaluation.to_dict(), search=search_summary, features=names
        )
        runs_store.update(
            db,
            run_id,
            status="done",
            params=search.best_params,
            score=cv[metric]["mean"],
            score_std=cv[metric]["std"],
            holdout_score=evaluation.metrics.get(metric),
            metrics=metrics,
            fit_seconds=fit_seconds,
            duration_seconds=time.monotonic() - started,
            size_bytes=size,
            predict_ms=cost.predict_ms_single_row,
            artifact_path=relative,
            artifact_sha256=sha256,
            finished_at=store.now(),
        )
