"""Input handling the transformers share: sklearn's checks, cells read as numbers, text or dates."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils.validation import validate_data

TOO_FEW_ROWS = "Found array with 0 sample(s) (shape={shape}) while a minimum of 1 is required."
_NANOSECONDS_PER_UNIT = {"s": 1e9, "ms": 1e6, "us": 1e3, "ns": 1.0}
_NANOSECONDS_PER_DAY = 86_400e9
_EXACT_FLOAT_INTEGERS = 2.0**53
_NUMBER_KINDS = frozenset({"integer", "floating", "mixed-integer-float", "decimal"})


def _frame(estimator: BaseEstimator, X: Any, *, reset: bool) -> pd.DataFrame:
    """Any 2-D input as a frame, after sklearn's usual checks on shape, names and counts."""
    if isinstance(X, pd.DataFrame):
        validate_data(estimator, X, reset=reset, skip_check_array=True)
        if reset and len(X) == 0:
            raise ValueError(TOO_FEW_ROWS.format(shape=X.shape))
        return X
    array = validate_data(
        estimator, X, reset=reset, dtype=None, ensure_all_finite=False, ensure_min_samples=1
    )
    return pd.DataFrame(array)


def _float_array(frame: pd.DataFrame, read: Callable[[pd.Series], np.ndarray]) -> np.ndarray:
    """A float64 array whose columns are ``read`` of the frame's columns, one at a time."""
    out = np.empty(frame.shape, dtype=np.float64)
    for index, (_, column) in enumerate(frame.items()):
        out[:, index] = read(column)
    return out


def _floats(estimator: BaseEstimator, X: Any, *, reset: bool) -> np.ndarray:
    """Numeric input as a float64 array; NaN and +/-inf pass through to the caller."""
    return validate_data(estimator, X, reset=reset, dtype=np.float64, ensure_all_finite=False)


def _finite_or_nan(values: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(values), values, np.nan)


def _column_as_float(column: np.ndarray) -> np.ndarray:
    """One plain column as a new float64 array, read as ``_as_float`` reads a frame's column."""
    if column.dtype.kind == "f":
        return column.astype(np.float64, copy=True)
    return np.array(_as_float(pd.Series(column)), dtype=np.float64)


def _column_as_text(column: np.ndarray) -> np.ndarray:
    """``_as_text`` of one plain column; plain text and yes/no columns without a Series."""
    if column.dtype.kind != "O":
        return _as_text(pd.Series(column))
    types = set(map(type, column.tolist()))
    if str in types and types <= {str, type(None)}:  # infer_dtype says "string"
        values = column.copy()
    elif bool in types and types <= {bool, type(None)}:  # "boolean": read as str() reads it
        values = np.array([str(value) for value in column.tolist()], dtype=object)
    else:
        return _as_text(pd.Series(column))
    if type(None) in types:
        values[pd.isna(column)] = np.nan
    return values


def _float_columns(columns: list[np.ndarray]) -> list[np.ndarray]:
    return [np.asarray(column, dtype=np.float64) for column in columns]


def _tagged(tags: Any, *, allow_nan: bool = True, string: bool = False) -> Any:
    tags.input_tags.allow_nan = allow_nan
    tags.input_tags.string = string
    return tags


def _as_float(column: pd.Series) -> np.ndarray:
    if pd.api.types.is_bool_dtype(column.dtype) or pd.api.types.is_numeric_dtype(column.dtype):
        return column.to_numpy(dtype=np.float64, na_value=np.nan)
    if pd.api.types.is_datetime64_any_dtype(column.dtype):
        return epoch_days(_as_datetime(column))
    try:
        numbers = pd.to_numeric(column, errors="coerce")
    except TypeError:  # values such as dicts or lists: no number in them
        numbers = pd.Series(np.nan, index=column.index)
    return numbers.to_numpy(dtype=np.float64, na_value=np.nan)


def _numbers_as_text(values: np.ndarray) -> np.ndarray:
    """Whole numbers print without a decimal point, so 3 and 3.0 are the same level."""
    out = np.full(values.shape, np.nan, dtype=object)
    finite = np.isfinite(values)
    with np.errstate(invalid="ignore"):
        whole = finite & (np.abs(values) < _EXACT_FLOAT_INTEGERS) & (values == np.floor(values))
    out[whole] = values[whole].astype(np.int64).astype(str)
    rest = finite & ~whole
    out[rest] = values[rest].astype(str)
    return out


def level_text(level: Any) -> str:
    """A level as people read it: 3.0 -> "3", 0.5 -> "0.5", "north" -> "north"."""
    is_float = isinstance(level, float | np.floating) and math.isfinite(level)
    if is_float and abs(level) < _EXACT_FLOAT_INTEGERS and level == int(level):
        return str(int(level))
    return str(level)


def _is_number_column(column: pd.Series) -> bool:
    if pd.api.types.is_bool_dtype(column.dtype) or isinstance(column.dtype, pd.CategoricalDtype):
        return False
    if pd.api.types.is_numeric_dtype(column.dtype):
        return True
    return column.dtype == object and pd.api.types.infer_dtype(column) in _NUMBER_KINDS


def _as_text(column: pd.Series) -> np.ndarray:
    if isinstance(column.dtype, pd.CategoricalDtype):
        column = column.astype(object)
    missing = column.isna().to_numpy()
    kind = pd.api.types.infer_dtype(column, skipna=True)
    if kind in _NUMBER_KINDS:
        return _numbers_as_text(_as_float(column))
    if kind == "string":
        values = column.to_numpy(dtype=object, copy=True)
    elif kind.startswith("mixed"):
        # a rare, untidy column: per value, so 3 and 3.0 still read "3" and True "True"
        values = np.asarray([level_text(value) for value in column], dtype=object)
    else:
        values = column.astype(str).to_numpy(dtype=object)
    values[missing] = np.nan
    return values


def _as_datetime(column: pd.Series) -> pd.Series:
    """Datetimes (naive, or aware converted to UTC), ISO strings, or numbers as epoch days."""
    if isinstance(column.dtype, pd.DatetimeTZDtype):
        return column.dt.tz_convert("UTC").dt.tz_localize(None)
    if pd.api.types.is_datetime64_dtype(column.dtype):
        return column
    if pd.api.types.is_numeric_dtype(column.dtype):
        days = column.to_numpy(dtype=np.float64, na_value=np.nan)
        # out-of-range day counts become NaT; never an error, whatever numpy's error state is
        with np.errstate(over="ignore", invalid="ignore"):
            return pd.to_datetime(pd.Series(_finite_or_nan(days)), unit="D", errors="coerce")
    try:
        parsed = pd.to_datetime(column, errors="coerce", utc=True, format="ISO8601")
    except (TypeError, ValueError):  # values that are neither text nor dates
        return pd.Series(pd.NaT, index=column.index, dtype="datetime64[ns]")
    return parsed.dt.tz_localize(None)


def epoch_days(moments: pd.Series) -> np.ndarray:
    """Days since 1970-01-01 of datetime64 values, with NaN for NaT."""
    unit = np.datetime_data(moments.dtype)[0]
    ticks = moments.to_numpy().view(np.int64).astype(np.float64)
    days = ticks * _NANOSECONDS_PER_UNIT[unit] / _NANOSECONDS_PER_DAY
    days[moments.isna().to_numpy()] = np.nan
    return days


def _sample_rows(n_rows: int, *, max_rows: int, seed: int) -> np.ndarray:
    if n_rows <= max_rows:
        return np.arange(n_rows)
    return np.sort(np.random.default_rng(seed).choice(n_rows, size=max_rows, replace=False))
