"""Monitoring before labels per drift window: computed from the logged inputs, predictions and
probabilities and stored as monitor metrics, then read back beside the realized performance of
the rows whose labels have arrived."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd
from threadpoolctl import threadpool_limits

from core.monitor.estimation.cbpe import ClassifierReference, Estimate, realized_metrics
from core.monitor.estimation.dle import RegressionReference
from core.monitor.estimation.multivariate import MIN_ROWS as JOINT_MIN_ROWS
from core.monitor.estimation.multivariate import JointDrift
from core.monitor.estimation.quality import QualityTest
from core.monitor.estimation.reference import MonitorReference, monitor_reference
from core.store import connect, monitoring

ESTIMATED, JOINT, QUALITY = "estimated_", "multivariate_", "quality_"
PREFIXES = (ESTIMATED, JOINT, QUALITY)  # the metric names this module stores
# the feature of every row this module stores, so readers of per-feature drift never mistake
# them for a feature's (or the drift share's) rows
SCOPE = "*"
ASSUMPTION = (
    "Estimated performance assumes no concept drift: the chance of each answer being right given "
    "the inputs is what it was on the holdout, and only the mix of inputs changes. When the "
    "relation between inputs and outcome itself changes, only true labels show it; where the "
    "realized values leave the band, the estimate no longer holds."
)


def estimate_rows(
    home: Path,
    deployment_id: int,
    version_id: int,
    window: tuple[float, float],
    log: list[tuple[Any, Any, Any]],
    inputs: pd.DataFrame | None = None,
) -> list[dict[str, Any]]:
    """The window's estimate, joint-drift and quality metric rows from its logged requests
    (``inputs``: the log's input rows as a frame, when the caller has built it already)."""
    if inputs is None:
        inputs = pd.DataFrame([row for answered, _, _ in log for row in answered])
    # one thread: this runs beside the service and the jobs on a machine with few cores
    with threadpool_limits(limits=1):
        return _estimate_rows(home, deployment_id, version_id, window, log, inputs)


def _estimate_rows(
    home: Path,
    deployment_id: int,
    version_id: int,
    window: tuple[float, float],
    log: list[tuple[Any, Any, Any]],
    inputs: pd.DataFrame,
) -> list[dict[str, Any]]:
    reference = monitor_reference(home, version_id)
    if inputs.empty:
        return []
    base = {"deployment_id": deployment_id, "window_start": window[0], "window_end": window[1]}
    rows = [_estimate_row(base, e, len(inputs)) for e in window_estimates(reference, log, inputs)]
    if len(inputs) >= JOINT_MIN_ROWS:
        rows += [_joint_row(base, found) for found in joint_drift(reference, inputs)]
    rows += [_quality_row(base, test) for test in reference.quality.run(inputs)]
    return rows


def window_estimates(
    reference: MonitorReference, log: list[tuple[Any, Any, Any]], inputs: pd.DataFrame
) -> list[Estimate]:
    performance = reference.performance
    predictions = [value for _, answers, _ in log for value in answers]
    if isinstance(performance, RegressionReference):
        return performance.estimate(inputs, np.asarray(predictions, dtype=float))
    if isinstance(performance, ClassifierReference):
        if any(shares is None for _, _, shares in log):
            return []
        scores = np.asarray([row for _, _, shares in log for row in shares], dtype=float)
        predicted = reference.class_positions(predictions)
        known = predicted >= 0
        if known.sum() == 0 or scores.shape[1] != performance.classes:
            return []
        return performance.estimate(scores[known], predicted[known])
    return []


def joint_drift(reference: MonitorReference, inputs: pd.DataFrame) -> list[JointDrift]:
    return [reference.domain.check(inputs), reference.reconstruction.check(inputs)]


def _estimate_row(base: dict[str, Any], estimate: Estimate, rows: int) -> dict[str, Any]:
    details = {"lower": estimate.lower, "upper": estimate.upper, "rows": rows}
    return {
        **base,
        "feature": SCOPE,
        "metric": ESTIMATED + estimate.metric,
        "value": _finite(estimate.value),
        "threshold": estimate.reference,
        "flagged": int(estimate.dropped),
        "details_json": orjson.dumps(details).decode(),
    }


def _joint_row(base: dict[str, Any], found: JointDrift) -> dict[str, Any]:
    return {
        **base,
        "feature": SCOPE,
        "metric": JOINT + found.method,
        "value": found.value,
        "threshold": found.threshold,
        "flagged": int(found.drifted),
        "details_json": orjson.dumps({"features": found.features, "lower": found.lower}).decode(),
    }


def _quality_row(base: dict[str, Any], test: QualityTest) -> dict[str, Any]:
    return {
        **base,
        "feature": SCOPE,
        "metric": QUALITY + test.test.replace(" ", "_"),
        "value": test.value,
        "threshold": test.threshold,
        "flagged": int(not test.passed),
        "details_json": orjson.dumps({"column": test.column, "detail": test.detail}).decode(),
    }


def _plain(data: dict[str, Any]) -> dict[str, Any]:
    """NaN as None, so the JSON is valid."""
    return {
        k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in data.items()
    }


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


# -- reading back ------------------------------------------------------------------------------


@dataclass(frozen=True)
class EstimateWindow:
    """One drift window: estimated performance (with band), realized performance of its
    labelled rows, the joint-drift figures and the quality tests."""

    start: float
    end: float
    rows: int | None
    estimates: dict[str, Estimate]
    labelled: int
    realized: dict[str, float]
    joint: dict[str, JointDrift]
    quality: list[QualityTest] = field(default_factory=list)

    def parted(self, metric: str) -> bool:
        """The realized value fell outside the estimate's band."""
        estimate, value = self.estimates.get(metric), self.realized.get(metric)
        if estimate is None or value is None:
            return False
        if not all(math.isfinite(v) for v in (value, estimate.lower, estimate.upper)):
            return False
        return not estimate.lower <= value <= estimate.upper

    @property
    def failed_tests(self) -> list[QualityTest]:
        return [test for test in self.quality if not test.passed]

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": self.start,
            "end": self.end,
            "rows": self.rows,
            "estimated": {name: _plain(e.to_dict()) for name, e in self.estimates.items()},
            "labelled": self.labelled,
            "realized": {k: _finite(v) for k, v in self.realized.items()},
            "parted": [name for name in self.estimates if self.parted(name)],
            "multivariate_drift": {name: j.to_dict() for name, j in self.joint.items()},
            "quality_tests": [test.to_dict() for test in self.quality],
            "failed_quality_tests": len(self.failed_tests),
        }


