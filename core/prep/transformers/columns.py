"""The column transformer at the head of every feature pipeline, and its outputs' names."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.compose import ColumnTransformer

from core.prep.transformers.inputs import level_text


def onehot_column_name(feature: str, level: Any) -> str:
    """``sex_female``; whole-number levels read ``zip_94107`` rather than ``zip_94107.0``."""
    return f"{feature}_{level_text(level)}"


def unique_names(names: list[str]) -> list[str]:
    """Repeated names get a numbered suffix (``x``, ``x__2``) that no other name already has."""
    originals = set(names)
    used: set[str] = set()
    out = []
    for name in names:
        candidate, number = name, 1
        while candidate in used or (candidate != name and candidate in originals):
            number += 1
            candidate = f"{name}__{number}"
        used.add(candidate)
        out.append(candidate)
    return out


class FeatureColumns(ColumnTransformer):
    """A ColumnTransformer whose output names are its transformers' own (``age``,
    ``sex_female``) when built with ``verbose_feature_names_out="{feature_name}"``, made
    unique: a clash, such as a raw column named like an encoder's output, gets a numbered
    suffix (``x__2``) rather than failing as ``verbose_feature_names_out=False`` does."""

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        names = super().get_feature_names_out(input_features)
        return np.asarray(unique_names([str(name) for name in names]), dtype=object)
