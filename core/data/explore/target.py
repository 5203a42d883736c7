"""Each feature against the target: class histograms, binned means, per-level outcomes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import pandas as pd

from core.data.explore.columns import (
    BoxStats,
    _bin_edges,
    _box,
    _bucketed,
    _datetimes,
    _period_starts,
)
from core.data.explore.frames import (
    OTHER,
    _column,
    _floats,
    _is_datetime,
    _is_numeric,
    _label,
    _level_counts,
    _sample_positions,
)
from core.data.schema import ColumnSchema

Task = Literal["binary", "multiclass", "regression"]

MAX_CLASSES = 10

MAX_NUMERIC_CLASSES = 20
MAX_FEATURE_LEVELS = 20
TARGET_POINTS = 5_000

POSITIVE_LABELS = ("1", "true", "yes", "y", "positive", "pos")

SAME_COLUMN = "The feature and the target are the same column ('{name}'); pick another feature."


@dataclass(frozen=True)
class ClassHistograms:
    """Per-class counts of a numeric feature over shared bins: ``counts[class][bin]``."""

    bin_edges: list[float]
    counts: list[list[int]]


@dataclass(frozen=True)
class LevelTarget:
    """The target per feature level: positive rate (binary), class counts (multiclass) or boxes."""

    levels: list[str]
    counts: list[int]
    positive_rates: list[float | None]
    class_counts: list[list[int]]
    means: list[float | None]
    boxes: list[BoxStats | None]
    overall: float | None


@dataclass(frozen=True)
class BinnedTarget:
    """Mean target per bin of a numeric feature, with a sample of the raw points."""

    bin_edges: list[float]
    counts: list[int]
    means: list[float | None]
    sample_x: list[float]
    sample_y: list[float]


@dataclass(frozen=True)
class TargetAnalysis:
    """A feature against the target; exactly one of histograms, levels, binned is set."""

    target: str
    feature: str
    task: Task
    feature_kind: Literal["numeric", "categorical", "datetime"]
    classes: list[str]
    positive_class: str | None
    rows: int
    missing: int
    histograms: ClassHistograms | None = None
    levels: LevelTarget | None = None
    binned: BinnedTarget | None = None


def guess_task(series: pd.Series) -> Task:
    """Binary for at most two values, multiclass for text or few numbers, else regression."""
    distinct = series.nunique(dropna=True)
    if distinct <= 2:
        return "binary"
    if _is_numeric(series) and distinct > MAX_NUMERIC_CLASSES:
        return "regression"
    return "multiclass"


def _feature_kind(
    series: pd.Series, name: str, schema: Sequence[ColumnSchema]
) -> Literal["numeric", "categorical", "datetime"]:
    role = next((column.role for column in schema if column.name == name), None)
    if role == "datetime" or _is_datetime(series):
        return "datetime"
    if _is_numeric(series) and role in (None, "numeric", "target"):
        return "numeric"
    return "categorical"


def _present(series: pd.Series, kind: str) -> np.ndarray:
    """Rows with a usable value: finite for numbers, a parseable time for datetimes."""
    if kind == "numeric":
        return np.isfinite(_floats(series))
    if kind == "datetime":
        return ~np.isnat(_datetimes(series)[0])
    return series.notna().to_numpy(dtype=bool)


def _sort_key(value: object) -> tuple[int, float, str]:
    if isinstance(value, bool | int | float | np.bool_ | np.number):
        return (0, float(value), "")
    return (1, 0.0, str(value))


def _class_codes(target: pd.Series) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Class code per row in natural class order, labels and sizes; rare classes pooled as other."""
    codes, uniques, counts = _level_counts(target)
    kept = min(len(uniques), MAX_CLASSES)
    order = sorted(range(kept), key=lambda i: _sort_key(uniques[i]))
    position = np.empty(kept + 1, dtype=np.int64)
    position[order] = np.arange(kept)
    position[kept] = kept
    pooled = position[np.minimum(codes, kept)]
    labels = [_label(uniques[i]) for i in order] + ([OTHER] if len(uniques) > kept else [])
    return pooled, labels, np.bincount(pooled, minlength=len(labels))


def _positive_class(classes: list[str], sizes: np.ndarray) -> str:
    """A class that reads as positive (1, true, yes...), else the minority class."""
    for label in classes:
        if label.strip().lower() in POSITIVE_LABELS:
            return label
    return classes[min(range(len(classes)), key=lambda i: (sizes[i], -i))]


def _feature_levels(series: pd.Series, kind: str) -> tuple[np.ndarray, list[str]]:
    """Codes and labels: time periods in order for datetimes, else top levels plus other."""
    if series.empty:
        return np.zeros(0, dtype=np.int64), []
    if kind == "datetime":
        period, ordinals, span = _bucketed(_datetimes(series)[0])
        return ordinals - span[0], _period_starts(span, period)
    codes, uniques, _ = _level_counts(series)
    kept = min(len(uniques), MAX_FEATURE_LEVELS)
    labels = [_label(value) for value in uniques[:kept]]
    if len(uniques) > kept:
        labels.append(f"(other: {len(uniques) - kept} levels)")
    return np.minimum(codes, len(labels) - 1), labels


