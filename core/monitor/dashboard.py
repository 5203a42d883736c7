"""What the Monitor page and `mlops-studio monitor` show for a time range: per-window traffic,
latency, errors, prediction mix, unseen categories and performance, read from the windows."""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.monitor.windows import WINDOW_SECONDS, aggregate, latency_percentile
from core.store import connect
from core.store import records as store


@dataclass(frozen=True)
class WindowStats:
    """One window, ready to plot."""

    start: float
    requests: int
    rows: int
    error_rate: float
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    predictions: dict[str, int]
    unseen_rate: float
    labelled: int
    performance: float | None

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass(frozen=True)
class MonitorSummary:
    """A deployment over ``start``..``end``: windows and totals."""

    deployment_id: int
    start: float
    end: float
    windows: list[WindowStats]
    requests: int
    rows: int
    error_rate: float
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    requests_per_minute: float
    labelled: int
    performance: float | None
    performance_name: str

    def to_dict(self) -> dict[str, Any]:
        data = {name: getattr(self, name) for name in self.__dataclass_fields__}
        data["windows"] = [window.to_dict() for window in self.windows]
        return data


def summarise(
    home: Path,
    deployment_id: int,
    *,
    minutes: float = 60.0,
    end: float | None = None,
    regression: bool = False,
    refresh: bool = True,
) -> MonitorSummary:
    """The last ``minutes`` of a deployment (folding in new log rows first when ``refresh``)."""
    if refresh:
        aggregate(home, deployment_id)
    end = end if end is not None else time.time()
    start = end - minutes * 60
    with connect(home) as db:
        rows = store.monitor_windows(db, deployment_id, start - WINDOW_SECONDS, end)
    windows = [_window(row, regression) for row in rows]
    return _summary(deployment_id, start, end, rows, windows, regression)


def _window(row: dict[str, Any], regression: bool) -> WindowStats:
    histogram = json.loads(row["latency_json"]) or []
    answered = row["rows"]
    return WindowStats(
        start=row["window_start"],
        requests=row["requests"],
        rows=row["rows"],
        error_rate=row["errors"] / row["requests"] if row["requests"] else 0.0,
        p50_ms=latency_percentile(histogram, 0.50),
        p95_ms=latency_percentile(histogram, 0.95),
        p99_ms=latency_percentile(histogram, 0.99),
        predictions=json.loads(row["predictions_json"]),
        unseen_rate=row["unseen_rows"] / answered if answered else 0.0,
        labelled=row["labelled"],
        performance=row["label_score"] / row["labelled"] if row["labelled"] else None,
    )


def _summary(
    deployment_id: int,
    start: float,
    end: float,
    rows: list[dict[str, Any]],
    windows: list[WindowStats],
    regression: bool,
) -> MonitorSummary:
    histogram: list[int] = []
    for row in rows:
        counts = json.loads(row["latency_json"]) or []
        histogram = [a + b for a, b in zip(histogram or [0] * len(counts), counts, strict=True)]
    requests = sum(row["requests"] for row in rows)
    total_rows = sum(row["rows"] for row in rows)
    labelled = sum(row["labelled"] for row in rows)
    score = sum(row["label_score"] for row in rows)
    return MonitorSummary(
        deployment_id=deployment_id,
        start=start,
        end=end,
        windows=windows,
        requests=requests,
        rows=total_rows,
        error_rate=sum(row["errors"] for row in rows) / requests if requests else 0.0,
        p50_ms=latency_percentile(histogram, 0.50),
        p95_ms=latency_percentile(histogram, 0.95),
        p99_ms=latency_percentile(histogram, 0.99),
        requests_per_minute=requests / max((end - start) / 60, 1e-9),
        labelled=labelled,
        performance=score / labelled if labelled else None,
        performance_name="mean absolute error" if regression else "accuracy",
    )


def prediction_mix(windows: list[WindowStats]) -> dict[str, int]:
    """How often each prediction was given over the windows."""
    total: Counter[str] = Counter()
    for window in windows:
        total.update(window.predictions)
    return dict(total.most_common())
