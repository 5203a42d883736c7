"""What the Monitor page reads: one-minute windows merged into longer ones for long ranges, and
stored drift metrics read back per window and feature, scored against their thresholds, with
features ranked by drift (x importance when known)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from core.monitor.dashboard import (
    SCORE_CAP,
    DriftHistory,
    DriftWindow,
    FeatureDrift,
    drift_metrics,
    drift_score,
    drift_updated,
    rank_drift,
    summarise,
)
from core.monitor.drift_windows import DRIFT_WINDOW_SECONDS, update_drift
from core.monitor.windows import aggregate
from core.store import connect, deployments, monitoring

FIRST = math.floor(1_700_000_000 / DRIFT_WINDOW_SECONDS) * DRIFT_WINDOW_SECONDS


def test_longer_windows_merge_minutes_and_keep_the_totals(deployment, log_rows):
    home, deployment_id, version_id = deployment
    first = FIRST + 3600  # on a five-minute boundary
    rows = [
        (f"b{minute}-{i}", 0, first + minute * 60 + i, 2.0 + minute * 10, 200 if i else 422,
         minute % 2, None)
        for minute in range(10)
        for i in range(6)
    ]  # fmt: skip
    log_rows(home, deployment_id, version_id, rows)
    aggregate(home, deployment_id)
    end = first + 600
    minutes = summarise(home, deployment_id, minutes=10, end=end, refresh=False)
    buckets = summarise(home, deployment_id, minutes=10, end=end, refresh=False, bucket_minutes=5)
    assert len(minutes.windows) == 10 and minutes.window_seconds == 60
    assert [w.start - first for w in buckets.windows] == [0, 300] and buckets.window_seconds == 300
    assert [w.requests for w in buckets.windows] == [30, 30]
    assert [w.rows for w in buckets.windows] == [25, 25]
    assert buckets.windows[0].error_rate == pytest.approx(5 / 30)
    assert buckets.windows[0].predictions == {"0": 15, "1": 10}  # minutes 0, 2, 4 said 0
    assert buckets.windows[0].p99_ms < buckets.windows[1].p99_ms  # the slower minutes came later
    for name in ("requests", "rows", "error_rate", "p50_ms", "p95_ms", "p99_ms"):
        assert getattr(buckets, name) == getattr(minutes, name)


def _log_inputs(home, deployment_id, version_id, start, xs):
    rows = [
        (deployment_id, version_id, f"d{start}-{i}", start + i * 0.1, 2.0, 200, 1,
         json.dumps([{"x": None if math.isnan(x) else float(x)}]), "[1]", None, None, None)
        for i, x in enumerate(xs)
    ]  # fmt: skip
    with connect(home) as db:
        deployments.log_predictions(db, rows)


@pytest.fixture
def drifting(deployment):
    """Two whole drift windows: the first like training, the second shifted with gaps."""
    home, deployment_id, version_id = deployment
    rng = np.random.default_rng(7)
    _log_inputs(home, deployment_id, version_id, FIRST, rng.normal(size=200))
    shifted = rng.normal(3, 1, 200)
    shifted[:20] = np.nan
    _log_inputs(home, deployment_id, version_id, FIRST + DRIFT_WINDOW_SECONDS, shifted)
    now = FIRST + 2 * DRIFT_WINDOW_SECONDS + 1
    assert drift_updated(home, deployment_id) == 0
    assert update_drift(home, deployment_id, now=now) == 2
    assert drift_updated(home, deployment_id) == FIRST + 2 * DRIFT_WINDOW_SECONDS
    return home, deployment_id, now


def test_drift_metrics_reads_each_window_and_feature(drifting):
    home, deployment_id, now = drifting
    history = drift_metrics(home, deployment_id, minutes=60, end=now)
    assert [w.start - FIRST for w in history.windows] == [0.0, DRIFT_WINDOW_SECONDS]
    assert [w.end - w.start for w in history.windows] == [DRIFT_WINDOW_SECONDS] * 2
    assert [w.drift_share for w in history.windows] == [0.0, 1.0]
    assert [w.dataset_drift for w in history.windows] == [False, True]
    assert [w.rows for w in history.windows] == [200, 200]
    assert history.features == ["x"] and history.latest is history.windows[-1]

    calm, drifted = (w.features["x"] for w in history.windows)
    assert calm.method == drifted.method and calm.method in ("ks", "wasserstein")
    assert not calm.drifted and calm.score < 1
    assert drifted.drifted and drifted.score >= 1
    assert calm.missing_rate == 0 and drifted.missing_rate == pytest.approx(0.1)
    assert drifted.threshold > 0 and drifted.statistic is not None
    assert json.dumps(history.to_dict())  # plain data for the CLI's --json


def test_drift_metrics_keeps_to_the_range(drifting):
    home, deployment_id, now = drifting
    # the last 5 minutes overlap only the second window
    recent = drift_metrics(home, deployment_id, minutes=5, end=now)
    assert [w.start - FIRST for w in recent.windows] == [DRIFT_WINDOW_SECONDS]
    assert drift_metrics(home, deployment_id, minutes=60, end=FIRST).windows == []
    assert drift_metrics(home, deployment_id + 1, minutes=60, end=now).windows == []


def test_a_window_computed_twice_shows_once(drifting):
    home, deployment_id, now = drifting
    with connect(home) as db:
        first = monitoring.metrics(db, deployment_id, FIRST, FIRST + 1)
        monitoring.add_metrics(
            db, [{k: v for k, v in row.items() if k != "id"} | {"value": 0.0} for row in first]
        )
    history = drift_metrics(home, deployment_id, minutes=60, end=now)
    assert len(history.windows) == 2 and history.windows[0].drift_share == 0.0
    assert history.windows[0].features["x"].statistic == 0.0  # the newest rows win


@pytest.mark.parametrize(
    ("statistic", "p_value", "threshold", "drifted", "score"),
    [
        (0.05, None, 0.1, False, 0.5),  # a distance: over its threshold
        (0.2, None, 0.1, True, 2.0),
        (0.3, 0.5, 0.05, False, 0.1),  # a test: the threshold over the p-value
        (0.9, 0.01, 0.05, True, 5.0),
        (math.inf, 0.0, 0.05, True, SCORE_CAP),  # an infinite chi-square
        (None, None, 0.1, True, SCORE_CAP),  # every value missing
    ],
)
def test_drift_score_is_one_at_the_threshold(statistic, p_value, threshold, drifted, score):
    assert drift_score(statistic, p_value, threshold, drifted) == pytest.approx(score)


def _feature(name: str, score: float) -> FeatureDrift:
    return FeatureDrift(name, "psi", score * 0.1, None, 0.1, score >= 1, score, 0.0, None)


def _history(*windows: dict[str, float]) -> DriftHistory:
    found = [
        DriftWindow(
            start=FIRST + i * DRIFT_WINDOW_SECONDS,
            end=FIRST + (i + 1) * DRIFT_WINDOW_SECONDS,
            drift_share=None,
            share_threshold=None,
            dataset_drift=False,
            rows=100,
            features={name: _feature(name, score) for name, score in scores.items()},
        )
        for i, scores in enumerate(windows)
    ]
    return DriftHistory(1, FIRST, FIRST + len(found) * DRIFT_WINDOW_SECONDS, found)


def test_rank_drift_by_drift_alone_or_times_importance():
    history = _history({"age": 2.0, "income": 0.5, "region": 1.5}, {"age": 0.4, "income": 3.0})
    alone = rank_drift(history)
    assert [rank.feature for rank in alone] == ["income", "age"]  # the newest window
    assert [(rank.drifted_windows, rank.windows) for rank in alone] == [(1, 2), (1, 2)]
    assert all(rank.importance is None and rank.weighted is None for rank in alone)

    weighted = rank_drift(history, {"age": 10.0, "income": 1.0})
    assert [rank.feature for rank in weighted] == ["age", "income"]  # 0.4 x 1 beats 3.0 x 0.1
    assert [rank.importance for rank in weighted] == [1.0, 0.1]
    assert weighted[0].weighted == pytest.approx(0.4)
    assert [r.weighted for r in rank_drift(history, {"region": 1.0})] == [0.0, 0.0]
    assert rank_drift(_history()) == []
