"""Training: from a dataset version, target and recipe to tracked, evaluated, saved runs."""

from __future__ import annotations

import hashlib
import json
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import Pipeline

from core import settings
from core.data.datasets import get_version, load_frame
from core.data.schema import ColumnSchema
from core.prep.features import FeatureSpec, build_feature_pipeline, default_feature_spec
from core.prep.prepare import stored_recipe
from core.prep.recipe import Recipe, apply_cleaning
from core.store import connect
from core.store import records as store
from core.store.records import DatasetVersion, NewRun, Run
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
from core.train.model_files import save_model
from core.train.plan import (
    ValidationPlan,
    check_target,
    cv_folds,
    detect_task,
    drop_missing_target,
    split_holdout,
)
from core.train.tuning import Budget, SearchResult, Trial, TuningError, tune

NO_MODELS_LEFT = "Every model failed to train. The first error was: {error}"
Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class TrainRequest:
    """What the user chose on the Train page or the CLI."""

    version_id: int
    target: str
    task: str | None = None
    recipe_id: int | None = None
    models: tuple[str, ...] = ()
    strategy: str = "none"
    trials: int | None = 20
    seconds: float | None = None
    plan: ValidationPlan = field(default_factory=ValidationPlan)
    drop_missing_target: bool = False
    experiment: str | None = None
    tags: tuple[str, ...] = ()
    notes: str = ""
    params: dict[str, Any] | None = None  # fixed hyperparameters (with strategy "none")

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["models"] = list(self.models)
        data["tags"] = list(self.tags)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TrainRequest:
        values = {key: data[key] for key in cls.__dataclass_fields__ if key in data}
        values["plan"] = ValidationPlan.from_dict(data.get("plan") or {})
        values["models"] = tuple(data.get("models") or ())
        values["tags"] = tuple(data.get("tags") or ())
        return cls(**values)

    @property
    def fingerprint(self) -> str:
        """Same request, same key: two tabs asking for the same training share one job."""
        text = json.dumps(self.to_json(), sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class TrainingData:
    """The rows, features and split a training request resolves to."""

    version: DatasetVersion
    recipe: Recipe | None
    recipe_id: int | None
    task: str
    target: str
    features: dict[str, Any]
    feature_spec: FeatureSpec  # ``features`` parsed once against ``schema`` and ``target``
    schema: list[ColumnSchema]
    X_train: pd.DataFrame
    y_train: pd.Series
    X_holdout: pd.DataFrame
    y_holdout: pd.Series
    folds: list[tuple[np.ndarray, np.ndarray]]
    seed: int

    def pipeline(self, estimator: Any) -> Pipeline:
        features = build_feature_pipeline(self.feature_spec)
        return Pipeline([("features", features), ("model", estimator)])


@dataclass(frozen=True)
class TrainOutcome:
    """The runs a training made, best first, and the data they were trained on."""

    task: str
    metric: str
    runs: tuple[Run, ...]
    failed: tuple[Run, ...]

    @property
    def best(self) -> Run:
        return self.runs[0]

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "metric": self.metric,
            "best_run_id": self.best.id,
            "runs": [leaderboard_row(run) for run in self.runs],
            "failed": [
                {"run_id": run.id, "model": run.model, "error": run.error} for run in self.failed
            ],
        }


def leaderboard_row(run: Run) -> dict[str, Any]:
    return {
        "run_id": run.id,
        "model": run.model,
        "status": run.status,
        "metric": run.metric,
        "cv_score": run.score,
        "cv_std": run.score_std,
        "holdout_score": run.holdout_score,
        "params": run.params,
        "fit_seconds": run.fit_seconds,
    }


# -- resolving the data ------------------------------------------------------------------------


