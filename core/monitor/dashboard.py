"""What the Monitor page and `mlops-studio monitor` show for a time range: per-window traffic,
latency, errors, prediction mix, unseen categories and performance, read from the windows; and
per-feature drift of each five-minute window, read from the stored monitor metrics."""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from core.monitor.windows import WINDOW_SECONDS, aggregate, latency_percentile, window_start
from core.store import connect, monitoring

SUMMED = ("requests", "rows", "errors", "unseen_rows", "labelled", "label_score")


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
    window_seconds: float = WINDOW_SECONDS  # how long each of ``windows`` is

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
    bucket_minutes: int = 1,
) -> MonitorSummary:
    """The last ``minutes`` of a deployment (folding in new log rows first when ``refresh``).

    ``bucket_minutes`` > 1 merges the one-minute windows into longer ones, histograms and all, so
    a day's charts draw 288 points rather than 1,440; the totals are the same either way.
    """
    if refresh:
        aggregate(home, deployment_id)
    end = end if end is not None else time.time()
    start = end - minutes * 60
    with connect(home) as db:
        rows = monitoring.windows(db, deployment_id, start - WINDOW_SECONDS, end)
    rows = [_parsed(row) for row in rows]
    width = bucket_minutes * WINDOW_SECONDS
    windows = [_window(row) for row in (_buckets(rows, width) if bucket_minutes > 1 else rows)]
    return _summary(deployment_id, start, end, rows, windows, regression, width)


def _parsed(row: dict[str, Any]) -> dict[str, Any]:
    """A stored window with its histogram and prediction counts read, once."""
    return {
        **row,
        "latency": orjson.loads(row["latency_json"]) or [],
        "predictions": orjson.loads(row["predictions_json"]),
    }


def _buckets(rows: list[dict[str, Any]], width: float) -> list[dict[str, Any]]:
    """Parsed windows merged into windows ``width`` seconds wide, oldest first."""
    merged: dict[float, dict[str, Any]] = {}
    for row in rows:
        start = window_start(row["window_start"], width)
        bucket = merged.get(start)
        if bucket is None:
            predictions = Counter(row["predictions"])
            merged[start] = {**row, "window_start": start, "predictions": predictions}
            continue
        for name in SUMMED:
            bucket[name] += row[name]
        bucket["latency"] = _added(bucket["latency"], row["latency"])
        bucket["predictions"].update(row["predictions"])
    return list(merged.values())


def _added(left: list[int], right: list[int]) -> list[int]:
    if not left or not right:
        return left or right
    return [a + b for a, b in zip(left, right, strict=True)]


def _window(row: dict[str, Any]) -> WindowStats:
    histogram = row["latency"]
    answered = row["rows"]
    return WindowStats(
        start=row["window_start"],
        requests=row["requests"],
        rows=row["rows"],
        error_rate=row["errors"] / row["requests"] if row["requests"] else 0.0,
        p50_ms=latency_percentile(histogram, 0.50),
        p95_ms=latency_percentile(histogram, 0.95),
        p99_ms=latency_percentile(histogram, 0.99),
        predictions=dict(row["predictions"]),
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
    width: float,
) -> MonitorSummary:
    histogram: list[int] = []
    for row in rows:
        histogram = _added(histogram, row["latency"])
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
        window_seconds=width,
    )


def prediction_mix(windows: list[WindowStats]) -> dict[str, int]:
    """How often each prediction was given over the windows."""
    total: Counter[str] = Counter()
    for window in windows:
        total.update(window.predictions)
    return dict(total.most_common())


# -- drift over time ----------------------------------------------------------------------------

SCORE_CAP = 10.0  # a p-value of 0 or an infinite chi-square is "far past", not infinitely far


@dataclass(frozen=True)
class FeatureDrift:
    """One feature in one drift window, as stored by ``update_drift``.

    ``score`` says how far past its threshold the feature is, so ``score >= 1`` means drifted
    whatever the method: the distance over its threshold, or for a test the threshold over the
    p-value; capped at SCORE_CAP.
    """

    feature: str
    method: str
    statistic: float | None
    p_value: float | None
    threshold: float
    drifted: bool
    score: float
    missing_rate: float | None
    new_category_rate: float | None

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass(frozen=True)
class DriftWindow:
    """One whole drift window: the share of drifted features and each feature's drift."""

    start: float
    end: float
    drift_share: float | None
    share_threshold: float | None
    dataset_drift: bool
    rows: int | None
    features: dict[str, FeatureDrift]

    def to_dict(self) -> dict[str, Any]:
        data = {name: getattr(self, name) for name in self.__dataclass_fields__}
        data["features"] = {name: drift.to_dict() for name, drift in self.features.items()}
        return data


