"""The correlation matrix: Pearson, Spearman or Cramér's V over the most relevant columns."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from core.data.explore.frames import (
    _column,
    _floats,
    _floats_or_none,
    _is_numeric,
    _level_counts,
    _sample_positions,
)
from core.data.explore.target import guess_task
from core.data.schema import ColumnSchema

CorrelationMethod = Literal["pearson", "spearman", "cramers_v"]

MAX_CORRELATION_ROWS = 100_000
MAX_CORRELATION_COLUMNS = 40
MAX_CORRELATION_LEVELS = 40

UNKNOWN_METHOD = "Unknown correlation method '{method}': use 'pearson', 'spearman' or 'cramers_v'."

CONSTANT = "empty or a single value"
OVER_CAP = f"beyond the {MAX_CORRELATION_COLUMNS} most relevant columns"


@dataclass(frozen=True)
class Correlations:
    """A symmetric association matrix; ``None`` where it is undefined."""

    method: CorrelationMethod
    columns: list[str]
    matrix: list[list[float | None]]
    left_out: dict[str, str]
    rows_used: int
    sampled: bool


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
