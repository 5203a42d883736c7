"""The reference's columns as numbers: numeric values as they are, categories as codes (for
trees) or as their reference frequency (for PCA), learned once from the reference rows."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

MAX_LEVELS = 250  # tree models take at most 255 categories; rarer levels count as unseen
CATEGORICAL_ROLES = frozenset({"categorical", "text", "boolean"})


@dataclass(frozen=True)
class FrameEncoder:
    """Which columns are numbers and, for the others, their reference levels and frequencies."""

    numeric: tuple[str, ...]
    categorical: tuple[str, ...]
    levels: Mapping[str, tuple[str, ...]]
    frequencies: Mapping[str, tuple[float, ...]]

    @property
    def columns(self) -> tuple[str, ...]:
        return self.numeric + self.categorical

    def codes(self, frame: pd.DataFrame) -> np.ndarray:
        """(rows, columns) floats: numbers, or a category's position among the reference levels
        (NaN when missing or unseen)."""
        out = np.full((len(frame), len(self.columns)), np.nan)
        for index, name in enumerate(self.numeric):
            if name in frame.columns:
                out[:, index] = numbers(frame[name])
        for offset, name in enumerate(self.categorical):
            if name in frame.columns:
                codes = pd.Categorical(texts(frame[name]), categories=self.levels[name]).codes
                column = codes.astype(float)
                column[codes < 0] = np.nan
                out[:, len(self.numeric) + offset] = column
        return out

    def frequency(self, frame: pd.DataFrame) -> np.ndarray:
        """Like ``codes`` with each category replaced by its reference frequency, so distances
        between rows mean something: an unseen category is 0, a missing one counts as the most
        frequent reference level (as NannyML's count encoding after most-frequent imputing)."""
        out = self.codes(frame)
        for offset, name in enumerate(self.categorical):
            index = len(self.numeric) + offset
            table = np.append(np.asarray(self.frequencies[name], dtype=float), 0.0)
            codes = out[:, index]
            known = ~np.isnan(codes)
            column = np.zeros(len(codes))
            column[known] = table[codes[known].astype(int)]
            if name in frame.columns and len(table) > 1:
                column[frame[name].isna().to_numpy()] = table[0]  # levels: most frequent first
            out[:, index] = column
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "numeric": list(self.numeric),
            "categorical": list(self.categorical),
            "levels": {k: list(v) for k, v in self.levels.items()},
            "frequencies": {k: list(v) for k, v in self.frequencies.items()},
        }


def fit_encoder(reference: pd.DataFrame, *, roles: Mapping[str, str] | None = None) -> FrameEncoder:
    """Learn the numeric/categorical split and the levels from the reference rows."""
    numeric, categorical = [], []
    levels: dict[str, tuple[str, ...]] = {}
    frequencies: dict[str, tuple[float, ...]] = {}
    for name in reference.columns:
        values = reference[name]
        role = (roles or {}).get(str(name))
        is_number = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
        if role in CATEGORICAL_ROLES or (role is None and not is_number) or not is_number:
            counts = pd.Series(texts(values)).value_counts().head(MAX_LEVELS)
            categorical.append(str(name))
            levels[str(name)] = tuple(str(level) for level in counts.index)
            frequencies[str(name)] = _shares(
                counts.to_numpy(), int(values.isna().sum()), len(values)
            )
        else:
            numeric.append(str(name))
    return FrameEncoder(tuple(numeric), tuple(categorical), levels, frequencies)


def _shares(counts: np.ndarray, missing: int, rows: int) -> tuple[float, ...]:
    """Each level's share of the rows, missing rows counted as the most frequent level."""
    shares = counts.astype(float)
    if len(shares):
        shares[0] += missing
    return tuple(float(share) for share in shares / max(rows, 1))


def numbers(values: pd.Series) -> np.ndarray:
    """A column as floats; what is not a number becomes NaN."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return values.to_numpy(dtype=float, na_value=np.nan)
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def texts(values: pd.Series) -> pd.Series:
    """A column as text levels (missing stays missing), so 3 and '3' are the same level."""
    missing = values.isna()
    found = values.astype(str)
    return found.mask(missing)
