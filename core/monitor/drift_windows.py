"""Drift of live traffic: every few minutes the inputs a deployment answered are compared with
the training rows of the version it serves, per feature, and stored as monitor metrics."""

from __future__ import annotations

import logging
import math
import time
from functools import lru_cache
from pathlib import Path
from typing import Any

import orjson
import pandas as pd

from core.artifacts import ArtifactError
from core.monitor.drift import (
    DriftReport,
    ReferenceProfile,
    compute_drift_against,
    profile_reference,
)
from core.monitor.estimation.history import estimate_rows
from core.store import connect, deployments, monitoring
from core.store.connection import writing

DRIFT_WINDOW_SECONDS = 300.0
MIN_ROWS = 30  # fewer answered rows than this in a window say too little about drift
MAX_ROWS = 20_000  # the newest rows of a busier window are a fair sample of it
DATASET = ""  # the feature name of dataset-level metrics (drift share)
log_warning = logging.getLogger("mlops_studio.monitor")


def update_drift(home: Path, deployment_id: int, *, now: float | None = None) -> int:
    """Compute drift for every whole window since the last one; returns how many got metrics."""
    now = time.time() if now is None else now
    with connect(home) as db:
        state = monitoring.state(db, deployment_id)
        first = monitoring.first_prediction_time(db, deployment_id)
        deployment = deployments.get(db, deployment_id)
    if first is None or deployment is None:
        return 0
    start = (
        state["last_drift_end"] or math.floor(first / DRIFT_WINDOW_SECONDS) * DRIFT_WINDOW_SECONDS
    )
    try:
        return _update_windows(home, deployment_id, deployment.model_version_id, state, start, now)
    finally:
        _forget_training_rows()


def _update_windows(
    home: Path, deployment_id: int, version_id: int, state: dict[str, Any], start: float, now: float
) -> int:
    """Each whole window from start to now, stored with its metrics; how many got metrics."""
    computed = 0
    while start + DRIFT_WINDOW_SECONDS <= now:
        end = start + DRIFT_WINDOW_SECONDS
        rows = _window(home, deployment_id, version_id, start, end)
        with connect(home) as db, writing(db):
            if monitoring.state(db, deployment_id)["last_drift_end"] != state["last_drift_end"]:
                return computed  # another process is computing these windows
            monitoring.add_metrics(db, rows)
            monitoring.set_state(db, deployment_id, last_drift_end=end)
        state["last_drift_end"] = end
        computed += bool(rows)
        start = end
    return computed


def _forget_training_rows() -> None:
    """Let go of the served version's training rows once its references are learned: a
    long-running scheduler should not keep a whole training table for the next pass."""
    from core.monitor.estimation.reference import version_data

    version_data.cache_clear()


def _window(
    home: Path, deployment_id: int, version_id: int, start: float, end: float
) -> list[dict[str, Any]]:
    """The window's metric rows (per-feature drift, then estimated performance, joint drift and
    quality tests), or none when it holds too few answered rows."""
    with connect(home) as db:
        log = monitoring.window_log(db, deployment_id, start, end, limit=MAX_ROWS)
    inputs = [row for answered, _, _ in log for row in answered]
    if len(inputs) < MIN_ROWS:
        return []
    current = pd.DataFrame(inputs)  # built once: it was a tenth of a window's time
    report = compute_drift_against(reference_profile(home, version_id), current.iloc[:MAX_ROWS])
    rows = metric_rows(deployment_id, start, end, report)
    try:
        rows += estimate_rows(home, deployment_id, version_id, (start, end), log, current)
    except (ArtifactError, OSError, ValueError) as error:
        # drift stands on its own: a version whose holdout cannot be rebuilt still gets it
        log_warning.warning("no estimates for deployment %s: %s", deployment_id, error)
    return rows


def metric_rows(
    deployment_id: int, start: float, end: float, report: DriftReport
) -> list[dict[str, Any]]:
    """One row per feature (its method's statistic) plus the dataset drift share."""
    window = {"deployment_id": deployment_id, "window_start": start, "window_end": end}
    rows = [
        {
            **window,
            "feature": DATASET,
            "metric": "drift_share",
            "value": report.drift_share,
            "threshold": report.share_threshold,
            "flagged": int(report.dataset_drift),
            "details_json": orjson.dumps({"rows": report.rows_current}).decode(),
        }
    ]
    for column in report.columns:
        details = {
            "p_value": column.p_value,
            "kind": column.kind,
            "missing_rate": column.current_missing,
            "reference_missing_rate": column.reference_missing,
            "new_category_rate": column.new_category_rate,
        }
        rows.append(
            {
                **window,
                "feature": column.column,
                "metric": column.method,
                "value": column.statistic,
                "threshold": column.threshold,
                "flagged": int(column.drifted),
                "details_json": orjson.dumps(details).decode(),
            }
        )
    return rows


@lru_cache(maxsize=8)
def reference_profile(home: Path, version_id: int) -> ReferenceProfile:
    """The training rows of a version, profiled once per process (they never change)."""
    from core.monitor.estimation.reference import version_data

    data = version_data(home, version_id)
    roles = {column.name: column.role for column in data.schema}
    return profile_reference(data.X_train, roles=roles)
