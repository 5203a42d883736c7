"""Drift summaries of Arrow columns and their exact merge, without a detour through pandas.

They are the NumericValues and CategoryCounts that values.py makes from a pandas Series, with
the same conventions (infinities and NaN are missing; an integer column with gaps counts as
floats, as pandas reads it), so a table read from Parquet is compared as its frame would be.
Columns of other types go through pandas and the frame functions.
"""

from __future__ import annotations

import math
from typing import Any, TypeAlias

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from core.data.arrow_numbers import numbers as _numpy
from core.data.arrow_numbers import valid
from core.monitor.drift.values import CategoryCounts, ColumnValues, Kind, NumericValues

MAX_POINTS = 1 << 20  # distinct numbers a merged summary keeps per column (16 MiB)
BINCOUNT_SPAN = 4  # integers spanning at most this many times their count are counted, not sorted

Column: TypeAlias = pa.Array | pa.ChunkedArray


def summarize(column: Column, kind: Kind) -> ColumnValues:
    """One column (or part of one) as drift compares it: sorted numbers or category counts."""
    if kind == "numeric":
        if _is_number(column.type):
            return numeric_summary(column)
        return _coerced_numbers(column)
    if _is_countable(column.type):
        return category_summary(column)
    from core.monitor.drift.values import category_counts

    return category_counts(_series(column))


def numeric_summary(column: Column) -> NumericValues:
    """Sorted distinct finite values and their counts; integers are counted rather than sorted."""
    rows = len(column)
    integer = pa.types.is_integer(column.type) and column.null_count == 0
    if integer and rows:
        counted = _counted_integers(_numpy(column).astype(np.int64, copy=False))
        if counted is not None:
            return counted
    raw = _floats(column)
    finite = raw[np.isfinite(raw)]
    ordered = np.sort(finite)
    values, counts = _runs(ordered)
    return NumericValues(
        values=values,
        counts=counts,
        cumulative=_cumulative(counts),
        total=int(ordered.size),
        missing=rows - int(ordered.size),
        std=float(np.std(finite)) if finite.size else 0.0,
        integer=integer,
        mean=float(np.mean(finite)) if finite.size else math.nan,
    )


def category_summary(column: Column) -> CategoryCounts:
    """Distinct non-missing values, first seen first, and their counts (NaN counts as missing)."""
    counted = pc.value_counts(column)
    values = counted.field("values")
    keep = values.is_valid()
    if pa.types.is_floating(values.type):
        keep = pc.and_(keep, pc.invert(pc.is_nan(values)))
    values = values.filter(keep)
    if pa.types.is_dictionary(values.type):
        values = values.cast(values.type.value_type)
    counts = _numpy(counted.field("counts").filter(keep)).astype(np.int64)
    categories = np.empty(len(values), object)
    categories[:] = values.to_pylist()
    total = int(counts.sum())
    return CategoryCounts(categories, counts, total, len(column) - total)


def merge(
    first: ColumnValues, second: ColumnValues, *, max_points: int = MAX_POINTS
) -> ColumnValues:
    """The summary of two parts of a column: exact, unless more than ``max_points`` numbers."""
    if isinstance(first, NumericValues) and isinstance(second, NumericValues):
        return merge_numbers(first, second, max_points=max_points)
    assert isinstance(first, CategoryCounts) and isinstance(second, CategoryCounts)
    return merge_categories(first, second)


def merge_categories(first: CategoryCounts, second: CategoryCounts) -> CategoryCounts:
    counts: dict[object, int] = dict(
        zip(first.categories.tolist(), first.counts.tolist(), strict=True)
    )
    for value, count in zip(second.categories.tolist(), second.counts.tolist(), strict=True):
        counts[value] = counts.get(value, 0) + count
    categories = np.empty(len(counts), object)
    categories[:] = list(counts)
    return CategoryCounts(
        categories,
        np.fromiter(counts.values(), np.int64, len(counts)),
        first.total + second.total,
        first.missing + second.missing,
    )


def merge_numbers(first: NumericValues, second: NumericValues, *, max_points: int) -> NumericValues:
    """Merge sorted distinct values, add counts, and combine the spreads (Chan et al.)."""
    values = np.concatenate((first.values, second.values))
    counts = np.concatenate((first.counts, second.counts))
    order = np.argsort(values, kind="stable")  # two sorted runs: a linear merge
    values, counts = values[order], counts[order]
    if values.size:
        starts = np.flatnonzero(np.concatenate(([True], values[1:] != values[:-1])))
        values, counts = values[starts], np.add.reduceat(counts, starts)
    total = first.total + second.total
    mean, std = _combined_spread(first, second)
    merged = NumericValues(
        values=values,
        counts=counts,
        cumulative=_cumulative(counts),
        total=total,
        missing=first.missing + second.missing,
        std=std,
        integer=first.integer and second.integer,
        mean=mean,
        shifted=first.shifted + second.shifted,
        misplaced=first.misplaced + second.misplaced,
        not_numbers=first.not_numbers + second.not_numbers,
    )
    return compress(merged, max_points) if len(values) > max_points else merged


