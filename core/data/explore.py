"""Computations behind the Explore page: distributions, correlations, missingness, target views."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
import pandas as pd

from core.data.schema import ColumnSchema

Task = Literal["binary", "multiclass", "regression"]
Period = Literal["day", "week", "month", "year"]
CorrelationMethod = Literal["pearson", "spearman", "cramers_v"]

SEED = 0
MAX_VALUES = 100_000
MAX_CORRELATION_ROWS = 100_000
MAX_CORRELATION_COLUMNS = 40
MAX_CORRELATION_LEVELS = 40
MAX_MATRIX_ROWS = 500
MAX_PATTERNS = 10
MAX_BINS = 60
MAX_BUCKETS = 200
MAX_CLASSES = 10
MAX_COLOR_LEVELS = 10
MAX_NUMERIC_CLASSES = 20
MAX_FEATURE_LEVELS = 20
TARGET_POINTS = 5_000
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
OTHER = "(other)"
MISSING = "(missing)"
POSITIVE_LABELS = ("1", "true", "yes", "y", "positive", "pos")

UNKNOWN_COLUMN = "No column named {name!r} in this dataset version."
UNKNOWN_METHOD = "Unknown correlation method {method!r}: use 'pearson', 'spearman' or 'cramers_v'."
SAME_COLUMN = "The feature and the target are the same column ({name!r}); pick another feature."

CONSTANT = "empty or a single value"
OVER_CAP = f"beyond the {MAX_CORRELATION_COLUMNS} most relevant columns"


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


@dataclass(frozen=True)
class Correlations:
    """A symmetric association matrix; ``None`` where it is undefined."""

    method: CorrelationMethod
    columns: list[str]
    matrix: list[list[float | None]]
    left_out: dict[str, str]
    rows_used: int
    sampled: bool


@dataclass(frozen=True)
class MissingPattern:
    """Where values are missing: per column, on a row sample, and the commonest row patterns."""

    rows: int
    columns: list[str]
    missing_counts: list[int]
    fractions: list[float]
    matrix_columns: list[str]
    matrix_rows: list[int]
    matrix: list[list[bool]]
    pattern_masks: list[list[bool]]
    pattern_counts: list[int]


@dataclass(frozen=True)
class ScatterSample:
    """Rows where both x and y are present, downsampled; values are floats or text."""

    x: str
    y: str
    color: str | None
    x_values: list[float | str]
    y_values: list[float | str]
    color_values: list[float | str | None]
    color_kind: Literal["numeric", "categorical"] | None
    rows: int
    sampled: bool


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


# ---------------------------------------------------------------- shared helpers


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    if name not in frame.columns:
        raise KeyError(UNKNOWN_COLUMN.format(name=name))
    column = frame[name]
    return column.iloc[:, 0] if isinstance(column, pd.DataFrame) else column


def _sample_positions(n: int, k: int) -> np.ndarray:
    """Sorted positions of a seeded sample of k out of n (all of them when n <= k)."""
    if n <= k:
        return np.arange(n)
    return np.sort(np.random.default_rng(SEED).choice(n, size=k, replace=False))


def _is_numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def _is_datetime(series: pd.Series) -> bool:
    return pd.api.types.is_datetime64_any_dtype(series)


def _floats(series: pd.Series) -> np.ndarray:
    """The column as float64 with NaN for anything missing or not a number."""
    if pd.api.types.is_bool_dtype(series) or _is_numeric(series):
        return series.to_numpy(dtype=float, na_value=np.nan)
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _label(value: object) -> str:
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return str(value)


def _floats_or_none(values: np.ndarray) -> list[float | None]:
    """Plain floats with None where a value is NaN or infinite."""
    plain = values.astype(object)
    plain[~np.isfinite(values)] = None
    return plain.tolist()


def _level_counts(series: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Codes per row (-1 when missing), distinct values and their counts, most frequent first.

    Ties keep the order of first appearance. factorize + bincount is several times faster
    than value_counts on object columns with many levels.
    """
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    counts = np.bincount(codes[codes >= 0], minlength=len(uniques))
    order = np.argsort(-counts, kind="stable")
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    ranked = np.full(codes.shape, -1, dtype=np.int64)
    ranked[codes >= 0] = rank[codes[codes >= 0]]
    return ranked, np.asarray(uniques, dtype=object)[order], counts[order]


# ---------------------------------------------------------------- numeric columns


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


