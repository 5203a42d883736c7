"""Where values are missing: per column, on a row sample, and the commonest row patterns."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.data.explore.frames import _sample_positions

MAX_MATRIX_ROWS = 500
MAX_PATTERNS = 10


@dataclass(frozen=True)
class MissingPattern:
    """Where values are missing: per column, on a row sample, and the commonest row patterns."""

    rows: int
    columns: list[str]
    missing_counts: list[int]
    fractions: list[float]
    matrix_columns: list[str]
    matrix_rows: list[int]
    matrix: list[list[bool]]
    pattern_masks: list[list[bool]]
    pattern_counts: list[int]


def _row_patterns(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows of a boolean matrix and their counts, most frequent first.

    Rows are packed to bytes, one uint64 per 64 columns, and combined column by column with
    factorize, which is much faster than np.unique(axis=0) on a million rows.
    """
    rows = np.zeros(mask.shape[0], dtype=np.int64)
    packed = np.packbits(mask, axis=1)
    padded = np.zeros((mask.shape[0], -(-packed.shape[1] // 8) * 8), dtype=np.uint8)
    padded[:, : packed.shape[1]] = packed
    for key in padded.view(np.uint64).T:
        codes, uniques = pd.factorize(key)
        rows = pd.factorize(rows * len(uniques) + codes)[0]
    counts = np.bincount(rows)
    top = np.argsort(-counts, kind="stable")[:MAX_PATTERNS]
    return mask[[int(np.argmax(rows == code)) for code in top]], counts[top]


def missing_pattern(frame: pd.DataFrame) -> MissingPattern:
    """Missing share per column, a seeded row-sample matrix and the top row patterns."""
    mask = frame.isna().to_numpy(dtype=bool)
    counts = mask.sum(axis=0)
    with_missing = np.flatnonzero(counts > 0)
    sub = mask[:, with_missing]
    positions = _sample_positions(len(frame), MAX_MATRIX_ROWS)
    patterns, pattern_counts = _row_patterns(sub)
    names = [str(name) for name in frame.columns]
    return MissingPattern(
        rows=len(frame),
        columns=names,
        missing_counts=counts.tolist(),
        fractions=(counts / len(frame) if len(frame) else counts * 0.0).tolist(),
        matrix_columns=[names[i] for i in with_missing],
        matrix_rows=positions.tolist(),
        matrix=sub[positions].tolist(),
        pattern_masks=patterns.tolist(),
        pattern_counts=pattern_counts.tolist(),
    )