def compress(summary: NumericValues, max_points: int) -> NumericValues:
    """At most ``max_points`` values: runs of neighbours of about equal weight become their mean.

    Each group's values move to the group's mean, so the mean stays exact; the CDF is off by at
    most the heaviest group's count at any point (``misplaced`` adds it up over compressions)
    and the Wasserstein distance by at most ``shifted`` / total (the mass moved times how far).
    """
    counts, values = summary.counts, summary.values
    before = summary.cumulative[:-1]
    group = (before * max_points) // summary.total
    starts = np.flatnonzero(np.concatenate(([True], group[1:] != group[:-1])))
    weights = np.add.reduceat(counts, starts)
    means = np.add.reduceat(values * counts, starts) / weights
    # a mean can round just outside its group; keep the points in order
    means = np.clip(means, values[starts], values[np.append(starts[1:], len(values)) - 1])
    owner = np.repeat(np.arange(len(starts)), np.diff(np.append(starts, len(values))))
    shifted = float(np.sum(np.abs(values - means[owner]) * counts))
    return NumericValues(
        values=means,
        counts=weights,
        cumulative=_cumulative(weights),
        total=summary.total,
        missing=summary.missing,
        std=summary.std,
        integer=summary.integer,
        mean=summary.mean,
        shifted=summary.shifted + shifted,
        misplaced=summary.misplaced + int(weights.max()),
        not_numbers=summary.not_numbers,
    )


def arrow_kind(column_type: pa.DataType, role: str | None) -> str | None:
    """How drift reads a column of this Arrow type: numeric, categorical, or None (pandas)."""
    if pa.types.is_dictionary(column_type):
        column_type = column_type.value_type
    if role == "categorical" and _is_number(column_type):
        return "categorical"
    if _is_number(column_type):
        return "numeric"
    if pa.types.is_boolean(column_type) or _is_text(column_type):
        return "categorical"
    return None


def _combined_spread(first: NumericValues, second: NumericValues) -> tuple[float, float]:
    if not first.total or not second.total:
        kept = first if first.total else second
        return kept.mean, kept.std
    total = first.total + second.total
    delta = second.mean - first.mean
    mean = first.mean + delta * second.total / total
    squares = first.std**2 * first.total + second.std**2 * second.total
    squares += delta**2 * first.total * second.total / total
    return mean, math.sqrt(max(squares / total, 0.0))


def _counted_integers(ints: np.ndarray) -> NumericValues | None:
    """Integers over a span not much wider than their count: one bincount instead of a sort."""
    low, high = int(ints.min()), int(ints.max())
    if high - low >= BINCOUNT_SPAN * ints.size:
        return None
    tally = np.bincount(ints - low)
    present = np.flatnonzero(tally)
    counts = tally[present].astype(np.int64)
    values = (present + low).astype(np.float64)
    mean = float(np.dot(values, counts)) / ints.size
    std = math.sqrt(float(np.dot(np.square(values - mean), counts)) / ints.size)
    return NumericValues(
        values=values,
        counts=counts,
        cumulative=_cumulative(counts),
        total=int(ints.size),
        missing=0,
        std=std,
        integer=True,
        mean=mean,
    )


def _coerced_numbers(column: Column) -> NumericValues:
    """A text column compared as numbers: values that are not numbers count as missing."""
    from dataclasses import replace

    import pandas as pd

    from core.monitor.drift.values import numeric_values

    series = _series(column)
    coerced = pd.to_numeric(series, errors="coerce")
    failed = int(coerced.isna().sum() - series.isna().sum())
    return replace(numeric_values(coerced), not_numbers=failed)


def _series(column: Column) -> Any:
    return column.to_pandas()


def _floats(column: Column) -> np.ndarray:
    """float64 values, missing ones NaN."""
    if not pa.types.is_float64(column.type):
        column = pc.cast(column, pa.float64())
    values = _numpy(column)
    if column.null_count:
        values = np.where(valid(column), values, np.nan)
    return values


def _runs(ordered: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if not ordered.size:
        return ordered, np.empty(0, np.int64)
    change = np.empty(ordered.size, bool)
    change[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=change[1:])
    starts = np.flatnonzero(change)
    return ordered[starts], np.diff(np.append(starts, ordered.size))


def _cumulative(counts: np.ndarray) -> np.ndarray:
    return np.concatenate(([0], np.cumsum(counts)))


def _is_number(column_type: pa.DataType) -> bool:
    return bool(pa.types.is_integer(column_type) or pa.types.is_floating(column_type))


def _is_text(column_type: pa.DataType) -> bool:
    return bool(pa.types.is_string(column_type) or pa.types.is_large_string(column_type))


def _is_countable(column_type: pa.DataType) -> bool:
    if pa.types.is_dictionary(column_type):
        column_type = column_type.value_type
    return _is_number(column_type) or pa.types.is_boolean(column_type) or _is_text(column_type)