# ---------------------------------------------------------------- correlations


def _pearson_matrix(values: np.ndarray) -> np.ndarray:
    """Pairwise-complete Pearson correlation of the columns of a float array with NaN."""
    present = ~np.isnan(values)
    centred = np.where(present, values - np.nanmean(values, axis=0), 0.0)
    weight = present.astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        n = weight.T @ weight
        sums = centred.T @ weight  # sums[i, j]: x_i summed where both i and j are present
        squares = (centred * centred).T @ weight
        var = squares - sums**2 / n
        cov = centred.T @ centred - sums * sums.T / n
        corr = cov / np.sqrt(var * var.T)
    flat = (var <= 1e-12 * squares) | (var.T <= 1e-12 * squares.T) | (n < 2)
    corr[flat] = np.nan
    np.fill_diagonal(corr, np.where(np.isnan(np.diag(corr)), np.nan, 1.0))
    return np.clip(corr, -1.0, 1.0)


def _bias_corrected_v(table: np.ndarray) -> float | None:
    """Bergsma's bias-corrected Cramér's V of a contingency table (empty rows/cols dropped)."""
    table = table[table.sum(axis=1) > 0][:, table.sum(axis=0) > 0]
    n = float(table.sum())
    rows, cols = table.shape
    if n < 2 or rows < 2 or cols < 2:
        return None
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / n
    phi2 = float(((table - expected) ** 2 / expected).sum()) / n
    phi2 = max(0.0, phi2 - (rows - 1) * (cols - 1) / (n - 1))
    rows_c = rows - (rows - 1) ** 2 / (n - 1)
    cols_c = cols - (cols - 1) ** 2 / (n - 1)
    denominator = min(rows_c, cols_c) - 1
    return None if denominator <= 0 else min(1.0, float(np.sqrt(phi2 / denominator)))


def _capped_codes(series: pd.Series) -> tuple[np.ndarray, int]:
    """Codes over the top levels (the rest share one code); missing gets the last code."""
    codes, _, counts = _level_counts(series)
    kept = min(len(counts), MAX_CORRELATION_LEVELS)
    levels = kept + (1 if len(counts) > kept else 0)
    return np.where(codes < 0, levels, np.minimum(codes, kept)), levels


def _cramers_v(a: tuple[np.ndarray, int], b: tuple[np.ndarray, int]) -> float | None:
    (codes_a, levels_a), (codes_b, levels_b) = a, b
    size = (levels_a + 1) * (levels_b + 1)
    table = np.bincount(codes_a * (levels_b + 1) + codes_b, minlength=size)
    return _bias_corrected_v(table.reshape(levels_a + 1, levels_b + 1)[:-1, :-1])


def _cramers_matrix(coded: list[tuple[np.ndarray, int]]) -> np.ndarray:
    size = len(coded)
    matrix = np.full((size, size), np.nan)
    for i in range(size):
        for j in range(i, size):
            value = _cramers_v(coded[i], coded[j])
            matrix[i, j] = matrix[j, i] = np.nan if value is None else value
    return matrix


def _matrix(data: list[np.ndarray | tuple[np.ndarray, int]]) -> np.ndarray:
    coded = [item for item in data if isinstance(item, tuple)]
    if coded:
        return _cramers_matrix(coded)
    values = [item for item in data if isinstance(item, np.ndarray)]
    if not values:
        return np.empty((0, 0))
    return _pearson_matrix(np.column_stack(values))


def _candidates(
    frame: pd.DataFrame, schema: Sequence[ColumnSchema], method: CorrelationMethod
) -> list[str]:
    """Columns of the schema that the method applies to, in schema order."""
    names = []
    for column in schema:
        if column.name not in frame.columns:
            continue
        series = _column(frame, column.name)
        if method != "cramers_v":
            fits = column.role == "numeric" or (column.role == "target" and _is_numeric(series))
        else:
            fits = column.role in ("categorical", "boolean") or (
                column.role == "target" and guess_task(series) != "regression"
            )
        if fits:
            names.append(column.name)
    return names


