"""Predictions and decision scores of a fitted pipeline, and what a prediction costs."""

from __future__ import annotations

import math
import statistics
import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from core.train.evaluate.metrics import check_task
from core.train.evaluate.plot_kinds import _json_ready

COST_ROWS = 10


def predictions(
    pipeline: Any, frame: pd.DataFrame, *, task: str
) -> tuple[np.ndarray, np.ndarray | None]:
    """(predicted labels or values, class probabilities or None when there is no predict_proba).

    Probability columns follow ``pipeline.classes_``; see ``decision_scores`` for models such
    as LinearSVC that only rank.
    """
    check_task(task)
    predicted = np.asarray(pipeline.predict(frame))
    if task == "regression" or not hasattr(pipeline, "predict_proba"):
        return predicted, None
    return predicted, np.asarray(pipeline.predict_proba(frame), dtype=float)


def decision_scores(pipeline: Any, frame: pd.DataFrame) -> np.ndarray | None:
    """decision_function as one column per class (binary: [-d, d]), or None when absent."""
    if not hasattr(pipeline, "decision_function"):
        return None
    values = np.asarray(pipeline.decision_function(frame), dtype=float)
    return np.column_stack([-values, values]) if values.ndim == 1 else values


@dataclass(frozen=True)
class ModelCost:
    """What a model costs: seconds to fit, bytes on disk, milliseconds to score one row."""

    fit_seconds: float
    size_bytes: int
    predict_ms_single_row: float

    def to_dict(self) -> dict[str, Any]:
        return _json_ready(asdict(self))


def measure_cost(
    pipeline: Any, rows: pd.DataFrame, *, fit_seconds: float, size_bytes: int, repeats: int = 30
) -> ModelCost:
    """Median wall time of ``repeats`` single-row predicts, cycling through the first rows.

    One untimed call warms caches first; no rows (or repeats < 1) gives a NaN latency.
    """
    singles = [rows.iloc[[index]] for index in range(min(len(rows), COST_ROWS))]
    latency = math.nan
    if singles and repeats >= 1:
        pipeline.predict(singles[0])
        times = []
        for attempt in range(repeats):
            started = time.perf_counter()
            pipeline.predict(singles[attempt % len(singles)])
            times.append(time.perf_counter() - started)
        latency = statistics.median(times) * 1000
    return ModelCost(float(fit_seconds), int(size_bytes), latency)
