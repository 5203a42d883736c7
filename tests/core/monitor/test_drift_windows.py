"""Drift of live traffic: whole windows compared with the training rows, stored as metrics,
each window once; too-quiet windows are skipped."""

from __future__ import annotations

import json
import math

import numpy as np

from core.monitor import alerts
from core.monitor.drift_windows import DATASET, DRIFT_WINDOW_SECONDS, update_drift
from core.store import connect, deployments, monitoring


def _log_inputs(home, deployment_id, version_id, start, xs):
    rows = [
        (deployment_id, version_id, f"d{start}-{i}", start + i * 0.1, 2.0, 200, 1,
         json.dumps([{"x": float(x)}]), "[1]", None, None, None)
        for i, x in enumerate(xs)
    ]  # fmt: skip
    with connect(home) as db:
        deployments.log_predictions(db, rows)


def test_shifted_traffic_drifts_and_same_traffic_does_not(deployment):
    home, deployment_id, version_id = deployment
    rng = np.random.default_rng(7)
    first = math.floor(1_700_000_000 / DRIFT_WINDOW_SECONDS) * DRIFT_WINDOW_SECONDS
    _log_inputs(home, deployment_id, version_id, first, rng.normal(size=200))
    _log_inputs(
        home, deployment_id, version_id, first + DRIFT_WINDOW_SECONDS, rng.normal(3, 1, 200)
    )
    _log_inputs(
        home, deployment_id, version_id, first + 2 * DRIFT_WINDOW_SECONDS, rng.normal(size=5)
    )
    now = first + 3 * DRIFT_WINDOW_SECONDS + 1
    assert update_drift(home, deployment_id, now=now) == 2  # the third window is too quiet
    assert update_drift(home, deployment_id, now=now) == 0  # each window once
    with connect(home) as db:
        metrics = monitoring.metrics(db, deployment_id, first, now)
    shares = [m for m in metrics if m["feature"] == DATASET]
    assert [(m["window_start"] - first, m["value"]) for m in shares] == [
        (0.0, 0.0),
        (DRIFT_WINDOW_SECONDS, 1.0),
    ]
    x = [m for m in metrics if m["feature"] == "x"]
    assert [m["flagged"] for m in x] == [0, 1] and x[0]["metric"] in ("ks", "wasserstein")
    assert alerts.latest_drift_share(home, deployment_id, first, now) == 1.0
