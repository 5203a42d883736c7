"""Target encoding, cross-fitted over as many folds as the data allows, and the target's kind."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.preprocessing import TargetEncoder
from sklearn.utils.validation import check_is_fitted

from core.prep.transformers.inputs import _tagged

COMPLEX_TARGET = "Complex data not supported: the target must hold real numbers or labels."
# scikit-learn 1.9 takes a CV splitter and deprecates TargetEncoder's shuffle/random_state
_TARGET_ENCODER_TAKES_SPLITTERS = (
    TargetEncoder().get_params().get("shuffle", "deprecated") == "deprecated"
)


def target_kind(y: Any, *, max_classes: int = 20) -> str:
    """binary, multiclass or continuous: numbers with fractions or many values are continuous."""
    raw = np.asarray(y).ravel()
    if np.iscomplexobj(raw):
        raise ValueError(COMPLEX_TARGET)
    values = pd.Series(raw)
    distinct = values.nunique(dropna=True)
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values):
        numbers = values.to_numpy(dtype=np.float64, na_value=np.nan)
        fractional = bool(np.any(np.isfinite(numbers) & (numbers != np.floor(numbers))))
        if fractional or distinct > max_classes:
            return "continuous"
    return "binary" if distinct <= 2 else "multiclass"


def _usable_folds(y: Any, *, cv: int, kind: str) -> int:
    """Most folds up to ``cv`` that a (stratified) split of ``y`` can make."""
    values = pd.Series(np.asarray(y).ravel())
    folds = min(cv, len(values))
    if kind != "continuous":
        folds = min(folds, int(values.value_counts().max()))
    return folds


def _splitter(folds: int, *, kind: str, seed: int) -> KFold | StratifiedKFold:
    split = KFold if kind == "continuous" else StratifiedKFold
    return split(n_splits=folds, shuffle=True, random_state=seed)


class TargetEncoding(TransformerMixin, BaseEstimator):
    """sklearn's TargetEncoder, cross-fitted in fit_transform with as many shuffled folds as the
    data allows (a tiny table or a rare class never fails), and with the target kind decided
    once by :func:`target_kind`, so an integer-valued regression target is not read as classes.
    """

    def __init__(self, cv: int = 5, smooth: Any = "auto", random_state: int = 0) -> None:
        self.cv = cv
        self.smooth = smooth
        self.random_state = random_state

    def _encoder(self, *, kind: str, folds: int) -> TargetEncoder:
        folds = max(folds, 2)
        if _TARGET_ENCODER_TAKES_SPLITTERS:
            cv = _splitter(folds, kind=kind, seed=self.random_state)
            return TargetEncoder(target_type=kind, smooth=self.smooth, cv=cv)
        return TargetEncoder(  # scikit-learn < 1.9 shuffles through its own arguments
            target_type=kind,
            smooth=self.smooth,
            cv=folds,
            shuffle=True,
            random_state=self.random_state,
        )

    def _keep(self, encoder: TargetEncoder) -> None:
        self.encoder_ = encoder
        self.categories_ = encoder.categories_
        self.n_features_in_ = encoder.n_features_in_
        if hasattr(encoder, "feature_names_in_"):
            self.feature_names_in_ = encoder.feature_names_in_

    def fit(self, X: Any, y: Any = None) -> TargetEncoding:
        kind = target_kind(y) if y is not None else "binary"
        self._keep(self._encoder(kind=kind, folds=self.cv).fit(X, y))
        return self

    def fit_transform(self, X: Any, y: Any = None, **fit_params: Any) -> np.ndarray:
        kind = target_kind(y) if y is not None else "binary"
        folds = _usable_folds(y, cv=self.cv, kind=kind) if y is not None else 0
        if folds < 2:
            return self.fit(X, y).transform(X)
        encoder = self._encoder(kind=kind, folds=folds)
        with warnings.catch_warnings():
            # a class rarer than the folds is normal in small tables; stratification copes
            warnings.filterwarnings(
                "ignore", message="The least populated class", category=UserWarning
            )
            out = encoder.fit_transform(X, y)
        self._keep(encoder)
        return out

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        return self.encoder_.transform(X)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self)
        return self.encoder_.get_feature_names_out(input_features)

    def __sklearn_tags__(self) -> Any:
        tags = _tagged(super().__sklearn_tags__(), string=True)
        tags.input_tags.categorical = True
        tags.target_tags.required = True
        return tags
