"""A tiny registered model and a deployment row to hang prediction log rows on."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from core.store import connect, deployments
from core.train.registry import register_run


@pytest.fixture
def deployment(tmp_path, train_frame, add_deployment):
    home = tmp_path / "studio"
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"x": rng.normal(size=120), "y": rng.integers(0, 2, 120)})
    outcome = train_frame(home, frame, name="tiny", target="y")
    model_version = register_run(home, outcome.best.id, name="tiny", onnx=False)
    return home, add_deployment(home, model_version.id), model_version.id


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
