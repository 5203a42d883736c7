"""Missing values: a 0/1 flag per column, and imputation from the nearest training rows."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.impute import KNNImputer
from sklearn.utils.validation import check_is_fitted

from core.prep.transformers.inputs import (
    _as_float,
    _column_as_float,
    _finite_or_nan,
    _float_array,
    _floats,
    _frame,
    _sample_rows,
    _tagged,
)
from core.review.explain.sklearn_internals import input_feature_names


class MissingFlags(TransformerMixin, BaseEstimator):
    """One 0/1 column per input column: 1 where the value is missing (None, NaN, NaT, +/-inf)."""

    def fit(self, X: Any, y: Any = None) -> MissingFlags:
        _frame(self, X, reset=True)
        return self

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        return _float_array(_frame(self, X, reset=False), _is_missing)

    def transform_columns(self, columns: list[np.ndarray]) -> list[np.ndarray]:
        """``transform`` on plain columns, for the serving fast path: the same values."""
        return [_missing_flags(column) for column in columns]

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self)
        names = input_feature_names(self, input_features)
        return np.asarray([f"{name}__missing" for name in names], dtype=object)

    def __sklearn_tags__(self) -> Any:
        return _tagged(super().__sklearn_tags__(), string=True)


def _is_missing(column: pd.Series) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(column.dtype):
        return ~np.isfinite(_as_float(column))
    return column.isna().to_numpy()


def _missing_flags(column: np.ndarray) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(column.dtype):
        return (~np.isfinite(_column_as_float(column))).astype(np.float64)
    return pd.isna(column).astype(np.float64)


class KNNImpute(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """KNN imputation against at most ``max_rows`` training rows, so fitting and predicting
    stay affordable on large tables; +/-inf counts as missing."""

    def __init__(self, n_neighbors: int = 5, max_rows: int = 10_000, random_state: int = 0):
        self.n_neighbors = n_neighbors
        self.max_rows = max_rows
        self.random_state = random_state

    def fit(self, X: Any, y: Any = None) -> KNNImpute:
        values = _finite_or_nan(_floats(self, X, reset=True))
        rows = _sample_rows(len(values), max_rows=self.max_rows, seed=self.random_state)
        imputer = KNNImputer(n_neighbors=self.n_neighbors, keep_empty_features=True)
        self.imputer_ = imputer.fit(values[rows])
        return self

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        values = _finite_or_nan(_floats(self, X, reset=False))
        return self.imputer_.transform(values)

    def __sklearn_tags__(self) -> Any:
        return _tagged(super().__sklearn_tags__())