@dataclass(frozen=True)
class DriftHistory:
    """A deployment's drift windows that overlap ``start``..``end``, oldest first."""

    deployment_id: int
    start: float
    end: float
    windows: list[DriftWindow]

    @property
    def features(self) -> list[str]:
        """Every feature seen in the range, in the order the windows first list them."""
        return list(dict.fromkeys(name for window in self.windows for name in window.features))

    @property
    def latest(self) -> DriftWindow | None:
        return self.windows[-1] if self.windows else None

    def to_dict(self) -> dict[str, Any]:
        data = {name: getattr(self, name) for name in self.__dataclass_fields__}
        data["windows"] = [window.to_dict() for window in self.windows]
        return data


@dataclass(frozen=True)
class FeatureRank:
    """A feature's drift in the newest window, with how often it drifted over the range and,
    when an explanation exists, its importance relative to the most important feature."""

    drift: FeatureDrift
    drifted_windows: int
    windows: int
    importance: float | None
    weighted: float | None

    @property
    def feature(self) -> str:
        return self.drift.feature


def drift_metrics(
    home: Path, deployment_id: int, *, minutes: float = 60.0, end: float | None = None
) -> DriftHistory:
    """The drift windows of the last ``minutes`` (those ``update_drift`` has computed)."""
    from core.monitor.drift_windows import DATASET, DRIFT_WINDOW_SECONDS
    from core.monitor.estimation.history import SCOPE

    end = end if end is not None else time.time()
    start = end - minutes * 60
    with connect(home) as db:
        rows = monitoring.metrics(db, deployment_id, start - DRIFT_WINDOW_SECONDS, end)
    by_window: dict[float, list[dict[str, Any]]] = {}
    # oldest first, so a window computed twice (two processes at once) keeps its newest rows
    for row in sorted(rows, key=lambda row: (row["window_start"], row["id"])):
        if row["window_end"] > start and row["feature"] != SCOPE:
            by_window.setdefault(row["window_start"], []).append(row)
    windows = [_drift_window(found, DATASET) for found in by_window.values()]
    return DriftHistory(deployment_id, start, end, windows)


def _drift_window(rows: list[dict[str, Any]], dataset: str) -> DriftWindow:
    share = next((row for row in reversed(rows) if row["feature"] == dataset), None)
    features = {row["feature"]: _feature_drift(row) for row in rows if row["feature"] != dataset}
    details = orjson.loads(share["details_json"]) if share else {}
    return DriftWindow(
        start=rows[0]["window_start"],
        end=rows[0]["window_end"],
        drift_share=share["value"] if share else None,
        share_threshold=share["threshold"] if share else None,
        dataset_drift=bool(share["flagged"]) if share else False,
        rows=details.get("rows"),
        features=features,
    )


def _feature_drift(row: dict[str, Any]) -> FeatureDrift:
    details = orjson.loads(row["details_json"])
    drifted = bool(row["flagged"])
    return FeatureDrift(
        feature=row["feature"],
        method=row["metric"],
        statistic=row["value"],
        p_value=details.get("p_value"),
        threshold=row["threshold"],
        drifted=drifted,
        score=drift_score(row["value"], details.get("p_value"), row["threshold"], drifted),
        missing_rate=details.get("missing_rate"),
        new_category_rate=details.get("new_category_rate"),
    )


def drift_score(
    statistic: float | None, p_value: float | None, threshold: float, drifted: bool
) -> float:
    """How far past its threshold a feature is (>= 1: drifted), capped at SCORE_CAP."""
    if statistic is None or math.isnan(statistic):  # every value missing: drifted by definition
        return SCORE_CAP if drifted else 0.0
    if p_value is not None:
        ratio = threshold / p_value if p_value > 0 else math.inf
    else:
        ratio = statistic / threshold if threshold > 0 else math.inf
    return min(ratio, SCORE_CAP)


def rank_drift(
    history: DriftHistory, importance: Mapping[str, float] | None = None
) -> list[FeatureRank]:
    """The newest window's features, most drifted first: by drift score x relative importance
    when ``importance`` (e.g. mean |SHAP| per feature) is given, else by drift score alone."""
    latest = history.latest
    if latest is None:
        return []
    top = max((value for value in (importance or {}).values()), default=0.0)
    ranks = []
    for name, drift in latest.features.items():
        flags = [w.features[name].drifted for w in history.windows if name in w.features]
        share = None
        if importance is not None:
            share = importance.get(name, 0.0) / top if top > 0 else 0.0
        ranks.append(
            FeatureRank(
                drift=drift,
                drifted_windows=sum(flags),
                windows=len(flags),
                importance=share,
                weighted=None if share is None else drift.score * share,
            )
        )
    return sorted(
        ranks, key=lambda rank: -(rank.drift.score if rank.weighted is None else rank.weighted)
    )


def drift_updated(home: Path, deployment_id: int) -> float:
    """Where drift has been computed up to (epoch seconds): a new window moves it on."""
    with connect(home) as db:
        return float(monitoring.state(db, deployment_id)["last_drift_end"])