def _bins_of(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Shared bin edges and the bin of each value (the last bin includes its right edge)."""
    edges = _bin_edges(x)
    if edges.size == 0:
        return edges, np.zeros(0, dtype=np.int64)
    return edges, np.clip(np.searchsorted(edges, x, side="right") - 1, 0, edges.size - 2)


def _class_histograms(x: np.ndarray, codes: np.ndarray, classes: int) -> ClassHistograms:
    edges, bins = _bins_of(x)
    size = max(edges.size - 1, 0)
    counts = np.bincount(codes * size + bins, minlength=classes * size)
    return ClassHistograms(edges.tolist(), counts.reshape(classes, size).tolist())


def _binned_target(x: np.ndarray, y: np.ndarray) -> BinnedTarget:
    edges, bins = _bins_of(x)
    size = max(edges.size - 1, 0)
    counts = np.bincount(bins, minlength=size)
    sums = np.bincount(bins, weights=y, minlength=size)
    picked = _sample_positions(x.size, TARGET_POINTS)
    return BinnedTarget(
        bin_edges=edges.tolist(),
        counts=counts.tolist(),
        means=[float(s / c) if c else None for s, c in zip(sums, counts, strict=True)],
        sample_x=x[picked].tolist(),
        sample_y=y[picked].tolist(),
    )


def _level_boxes(codes: np.ndarray, y: np.ndarray, size: int) -> LevelTarget:
    """Regression target per level: a box and mean for each level."""
    counts = np.bincount(codes, minlength=size)
    groups = np.split(y[np.argsort(codes, kind="stable")], np.cumsum(counts)[:-1]) if size else []
    boxes = [_box(group) for group in groups]
    means = [box.mean if box else None for box in boxes]
    overall = float(y.mean()) if y.size else None
    return LevelTarget([], counts.tolist(), [], [], means, boxes, overall)


def _level_classes(
    codes: np.ndarray, y: np.ndarray, size: int, positive: int | None, classes: int
) -> LevelTarget:
    """Classification target per level: positive rate (binary) or class counts (multiclass)."""
    counts = np.bincount(codes, minlength=size)
    if positive is None:
        mix = np.bincount(codes * classes + y, minlength=size * classes).reshape(size, classes)
        return LevelTarget([], counts.tolist(), [], mix.tolist(), [], [], None)
    hits = np.bincount(codes, weights=(y == positive).astype(float), minlength=size)
    rates = [float(h / c) if c else None for h, c in zip(hits, counts, strict=True)]
    overall = float((y == positive).mean()) if y.size else None
    return LevelTarget([], counts.tolist(), rates, [], [], [], overall)


def _regression_view(base: TargetAnalysis, x: pd.Series, y: np.ndarray) -> TargetAnalysis:
    if base.feature_kind == "numeric":
        return replace(base, binned=_binned_target(_floats(x), y))
    codes, labels = _feature_levels(x, base.feature_kind)
    return replace(base, levels=replace(_level_boxes(codes, y, len(labels)), levels=labels))


def _classification_view(base: TargetAnalysis, x: pd.Series, y: pd.Series) -> TargetAnalysis:
    y_codes, classes, sizes = _class_codes(y)
    positive = _positive_class(classes, sizes) if base.task == "binary" and classes else None
    base = replace(base, classes=classes, positive_class=positive)
    if base.feature_kind == "numeric":
        return replace(base, histograms=_class_histograms(_floats(x), y_codes, len(classes)))
    codes, labels = _feature_levels(x, base.feature_kind)
    index = None if positive is None else classes.index(positive)
    levels = _level_classes(codes, y_codes, len(labels), index, len(classes))
    return replace(base, levels=replace(levels, levels=labels))


def _in_labels(values: pd.Series, name: str, schema: Sequence[ColumnSchema]) -> pd.Series:
    """A yes/no column in the words its source file used (as the model will answer)."""
    labels = next((column.labels for column in schema if column.name == name), None)
    if labels is None or not pd.api.types.is_bool_dtype(values.dropna().infer_objects()):
        return values
    return values.map({True: labels[0], False: labels[1]})


def target_analysis(
    frame: pd.DataFrame, *, target: str, feature: str, schema: Sequence[ColumnSchema]
) -> TargetAnalysis:
    """The feature against the target, on the rows where both are present."""
    if feature == target:
        raise ValueError(SAME_COLUMN.format(name=feature))
    y_all, x_all = _in_labels(_column(frame, target), target, schema), _column(frame, feature)
    task = guess_task(y_all)
    kind = _feature_kind(x_all, feature, schema)
    present = _present(x_all, kind) & _present(
        y_all, "numeric" if task == "regression" else "categorical"
    )
    base = TargetAnalysis(
        target=str(target),
        feature=str(feature),
        task=task,
        feature_kind=kind,
        classes=[],
        positive_class=None,
        rows=int(present.sum()),
        missing=int((~present).sum()),
    )
    x, y = x_all[present], y_all[present]
    if task == "regression":
        return _regression_view(base, x, _floats(y))
    return _classification_view(base, x, y)
