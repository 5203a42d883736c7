"""A whole training call on a real two-process Dask LocalCluster: the search and the chosen
parameters' cross-validated metrics are fitted by the workers, and the run is the one this
process makes."""

from __future__ import annotations

from pathlib import Path

import pytest
from sklearn.linear_model import LogisticRegression

from core.jobs.compute import LocalBackend, compute_backend
from core.store import connect, runs
from core.train.training import TrainRequest, cross_validated_metrics, train
from core.train.training.data import training_data
from tests.core.jobs.test_compute_tuning import _grid_request, _import_table


def _request(version_id: int) -> TrainRequest:
    return _grid_request(version_id, trials=6)


@pytest.mark.slow
def test_the_cross_validated_metrics_of_the_chosen_parameters_are_fitted_by_the_workers(
    studio_home: Path, cluster_settings
) -> None:
    request = _request(_import_table(studio_home))
    data = training_data(studio_home, request)
    pipeline = data.pipeline(LogisticRegression(C=0.5, max_iter=500))
    here = cross_validated_metrics(pipeline, data, backend=LocalBackend())
    with compute_backend(cluster_settings) as backend:
        there = cross_validated_metrics(pipeline, data, backend=backend)
        placement = backend.placement()
    assert there == here and here["roc_auc"]["mean"] is not None
    assert backend.tasks_run == 3 and len(placement.workers) == 2


@pytest.mark.slow
def test_a_training_call_on_the_cluster_gives_the_run_one_process_gives(
    studio_home: Path, dask_cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    request = _request(_import_table(studio_home))
    monkeypatch.delenv("DASK_SCHEDULER_ADDRESS", raising=False)
    monkeypatch.delenv("MLOPS_STUDIO_DASK", raising=False)
    here = train(studio_home, request).runs
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", dask_cluster.scheduler_address)
    there = train(studio_home, request).runs
    for mine, local in zip(there, here, strict=True):
        assert (mine.model, mine.params, mine.score, mine.score_std) == (
            local.model,
            local.params,
            local.score,
            local.score_std,
        )
        assert mine.metrics["cv"] == local.metrics["cv"]
        assert mine.holdout_score == local.holdout_score
    with connect(studio_home) as db:
        tuned = next(r for r in there if r.model == "logistic_regression")
        where = runs.compute_of(db, tuned.id)
    assert where is not None and where["where"] == "cluster" and len(where["workers"]) == 2
