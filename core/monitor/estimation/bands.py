"""Sampling bands learned from reference chunks: how much a per-window figure moves by chance."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

SIGMAS = 3.0  # a band of +-3 standard deviations, as NannyML's default thresholds
MIN_CHUNKS = 4
SAMPLED_CHUNKS = 50  # random chunks drawn for a spread: fewer give a noisy standard deviation


@dataclass(frozen=True)
class Spread:
    """A figure's mean and standard deviation over reference chunks of ``chunk_rows`` rows."""

    mean: float
    std: float
    chunk_rows: int

    def half_width(self, rows: int) -> float:
        """The band's half width for a window of ``rows`` rows: the chunk spread scaled by
        sqrt(chunk rows / rows), as a mean's standard error scales."""
        return SIGMAS * self.std * math.sqrt(self.chunk_rows / max(rows, 1))

    def upper(self, rows: int) -> float:
        return self.mean + self.half_width(rows)

    def to_dict(self) -> dict[str, float]:
        return {"mean": self.mean, "std": self.std, "chunk_rows": self.chunk_rows}


def chunk_indices(rows: int, chunk_rows: int, *, seed: int = 0) -> list[np.ndarray]:
    """Disjoint random chunks of ``chunk_rows`` row positions (at least MIN_CHUNKS, smaller
    chunks when there are too few rows)."""
    size = max(min(chunk_rows, rows // MIN_CHUNKS), 1)
    order = np.random.default_rng(seed).permutation(rows)
    count = max(rows // size, 1)
    return [order[i * size : (i + 1) * size] for i in range(count)]


def spread_of(values: Sequence[float], chunk_rows: int) -> Spread:
    finite = np.asarray([v for v in values if v is not None and math.isfinite(v)], dtype=float)
    if finite.size == 0:
        return Spread(math.nan, 0.0, chunk_rows)
    std = float(finite.std(ddof=1)) if finite.size > 1 else 0.0
    return Spread(float(finite.mean()), std, chunk_rows)


def chunk_spreads(
    rows: int, chunk_rows: int, figures: Callable[[np.ndarray], dict[str, float]], *, seed: int = 0
) -> dict[str, Spread]:
    """Like ``chunk_spread`` for several figures computed together on each chunk."""
    found: dict[str, list[float]] = {}
    size = 1
    for in_chunk in _sampled(rows, chunk_rows, seed):
        for name, value in figures(in_chunk).items():
            found.setdefault(name, []).append(value)
        size = len(in_chunk)
    return {name: _corrected(spread_of(values, size), rows) for name, values in found.items()}


def _sampled(rows: int, chunk_rows: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    size = max(min(chunk_rows, rows // 2), 1)
    return [rng.choice(rows, size, replace=False) for _ in range(SAMPLED_CHUNKS)]


def _corrected(found: Spread, rows: int) -> Spread:
    # chunks drawn from a finite reference vary less than windows from the whole population
    correction = math.sqrt(max(1.0 - found.chunk_rows / rows, 0.25))
    return Spread(found.mean, found.std / correction, found.chunk_rows)


def chunk_spread(
    rows: int, chunk_rows: int, figure: Callable[[np.ndarray], float], *, seed: int = 0
) -> Spread:
    """``figure`` of SAMPLED_CHUNKS random reference chunks (given their row positions), as a
    Spread; chunks are at most half the rows so that they differ."""
    chunks = _sampled(rows, chunk_rows, seed)
    return _corrected(spread_of([figure(chunk) for chunk in chunks], len(chunks[0])), rows)
