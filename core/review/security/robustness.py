"""Robustness: the share of decisions that small, realistic perturbations flip, and the
smallest change that flips each of a sample of decisions."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

SCALE = 0.05  # the headline perturbation: 5 % of each numeric input's spread
SCALES = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)
ROWS = 200
DRAWS = 8
DEFAULT_MAX_FLIPPED = 0.10
# a regression "decision" flips when the prediction moves by more than this share of the
# spread of its predictions
REGRESSION_MOVE = 0.10


@dataclass(frozen=True)
class Robustness:
    """Perturbation at scale s: each numeric input moves by up to ±s standard deviations (its
    spread in training, uniformly drawn; whole-number inputs stay whole) and each categorical
    input moves, with probability s, to its near level (the most frequent other level in
    training). ``flipped_share`` is the share of decisions flipped at ``scale``;
    ``flip_rates`` the same at each of ``scales``; ``smallest`` each sampled row's smallest
    scale that flipped it in ``draws`` tries (None: none up to the largest)."""

    scale: float
    flipped_share: float
    scales: tuple[float, ...]
    flip_rates: tuple[float, ...]
    smallest: tuple[float | None, ...]
    rows: int
    draws: int
    bar: float | None
    numeric: tuple[str, ...]
    categorical: tuple[str, ...]

    @property
    def fragile(self) -> bool:
        return self.bar is not None and self.flipped_share > self.bar

    @property
    def flippable_share(self) -> float:
        """Share of the sampled rows some perturbation up to the largest scale flipped."""
        found = [value for value in self.smallest if value is not None]
        return len(found) / len(self.smallest) if self.smallest else 0.0

    @property
    def median_smallest(self) -> float | None:
        found = [value for value in self.smallest if value is not None]
        return float(np.median(found)) if found else None

    def sentence(self) -> str:
        median = self.median_smallest
        smallest = (
            f"half of the decisions that flip do so by {median:g} standard deviations or less"
            if median is not None
            else f"no sampled decision flipped up to {self.scales[-1]:g} standard deviations"
        )
        return (
            f"{self.flipped_share:.1%} of decisions flip under perturbations of "
            f"{self.scale:g} standard deviations; {smallest}."
        )

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("scales", "flip_rates", "smallest", "numeric", "categorical"):
            data[key] = list(data[key])
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Robustness:
        values = {key: data[key] for key in cls.__dataclass_fields__}
        for key in ("scales", "flip_rates", "smallest", "numeric", "categorical"):
            values[key] = tuple(values[key])
        return cls(**values)


@dataclass(frozen=True)
class _Perturber:
    spreads: dict[str, float]
    whole: frozenset[str]
    near: dict[str, dict[Any, Any]]

    def perturbed(self, rows: pd.DataFrame, scale: float, rng: np.random.Generator) -> pd.DataFrame:
        moved = rows.copy()
        for name, spread in self.spreads.items():
            values = moved[name].to_numpy(dtype=np.float64)
            values = values + rng.uniform(-1.0, 1.0, len(values)) * scale * spread
            moved[name] = np.round(values) if name in self.whole else values
        for name, near in self.near.items():
            chosen = rng.random(len(moved)) < min(1.0, scale)
            column = moved[name].astype(object)
            column[chosen] = column[chosen].map(lambda value, n=near: n.get(value, value))
            moved[name] = column.astype(rows[name].dtype) if rows[name].dtype != object else column
        return moved


def robustness(
    pipeline: Any,
    rows: pd.DataFrame,
    *,
    training: pd.DataFrame,
    task: str,
    scale: float = SCALE,
    scales: tuple[float, ...] = SCALES,
    sample: int = ROWS,
    draws: int = DRAWS,
    bar: float | None = DEFAULT_MAX_FLIPPED,
    seed: int = 0,
) -> Robustness:
    """Perturb ``sample`` of ``rows`` ``draws`` times at each scale and count changed decisions."""
    rng = np.random.default_rng(seed)
    scales = tuple(sorted({*scales, scale}))
    if len(rows) > sample:
        rows = rows.iloc[np.sort(rng.choice(len(rows), sample, replace=False))]
    rows = rows.reset_index(drop=True)
    perturber = _perturber(training, rows)
    base = _decisions(pipeline, rows, task)
    tolerance = _tolerance(base, task)
    repeated = pd.concat([rows] * draws, ignore_index=True)
    rates: list[float] = []
    smallest: list[float | None] = [None] * len(rows)
    for current in scales:
        moved = perturber.perturbed(repeated, current, rng)
        flips = _flipped(np.tile(base, draws), _decisions(pipeline, moved, task), tolerance)
        rates.append(float(flips.mean()))
        flipped_rows = flips.reshape(draws, len(rows)).any(axis=0)
        for index in np.flatnonzero(flipped_rows):
            if smallest[index] is None:
                smallest[index] = float(current)
    return Robustness(
        scale=float(scale),
        flipped_share=rates[scales.index(scale)],
        scales=tuple(float(s) for s in scales),
        flip_rates=tuple(rates),
        smallest=tuple(smallest),
        rows=len(rows),
        draws=draws,
        bar=bar,
        numeric=tuple(perturber.spreads),
        categorical=tuple(perturber.near),
    )


def _perturber(training: pd.DataFrame, rows: pd.DataFrame) -> _Perturber:
    spreads: dict[str, float] = {}
    whole: set[str] = set()
    near: dict[str, dict[Any, Any]] = {}
    for name in rows.columns:
        if name not in training.columns:
            continue
        column = training[name]
        if pd.api.types.is_bool_dtype(column) or not pd.api.types.is_numeric_dtype(column):
            if pd.api.types.is_datetime64_any_dtype(column):
                continue  # a moment moved is not a realistic mistake; dates stay as they are
            levels = _near_levels(column)
            if levels:
                near[name] = levels
            continue
        values = pd.to_numeric(column, errors="coerce").replace([np.inf, -np.inf], np.nan)
        spread = float(values.std())
        if np.isfinite(spread) and spread > 0:
            spreads[name] = spread
            present = values.dropna()
            if len(present) and bool((present == present.round()).all()):
                whole.add(name)
    return _Perturber(spreads, frozenset(whole), near)


def _near_levels(column: pd.Series) -> dict[Any, Any]:
    """Each level's near level: the most frequent other level (the second most frequent for the
    most frequent one)."""
    counts = column.dropna().value_counts()
    if len(counts) < 2:
        return {}
    first, second = counts.index[0], counts.index[1]
    return {level: (second if level == first else first) for level in counts.index}


def _decisions(pipeline: Any, rows: pd.DataFrame, task: str) -> np.ndarray:
    predicted = np.asarray(pipeline.predict(rows))
    return predicted.astype(np.float64) if task == "regression" else predicted


def _tolerance(base: np.ndarray, task: str) -> float:
    if task != "regression":
        return 0.0
    spread = float(np.std(base))
    return REGRESSION_MOVE * spread if spread > 0 else 1e-9


def _flipped(before: np.ndarray, after: np.ndarray, tolerance: float) -> np.ndarray:
    if tolerance > 0:
        return np.abs(after.astype(np.float64) - before.astype(np.float64)) > tolerance
    return after != before
