"""Categorical levels before encoding: one type per column, missing filled, rare ones grouped."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from core.prep.transformers.inputs import (
    _NUMBER_KINDS,
    _as_float,
    _as_text,
    _column_as_float,
    _column_as_text,
    _finite_or_nan,
    _frame,
    _is_number_column,
    _numbers_as_text,
    _tagged,
)

RARE_LEVEL = "(other)"
UNKNOWN_FILL_STRATEGY = "Unknown fill strategy {value!r}; choose from {choices}."
_FILL_STRATEGIES = ("most_frequent", "constant")


class ToLevels(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Gives each column one type of level so encoders never meet a mix of strings, numbers,
    bools and None. Columns that hold numbers at fit become float64 (3 and 3.0 are one level;
    +/-inf is missing); every other column, or all with ``text=True``, becomes text
    (True -> "True", 3.0 -> "3"). Missing is always NaN. The choice is learned in fit, so a
    column keeps its level type at predict time whatever type the request carries."""

    def __init__(self, text: bool = False) -> None:
        self.text = text

    def fit(self, X: Any, y: Any = None) -> ToLevels:
        frame = _frame(self, X, reset=True)
        self.number_columns_ = [
            not self.text and _is_number_column(column) for _, column in frame.items()
        ]
        return self

    def transform(self, X: Any) -> Any:
        """A float array; a frame when number and text columns mix (an object array would
        turn the float levels into objects)."""
        check_is_fitted(self)
        frame = _frame(self, X, reset=False)
        columns = [
            _finite_or_nan(_as_float(column)) if numbers else _as_text(column)
            for (_, column), numbers in zip(frame.items(), self.number_columns_, strict=True)
        ]
        return _stacked(columns, frame.index)

    def transform_columns(self, columns: list[np.ndarray]) -> list[np.ndarray]:
        """``transform`` on plain columns, for the serving fast path: the same values."""
        return [
            _finite_or_nan(_column_as_float(column)) if numbers else _column_as_text(column)
            for column, numbers in zip(columns, self.number_columns_, strict=True)
        ]

    def __sklearn_tags__(self) -> Any:
        return _tagged(super().__sklearn_tags__(), string=True)