@dataclass(frozen=True)
class EstimateHistory:
    """A deployment's windows of monitoring before labels over ``start``..``end``."""

    deployment_id: int
    start: float
    end: float
    regression: bool
    windows: list[EstimateWindow]
    assumption: str = ASSUMPTION

    @property
    def metrics(self) -> list[str]:
        return list(dict.fromkeys(name for w in self.windows for name in w.estimates))

    @property
    def latest(self) -> EstimateWindow | None:
        return self.windows[-1] if self.windows else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "deployment_id": self.deployment_id,
            "start": self.start,
            "end": self.end,
            "regression": self.regression,
            "assumption": self.assumption,
            "windows": [window.to_dict() for window in self.windows],
        }


def estimate_history(
    home: Path,
    deployment_id: int,
    *,
    minutes: float = 60.0,
    end: float | None = None,
    classes: list[Any] | None = None,
) -> EstimateHistory:
    """The stored windows of the last ``minutes``, with realized performance where labels came
    (``classes`` of a classifier, None for regression)."""
    from core.monitor.drift_windows import DRIFT_WINDOW_SECONDS

    end = end if end is not None else time.time()
    start = end - minutes * 60
    with connect(home) as db:
        rows = monitoring.metrics(db, deployment_id, start - DRIFT_WINDOW_SECONDS, end)
        labelled = monitoring.labelled_log(db, deployment_id, start - DRIFT_WINDOW_SECONDS, end)
    by_window: dict[float, list[dict[str, Any]]] = {}
    for row in sorted(rows, key=lambda row: (row["window_start"], row["id"])):
        if row["window_end"] > start and row["feature"] == SCOPE:
            by_window.setdefault(row["window_start"], []).append(row)
    realized = _realized(labelled, DRIFT_WINDOW_SECONDS, classes)
    windows = [_window(found, realized.get(window, (0, {}))) for window, found in by_window.items()]
    return EstimateHistory(deployment_id, start, end, classes is None, windows)


