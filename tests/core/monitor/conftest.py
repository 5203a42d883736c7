"""A tiny registered model and a deployment row to hang prediction log rows on."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from core.data.datasets import import_dataset
from core.store import connect, deployments
from core.train.plan import ValidationPlan
from core.train.registry import register_run
from core.train.training import TrainRequest, train


@pytest.fixture
def deployment(tmp_path):
    home = tmp_path / "studio"
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"x": rng.normal(size=120), "y": rng.integers(0, 2, 120)})
    path = home.parent / "tiny.csv"
    frame.to_csv(path, index=False)
    version = import_dataset(home, path=path, name="tiny").version
    request = TrainRequest(
        version_id=version.id,
        target="y",
        models=("logistic_regression",),
        plan=ValidationPlan(folds=2),
    )
    model_version = register_run(home, train(home, request).best.id, name="tiny", onnx=False)
    with connect(home) as db:
        row = deployments.insert(
            db,
            model_version_id=model_version.id,
            host="127.0.0.1",
            port=1,
            log_path="",
            created_by="test",
        )
    return home, row.id, model_version.id


@pytest.fixture
def log_rows():
    """Log one-row requests given as (request, row, at, latency, status, prediction, unseen)."""
    return _log_rows


def _log_rows(home, deployment_id, version_id, rows):
    with connect(home) as db:
        deployments.log_predictions(
            db,
            [
                (deployment_id, version_id, request, at, latency, status, int(status == 200),
                 "[{}]", json.dumps([prediction]), None,
                 json.dumps([json.loads(unseen)]) if unseen else None, None)
                for request, _, at, latency, status, prediction, unseen in rows
            ],
        )  # fmt: skip
