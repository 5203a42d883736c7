"""Benchmark: the Monitor page over 1,000,000 logged predictions.

A logistic regression is trained on the sample credit table, registered and given a deployment
row (no service runs). One million one-row requests, spread over the last 24 hours, are written
straight into the prediction log in batches (inputs cycled from the sample production file, 1%
refused), and a quarter of the answered rows get a label. The monitor's catch-up is timed once
(fold into one-minute windows, drift of every five-minute window, alert rules): the scheduler
does this as traffic arrives. Then each page measurement is a fresh AppTest with every Streamlit
cache cleared: the switch to Monitor (first render) and one rerun (a refresh) are timed, for the
default 1 h range and for 24 h, both with a scheduler running (its lock is held, so the page only
reads) and without one (the page folds new rows, drift and alerts itself on every refresh).
The target: a refresh <= 500 ms.

Labels go in through the store's table API rather than ``deployments.record_labels``: at this size
each of its 500-id lookups walks the deployment's whole log (the query plan prefers the
deployment index over the request-id one), so 250,000 labels would take the better part of an
hour. One such call is timed and reported instead.
"""

from __future__ import annotations

import json
import logging
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from page_bench import cold_page, credit_model  # noqa: E402  (tests/bench, beside this script)

ROWS = 1_000_000
BATCH = 50_000
HOURS = 24
LABELLED = 0.25
REFUSED = 0.01
REPEATS = 3
REFRESH_TARGET_S = 0.5
DROP = ["applicant_id", "application_date"]


def served_deployment(home: Path) -> tuple[int, int]:
    """(deployment id, model version id) of a logistic regression on the credit sample."""
    from core import store
    from core.store import connect, deployments

    registered = credit_model(home, model="logistic_regression", folds=2)
    with connect(home) as db:
        deployment = deployments.insert(
            db,
            model_version_id=registered.id,
            host="127.0.0.1",
            port=1,
            log_path="",
            created_by="bench",
            status="running",
            started_at=store.now(),
        )
    return deployment.id, registered.id


def log_traffic(home: Path, deployment_id: int, version_id: int) -> list[tuple[str, int, str]]:
    """ROWS one-row requests over the last HOURS, then labels for a LABELLED share of them
    (returned as (request id, row, label))."""
    from core.store import connect, deployments, writing

    production = pd.read_csv(ROOT / "sample_data" / "credit_production.csv").drop(columns=DROP)
    inputs = [json.dumps([row]) for row in production.to_dict(orient="records")]
    rng = np.random.default_rng(0)
    end = time.time()
    times = np.sort(rng.uniform(end - HOURS * 3600, end, ROWS))
    latencies = rng.gamma(2.0, 3.0, ROWS)
    refused = rng.random(ROWS) < REFUSED
    predictions = rng.random(ROWS) < 0.2
    labelled: list[tuple[str, int, str]] = []
    every = round(1 / LABELLED)
    for start in range(0, ROWS, BATCH):
        batch = []
        for i in range(start, min(start + BATCH, ROWS)):
            request_id = f"req-{i:07d}"
            common = (deployment_id, version_id, request_id, float(times[i]), float(latencies[i]))
            if refused[i]:
                batch.append((*common, 422, 0, None, None, None, None, "bad input"))
                continue
            prediction = int(predictions[i])
            row = inputs[i % len(inputs)]
            batch.append((*common, 200, 1, row, f"[{prediction}]", None, None, None))
            if i % every == 0:
                truth = prediction if rng.random() < 0.8 else 1 - prediction
                labelled.append((request_id, 0, str(truth)))
        with connect(home) as db:
            deployments.log_predictions(db, batch)
    names = ("request_id", "row", "deployment_id", "label", "labelled_at")
    rows = [
        dict(zip(names, (rid, row, deployment_id, label, end), strict=True))
        for rid, row, label in labelled
    ]
    with connect(home) as db, writing(db):
        db["prediction_labels"].insert_all(rows)
    return labelled


def record_labels_call(home: Path, deployment_id: int, labelled: list) -> float:
    """One ``record_labels`` call of 500 labels (what a /feedback batch costs at this size)."""
    from core.store import connect, deployments

    with connect(home) as db:
        started = time.perf_counter()
        assert deployments.record_labels(db, deployment_id, labelled[:500], time.time()) == []
        return time.perf_counter() - started


def timed(step: Callable[[], object]) -> float:
    started = time.perf_counter()
    step()
    return time.perf_counter() - started


def page_runs(minutes: int) -> tuple[float, float]:
    """(first render, refresh) of the Monitor page in a fresh session with cold caches."""
    from app import state

    at = cold_page("monitor")
    at.session_state[state.MONITOR_RANGE] = minutes
    first = timed(at.run)
    refresh = timed(at.run)
    assert not at.exception, [e.value for e in at.exception]
    assert len(at.get("plotly_chart")) >= 9, "the charts rendered"
    return first, refresh


def report(mode: str) -> None:
    for minutes, label in ((60, "1 h"), (24 * 60, "24 h")):
        runs = [page_runs(minutes) for _ in range(REPEATS)]
        first = statistics.median(run[0] for run in runs)
        refresh = statistics.median(run[1] for run in runs)
        verdict = "PASS" if refresh <= REFRESH_TARGET_S else "MISS"
        print(
            f"monitor page, {mode}, {label} range: first render {first * 1000:.0f} ms, "
            f"refresh {refresh * 1000:.0f} ms (target <= {REFRESH_TARGET_S * 1000:.0f} ms) "
            f"-> {verdict}",
            flush=True,
        )


def main() -> None:
    # AppTest outside a server: Streamlit warns that there is no runtime on every cache call
    logging.disable(logging.WARNING)
    from core.monitor import alerts
    from core.monitor.drift_windows import update_drift
    from core.monitor.windows import aggregate
    from core.scheduler import scheduler_lock

    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder) / "studio"
        os.environ["MLOPS_STUDIO_HOME"] = str(home)
        deployment_id, version_id = served_deployment(home)
        started = time.perf_counter()
        labelled = log_traffic(home, deployment_id, version_id)
        print(
            f"logged {ROWS:,} requests over {HOURS} h and {len(labelled):,} labels in "
            f"{time.perf_counter() - started:.1f} s",
            flush=True,
        )
        folding = timed(lambda: aggregate(home, deployment_id))
        drifting = timed(lambda: update_drift(home, deployment_id))
        evaluating = timed(lambda: alerts.evaluate(home, deployment_id))
        print(
            f"catch-up once: fold into windows {folding:.1f} s, drift of {HOURS * 12} windows "
            f"{drifting:.1f} s, alert rules {evaluating * 1000:.0f} ms",
            flush=True,
        )
        labels = record_labels_call(home, deployment_id, labelled)
        print(f"  one record_labels call of 500 labels (a /feedback batch): {labels:.2f} s")
        aggregate(home, deployment_id)  # rescore the windows those labels fell in
        nothing_new = timed(lambda: aggregate(home, deployment_id))
        print(f"  aggregate with nothing new to fold: {nothing_new * 1000:.0f} ms", flush=True)
        page_runs(60)  # warm-up: imports and Streamlit's runtime
        with scheduler_lock(home):  # as if `mlops-studio ui` had started the scheduler
            report("scheduler running")
        report("no scheduler")


if __name__ == "__main__":
    main()
