"""Numeric columns: coercion to float, the signed log, bins and polynomial terms."""

from __future__ import annotations

import itertools
from collections import Counter
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from core.prep.transformers.inputs import (
    _as_float,
    _column_as_float,
    _float_array,
    _float_columns,
    _floats,
    _frame,
    _tagged,
)
from core.review.explain.sklearn_internals import input_feature_names

BIN_STRATEGIES = ("quantile", "uniform")
BAD_N_BINS = "n_bins must be a whole number of at least 2, not {value!r}."
UNKNOWN_BIN_STRATEGY = "Unknown bin strategy {value!r}; choose from {choices}."


class ToFloat(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Coerces every column to float64: numbers stay, text that is no number, None and +/-inf
    become NaN, so imputers and scalers downstream see one clean numeric type."""

    def fit(self, X: Any, y: Any = None) -> ToFloat:
        _frame(self, X, reset=True)
        return self

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        out = _float_array(_frame(self, X, reset=False), _as_float)
        out[np.isinf(out)] = np.nan
        return out

    def transform_columns(self, columns: list[np.ndarray]) -> list[np.ndarray]:
        """``transform`` on plain columns, for the serving fast path: the same values."""
        out = [_column_as_float(column) for column in columns]
        for values in out:
            values[np.isinf(values)] = np.nan
        return out

    def __sklearn_tags__(self) -> Any:
        return _tagged(super().__sklearn_tags__(), string=True)


class SignedLog(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """sign(x) * log1p(|x|): compresses long tails, defined for zero and negative values."""

    def fit(self, X: Any, y: Any = None) -> SignedLog:
        _floats(self, X, reset=True)
        return self

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        values = _floats(self, X, reset=False)
        return np.sign(values) * np.log1p(np.abs(values))

    def transform_columns(self, columns: list[np.ndarray]) -> list[np.ndarray]:
        """``transform`` on plain columns, for the serving fast path: the same values."""
        return [np.sign(values) * np.log1p(np.abs(values)) for values in _float_columns(columns)]

    def __sklearn_tags__(self) -> Any:
        return _tagged(super().__sklearn_tags__())


def _bin_edges(values: np.ndarray, *, n_bins: int, strategy: str) -> np.ndarray:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return np.empty(0)
    if strategy == "quantile":
        edges = np.quantile(finite, np.linspace(0.0, 1.0, n_bins + 1))
    else:
        edges = np.linspace(finite.min(), finite.max(), n_bins + 1)
    return np.unique(edges)


class Bins(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Bin number (0, 1, ...) by quantile or equal-width edges learned in fit; repeated edges
    merge instead of warning; NaN and +/-inf stay NaN."""

    def __init__(self, n_bins: int = 5, strategy: str = "quantile") -> None:
        self.n_bins = n_bins
        self.strategy = strategy

    def fit(self, X: Any, y: Any = None) -> Bins:
        if isinstance(self.n_bins, bool) or not isinstance(self.n_bins, int) or self.n_bins < 2:
            raise ValueError(BAD_N_BINS.format(value=self.n_bins))
        if self.strategy not in BIN_STRATEGIES:
            raise ValueError(
                UNKNOWN_BIN_STRATEGY.format(value=self.strategy, choices=BIN_STRATEGIES)
            )
        values = _floats(self, X, reset=True)
        self.bin_edges_ = [
            _bin_edges(values[:, index], n_bins=self.n_bins, strategy=self.strategy)
            for index in range(values.shape[1])
        ]
        return self

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        values = _floats(self, X, reset=False)
        out = np.empty(values.shape, dtype=np.float64)
        for index, edges in enumerate(self.bin_edges_):
            out[:, index] = np.searchsorted(edges[1:-1], values[:, index], side="right")
        out[~np.isfinite(values)] = np.nan
        return out

    def transform_columns(self, columns: list[np.ndarray]) -> list[np.ndarray]:
        """``transform`` on plain columns, for the serving fast path: the same values."""
        out = []
        for values, edges in zip(_float_columns(columns), self.bin_edges_, strict=True):
            binned = np.searchsorted(edges[1:-1], values, side="right").astype(np.float64)
            binned[~np.isfinite(values)] = np.nan
            out.append(binned)
        return out

    def __sklearn_tags__(self) -> Any:
        return _tagged(super().__sklearn_tags__())


def _term_name(names: np.ndarray, term: list[int]) -> str:
    powers = Counter(term)
    return "*".join(
        str(names[index]) if power == 1 else f"{names[index]}^{power}"
        for index, power in powers.items()
    )


class PolynomialTerms(TransformerMixin, BaseEstimator):
    """Products of the input columns of degree 2 up to ``degree`` (``age*income``, ``age^2``);
    the degree-1 columns are not repeated, since the pipeline already has them."""

    def __init__(self, degree: int = 2, interaction_only: bool = False) -> None:
        self.degree = degree
        self.interaction_only = interaction_only

    def fit(self, X: Any, y: Any = None) -> PolynomialTerms:
        n_features = _floats(self, X, reset=True).shape[1]
        combine = (
            itertools.combinations
            if self.interaction_only
            else itertools.combinations_with_replacement
        )
        self.terms_ = [
            list(term)
            for size in range(2, self.degree + 1)
            for term in combine(range(n_features), size)
        ]
        return self

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        values = _floats(self, X, reset=False)
        out = np.empty((values.shape[0], len(self.terms_)), dtype=np.float64)
        with np.errstate(over="ignore", invalid="ignore"):
            for index, term in enumerate(self.terms_):
                out[:, index] = np.prod(values[:, term], axis=1)
        return out

    def transform_columns(self, columns: list[np.ndarray]) -> list[np.ndarray]:
        """``transform`` on plain columns, for the serving fast path: the same values."""
        values = np.column_stack(_float_columns(columns))
        with np.errstate(over="ignore", invalid="ignore"):
            return [np.prod(values[:, term], axis=1) for term in self.terms_]

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self)
        names = input_feature_names(self, input_features)
        return np.asarray([_term_name(names, term) for term in self.terms_], dtype=object)

    def __sklearn_tags__(self) -> Any:
        return _tagged(super().__sklearn_tags__())
