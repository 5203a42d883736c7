"""Monitor windows: log rows fold into one-minute windows once, labels update performance,
and the summary reads percentiles, error and unseen rates from the windows."""

from __future__ import annotations

import time

import pytest

from core.monitor.dashboard import prediction_mix, summarise
from core.monitor.windows import LATENCY_EDGES, aggregate, latency_percentile, window_start
from core.store import connect, deployments


def test_windows_fold_once_and_summaries_read_them(deployment, log_rows):
    home, deployment_id, version_id = deployment
    now = window_start(time.time()) - 600
    rows = []
    for minute in range(3):
        for index in range(10):
            at = now + minute * 60 + index
            prediction = 1 if index < 7 else 0
            unseen = '["region"]' if index == 0 else None
            rows.append((f"r{minute}-{index}", 0, at, 4.0 + index, 200, prediction, unseen))
        rows.append((f"e{minute}", 0, now + minute * 60 + 30, 1.0, 422, None, None))
    log_rows(home, deployment_id, version_id, rows)
    assert aggregate(home, deployment_id) == 33
    assert aggregate(home, deployment_id) == 0  # nothing folded twice
    summary = summarise(home, deployment_id, minutes=30, refresh=False)
    assert summary.requests == 33 and summary.rows == 30
    assert summary.error_rate == pytest.approx(3 / 33)
    assert [w.predictions for w in summary.windows] == [{"1": 7, "0": 3}] * 3
    assert all(w.unseen_rate == pytest.approx(0.1) for w in summary.windows)
    assert 4.0 <= summary.p50_ms <= 10 and summary.p99_ms <= 15
    assert prediction_mix(summary.windows) == {"1": 21, "0": 9}
    assert summary.performance is None

    with connect(home) as db:
        labels = [(f"r0-{index}", 0, "1") for index in range(10)]
        assert deployments.record_labels(db, deployment_id, labels, time.time()) == []
    labelled = summarise(home, deployment_id, minutes=30)
    assert labelled.labelled == 10 and labelled.performance == pytest.approx(0.7)
    assert labelled.windows[0].performance == pytest.approx(0.7)


def test_latency_percentiles_interpolate_in_buckets():
    histogram = [0] * (len(LATENCY_EDGES) + 1)
    histogram[4] = 100  # all requests between 3 and 5 ms
    assert 3.0 <= latency_percentile(histogram, 0.5) <= 5.0
    assert latency_percentile([0] * 22, 0.5) is None


def test_a_scheduler_round_folds_every_deployment_and_evaluates_alerts(deployment, log_rows):
    from core.scheduler import tick

    home, deployment_id, version_id = deployment
    now = time.time()
    log_rows(
        home,
        deployment_id,
        version_id,
        [(f"s{i}", 0, now - i, 3.0, 500, None, None) for i in range(30)],
    )
    assert tick(home) == {"folded": 30, "alerts": 1, "retrains": []}  # every request failed
    assert tick(home) == {"folded": 0, "alerts": 0, "retrains": []}