def _relevance(
    name: str, target: str | None, prepared: dict[str, np.ndarray | tuple[np.ndarray, int]]
) -> float:
    """How much a column matters when there are too many: association with the target if any."""
    data = prepared[name]
    if target is None or target not in prepared:
        present = data[0] < data[1] if isinstance(data, tuple) else ~np.isnan(data)
        return float(present.mean())
    if name == target:
        return np.inf
    other = prepared[target]
    value: float | None = None
    if isinstance(data, tuple) and isinstance(other, tuple):
        value = _cramers_v(data, other)
    elif isinstance(data, np.ndarray) and isinstance(other, np.ndarray):
        value = float(_pearson_matrix(np.column_stack([data, other]))[0, 1])
    return 0.0 if value is None or np.isnan(value) else abs(value)


def _prepare(series: pd.Series, method: CorrelationMethod) -> np.ndarray | tuple[np.ndarray, int]:
    if method == "cramers_v":
        return _capped_codes(series)
    values = _floats(series)
    if method == "spearman":
        return pd.Series(values).rank(method="average").to_numpy(dtype=float)
    return np.where(np.isinf(values), np.nan, values)


def _is_constant(data: np.ndarray | tuple[np.ndarray, int]) -> bool:
    if isinstance(data, tuple):
        codes, levels = data
        return np.unique(codes[codes < levels]).size < 2
    present = data[~np.isnan(data)]
    return present.size < 2 or bool(present.min() == present.max())


def correlations(
    frame: pd.DataFrame, *, schema: Sequence[ColumnSchema], method: CorrelationMethod
) -> Correlations:
    """Pearson/Spearman over numeric columns or bias-corrected Cramér's V over categorical ones.

    Uses a seeded sample of at most MAX_CORRELATION_ROWS rows. Spearman ranks each column once,
    so with missing values it can differ slightly from pandas, which re-ranks every pair.
    """
    if method not in ("pearson", "spearman", "cramers_v"):
        raise ValueError(UNKNOWN_METHOD.format(method=method))
    positions = _sample_positions(len(frame), MAX_CORRELATION_ROWS)
    rows = frame.iloc[positions] if positions.size < len(frame) else frame
    prepared = {
        name: _prepare(_column(rows, name), method) for name in _candidates(frame, schema, method)
    }
    left_out = {name: CONSTANT for name, data in prepared.items() if _is_constant(data)}
    kept = [name for name in prepared if name not in left_out]
    if len(kept) > MAX_CORRELATION_COLUMNS:
        target = next((c.name for c in schema if c.role == "target" and c.name in kept), None)
        ranked = sorted(kept, key=lambda name: -_relevance(name, target, prepared))
        left_out.update({name: OVER_CAP for name in ranked[MAX_CORRELATION_COLUMNS:]})
        kept = [name for name in kept if name in ranked[:MAX_CORRELATION_COLUMNS]]
    matrix = _matrix([prepared[name] for name in kept])
    return Correlations(
        method=method,
        columns=[str(name) for name in kept],
        matrix=[_floats_or_none(row) for row in matrix],
        left_out={str(name): reason for name, reason in left_out.items()},
        rows_used=int(positions.size),
        sampled=positions.size < len(frame),
    )


# ---------------------------------------------------------------- missing values


