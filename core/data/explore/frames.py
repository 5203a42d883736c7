"""Reading one column for exploration: lookup, kind, floats, labels, level counts, samples."""

from __future__ import annotations

import numpy as np
import pandas as pd

SEED = 0

OTHER = "(other)"
MISSING = "(missing)"

UNKNOWN_COLUMN = "No column named '{name}' in this dataset version."


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
