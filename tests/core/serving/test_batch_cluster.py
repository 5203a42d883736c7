"""Batch scoring by partition on a real two-process Dask LocalCluster gives, row for row, what
scoring here gives — with the scikit-learn engine, the NumPy engine and the ONNX copy."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from core.data.datasets import import_dataset
from core.jobs.compute import DaskBackend, compute_backend
from core.serving import batch
from core.serving.scoring import load_served_model
from core.train.plan import ValidationPlan
from core.train.registry import register_run
from core.train.training import TrainRequest, train
from tests.core.serving.test_batch import _loans


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    """loans v1 (logistic regression, no ONNX copy) and boosted v1 (with ONNX)."""
    home = tmp_path_factory.mktemp("batch_cluster") / "studio"
    path = home.parent / "loans.csv"
    _loans(400, seed=5).to_csv(path, index=False)
    version = import_dataset(home, path=path, name="loans").version
    for model, name, onnx in (
        ("logistic_regression", "loans", False),
        ("hist_gradient_boosting", "boosted", True),
    ):
        request = TrainRequest(
            version_id=version.id, target="default", models=(model,), plan=ValidationPlan(folds=2)
        )
        register_run(home, train(home, request).best.id, name=name, onnx=onnx)
    return home


@pytest.mark.slow
@pytest.mark.parametrize(
    ("ref", "engine"), [("loans@1", "sklearn"), ("loans@1", "numpy"), ("boosted@1", "onnx")]
)
def test_partitions_scored_on_the_cluster_equal_scoring_here(
    home: Path, cluster_settings, ref: str, engine: str
) -> None:
    model = load_served_model(home, ref, engine=engine)
    assert model.engine == engine
    frame = _loans(250, seed=9).drop(columns=["default"])
    here = batch._score(model, frame, progress=None, chunk_rows=40).frame
    with compute_backend(cluster_settings) as backend:
        assert isinstance(backend, DaskBackend)
        shipped = batch._portable(home, model, backend)
        there = batch._score(model, frame, progress=None, chunk_rows=40, backend=shipped).frame
        placement = backend.placement()
    pd.testing.assert_frame_equal(there, here, check_exact=True)
    assert backend.tasks_run == 7  # 250 rows in partitions of 40
    assert len(placement.workers) == 2


@pytest.mark.slow
def test_score_file_uses_the_cluster_the_environment_names(
    home: Path, dask_cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "new.csv"
    _loans(120, seed=11).drop(columns=["default"]).to_csv(source, index=False)
    monkeypatch.delenv("DASK_SCHEDULER_ADDRESS", raising=False)
    batch.score_file(home, "boosted@1", source, tmp_path / "here.parquet")
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", dask_cluster.scheduler_address)
    result = batch.score_file(home, "boosted@1", source, tmp_path / "there.parquet")
    here = pd.read_parquet(tmp_path / "here.parquet")
    there = pd.read_parquet(tmp_path / "there.parquet")
    pd.testing.assert_frame_equal(there, here, check_exact=True)
    assert not any("could not be reached" in note for note in result.notes)
