"""Tuning on a real two-process Dask LocalCluster gives what one process gives; a training job
sent there records where it ran, and its workers never open the store."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from core.jobs import submit_job, wait_for_job
from core.jobs.compute import ComputeSettings, DaskBackend, Placement, compute_backend, with_notice
from core.serving.deployments import free_port
from core.store import connect, jobs, runs
from core.train.catalog import CATALOG
from core.train.plan import ValidationPlan
from core.train.training import TrainRequest
from core.train.tuning import Budget, tune


def _table(rows: int = 600, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(rows, 5)), columns=[f"x{i}" for i in range(5)])
    y = pd.Series(((X.x0 - 0.7 * X.x1 + rng.normal(size=rows)) > 0.3).astype(int), name="y")
    return X, y


def _search(strategy: str, backend=None):
    X, y = _table()
    folds = list(StratifiedKFold(3, shuffle=True, random_state=1).split(X, y))
    space = CATALOG["logistic_regression"].search_space("binary")
    return tune(
        lambda params: make_pipeline(StandardScaler(), LogisticRegression(max_iter=300, **params)),
        X,
        y,
        folds=folds,
        space=space,
        strategy=strategy,
        metric="roc_auc",
        task="binary",
        budget=Budget(trials=12),
        seed=7,
        backend=backend,
    )


@pytest.mark.slow
@pytest.mark.parametrize("strategy", ["grid", "random", "halving"])
def test_tuning_on_the_cluster_scores_as_one_process_does(cluster_settings, strategy) -> None:
    here = _search(strategy)
    with compute_backend(cluster_settings) as backend:
        assert isinstance(backend, DaskBackend)
        there = _search(strategy, backend)
        placement = backend.placement()
        fits = backend.tasks_run
    assert there.best_params == here.best_params
    assert there.best_score == here.best_score
    assert there.best_fold_scores == here.best_fold_scores
    assert [(t.params, t.status, t.fold_scores) for t in there.trials] == [
        (t.params, t.status, t.fold_scores) for t in here.trials
    ]
    assert len(placement.workers) == 2  # both workers fitted folds
    # the cluster made the fits one process makes: a pruned trial's last fold is never fitted
    assert fits == sum(len(t.fold_scores) for t in here.trials)
    if strategy == "random":
        assert "pruned" in {t.status for t in here.trials}


@pytest.mark.slow
def test_optuna_asks_in_batches_on_the_cluster_and_finishes_its_budget(cluster_settings) -> None:
    with compute_backend(cluster_settings) as backend:
        result = _search("bayes", backend)
        placement = backend.placement()
    assert len(result.trials) == 12
    assert result.best_score == max(t.score for t in result.trials if t.status == "done")
    assert len(placement.workers) == 2


def _forbid_the_store() -> None:
    """On a worker: opening any SQLite database fails loudly and is counted."""
    import sqlite3 as worker_sqlite

    def refuse(*args, **kwargs):
        worker_sqlite.refused = getattr(worker_sqlite, "refused", 0) + 1  # type: ignore[attr-defined]
        raise PermissionError("this worker has no access to the store")

    worker_sqlite.connect = refuse  # type: ignore[assignment]


def _refused_opens() -> int:
    import sqlite3 as worker_sqlite

    return int(getattr(worker_sqlite, "refused", 0))


def _import_table(home: Path) -> int:
    from core.data.datasets import import_dataset

    X, y = _table(rows=500, seed=3)
    path = home.parent / "points.csv"
    home.parent.mkdir(parents=True, exist_ok=True)
    pd.concat([X, y], axis=1).to_csv(path, index=False)
    return import_dataset(home, path=path, name="points").version.id


def _grid_request(version_id: int, *, trials: int) -> TrainRequest:
    """A grid search of logistic regression on the points table, 3-fold."""
    return TrainRequest(
        version_id=version_id,
        target="y",
        models=("logistic_regression",),
        plan=ValidationPlan(folds=3),
        strategy="grid",
        trials=trials,
    )


def _submit_training(home: Path, version_id: int):
    request = _grid_request(version_id, trials=8)
    return submit_job(home, kind="train", params={"request": request.to_json()})


@pytest.mark.slow
def test_a_training_job_runs_its_trials_on_workers_that_cannot_reach_the_store(
    studio_home: Path, dask_cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    from distributed import Client

    version_id = _import_table(studio_home)
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", dask_cluster.scheduler_address)
    with Client(dask_cluster.scheduler_address, set_as_default=False) as client:
        client.run(_forbid_the_store)
        job = wait_for_job(studio_home, _submit_training(studio_home, version_id).id, timeout=300)
        refused = client.run(_refused_opens)
    assert job.status == "done", job.error
    assert set(refused.values()) == {0}  # no worker even tried to open a database
    with connect(studio_home) as db:
        where = Placement.from_dict(jobs.compute_of(db, [job.id])[job.id])
        model_run = next(r for r in runs.find(db, limit=20) if r.model == "logistic_regression")
        run_where = Placement.from_dict(runs.compute_of(db, model_run.id))
    assert where is not None and where.on_cluster and len(where.workers) == 2
    assert where.address == dask_cluster.scheduler_address and where.notice is None
    assert run_where is not None and run_where.on_cluster and len(run_where.workers) == 2


def test_an_unreachable_scheduler_runs_the_job_here_and_says_so(
    studio_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    address = f"tcp://127.0.0.1:{free_port()}"  # nothing listens there
    version_id = _import_table(studio_home)
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", address)
    monkeypatch.setenv("MLOPS_STUDIO_DASK_CONNECT_TIMEOUT", "2")
    job = wait_for_job(studio_home, _submit_training(studio_home, version_id).id, timeout=300)
    assert job.status == "done", job.error
    with connect(studio_home) as db:
        where = Placement.from_dict(jobs.compute_of(db, [job.id])[job.id])
    assert where is not None and not where.on_cluster
    assert where.notice and where.notice.startswith(f"The Dask cluster at {address} could not")


def test_a_fallback_notice_rides_on_every_progress_message() -> None:
    seen: list[str] = []
    notice = Placement(notice="The Dask cluster at tcp://x:1 could not be reached")
    report = with_notice(lambda fraction, message: seen.append(message), notice)
    report(0.5, "Tuning")
    assert seen == ["Tuning (The Dask cluster at tcp://x:1 could not be reached)"]
    plain = with_notice(seen.append, Placement())  # type: ignore[arg-type]
    assert plain == seen.append


def test_settings_from_the_environment_pick_the_cluster_up(monkeypatch) -> None:
    monkeypatch.setenv("MLOPS_STUDIO_DASK", "tcp://127.0.0.1:8786")
    monkeypatch.delenv("DASK_SCHEDULER_ADDRESS", raising=False)
    assert ComputeSettings.from_environment().address == "tcp://127.0.0.1:8786"