def _row_patterns(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows of a boolean matrix and their counts, most frequent first.

    Rows are packed to bytes, one uint64 per 64 columns, and combined column by column with
    factorize, which is much faster than np.unique(axis=0) on a million rows.
    """
    rows = np.zeros(mask.shape[0], dtype=np.int64)
    packed = np.packbits(mask, axis=1)
    padded = np.zeros((mask.shape[0], -(-packed.shape[1] // 8) * 8), dtype=np.uint8)
    padded[:, : packed.shape[1]] = packed
    for key in padded.view(np.uint64).T:
        codes, uniques = pd.factorize(key)
        rows = pd.factorize(rows * len(uniques) + codes)[0]
    counts = np.bincount(rows)
    top = np.argsort(-counts, kind="stable")[:MAX_PATTERNS]
    return mask[[int(np.argmax(rows == code)) for code in top]], counts[top]


def missing_pattern(frame: pd.DataFrame) -> MissingPattern:
    """Missing share per column, a seeded row-sample matrix and the top row patterns."""
    mask = frame.isna().to_numpy(dtype=bool)
    counts = mask.sum(axis=0)
    with_missing = np.flatnonzero(counts > 0)
    sub = mask[:, with_missing]
    positions = _sample_positions(len(frame), MAX_MATRIX_ROWS)
    patterns, pattern_counts = _row_patterns(sub)
    names = [str(name) for name in frame.columns]
    return MissingPattern(
        rows=len(frame),
        columns=names,
        missing_counts=counts.tolist(),
        fractions=(counts / len(frame) if len(frame) else counts * 0.0).tolist(),
        matrix_columns=[names[i] for i in with_missing],
        matrix_rows=positions.tolist(),
        matrix=sub[positions].tolist(),
        pattern_masks=patterns.tolist(),
        pattern_counts=pattern_counts.tolist(),
    )


# ---------------------------------------------------------------- scatter


def _plain_values(series: pd.Series) -> list[float | str]:
    """Floats for numbers, wall-clock ISO text for datetimes, text for everything else."""
    if _is_numeric(series):
        return series.to_numpy(dtype=float, na_value=np.nan).tolist()
    if _is_datetime(series):
        values, _ = _datetimes(series)
        return np.datetime_as_string(values, unit="s").tolist()
    return [_label(value) for value in series.tolist()]


def _color_values(
    series: pd.Series,
) -> tuple[list[float | str | None], Literal["numeric", "categorical"]]:
    """Numbers stay numbers when there are many; otherwise top levels, other and missing."""
    if _is_numeric(series) and series.nunique() > MAX_COLOR_LEVELS:
        values = series.to_numpy(dtype=float, na_value=np.nan)
        return list(_floats_or_none(values)), "numeric"
    codes, uniques, _ = _level_counts(series)
    labels = np.array(
        [_label(value) for value in uniques[:MAX_COLOR_LEVELS]] + [OTHER, MISSING], dtype=object
    )
    index = np.where(codes < 0, len(labels) - 1, np.minimum(codes, len(labels) - 2))
    return labels[index].tolist(), "categorical"


def scatter_sample(
    frame: pd.DataFrame,
    *,
    x: str,
    y: str,
    color: str | None = None,
    max_points: int = 100_000,
) -> ScatterSample:
    """A seeded sample of at most max_points rows where x and y are both present."""
    xs, ys = _column(frame, x), _column(frame, y)
    present = np.flatnonzero((xs.notna() & ys.notna()).to_numpy())
    picked = present[_sample_positions(present.size, max_points)]
    colors: list[float | str | None] = []
    kind: Literal["numeric", "categorical"] | None = None
    if color is not None:
        colors, kind = _color_values(_column(frame, color).iloc[picked])
    return ScatterSample(
        x=str(x),
        y=str(y),
        color=None if color is None else str(color),
        x_values=_plain_values(xs.iloc[picked]),
        y_values=_plain_values(ys.iloc[picked]),
        color_values=colors,
        color_kind=kind,
        rows=int(present.size),
        sampled=picked.size < present.size,
    )


# ---------------------------------------------------------------- target analysis


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


def target_analysis(
    frame: pd.DataFrame, *, target: str, feature: str, schema: Sequence[ColumnSchema]
) -> TargetAnalysis:
    """The feature against the target, on the rows where both are present."""
    if feature == target:
        raise ValueError(SAME_COLUMN.format(name=feature))
    y_all, x_all = _column(frame, target), _column(frame, feature)
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


# ---------------------------------------------------------------- pair plot

MAX_PAIR_COLUMNS = 6
PAIR_POINTS = 5_000


@dataclass(frozen=True)
class PairSample:
    """A seeded row sample of a few numeric columns for a scatter matrix, with optional colour."""

    columns: list[str]
    values: list[list[float]]
    color: str | None
    color_values: list[float | str | None]
    color_kind: Literal["numeric", "categorical"] | None
    rows: int
    sampled: bool


def pair_sample(
    frame: pd.DataFrame,
    *,
    columns: Sequence[str],
    color: str | None = None,
    max_points: int = PAIR_POINTS,
) -> PairSample:
    """At most max_points seeded rows of up to MAX_PAIR_COLUMNS columns, for a pair plot."""
    chosen = list(columns)[:MAX_PAIR_COLUMNS]
    picked = _sample_positions(len(frame), max_points)
    colors: list[float | str | None] = []
    kind: Literal["numeric", "categorical"] | None = None
    if color is not None:
        colors, kind = _color_values(_column(frame, color).iloc[picked])
    return PairSample(
        columns=[str(name) for name in chosen],
        values=[_floats(_column(frame, name).iloc[picked]).tolist() for name in chosen],
        color=None if color is None else str(color),
        color_values=colors,
        color_kind=kind,
        rows=len(frame),
        sampled=picked.size < len(frame),
    )
