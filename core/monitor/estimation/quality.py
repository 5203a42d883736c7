"""Data-quality tests derived from the reference: per column, the missing share, values outside
the reference range, new categories and values of another type, each pass/fail per window
against a threshold learned from chunks of the reference (each chunk checked against the
rest, so the thresholds allow what the reference itself shows by chance)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from core.monitor.estimation.bands import Spread, chunk_indices, spread_of
from core.monitor.estimation.encoding import FrameEncoder, fit_encoder, numbers, texts

TESTS = ("missing share", "value range", "new categories", "type", "column present")
CHUNK_ROWS = 500
NUMBER, TEXT = "number", "text"


@dataclass(frozen=True)
class QualityTest:
    """One test of one column in one window."""

    column: str
    test: str
    value: float  # the share of rows that break it (for "column present": 1 when missing)
    threshold: float
    passed: bool
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass(frozen=True)
class ColumnQuality:
    """What the reference says about one column."""

    kind: str  # NUMBER or TEXT
    missing: Spread
    low: float | None
    high: float | None
    out_of_range: Spread | None
    new_categories: Spread | None
    worded: bool = False  # every reference level is a word, not a number


@dataclass(frozen=True)
class QualityReference:
    encoder: FrameEncoder
    columns: Mapping[str, ColumnQuality]

    def run(self, window: pd.DataFrame) -> list[QualityTest]:
        """Every test of every reference column on the window's rows."""
        found: list[QualityTest] = []
        for name, quality in self.columns.items():
            if name not in window.columns:
                found.append(QualityTest(name, "column present", 1.0, 0.0, False, "missing"))
                continue
            found += _column_tests(self.encoder, name, quality, window[name])
        return found


def fit_quality(
    reference: pd.DataFrame,
    *,
    roles: Mapping[str, str] | None = None,
    chunk_rows: int = CHUNK_ROWS,
    encoder: FrameEncoder | None = None,
) -> QualityReference:
    encoder = encoder or fit_encoder(reference, roles=roles)
    chunks = chunk_indices(len(reference), chunk_rows)
    columns = {
        name: _column_reference(encoder, name, reference[name], chunks) for name in encoder.columns
    }
    return QualityReference(encoder, columns)


def _column_reference(
    encoder: FrameEncoder, name: str, values: pd.Series, chunks: list[np.ndarray]
) -> ColumnQuality:
    size = len(chunks[0])
    missing = values.isna().to_numpy()
    missing_spread = spread_of([float(missing[c].mean()) for c in chunks], size)
    if name in encoder.numeric:
        found = numbers(values)
        low, high = _range(found)
        return ColumnQuality(NUMBER, missing_spread, low, high, _range_spread(found, chunks), None)
    levels = texts(values).to_numpy()
    worded = bool(np.isnan(numbers(values[~missing])).all())
    return ColumnQuality(
        TEXT, missing_spread, None, None, None, _new_level_spread(levels, missing, chunks), worded
    )


def _range(found: np.ndarray) -> tuple[float | None, float | None]:
    known = found[~np.isnan(found)]
    return (float(known.min()), float(known.max())) if known.size else (None, None)


def _range_spread(found: np.ndarray, chunks: list[np.ndarray]) -> Spread:
    """Each chunk's share of values outside the range of the other chunks."""
    lows = [np.nanmin(found[c]) if np.isfinite(found[c]).any() else np.inf for c in chunks]
    highs = [np.nanmax(found[c]) if np.isfinite(found[c]).any() else -np.inf for c in chunks]
    shares = []
    for index, chunk in enumerate(chunks):
        low = min(lows[:index] + lows[index + 1 :], default=np.inf)
        high = max(highs[:index] + highs[index + 1 :], default=-np.inf)
        values = found[chunk]
        shares.append(float(((values < low) | (values > high)).mean()))
    return spread_of(shares, len(chunks[0]))


def _new_level_spread(levels: np.ndarray, missing: np.ndarray, chunks: list[np.ndarray]) -> Spread:
    """Each chunk's share of rows whose level no other chunk holds."""
    chunk_of = np.full(len(levels), -1)
    for index, chunk in enumerate(chunks):
        chunk_of[chunk] = index
    used = (chunk_of >= 0) & ~missing
    pairs = pd.DataFrame({"level": levels[used], "chunk": chunk_of[used]}).drop_duplicates()
    lonely = set(pairs["level"].value_counts().loc[lambda c: c == 1].index)
    single = np.array([level in lonely for level in levels]) & used
    return spread_of([float(single[c].mean()) for c in chunks], len(chunks[0]))


def _column_tests(
    encoder: FrameEncoder, name: str, quality: ColumnQuality, values: pd.Series
) -> list[QualityTest]:
    rows = len(values)
    missing = values.isna()
    tests = [_test(name, "missing share", float(missing.mean()), quality.missing, rows)]
    present = values[~missing]
    wrong = _wrong_type(present, quality)
    tests.append(QualityTest(name, "type", wrong, 0.0, wrong == 0.0, f"expects {quality.kind}s"))
    if quality.out_of_range is not None and quality.low is not None:
        found = numbers(values)
        outside = float(((found < quality.low) | (found > quality.high)).mean()) if rows else 0.0
        detail = f"reference range {quality.low:.4g} to {quality.high:.4g}"
        tests.append(_test(name, "value range", outside, quality.out_of_range, rows, detail))
    if quality.new_categories is not None:
        known = set(encoder.levels[name])
        new = texts(present).map(lambda level: level not in known)
        share = float(new.sum() / rows) if rows else 0.0
        examples = ", ".join(sorted(set(texts(present)[new].head(50)))[:3])
        detail = f"e.g. {examples}" if examples else ""
        tests.append(_test(name, "new categories", share, quality.new_categories, rows, detail))
    return tests


def _test(
    name: str, test: str, value: float, spread: Spread, rows: int, detail: str = ""
) -> QualityTest:
    threshold = max(spread.upper(rows), 0.0) if np.isfinite(spread.mean) else 0.0
    return QualityTest(name, test, value, threshold, value <= threshold, detail)


def _wrong_type(present: pd.Series, quality: ColumnQuality) -> float:
    """The share of present values not of the reference's kind: text in a number column, or
    numbers in a column whose reference levels are all words."""
    if present.empty:
        return 0.0
    is_number = pd.api.types.is_numeric_dtype(present) and not pd.api.types.is_bool_dtype(present)
    if quality.kind == NUMBER:
        return 0.0 if is_number else float(np.isnan(numbers(present)).mean())
    if not quality.worded:
        return 0.0  # numbers can be categories; the level check catches unknown ones
    return float((~np.isnan(numbers(present))).mean())