def training_data(
    home: Path, request: TrainRequest, progress: Progress | None = None
) -> TrainingData:
    """Load the version, apply the recipe's cleaning if needed, check the target, split rows."""
    report = progress or (lambda fraction, message: None)
    version = get_version(home, request.version_id)
    report(0.01, f"Loading {version.label}")
    frame = load_frame(home, version)
    recipe_id = request.recipe_id if request.recipe_id is not None else version.recipe_id
    recipe = stored_recipe(home, recipe_id) if recipe_id is not None else None
    schema = version.schema
    if recipe is not None and recipe.cleaning and recipe_id != version.recipe_id:
        report(0.02, "Applying the recipe's cleaning steps")
        frame = apply_cleaning(frame, recipe).frame
        schema = _schema_of(frame, version.schema)
    frame, task = _rows_to_learn(frame, request)
    features = _feature_spec(recipe, schema, request.target)
    split = split_holdout(frame, request.target, task, request.plan)
    X = frame.drop(columns=[request.target])
    y = frame[request.target]
    X_train, y_train = (
        X.iloc[split.train].reset_index(drop=True),
        y.iloc[split.train].reset_index(drop=True),
    )
    train_frame = frame.iloc[split.train].reset_index(drop=True)
    folds = cv_folds(train_frame, request.target, task, request.plan)
    # parse once, so a spec problem (e.g. every feature dropped) surfaces before any run starts
    feature_spec = FeatureSpec.from_dict(features, schema=schema, target=request.target)
    return TrainingData(
        version=version,
        recipe=recipe,
        recipe_id=recipe_id,
        task=task,
        target=request.target,
        features=features,
        feature_spec=feature_spec,
        schema=schema,
        X_train=X_train,
        y_train=y_train,
        X_holdout=X.iloc[split.holdout].reset_index(drop=True),
        y_holdout=y.iloc[split.holdout].reset_index(drop=True),
        folds=folds,
        seed=request.plan.seed,
    )


def _detected_task(frame: pd.DataFrame, target: str) -> str:
    # an unknown target is reported by check_target, with the columns to choose from
    return detect_task(frame[target]) if target in frame.columns else "binary"


def _schema_of(frame: pd.DataFrame, original: list[ColumnSchema]) -> list[ColumnSchema]:
    import pyarrow as pa

    from core.data.schema import infer_schema

    roles = {column.name: column.role for column in original}
    inferred = infer_schema(pa.Table.from_pandas(frame, preserve_index=False))
    # keep the roles the user set on the source version for columns that survived cleaning
    return [
        ColumnSchema(**{**asdict(column), "role": roles.get(column.name, column.role)})
        for column in inferred
    ]


def _feature_spec(recipe: Recipe | None, schema: list[ColumnSchema], target: str) -> dict[str, Any]:
    if recipe is not None and recipe.features is not None:
        return recipe.features
    return default_feature_spec(schema, target=target)


def _target_values(values: pd.Series, task: str) -> pd.Series:
    """The target in one clean dtype: floats for regression, labels of one type otherwise."""
    if task == "regression":
        return pd.to_numeric(values, errors="coerce").astype(float)
    known = values.dropna()
    if values.dtype == object and len(known) and known.map(type).eq(bool).all():
        return values.astype(bool)
    if pd.api.types.is_float_dtype(values) and bool(np.all(np.mod(known, 1) == 0)):
        return values.astype("int64")
    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return values
    return values.astype(str)


def _rows_to_learn(frame: pd.DataFrame, request: TrainRequest) -> tuple[pd.DataFrame, str]:
    """The rows with the target checked and in one dtype, and the task."""
    if request.drop_missing_target and request.target in frame.columns:
        frame = drop_missing_target(frame, request.target)
    task = request.task or _detected_task(frame, request.target)
    check_target(frame, request.target, task)
    frame = frame.copy(deep=False)
    frame[request.target] = _target_values(frame[request.target], task)
    return frame, task


def preflight(frame: pd.DataFrame, request: TrainRequest) -> str:
    """Check the target and the plan on the rows before any work starts; returns the task.

    The Train page calls this on every change so a problem shows before the user clicks Train.
    """
    frame, task = _rows_to_learn(frame, request)
    split = split_holdout(frame, request.target, task, request.plan)
    cv_folds(frame.iloc[split.train].reset_index(drop=True), request.target, task, request.plan)
    return task


