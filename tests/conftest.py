"""Shared fixtures: a temp studio home and small seeded frames; nothing touches the network."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests import waiting

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def wait_until():
    """The one bounded polling helper (see tests/waiting.py)."""
    return waiting.wait_until


@pytest.fixture
def studio_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty studio home in a temp dir, also set as MLOPS_STUDIO_HOME."""
    home = tmp_path / "studio"
    monkeypatch.setenv("MLOPS_STUDIO_HOME", str(home))
    return home


@pytest.fixture
def small_frame() -> pd.DataFrame:
    """A seeded mixed-type frame with missing values and a binary target."""
    rng = np.random.default_rng(0)
    n = 500
    frame = pd.DataFrame(
        {
            "customer_id": np.arange(1, n + 1),
            "age": rng.integers(18, 80, n).astype(float),
            "income": rng.normal(50_000, 12_000, n).round(2),
            "region": rng.choice(["north", "south", "east", "west"], n),
            "signup": pd.date_range("2024-01-01", periods=n, freq="h"),
            "target": rng.integers(0, 2, n),
        }
    )
    frame.loc[rng.choice(n, 40, replace=False), "income"] = np.nan
    return frame


@pytest.fixture(autouse=True, scope="session")
def one_thread_per_fit():
    """Fits in tests use one BLAS/OpenMP thread: on a 2-core CI machine shared with worker
    processes, spinning OpenMP threads made small gradient-boosting fits ten times slower."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield


def _import_frame(home: Path, frame: pd.DataFrame, *, name: str) -> int:
    """Write ``frame`` beside the studio home as ``<name>.csv`` and import it as dataset
    ``name``: the new dataset version's id."""
    from core.data.datasets import import_dataset

    path = home.parent / f"{name}.csv"
    home.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
    return import_dataset(home, path=path, name=name).version.id


@pytest.fixture(scope="session")
def import_frame():
    """import_frame(home, frame, name=...): ``frame`` imported as dataset ``name`` (through
    <home>/../<name>.csv); the new version's id."""
    return _import_frame


def _train(
    home: Path,
    version_id: int,
    *,
    target: str,
    models: tuple[str, ...],
    folds: int,
    params: dict | None = None,
):
    """Train ``models`` on one dataset version with ``folds``-fold validation (and ``params``
    over the defaults): the outcome."""
    from core.train.plan import ValidationPlan
    from core.train.training import TrainRequest, train

    request = TrainRequest(
        version_id=version_id,
        target=target,
        models=models,
        plan=ValidationPlan(folds=folds),
        params=params,
    )
    return train(home, request)


@pytest.fixture(scope="session")
def train_frame():
    """Import a frame and train on it: train_frame(home, frame, name=..., target=...,
    models=..., folds=..., params=...) is the TrainOutcome on dataset ``name`` (from
    <home>/../<name>.csv)."""

    def run(
        home: Path,
        frame: pd.DataFrame,
        *,
        name: str,
        target: str,
        models: tuple[str, ...] = ("logistic_regression",),
        folds: int = 2,
        params: dict | None = None,
    ):
        version_id = _import_frame(home, frame, name=name)
        return _train(home, version_id, target=target, models=models, folds=folds, params=params)

    return run


@pytest.fixture(scope="session")
def loans_studio():
    """Make a studio home holding the small 'loans' table (income, region -> default) with
    trained and registered versions: loans_studio(home, rows=..., seed=..., models=..., ...)."""
    from core.train.registry import register_run

    def make(
        home: Path,
        *,
        rows: int,
        seed: int,
        models: tuple[str, ...] = ("logistic_regression",),
        folds: int = 2,
        onnx: bool = False,
    ) -> Path:
        rng = np.random.default_rng(seed)
        frame = pd.DataFrame(
            {"income": rng.normal(50, 10, rows), "region": rng.choice(["north", "south"], rows)}
        )
        frame["default"] = (frame["income"] + rng.normal(scale=5, size=rows) < 48).astype(int)
        version_id = _import_frame(home, frame, name="loans")
        for model in models:  # each model becomes the next version
            outcome = _train(home, version_id, target="default", models=(model,), folds=folds)
            register_run(home, outcome.best.id, name="loans", onnx=onnx)
        return home

    return make


def _add_deployment(home: Path, version_id: int, **columns) -> int:
    """A deployment row serving ``version_id`` with no process behind it (port 1): its id."""
    from core.store import connect, deployments

    with connect(home) as db:
        row = deployments.insert(
            db,
            model_version_id=version_id,
            host="127.0.0.1",
            port=1,
            log_path="",
            created_by="test",
            **columns,
        )
    return row.id


