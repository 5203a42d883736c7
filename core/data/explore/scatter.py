"""Point samples for scatter plots and pair plots, with optional colour by a column."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from core.data.explore.columns import _datetimes
from core.data.explore.frames import (
    MISSING,
    OTHER,
    _column,
    _floats,
    _floats_or_none,
    _is_datetime,
    _is_numeric,
    _label,
    _level_counts,
    _sample_positions,
)

MAX_COLOR_LEVELS = 10


@dataclass(frozen=True)
class ScatterSample:
    """Rows where both x and y are present, downsampled; values are floats or text."""

    x: str
    y: str
    color: str | None
    x_values: list[float | str]
    y_values: list[float | str]
    color_values: list[float | str | None]
    color_kind: Literal["numeric", "categorical"] | None
    rows: int
    sampled: bool


def _plain_values(series: pd.Series) -> list[float | str]:
    """Floats for numbers, wall-clock ISO text for datetimes, text for everything else."""
    if _is_numeric(series):
        return series.to_numpy(dtype=float, na_value=np.nan).tolist()
    if _is_datetime(series):
        values, _ = _datetimes(series)
        return np.datetime_as_string(values, unit="s").tolist()
    return [_label(value) for value in series.tolist()]


def _color_values(
    series: pd.Series,
) -> tuple[list[float | str | None], Literal["numeric", "categorical"]]:
    """Numbers stay numbers when there are many; otherwise top levels, other and missing."""
    if _is_numeric(series) and series.nunique() > MAX_COLOR_LEVELS:
        values = series.to_numpy(dtype=float, na_value=np.nan)
        return list(_floats_or_none(values)), "numeric"
    codes, uniques, _ = _level_counts(series)
    labels = np.array(
        [_label(value) for value in uniques[:MAX_COLOR_LEVELS]] + [OTHER, MISSING], dtype=object
    )
    index = np.where(codes < 0, len(labels) - 1, np.minimum(codes, len(labels) - 2))
    return labels[index].tolist(), "categorical"


def scatter_sample(
    frame: pd.DataFrame,
    *,
    x: str,
    y: str,
    color: str | None = None,
    max_points: int = 100_000,
) -> ScatterSample:
    """A seeded sample of at most max_points rows where x and y are both present."""
    xs, ys = _column(frame, x), _column(frame, y)
    present = np.flatnonzero((xs.notna() & ys.notna()).to_numpy())
    picked = present[_sample_positions(present.size, max_points)]
    colors: list[float | str | None] = []
    kind: Literal["numeric", "categorical"] | None = None
    if color is not None:
        colors, kind = _color_values(_column(frame, color).iloc[picked])
    return ScatterSample(
        x=str(x),
        y=str(y),
        color=None if color is None else str(color),
        x_values=_plain_values(xs.iloc[picked]),
        y_values=_plain_values(ys.iloc[picked]),
        color_values=colors,
        color_kind=kind,
        rows=int(present.size),
        sampled=picked.size < present.size,
    )


MAX_PAIR_COLUMNS = 6
PAIR_POINTS = 5_000


@dataclass(frozen=True)
class PairSample:
    """A seeded row sample of a few numeric columns for a scatter matrix, with optional colour."""

    columns: list[str]
    values: list[list[float]]
    color: str | None
    color_values: list[float | str | None]
    color_kind: Literal["numeric", "categorical"] | None
    rows: int
    sampled: bool


def pair_sample(
    frame: pd.DataFrame,
    *,
    columns: Sequence[str],
    color: str | None = None,
    max_points: int = PAIR_POINTS,
) -> PairSample:
    """At most max_points seeded rows of up to MAX_PAIR_COLUMNS columns, for a pair plot."""
    chosen = list(columns)[:MAX_PAIR_COLUMNS]
    picked = _sample_positions(len(frame), max_points)
    colors: list[float | str | None] = []
    kind: Literal["numeric", "categorical"] | None = None
    if color is not None:
        colors, kind = _color_values(_column(frame, color).iloc[picked])
    return PairSample(
        columns=[str(name) for name in chosen],
        values=[_floats(_column(frame, name).iloc[picked]).tolist() for name in chosen],
        color=None if color is None else str(color),
        color_values=colors,
        color_kind=kind,
        rows=len(frame),
        sampled=picked.size < len(frame),
    )
