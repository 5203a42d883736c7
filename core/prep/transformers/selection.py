"""Column selection learned in fit: by variance, by correlation, by mutual information."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.feature_selection import SelectorMixin, mutual_info_classif, mutual_info_regression
from sklearn.utils.validation import check_is_fitted, validate_data

from core.prep.transformers.inputs import _floats, _sample_rows, _tagged
from core.prep.transformers.target import target_kind

_MIN_ROWS_FOR_MUTUAL_INFO = 4


def _column_spread(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Variance and max - min of each column over its finite values (0 when there are none);
    one column at a time, so a million-row table is never copied whole."""
    variances = np.zeros(values.shape[1])
    spread = np.zeros(values.shape[1])
    with np.errstate(over="ignore", invalid="ignore"):
        for index in range(values.shape[1]):
            column = values[:, index]
            finite = column[np.isfinite(column)]
            if finite.size:
                variances[index] = finite.var()
                spread[index] = finite.max() - finite.min()
    return np.nan_to_num(variances, nan=0.0), spread


class _LearnedSupport(SelectorMixin):
    """A column selector whose fit sets ``support_``, the mask of the columns it keeps;
    missing and infinite values pass through it."""

    support_: np.ndarray

    def _get_support_mask(self) -> np.ndarray:
        check_is_fitted(self)
        return self.support_

    def __sklearn_tags__(self) -> Any:
        return _tagged(super().__sklearn_tags__())


class VarianceFilter(_LearnedSupport, BaseEstimator):
    """Drops columns whose variance is at most ``threshold`` (constant columns at 0.0). When no
    column passes, keeps them all, so a model can still be fitted on a degenerate sample."""

    def __init__(self, threshold: float = 0.0) -> None:
        self.threshold = threshold

    def fit(self, X: Any, y: Any = None) -> VarianceFilter:
        values = _floats(self, X, reset=True)
        variances, spread = _column_spread(values)
        self.variances_ = np.where(spread > 0, variances, 0.0)
        keep = (self.variances_ > self.threshold) & (spread > 0)
        self.support_ = keep if keep.any() else np.ones_like(keep)
        return self


def _finite_means(values: np.ndarray) -> np.ndarray:
    means = np.zeros(values.shape[1])
    with np.errstate(over="ignore", invalid="ignore"):
        for index in range(values.shape[1]):
            column = values[:, index]
            finite = column[np.isfinite(column)]
            means[index] = finite.mean() if finite.size else 0.0
    return np.nan_to_num(means)


def _correlations(values: np.ndarray, *, rows_per_chunk: int = 65_536) -> np.ndarray:
    """|Pearson correlation| between columns; a non-finite cell counts as its column's mean.
    The cross products are summed over row chunks to bound memory on large tables."""
    means = _finite_means(values)
    products = np.zeros((values.shape[1], values.shape[1]))
    with np.errstate(over="ignore", invalid="ignore"):
        for start in range(0, len(values), rows_per_chunk):
            chunk = values[start : start + rows_per_chunk]
            centred = np.where(np.isfinite(chunk), chunk - means, 0.0)
            products += centred.T @ centred
        norms = np.sqrt(np.diag(products))
        norms = np.where(norms > 0, norms, np.inf)  # a constant column correlates with nothing
        correlations = np.abs(products / np.outer(norms, norms))
    return np.nan_to_num(correlations, nan=0.0, posinf=0.0)


class CorrelationFilter(_LearnedSupport, BaseEstimator):
    """Drops one column of each pair whose |correlation| is above ``threshold``, keeping the
    earlier column; pairs are learned in fit."""

    def __init__(self, threshold: float = 0.95) -> None:
        self.threshold = threshold

    def fit(self, X: Any, y: Any = None) -> CorrelationFilter:
        values = _floats(self, X, reset=True)
        correlations = _correlations(values)
        keep = np.ones(values.shape[1], dtype=bool)
        for index in range(values.shape[1]):
            if keep[index]:
                later = correlations[index, index + 1 :] > self.threshold
                keep[index + 1 :] &= ~later
        self.support_ = keep
        return self


def _median_filled(values: np.ndarray) -> np.ndarray:
    finite = np.isfinite(values)
    filled = values.copy()
    for index in range(values.shape[1]):
        column = values[finite[:, index], index]
        filled[~finite[:, index], index] = np.median(column) if column.size else 0.0
    return filled


class MutualInfoSelector(_LearnedSupport, BaseEstimator):
    """Keeps the ``k`` columns with the highest mutual information with the target, scored on
    at most ``max_rows`` sampled rows (the kNN estimate is costly); ``k`` above the number of
    columns keeps them all."""

    def __init__(self, k: int = 10, max_rows: int = 20_000, random_state: int = 0) -> None:
        self.k = k
        self.max_rows = max_rows
        self.random_state = random_state

    def fit(self, X: Any, y: Any = None) -> MutualInfoSelector:
        values, target = validate_data(
            self, X, y, dtype=np.float64, ensure_all_finite=False, y_numeric=False
        )
        rows = _sample_rows(len(values), max_rows=self.max_rows, seed=self.random_state)
        self.scores_ = _mutual_info(_median_filled(values[rows]), target[rows], self.random_state)
        order = np.argsort(-self.scores_, kind="stable")
        self.support_ = np.zeros(values.shape[1], dtype=bool)
        self.support_[order[: self.k]] = True
        return self

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags


def _mutual_info(values: np.ndarray, target: np.ndarray, seed: int) -> np.ndarray:
    if len(values) < _MIN_ROWS_FOR_MUTUAL_INFO:
        return np.zeros(values.shape[1])
    neighbours = min(3, len(values) - 1)
    if target_kind(target) == "continuous":
        return mutual_info_regression(
            values, target.astype(np.float64), n_neighbors=neighbours, random_state=seed
        )
    return mutual_info_classif(values, target, n_neighbors=neighbours, random_state=seed)
