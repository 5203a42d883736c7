"""One column at a time: numeric summary, category counts and dates over time."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from core.data.explore.frames import (
    _column,
    _floats,
    _is_datetime,
    _label,
    _level_counts,
    _sample_positions,
)

Period = Literal["day", "week", "month", "year"]

MAX_VALUES = 100_000

MAX_BINS = 60
MAX_BUCKETS = 200

QUANTILES: dict[str, float] = {
    "min": 0.0,
    "1%": 0.01,
    "5%": 0.05,
    "25%": 0.25,
    "50%": 0.5,
    "75%": 0.75,
    "95%": 0.95,
    "99%": 0.99,
    "max": 1.0,
}


@dataclass(frozen=True)
class BoxStats:
    """A Tukey box: quartiles, whiskers at the furthest values within 1.5 IQR, mean and count."""

    q1: float
    median: float
    q3: float
    lower_whisker: float
    upper_whisker: float
    mean: float
    count: int


@dataclass(frozen=True)
class NumericSummary:
    """One numeric column: exact counts, quantiles, IQR outliers and histogram; a value sample."""

    column: str
    count: int
    missing: int
    infinite: int
    mean: float | None
    std: float | None
    quantiles: dict[str, float | None]
    box: BoxStats | None
    lower_bound: float | None
    upper_bound: float | None
    outlier_count: int
    bin_edges: list[float]
    bin_counts: list[int]
    values: list[float]
    sampled: bool


@dataclass(frozen=True)
class CategoryCounts:
    """The most frequent levels of a column, what is left over and how much is missing."""

    column: str
    levels: list[str]
    counts: list[int]
    other_count: int
    other_levels: int
    missing: int
    total: int
    distinct: int


@dataclass(frozen=True)
class DatetimeCounts:
    """Row counts per period (buckets start on ``starts``, ISO dates in the column's own clock)."""

    column: str
    period: Period
    starts: list[str]
    counts: list[int]
    missing: int
    timezone: str | None
    first: str | None
    last: str | None


def _bin_edges(values: np.ndarray) -> np.ndarray:
    """Shared histogram edges: one bin per integer when few, else Freedman-Diaconis, capped."""
    if values.size == 0:
        return np.array([], dtype=float)
    low, high = float(values.min()), float(values.max())
    if low == high:
        return np.array([low - 0.5, high + 0.5])
    if high - low < MAX_BINS and np.array_equal(values, np.round(values)):
        return np.arange(low - 0.5, high + 1.0, 1.0)
    sample = values[_sample_positions(values.size, MAX_VALUES)]
    q1, q3 = np.quantile(sample, [0.25, 0.75])
    width = float(2.0 * (q3 - q1) / np.cbrt(sample.size))
    if width <= 0:
        bins = np.log2(sample.size) + 1
    else:  # compared rather than divided, so a tiny width cannot overflow
        bins = MAX_BINS if high - low >= width * MAX_BINS else np.ceil((high - low) / width)
    return np.linspace(low, high, int(min(max(bins, 10), MAX_BINS)) + 1)


def _box(values: np.ndarray) -> BoxStats | None:
    if values.size == 0:
        return None
    q1, median, q3 = np.quantile(values, [0.25, 0.5, 0.75])
    low, high = q1 - 1.5 * (q3 - q1), q3 + 1.5 * (q3 - q1)
    inside = values[(values >= low) & (values <= high)]
    return BoxStats(
        q1=float(q1),
        median=float(median),
        q3=float(q3),
        lower_whisker=float(inside.min()),
        upper_whisker=float(inside.max()),
        mean=float(values.mean()),
        count=int(values.size),
    )


def _moment(values: np.ndarray, moment: Callable[..., Any], *, least: int) -> float | None:
    """Mean or sample std; None when too few values or when it overflows (values near 1e308)."""
    if values.size < least:
        return None
    with np.errstate(over="ignore", invalid="ignore"):
        result = float(moment(values, ddof=1) if least > 1 else moment(values))
    return result if np.isfinite(result) else None


def numeric_summary(frame: pd.DataFrame, *, column: str) -> NumericSummary:
    """Quantiles, IQR outliers and a histogram over all finite values, plus a seeded sample."""
    raw = _floats(_column(frame, column))
    finite = raw[np.isfinite(raw)]
    box = _box(finite)
    cuts = np.quantile(finite, list(QUANTILES.values())) if finite.size else None
    iqr = box.q3 - box.q1 if box else 0.0
    lower = box.q1 - 1.5 * iqr if box else None
    upper = box.q3 + 1.5 * iqr if box else None
    edges = _bin_edges(finite)
    counts = np.histogram(finite, bins=edges)[0] if edges.size else np.array([], dtype=int)
    positions = _sample_positions(finite.size, MAX_VALUES)
    return NumericSummary(
        column=str(column),
        count=int(finite.size),
        missing=int(np.isnan(raw).sum()),
        infinite=int(np.isinf(raw).sum()),
        mean=_moment(finite, np.mean, least=1),
        std=_moment(finite, np.std, least=2),
        quantiles={
            key: (float(cuts[i]) if cuts is not None else None) for i, key in enumerate(QUANTILES)
        },
        box=box,
        lower_bound=lower,
        upper_bound=upper,
        outlier_count=int(((finite < lower) | (finite > upper)).sum()) if box else 0,
        bin_edges=edges.tolist(),
        bin_counts=counts.tolist(),
        values=finite[positions].tolist(),
        sampled=positions.size < finite.size,
    )


# ---------------------------------------------------------------- categorical columns


def category_counts(frame: pd.DataFrame, *, column: str, top_k: int = 20) -> CategoryCounts:
    """The top_k most frequent levels (ties in order of appearance), an other bucket, missing."""
    series = _column(frame, column)
    codes, uniques, counts = _level_counts(series)
    top = counts[:top_k]
    return CategoryCounts(
        column=str(column),
        levels=[_label(value) for value in uniques[:top_k]],
        counts=top.tolist(),
        other_count=int(counts[top_k:].sum()),
        other_levels=int(max(len(counts) - top_k, 0)),
        missing=int((codes < 0).sum()),
        total=len(series),
        distinct=len(counts),
    )


# ---------------------------------------------------------------- datetime columns


def _datetimes(series: pd.Series) -> tuple[np.ndarray, str | None]:
    """Wall-clock datetime64 values (NaT for missing) and the time zone they were read in."""
    if not _is_datetime(series):
        series = pd.to_datetime(series, errors="coerce", utc=True, format="mixed")
    zone = getattr(series.dtype, "tz", None)
    if zone is not None:
        series = series.dt.tz_localize(None)
    return series.to_numpy(), (str(zone) if zone is not None else None)


def _ordinals(values: np.ndarray, period: Period) -> np.ndarray:
    """Integer period number of each datetime64 value; weeks start on Monday."""
    if period == "day":
        return values.astype("datetime64[D]").astype(np.int64)
    if period == "week":
        return (values.astype("datetime64[D]").astype(np.int64) + 3) // 7
    unit = "datetime64[M]" if period == "month" else "datetime64[Y]"
    return values.astype(unit).astype(np.int64)


def _period_starts(ordinals: np.ndarray, period: Period) -> list[str]:
    if period == "week":
        days = (ordinals * 7 - 3).astype("datetime64[D]")
    else:
        unit = {"day": "D", "month": "M", "year": "Y"}[period]
        days = ordinals.astype(f"datetime64[{unit}]").astype("datetime64[D]")
    return [str(day) for day in np.datetime_as_string(days, unit="D")]


def _choose_period(first: np.datetime64, last: np.datetime64) -> Period:
    """The finest period that gives at most MAX_BUCKETS buckets between first and last."""
    ends = np.array([first, last])
    for period in ("day", "week", "month"):
        low, high = _ordinals(ends, period)
        if high - low + 1 <= MAX_BUCKETS:
            return period
    return "year"


def _bucketed(values: np.ndarray) -> tuple[Period, np.ndarray, np.ndarray]:
    """Period, ordinal of each present value and the first ordinal, for non-NaT values."""
    period = _choose_period(values.min(), values.max())
    ordinals = _ordinals(values, period)
    return period, ordinals, np.arange(ordinals.min(), ordinals.max() + 1)


def datetime_counts(frame: pd.DataFrame, *, column: str) -> DatetimeCounts:
    """Counts per day, week, month or year, whichever gives about 20 to 200 buckets."""
    values, zone = _datetimes(_column(frame, column))
    present = values[~np.isnat(values)]
    missing = int(values.size - present.size)
    if present.size == 0:
        return DatetimeCounts(str(column), "day", [], [], missing, zone, None, None)
    period, ordinals, span = _bucketed(present)
    counts = np.bincount(ordinals - span[0], minlength=span.size)
    first, last = np.datetime_as_string(np.array([present.min(), present.max()]), unit="s")
    return DatetimeCounts(
        column=str(column),
        period=period,
        starts=_period_starts(span, period),
        counts=counts.tolist(),
        missing=missing,
        timezone=zone,
        first=str(first),
        last=str(last),
    )
