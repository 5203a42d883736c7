"""Bootstrap confidence intervals: resampled statistics of each group, and percentiles."""

from __future__ import annotations

import math

import numpy as np

from core.review.fairness.metrics import _auc, _cell_count, _Outcome, _score_cells

# bootstrap weights are built in blocks of at most this many cells (replicates x rows)
BLOCK_CELLS = 2_000_000


def _replicate_statistics(
    outcome: _Outcome, rows: np.ndarray, *, n_boot: int, rng: np.random.Generator
) -> np.ndarray:
    """(n_boot, k) statistics of the group's rows resampled with replacement n_boot times.

    Resampling rows of a classification group only changes how many fall in each confusion
    cell, so the cell counts are drawn at once from the multinomial they follow; regression
    needs each row's weight, drawn in blocks so memory stays bounded.
    """
    size = len(rows)
    if outcome.task != "regression":
        assert outcome.cells is not None
        counts = np.bincount(outcome.cells[rows], minlength=_cell_count(outcome.task))
        return rng.multinomial(size, counts / size, size=n_boot)
    assert outcome.errors is not None
    errors = np.ascontiguousarray(outcome.errors[:, rows].T)
    return np.vstack(
        [weights @ errors / size for weights in _resampling_weights(rng, size, n_boot)]
    )


def _resampling_weights(rng: np.random.Generator, size: int, n_boot: int) -> list[np.ndarray]:
    """Blocks of (replicates, size) counts: how often each row is drawn in each replicate."""
    per_block = max(1, BLOCK_CELLS // max(size, 1))
    blocks = []
    for start in range(0, n_boot, per_block):
        count = min(per_block, n_boot - start)
        picks = rng.integers(0, size, size=(count, size)) + size * np.arange(count)[:, None]
        blocks.append(
            np.bincount(picks.ravel(), minlength=count * size).reshape(count, size).astype(float)
        )
    return blocks


def _auc_replicates(
    outcome: _Outcome, rows: np.ndarray, *, n_boot: int, rng: np.random.Generator
) -> np.ndarray:
    """AUC of n_boot resamples: only the counts per (score level, class) cell matter."""
    cells, levels = _score_cells(outcome, rows)
    size, width = len(rows), 2 * levels
    per_block = max(1, BLOCK_CELLS // max(size, 1))
    values = []
    for start in range(0, n_boot, per_block):
        count = min(per_block, n_boot - start)
        keys = cells[rng.integers(0, size, size=(count, size))]
        keys += width * np.arange(count)[:, None]
        counts = np.bincount(keys.ravel(), minlength=count * width)
        values.append(_auc(counts.reshape(count, levels, 2)))
    return np.concatenate(values)


def _interval(samples: np.ndarray, confidence: float) -> tuple[float, float]:
    finite = samples[np.isfinite(samples)]
    if finite.size == 0:
        return (math.nan, math.nan)
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(finite, [tail, 1.0 - tail])
    return (float(low), float(high))