def _window(rows: list[dict[str, Any]], realized: tuple[int, dict[str, float]]) -> EstimateWindow:
    estimates: dict[str, Estimate] = {}
    joint: dict[str, JointDrift] = {}
    quality: dict[tuple[str, str], QualityTest] = {}
    counted = None
    for row in rows:  # oldest first: a window computed twice keeps its newest rows
        details = orjson.loads(row["details_json"])
        metric = row["metric"]
        if metric.startswith(ESTIMATED):
            estimate = _estimate(metric.removeprefix(ESTIMATED), row, details)
            estimates[estimate.metric] = estimate
            counted = details.get("rows", counted)
        elif metric.startswith(JOINT):
            method = metric.removeprefix(JOINT)
            joint[method] = JointDrift(
                method,
                row["value"],
                row["threshold"],
                bool(row["flagged"]),
                details["features"],
                details.get("lower"),
            )
        else:
            test = metric.removeprefix(QUALITY).replace("_", " ")
            column = details["column"]
            quality[(column, test)] = QualityTest(
                column, test, row["value"], row["threshold"], not row["flagged"],
                details.get("detail", ""),
            )  # fmt: skip
    return EstimateWindow(
        rows[0]["window_start"],
        rows[0]["window_end"],
        counted,
        estimates,
        realized[0],
        realized[1],
        joint,
        list(quality.values()),
    )


def _estimate(name: str, row: dict[str, Any], details: dict[str, Any]) -> Estimate:
    def number(found: Any) -> float:
        return math.nan if found is None else float(found)

    return Estimate(
        name,
        number(row["value"]),
        number(details["lower"]),
        number(details["upper"]),
        row["threshold"],
        lower_is_better=name in ("mae", "rmse"),
    )


def _realized(
    labelled: list[tuple[float, Any, Any, Any]], width: float, classes: list[Any] | None
) -> dict[float, tuple[int, dict[str, float]]]:
    """Per window start: labelled rows and their realized metrics."""
    grouped: dict[float, list[tuple[Any, Any, Any]]] = {}
    for at, prediction, shares, label in labelled:
        grouped.setdefault(math.floor(at / width) * width, []).append((prediction, shares, label))
    return {start: (len(rows), _metrics(rows, classes)) for start, rows in grouped.items()}


def _metrics(rows: list[tuple[Any, Any, Any]], classes: list[Any] | None) -> dict[str, float]:
    if classes is None:
        error = np.array([float(label) - float(p) for p, _, label in rows])
        return {"mae": float(np.abs(error).mean()), "rmse": math.sqrt(float((error**2).mean()))}
    index = {orjson.dumps(value): i for i, value in enumerate(classes)}
    predicted = np.array([index.get(orjson.dumps(p), -1) for p, _, _ in rows])
    labels = np.array([index.get(orjson.dumps(label), -1) for _, _, label in rows])
    have_scores = all(shares is not None and len(shares) == len(classes) for _, shares, _ in rows)
    scores = np.array([shares for _, shares, _ in rows], dtype=float) if have_scores else None
    return realized_metrics(labels, predicted, scores)
