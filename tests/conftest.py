"""Shared fixtures: a temp studio home and small seeded frames; nothing touches the network."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest


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


@pytest.fixture(scope="session")
def loans_studio():
    """Make a studio home holding the small 'loans' table (income, region -> default) with
    trained and registered versions: loans_studio(home, rows=..., seed=..., models=..., ...)."""
    from core.data.datasets import import_dataset
    from core.train.plan import ValidationPlan
    from core.train.registry import register_run
    from core.train.training import TrainRequest, train

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
        path = home.parent / "loans.csv"
        home.parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(path, index=False)
        version = import_dataset(home, path=path, name="loans").version
        for model in models:  # each model becomes the next version
            request = TrainRequest(
                version_id=version.id,
                target="default",
                models=(model,),
                plan=ValidationPlan(folds=folds),
            )
            register_run(home, train(home, request).best.id, name="loans", onnx=onnx)
        return home

    return make
