"""Pre-aggregated one-minute windows of a deployment's prediction log: traffic, errors,
latency histogram, prediction mix, unseen categories and, once labels arrive, performance.
The Monitor page reads these, never the raw log, so it stays fast with millions of rows."""

from __future__ import annotations

import bisect
import json
import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.store import connect, monitoring
from core.store.connection import writing

WINDOW_SECONDS = 60.0
BATCH_ROWS = 50_000
# Latency histogram edges in ms: fine where services usually answer, coarse in the tail.
LATENCY_EDGES = (
    0.5, 1, 2, 3, 5, 7.5, 10, 15, 20, 30, 50, 75, 100, 150, 200, 300, 500, 750, 1000, 2000, 5000,
)  # fmt: skip
MAX_CLASSES = 50


@dataclass
class _Window:
    """One window's counts while new log rows are folded in."""

    requests: int = 0
    rows: int = 0
    errors: int = 0
    latency: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_EDGES) + 1))
    predictions: Counter[str] = field(default_factory=Counter)
    unseen_rows: int = 0


def window_start(moment: float, width: float = WINDOW_SECONDS) -> float:
    return math.floor(moment / width) * width


def aggregate(home: Path, deployment_id: int) -> int:
    """Fold the log rows written since the last call into their windows; returns how many.
    Safe to run from several processes at once: a fold is saved only if no one else moved the
    position meanwhile (checked in the same transaction), else it is done again."""
    folded = 0
    with connect(home) as db:
        while True:
            position = monitoring.state(db, deployment_id)["last_prediction_id"]
            rows = monitoring.predictions_after(db, deployment_id, position, limit=BATCH_ROWS)
            if not rows:
                break
            windows = _fold(rows)  # outside the write lock: the service keeps logging
            with writing(db):
                if monitoring.state(db, deployment_id)["last_prediction_id"] != position:
                    continue  # another process folded these rows first
                _merge(db, deployment_id, windows)
                monitoring.set_state(db, deployment_id, last_prediction_id=rows[-1][0])
            folded += len(rows)
        _score_labels(db, deployment_id)
    return folded


def _fold(rows: list[tuple[Any, ...]]) -> dict[float, _Window]:
    windows: dict[float, _Window] = {}
    for _, created_at, _, status, latency_ms, size, predictions, unseen in rows:
        window = windows.setdefault(window_start(created_at), _Window())
        window.requests += 1
        window.latency[bisect.bisect_left(LATENCY_EDGES, latency_ms)] += 1
        if status != 200:
            window.errors += 1
            continue
        window.rows += size
        window.predictions.update(json.dumps(value) for value in json.loads(predictions))
        if unseen is not None:
            window.unseen_rows += sum(1 for columns in json.loads(unseen) if columns)
    return windows


def _merge(db: Any, deployment_id: int, windows: dict[float, _Window]) -> None:
    starts = sorted(windows)
    stored = {
        row["window_start"]: row
        for row in monitoring.windows(db, deployment_id, starts[0], starts[-1] + 1)
    }
    merged = []
    for start in starts:
        new = windows[start]
        old = stored.get(start) or _empty_row(deployment_id, start)
        latency = json.loads(old["latency_json"]) or [0] * len(new.latency)
        predictions = Counter(json.loads(old["predictions_json"]))
        predictions.update(new.predictions)
        merged.append(
            {
                **old,
                "requests": old["requests"] + new.requests,
                "rows": old["rows"] + new.rows,
                "errors": old["errors"] + new.errors,
                "latency_json": json.dumps(
                    [a + b for a, b in zip(latency, new.latency, strict=True)]
                ),
                "predictions_json": json.dumps(dict(predictions.most_common(MAX_CLASSES))),
                "unseen_rows": old["unseen_rows"] + new.unseen_rows,
            }
        )
    monitoring.save_windows(db, merged)


def _empty_row(deployment_id: int, start: float) -> dict[str, Any]:
    return {
        "deployment_id": deployment_id,
        "window_start": start,
        "requests": 0,
        "rows": 0,
        "errors": 0,
        "latency_json": "[]",
        "predictions_json": "{}",
        "unseen_rows": 0,
        "labelled": 0,
        "label_score": 0.0,
    }


def _score_labels(db: Any, deployment_id: int) -> None:
    """Recount labelled rows and their score (correct predictions, or absolute error for
    numbers) in every window that received labels since the last call."""
    state = monitoring.state(db, deployment_id)
    starts, newest = monitoring.labelled_window_starts(
        db, deployment_id, state["last_labelled_at"], WINDOW_SECONDS
    )
    if not starts:
        return
    stored = {
        row["window_start"]: row
        for row in monitoring.windows(db, deployment_id, min(starts), max(starts) + 1)
    }
    updated = []
    for start in starts:
        pairs = monitoring.labelled_pairs(db, deployment_id, start, start + WINDOW_SECONDS)
        row = stored.get(start) or _empty_row(deployment_id, start)
        updated.append({**row, "labelled": len(pairs), "label_score": label_score(pairs)})
    monitoring.save_windows(db, updated)
    monitoring.set_state(db, deployment_id, last_labelled_at=newest)


def label_score(pairs: list[tuple[Any, Any]]) -> float:
    """Correct predictions, or the summed absolute error when both sides are numbers."""
    total = 0.0
    for prediction, label in pairs:
        numbers = all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in (prediction, label)
        )
        if numbers and isinstance(prediction, float):
            total += abs(prediction - label)
        else:
            total += prediction == label
    return total


def latency_percentile(histogram: list[int], share: float) -> float | None:
    """A latency percentile (ms) from histogram counts, interpolated inside its bucket."""
    total = sum(histogram)
    if total == 0:
        return None
    wanted = share * total
    seen = 0
    for index, count in enumerate(histogram):
        if count and seen + count >= wanted:
            low = 0.0 if index == 0 else LATENCY_EDGES[index - 1]
            high = LATENCY_EDGES[index] if index < len(LATENCY_EDGES) else LATENCY_EDGES[-1] * 2
            return low + (high - low) * (wanted - seen) / count
        seen += count
    return float(LATENCY_EDGES[-1])