# -- training -----------------------------------------------------------------------------------


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

    with threadpool_limits(limits=settings.train_threads()):
        return _train(home, request, actor=actor, job_id=job_id, progress=progress)


def _train(
    home: Path,
    request: TrainRequest,
    *,
    actor: str,
    job_id: int | None,
    progress: Progress | None,
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
            home, data, request, name, actor=actor, job_id=job_id, report=report, span=span
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
) -> Run:
    """One model: tune over the CV folds, refit on all training rows, evaluate on the holdout."""
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
        )
        report(span[1] - 0.02 * (span[1] - span[0]), f"{spec.title}: fitting on all training rows")
        _finish_run(home, run_id, data, spec, search, started=started)
    except (TuningError, ValueError) as error:
        with connect(home) as db:
            store.update_run(db, run_id, status="failed", error=str(error), finished_at=store.now())
    with connect(home) as db:
        run = store.get_run(db, run_id)
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
        run_id = store.insert_run(db, new, created_by=actor)
        store.record_event(
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
            store.insert_trial_runs(db, [new], [result], created_by=self.actor)


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
    pipeline: Any, data: TrainingData
) -> dict[str, dict[str, float | None]]:
    """Every metric's mean and std over the CV folds, for the chosen parameters."""
    per_fold: list[dict[str, float]] = []
    for fit, check in data.folds:
        model = clone(pipeline)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(data.X_train.iloc[fit], data.y_train.iloc[fit])
        rows = data.X_train.iloc[check]
        predicted, probabilities = predictions(model, rows, task=data.task)
        ranks = None
        if probabilities is None and data.task != "regression":
            ranks = decision_scores(model, rows)
        per_fold.append(
            compute_metrics(
                data.y_train.iloc[check],
                predicted=predicted,
                probabilities=probabilities,
                classes=list(getattr(model, "classes_", [])),
                task=data.task,
                scores=ranks,
            )
        )
    return {name: _mean_std([fold[name] for fold in per_fold]) for name in per_fold[0]}


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
) -> None:
    estimator = spec.estimator(data.task, seed=data.seed, params=search.best_params)
    pipeline = data.pipeline(estimator)
    cv = cross_validated_metrics(pipeline, data)
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
        store.save_run_details(
            db, run_id, evaluation=evaluation.to_dict(), search=search_summary, features=names
        )
        store.update_run(
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


def request_for_run(run: Run) -> TrainRequest:
    """The request that reproduces a run's data and split (same version, recipe, plan, seed)."""
    assert run.dataset_version_id is not None
    return TrainRequest(
        version_id=run.dataset_version_id,
        target=run.target,
        task=run.task,
        recipe_id=run.recipe_id,
        models=(run.model,),
        plan=ValidationPlan.from_dict(run.plan),
        drop_missing_target=True,
    )


def run_data(home: Path, run: Run) -> TrainingData:
    """The exact rows, split and feature spec a run was trained and evaluated on."""
    return training_data(home, request_for_run(run))


def holdout_for_run(home: Path, run: Run) -> tuple[pd.DataFrame, pd.Series]:
    """The exact holdout rows a run was evaluated on (what review and ONNX parity use)."""
    data = run_data(home, run)
    return data.X_holdout, data.y_holdout


# -- the job -----------------------------------------------------------------------------------


def train_job(home: Path, params: dict[str, Any], progress: Any) -> dict[str, Any]:
    """Job: run a training request; the result is the leaderboard."""
    request = TrainRequest.from_json(params["request"])
    outcome = train(
        home,
        request,
        actor=params.get("actor", "studio"),
        job_id=getattr(progress, "job_id", None),
        progress=progress,
    )
    return outcome.to_dict()


def submit_training(home: Path, request: TrainRequest, *, actor: str = "studio") -> Any:
    """Start training as a background job (the same request from two tabs shares one job)."""
    from core.jobs import submit_job

    return submit_job(
        home,
        kind="train",
        params={"request": request.to_json(), "actor": actor},
        subject=f"version:{request.version_id}",
        dedupe_key=f"train:{request.fingerprint}",
        actor=actor,
    )
