"""Date columns: calendar parts, and days since the earliest date seen in fit."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from core.prep.transformers.inputs import (
    _NANOSECONDS_PER_DAY,
    _NANOSECONDS_PER_UNIT,
    _as_datetime,
    _frame,
    _tagged,
    epoch_days,
)
from core.review.explain.sklearn_internals import input_feature_names

DATE_PARTS = ("year", "month", "day", "weekday", "hour", "days_since")
DEFAULT_DATE_PARTS = ("year", "month", "weekday", "days_since")
UNKNOWN_DATE_PART = "Unknown date part {part!r}; choose from {choices}."


def _date_part_of_array(moments: np.ndarray, part: str) -> np.ndarray:
    """``_date_part`` of naive datetime64[ns] values by numpy's calendar arithmetic (whole
    numbers, so exactly pandas' values); NaT gives NaN."""
    ticks = moments.view(np.int64)
    if part == "days_since":
        days = ticks.astype(np.float64) * _NANOSECONDS_PER_UNIT["ns"] / _NANOSECONDS_PER_DAY
    elif part == "year":
        days = (moments.astype("datetime64[Y]").view(np.int64) + 1970).astype(np.float64)
    elif part == "month":
        days = (moments.astype("datetime64[M]").view(np.int64) % 12 + 1).astype(np.float64)
    elif part == "day":
        start = moments.astype("datetime64[M]").astype("datetime64[D]")
        days = ((moments.astype("datetime64[D]") - start).view(np.int64) + 1).astype(np.float64)
    elif part == "weekday":  # 1970-01-01 was a Thursday (3, counting from Monday = 0)
        days = ((moments.astype("datetime64[D]").view(np.int64) + 3) % 7).astype(np.float64)
    else:  # hour
        since_midnight = moments - moments.astype("datetime64[D]")
        days = since_midnight.astype("timedelta64[h]").view(np.int64).astype(np.float64)
    days[np.isnat(moments)] = np.nan
    return days


def _date_part(moments: pd.Series, part: str) -> np.ndarray:
    if part == "days_since":
        return epoch_days(moments)  # the caller subtracts the reference learned in fit
    return getattr(moments.dt, part).to_numpy(dtype=np.float64, na_value=np.nan)


class DateParts(TransformerMixin, BaseEstimator):
    """Calendar parts of each date column (year, month, day, weekday, hour) and days since the
    earliest date seen in fit. Accepts datetimes, ISO strings and numbers (read as days since
    1970-01-01); missing or unreadable dates give NaN."""

    def __init__(self, parts: tuple[str, ...] | list[str] = DEFAULT_DATE_PARTS) -> None:
        self.parts = parts

    def fit(self, X: Any, y: Any = None) -> DateParts:
        for part in self.parts:
            if part not in DATE_PARTS:
                raise ValueError(UNKNOWN_DATE_PART.format(part=part, choices=DATE_PARTS))
        frame = _frame(self, X, reset=True)
        self.reference_days_ = np.asarray(
            [_earliest(epoch_days(_as_datetime(column))) for _, column in frame.items()],
            dtype=np.float64,
        )
        return self

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        frame = _frame(self, X, reset=False)
        blocks = []
        for (_, column), reference in zip(frame.items(), self.reference_days_, strict=True):
            moments = _as_datetime(column)
            for part in self.parts:
                offset = reference if part == "days_since" else 0.0
                blocks.append(_date_part(moments, part) - offset)
        return np.column_stack(blocks) if blocks else np.empty((len(frame), 0))

    def transform_columns(self, columns: list[np.ndarray]) -> list[np.ndarray]:
        """``transform`` on plain columns, for the serving fast path: the same values."""
        out = []
        for column, reference in zip(columns, self.reference_days_, strict=True):
            if column.dtype == np.dtype("datetime64[ns]"):
                parts = [_date_part_of_array(column, part) for part in self.parts]
            else:
                moments = _as_datetime(pd.Series(column))
                parts = [_date_part(moments, part) for part in self.parts]
            for part, values in zip(self.parts, parts, strict=True):
                out.append(values - (reference if part == "days_since" else 0.0))
        return out

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self)
        names = input_feature_names(self, input_features)
        return np.asarray(
            [f"{name}__{part}" for name in names for part in self.parts], dtype=object
        )

    def __sklearn_tags__(self) -> Any:
        return _tagged(super().__sklearn_tags__(), string=True)


def _earliest(days: np.ndarray) -> float:
    finite = days[np.isfinite(days)]
    return float(finite.min()) if finite.size else np.nan
