"""Experiment tracking: listing, comparing, archiving and deleting runs and their trials."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core import words
from core.artifacts import resolve
from core.auth import Permission
from core.auth.access import authorized_actor
from core.store import audit, connect, required
from core.store import runs as runs_store
from core.store.runs import Run

if TYPE_CHECKING:  # evaluation imports scikit-learn; listing runs needs none of it
    from core.train.evaluate.evaluation import Evaluation

UNKNOWN_RUN = "There is no run {run_id}. `mlops-studio runs` lists them."
REGISTERED_RUNS = (
    "Run(s) {ids} are registered as model versions and cannot be deleted; archive them instead."
)
NOTHING_CHOSEN = "Choose at least one run."
RUNNING_RUNS = "Run(s) {ids} are still training; cancel the job or wait for it to end first."


class RunError(ValueError):
    """A run that does not exist or cannot be changed as asked."""


@dataclass(frozen=True)
class RunDetail:
    """A run with its evaluation plots, search summary, feature names and trials.

    ``evaluation`` is None when the run stored none (a failed or cancelled run).
    """

    run: Run
    evaluation: Evaluation | None
    search: dict[str, Any]
    features: list[str]
    trials: list[Run]

    def to_dict(self) -> dict[str, Any]:
        return {
            "run": self.run.to_dict(),
            "evaluation": self.evaluation.to_dict() if self.evaluation else {},
            "search": self.search,
            "features": self.features,
            "trials": [trial_row(trial) for trial in self.trials],
        }


def list_runs(
    home: Path,
    *,
    include_archived: bool = False,
    experiment: str | None = None,
    job_id: int | None = None,
    limit: int = 10_000,
) -> list[Run]:
    """Model runs, newest first (trials are reached through their run)."""
    with connect(home) as db:
        return runs_store.find(
            db,
            include_archived=include_archived,
            experiment=experiment,
            job_id=job_id,
            limit=limit,
        )


def get_run(home: Path, run_id: int) -> Run:
    with connect(home) as db:
        run = runs_store.get(db, run_id)
    return required(run, RunError(UNKNOWN_RUN.format(run_id=run_id)))


def run_detail(home: Path, run_id: int) -> RunDetail:
    with connect(home) as db:
        run = runs_store.get(db, run_id)
        if run is None:
            raise RunError(UNKNOWN_RUN.format(run_id=run_id))
        details = runs_store.details(db, run_id)
        trials = runs_store.find(db, kind="trial", parent_id=run_id, include_archived=True)
    from core.train.evaluate.evaluation import Evaluation

    stored = details.pop("evaluation")
    evaluation = Evaluation.from_dict(stored) if stored else None
    return RunDetail(run=run, evaluation=evaluation, trials=list(reversed(trials)), **details)


def trial_row(trial: Run) -> dict[str, Any]:
    """A trial as the search charts read it."""
    return {
        "run_id": trial.id,
        "number": trial.metrics.get("number", 0),
        "round": trial.metrics.get("round", 0),
        "rows": trial.metrics.get("rows"),
        "status": trial.status,
        "score": trial.score,
        "std": trial.score_std,
        "params": trial.params,
        "seconds": trial.duration_seconds,
        "error": trial.error,
    }


def list_trials_of_job(home: Path, job_id: int) -> list[dict[str, Any]]:
    """A training job's trials so far, oldest first, for the live search chart."""
    with connect(home) as db:
        trials = runs_store.find(db, kind="trial", job_id=job_id, include_archived=True)
    return [{**trial_row(t), "model": t.model, "metric": t.metric} for t in reversed(trials)]


def runs_table(runs: list[Run]) -> list[dict[str, Any]]:
    """One flat row per run for the runs table and CSV export."""
    return [run_row(run) for run in runs]


def run_row(run: Run) -> dict[str, Any]:
    holdout = run.metrics.get("holdout", {})
    return {
        "run_id": run.id,
        "experiment": run.experiment,
        "model": run.model,
        "status": run.status,
        "task": run.task,
        "target": run.target,
        "dataset_version_id": run.dataset_version_id,
        "recipe_id": run.recipe_id,
        "strategy": run.strategy,
        "metric": run.metric,
        "cv_score": run.score,
        "cv_std": run.score_std,
        "holdout_score": run.holdout_score,
        **{f"holdout_{name}": value for name, value in holdout.items()},
        "fit_seconds": run.fit_seconds,
        "duration_seconds": run.duration_seconds,
        "size_bytes": run.size_bytes,
        "predict_ms": run.predict_ms,
        "params": run.params,
        "tags": ", ".join(run.tags),
        "archived": run.archived,
        "created_at": run.created_at,
        "error": run.error,
    }


def compare_runs(home: Path, run_ids: list[int]) -> list[dict[str, Any]]:
    """Side-by-side rows: every param and metric of each chosen run, in the order chosen."""
    if not run_ids:
        raise RunError(NOTHING_CHOSEN)
    runs = [get_run(home, run_id) for run_id in run_ids]
    return [
        {
            "run_id": run.id,
            "label": f"#{run.id} {words.model(run.model)}",
            "params": run.params,
            "cv": run.metrics.get("cv", {}),
            "holdout": run.metrics.get("holdout", {}),
            "cost": run.metrics.get("cost", {}),
            "dataset_version_id": run.dataset_version_id,
            "recipe_id": run.recipe_id,
            "plan": run.plan.get("description"),
            "seed": run.seed,
        }
        for run in runs
    ]


def archive_runs(
    home: Path, run_ids: list[int], *, archived: bool = True, actor: str = "studio"
) -> None:
    actor = authorized_actor(home, Permission.TRAIN, actor)
    if not run_ids:
        raise RunError(NOTHING_CHOSEN)
    with connect(home) as db:
        runs_store.set_archived(db, run_ids, archived)
        for run_id in run_ids:
            action = "run.archive" if archived else "run.unarchive"
            audit.record(db, actor=actor, action=action, entity_type="run", entity_id=run_id)


def delete_runs(home: Path, run_ids: list[int], *, actor: str = "studio") -> int:
    """Delete runs, their trials and their model files; registered runs are refused."""
    actor = authorized_actor(home, Permission.TRAIN, actor)
    if not run_ids:
        raise RunError(NOTHING_CHOSEN)
    with connect(home) as db:
        registered = runs_store.registered_ids(db, run_ids)
        if registered:
            ids = ", ".join(str(run_id) for run_id in sorted(registered))
            raise RunError(REGISTERED_RUNS.format(ids=ids))
        running = [
            run_id
            for run_id in run_ids
            if (run := runs_store.get(db, run_id)) is not None and run.status == "running"
        ]
        if running:
            raise RunError(RUNNING_RUNS.format(ids=", ".join(map(str, running))))
        paths = runs_store.delete(db, run_ids)
        for run_id in run_ids:
            audit.record(db, actor=actor, action="run.delete", entity_type="run", entity_id=run_id)
    for relative in paths:
        with contextlib.suppress(FileNotFoundError):
            resolve(home, relative).unlink()
    return len(run_ids)


def runs_fingerprint(home: Path) -> tuple[Any, ...]:
    """Changes whenever ``list_runs`` would return something different (for caching)."""
    with connect(home) as db:
        return runs_store.fingerprint(db)


def run_summaries(home: Path, *, include_archived: bool = True) -> list[runs_store.RunSummary]:
    """Model runs newest first without their JSON details: the fast listing for big stores."""
    with connect(home) as db:
        return runs_store.summaries(db, include_archived=include_archived)
