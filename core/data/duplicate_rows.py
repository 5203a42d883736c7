"""Duplicate rows counted exactly: each column coded, the codes combined into one key per row."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from core.data.arrow_numbers import numbers

# Above this many int64 key combinations the duplicate-row key is re-numbered to stay exact.
KEY_LIMIT = 2**62


def duplicate_rows(table: pa.Table, *, distinct: Iterable[int] = ()) -> int:
    """Exact count of rows equal to an earlier row, from per-column codes combined per row
    (``distinct``: the columns' distinct counts when known; cells compared as they are)."""
    rows = table.num_rows
    if rows < 2 or table.num_columns == 0:
        return 0
    if any(count == rows for count in distinct):
        return 0  # a column with a different value in every row rules duplicates out
    codes = (_row_codes(table.column(index)) for index in range(table.num_columns))
    return rows - _distinct_keys(codes, rows=rows)


def _row_codes(column: pa.ChunkedArray) -> tuple[np.ndarray, int]:
    """One integer per row, equal exactly when the values are (missing is one more value)."""
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    try:
        encoded = pc.dictionary_encode(column, null_encoding="encode")
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid, pa.ArrowTypeError):
        codes, firsts = text_codes(column)
        return np.where(codes < 0, len(firsts), codes), len(firsts) + 1
    parts = [numbers(chunk.indices).astype(np.int64) for chunk in encoded.chunks]
    return np.concatenate(parts), len(encoded.chunk(0).dictionary)


def _distinct_keys(codes: Iterable[tuple[np.ndarray, int]], *, rows: int) -> int:
    key = np.zeros(rows, np.int64)
    size = 1
    for column_codes, levels in codes:
        if size * levels >= KEY_LIMIT:
            key, size = _renumber(key)
            if size == rows:
                return rows  # every row already differs
        key = key * levels + column_codes
        size *= levels
    return _renumber(key)[1]


def _renumber(key: np.ndarray) -> tuple[np.ndarray, int]:
    uniques, dense = np.unique(key, return_inverse=True)
    return dense.astype(np.int64, copy=False), len(uniques)


def text_codes(column: pa.ChunkedArray) -> tuple[np.ndarray, list[Any]]:
    """Each row's code by text form (-1 for missing) and the first value seen per code."""
    import pandas as pd

    values = column.to_pylist()
    texts = pd.Series([None if value is None else repr(value) for value in values], dtype=object)
    codes = pd.factorize(texts)[0].astype(np.int64, copy=False)
    found, first_rows = np.unique(codes, return_index=True)
    firsts = [values[row] for code, row in zip(found, first_rows, strict=True) if code >= 0]
    return codes, firsts