@pytest.fixture(scope="session")
def add_deployment():
    """Insert a deployment row that no server answers for: add_deployment(home, model
    version id, status=..., ...) is its id."""
    return _add_deployment


@pytest.fixture(scope="session")
def deploy_frame():
    """deploy_frame(home, frame, name=..., target=...): a logistic regression trained on
    ``frame``, registered as ``name`` and given a running deployment row with no process
    behind it; (the model version, the deployment id)."""
    from core import store
    from core.train.registry import register_run

    def deploy(home: Path, frame: pd.DataFrame, *, name: str, target: str):
        version_id = _import_frame(home, frame, name=name)
        outcome = _train(home, version_id, target=target, models=("logistic_regression",), folds=2)
        version = register_run(home, outcome.best.id, name=name, onnx=False)
        running = _add_deployment(home, version.id, status="running", started_at=store.now())
        return version, running

    return deploy


@pytest.fixture
def served(tmp_path, loans_studio):
    """(home, deployment id, champion version id): loans v1 is champion of a stopped
    deployment (no process: the retrain's switch needs none)."""
    from core.store import connect
    from core.store import models as models_store
    from core.train.registry import CHAMPION, set_alias

    home = loans_studio(tmp_path / "studio", rows=400, seed=3)
    set_alias(home, name="loans", version=1, alias=CHAMPION, override_reason="test champion")
    with connect(home) as db:
        version = models_store.version_by_number(db, "loans", 1)
        assert version is not None
    deployment_id = _add_deployment(home, version.id, status="stopped", desired="stopped")
    return home, deployment_id, version.id


def loans_traffic(rows: int, *, seed: int, concept: str) -> pd.DataFrame:
    """Loans traffic whose true default follows ``concept``: 'same' (the training rule),
    'region' (south defaults: a new concept) or 'noise' (coin flips)."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {"income": rng.normal(50, 10, rows), "region": rng.choice(["north", "south"], rows)}
    )
    if concept == "same":
        frame["default"] = (frame["income"] + rng.normal(scale=5, size=rows) < 48).astype(int)
    elif concept == "region":
        flip = rng.random(rows) < 0.1
        frame["default"] = ((frame["region"] == "south") ^ flip).astype(int)
    else:
        frame["default"] = rng.integers(0, 2, rows)
    return frame


def _log_labelled(home, deployment_id, version_id, frame, *, batch=10, start=None):
    """Log ``frame`` as answered requests of ``batch`` rows each, then label every row."""
    from core.store import connect, deployments

    start = time.time() - 600 if start is None else start
    requests, labels = [], []
    for number, first in enumerate(range(0, len(frame), batch)):
        part = frame.iloc[first : first + batch]
        inputs = part[["income", "region"]].to_dict("records")
        request_id = f"req-{os.urandom(6).hex()}-{number}"
        requests.append(
            (deployment_id, version_id, request_id, start + number * 0.5, 3.0, 200, len(part),
             json.dumps(inputs), json.dumps([0] * len(part)), None, None, None)
        )  # fmt: skip
        labels.extend(
            (request_id, row, json.dumps(int(label))) for row, label in enumerate(part["default"])
        )
    with connect(home) as db:
        deployments.log_predictions(db, requests)
        assert not deployments.record_labels(db, deployment_id, labels, time.time())


@pytest.fixture
def log_traffic():
    """Log labelled loans traffic on a deployment: log_traffic(home, deployment id, version id,
    rows, seed=..., concept='same'|'region'|'noise', start=epoch seconds of the first request)."""

    def log(home, deployment_id, version_id, rows, *, seed, concept, start=None):
        frame = loans_traffic(rows, seed=seed, concept=concept)
        _log_labelled(home, deployment_id, version_id, frame, start=start)

    return log


@pytest.fixture(scope="session")
def dask_cluster():
    """A real Dask LocalCluster of two worker processes with one thread each, for the compute
    tests; a task that kills its worker is retried once, then fails."""
    import sys
    import types

    import dask
    from distributed import LocalCluster

    # an AppTest run leaves its page script installed as __main__, which spawned worker
    # processes would run first: they start from a bare __main__ instead
    main = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    # tasks defined in test modules are sent by reference, so the workers must import them:
    # spawned processes (a restarted worker too) start from this process's sys.path
    if str(ROOT) not in sys.path:
        sys.path.append(str(ROOT))
    try:
        with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
            cluster = LocalCluster(
                n_workers=2,
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",
                host="127.0.0.1",
            )
    finally:
        sys.modules["__main__"] = main
    with cluster:
        yield cluster


@pytest.fixture
def cluster_settings(dask_cluster):
    """Compute settings that point at ``dask_cluster``."""
    from core.jobs.compute import ComputeSettings

    return ComputeSettings(address=dask_cluster.scheduler_address, connect_timeout=10)