def _python_value(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _most_frequent(column: pd.Series, fallback: Any) -> Any:
    counts = column.value_counts(dropna=True)
    if counts.empty:
        return fallback
    # Ties go to the smallest level as text, so the choice never depends on row order.
    tied = counts.index[counts.to_numpy() == counts.iloc[0]]
    return _python_value(min(tied, key=str))


class FillCategory(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Fills missing levels with the most frequent level seen in fit, or with ``fill_value``;
    a column with no level at all is filled with ``fill_value`` rather than failing."""

    def __init__(self, strategy: str = "most_frequent", fill_value: Any = "(missing)") -> None:
        self.strategy = strategy
        self.fill_value = fill_value

    def fit(self, X: Any, y: Any = None) -> FillCategory:
        if self.strategy not in _FILL_STRATEGIES:
            raise ValueError(
                UNKNOWN_FILL_STRATEGY.format(value=self.strategy, choices=_FILL_STRATEGIES)
            )
        frame = _frame(self, X, reset=True)
        if self.strategy == "constant":
            self.fill_values_ = [self.fill_value] * frame.shape[1]
        else:
            self.fill_values_ = [_most_frequent(col, self.fill_value) for _, col in frame.items()]
        return self

    def transform(self, X: Any) -> Any:
        check_is_fitted(self)
        frame = _frame(self, X, reset=False)
        columns = [
            _put(values, pd.isna(values), fill, as_text=not _is_number(fill))
            for values, fill in zip(_copies(frame), self.fill_values_, strict=True)
        ]
        return _stacked(columns, frame.index)

    def transform_columns(self, columns: list[np.ndarray]) -> list[np.ndarray]:
        """``transform`` on plain columns, for the serving fast path: the same values."""
        return [
            _put(column.copy(), pd.isna(column), fill, as_text=not _is_number(fill))
            for column, fill in zip(columns, self.fill_values_, strict=True)
        ]

    def __sklearn_tags__(self) -> Any:
        return _tagged(super().__sklearn_tags__(), string=True)


def _put(values: np.ndarray, where: np.ndarray, level: Any, *, as_text: bool) -> np.ndarray:
    """Writes ``level`` into the cells ``where`` is true. A number column that may receive text
    (``as_text``, decided in fit) turns to text as a whole, whether or not this batch needs
    it, so the encoder downstream sees one type per column, the same in fit and predict."""
    if as_text and values.dtype.kind == "f":
        values = _numbers_as_text(values)
    if not where.any():
        return values
    if as_text and values.dtype.kind == "O" and _holds_numbers(values):
        values = _numbers_as_text(values.astype(np.float64))
    elif values.dtype.kind not in "fO" or not _is_number(level):
        values = values.astype(object, copy=False)
    values[where] = level
    return values


def _stacked(columns: list[np.ndarray], index: pd.Index) -> Any:
    """Float columns as one array; with any text column, a frame, which keeps float levels
    float next to text ones where an object array would not."""
    if all(column.dtype.kind == "f" for column in columns):
        return np.column_stack(columns)
    return pd.DataFrame(dict(enumerate(columns)), index=index)


def _holds_numbers(values: np.ndarray) -> bool:
    if values.dtype.kind == "f":
        return True
    kind = pd.api.types.infer_dtype(values, skipna=True) if values.dtype.kind == "O" else ""
    return kind in _NUMBER_KINDS


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | np.number) and not isinstance(value, bool | np.bool_)


def _copies(frame: pd.DataFrame) -> list[np.ndarray]:
    return [column.to_numpy(copy=True) for _, column in frame.items()]


def _counts_by_frequency(column: pd.Series) -> pd.Series:
    """Counts of each non-missing level, most frequent first; ties in text order."""
    counts = column.value_counts(dropna=True, sort=False)
    order = np.lexsort((counts.index.astype(str), -counts.to_numpy()))
    return counts.iloc[order]


class RareLevels(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Groups levels seen in fewer than ``min_frequency`` rows (a share of rows, or a count)
    into one level ``other``, and, beyond ``max_categories`` levels, all but the
    ``max_categories - 1`` most frequent. Once a column has that group, levels unseen in fit
    join it, as sklearn's ``handle_unknown="infrequent_if_exist"`` does, but counted with
    pandas rather than a Python loop, which matters on a million rows. Missing stays missing.
    """

    def __init__(
        self,
        min_frequency: float | None = None,
        max_categories: int | None = None,
        other: str = RARE_LEVEL,
    ) -> None:
        self.min_frequency = min_frequency
        self.max_categories = max_categories
        self.other = other

    def fit(self, X: Any, y: Any = None) -> RareLevels:
        frame = _frame(self, X, reset=True)
        counted = [_counts_by_frequency(column) for _, column in frame.items()]
        self.levels_ = [counts.index.to_numpy(dtype=object) for counts in counted]
        self.frequent_levels_ = [self._frequent(counts, len(frame)) for counts in counted]
        return self

    def _frequent(self, counts: pd.Series, n_rows: int) -> np.ndarray:
        keep = np.ones(len(counts), dtype=bool)
        if self.min_frequency is not None:
            share = isinstance(self.min_frequency, float)
            least = self.min_frequency * n_rows if share else self.min_frequency
            keep = counts.to_numpy() >= least
        frequent = counts.index.to_numpy(dtype=object)[keep]
        outputs = len(frequent) + int(len(frequent) < len(counts))
        if self.max_categories is not None and self.max_categories < outputs:
            frequent = frequent[: self.max_categories - 1]
        return frequent

    def transform(self, X: Any) -> Any:
        check_is_fitted(self)
        frame = _frame(self, X, reset=False)
        columns = []
        for (_, column), levels, frequent in zip(
            frame.items(), self.levels_, self.frequent_levels_, strict=True
        ):
            values = column.to_numpy(copy=True)
            if len(frequent) < len(levels):
                values = _put(values, _rare(values, frequent), self.other, as_text=True)
            columns.append(values)
        return _stacked(columns, frame.index)

    def transform_columns(self, columns: list[np.ndarray]) -> list[np.ndarray]:
        """``transform`` on plain columns, for the serving fast path: the same values."""
        out = []
        for column, levels, frequent in zip(
            columns, self.levels_, self.frequent_levels_, strict=True
        ):
            values = column.copy()
            if len(frequent) < len(levels):
                values = _put(values, _rare(values, frequent), self.other, as_text=True)
            out.append(values)
        return out

    def __sklearn_tags__(self) -> Any:
        return _tagged(super().__sklearn_tags__(), string=True)


def _rare(values: np.ndarray, frequent: np.ndarray) -> np.ndarray:
    """Cells holding a level outside ``frequent`` that is not missing."""
    rare = ~pd.Series(values).isin(frequent).to_numpy()
    candidates = np.flatnonzero(rare)  # usually few, so the costly missing test runs on few
    rare[candidates[pd.isna(values[candidates])]] = False
    return rare
