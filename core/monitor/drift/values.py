"""A column reduced once to distinct values and counts, and a reference/current pair of them."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, Literal

import numpy as np

if TYPE_CHECKING:  # pandas is imported where a frame is read: a Parquet drift needs none
    import pandas as pd

Kind = Literal["numeric", "categorical"]
KINDS: tuple[Kind, ...] = ("numeric", "categorical")

FEW_VALUES = 5  # numeric columns with at most this many distinct values compare as categories

BINNED_VALUES = 20  # PSI and Jensen–Shannon bin numbers (Sturges) above this many distinct values


@dataclass(frozen=True)
class NumericValues:
    """A numeric column's finite values as sorted distinct values, their counts and a few facts."""

    kind: ClassVar[Kind] = "numeric"
    values: np.ndarray = field(repr=False)
    counts: np.ndarray = field(repr=False)
    cumulative: np.ndarray = field(repr=False)  # cumulative[i]: how many values < values[i]
    total: int
    missing: int  # missing or infinite
    std: float  # population standard deviation
    integer: bool  # integer dtype: numpy's histogram bins are then at least 1 wide
    mean: float = math.nan  # kept so that partial summaries merge their spread exactly
    # A summary of more distinct values than a partition merge keeps (see partitions.py) moves
    # some values to their group's mean: ``shifted`` is how far in total (count x distance),
    # ``misplaced`` the most values that may sit on the wrong side of any one point.
    shifted: float = 0.0
    misplaced: int = 0
    not_numbers: int = 0  # current text values that could not be read as numbers

    def expanded(self) -> np.ndarray:
        return np.repeat(self.values, self.counts)

    @property
    def exact(self) -> bool:
        return self.misplaced == 0


@dataclass(frozen=True)
class CategoryCounts:
    """A categorical column's non-missing values as distinct categories and their counts."""

    kind: ClassVar[Kind] = "categorical"
    categories: pd.Index | np.ndarray = field(repr=False)  # ndarray (object) when from Arrow
    counts: np.ndarray = field(repr=False)
    total: int
    missing: int


ColumnValues = NumericValues | CategoryCounts


def numeric_values(series: pd.Series) -> NumericValues:
    """Sort the finite values once; infinities count as missing, as in Evidently."""
    import pandas as pd

    raw = series.to_numpy(dtype=np.float64, na_value=np.nan)
    finite = raw[np.isfinite(raw)]
    ordered = np.sort(finite)
    starts = np.flatnonzero(np.concatenate(([ordered.size > 0], ordered[1:] != ordered[:-1])))
    counts = np.diff(np.append(starts, ordered.size))
    return NumericValues(
        values=ordered[starts],
        counts=counts,
        cumulative=np.concatenate(([0], np.cumsum(counts))),
        total=int(ordered.size),
        missing=int(raw.size - ordered.size),
        std=float(np.std(finite)) if finite.size else 0.0,
        integer=pd.api.types.is_integer_dtype(series.dtype),
        mean=float(np.mean(finite)) if finite.size else math.nan,
    )


def category_counts(series: pd.Series) -> CategoryCounts:
    import pandas as pd

    # dropna=True would test every cell for missing (4x the cost of counting text); testing
    # the distinct values afterwards is the same and cheap
    counted = series.value_counts(dropna=False, sort=False)
    keep = (counted.to_numpy() > 0) & ~pd.isna(counted.index)  # a Categorical lists unused ones
    counted = counted[keep]
    categories = pd.Index(np.asarray(counted.index, dtype=object), dtype=object)
    total = int(counted.sum())
    return CategoryCounts(categories, counted.to_numpy(np.int64), total, len(series) - total)


@dataclass(frozen=True)
class ColumnPair:
    """One column in the reference and in the current data, as a drift method sees it."""

    reference: ColumnValues
    current: ColumnValues

    def numbers(self) -> tuple[NumericValues, NumericValues]:
        reference, current = self.reference, self.current
        assert isinstance(reference, NumericValues) and isinstance(current, NumericValues)
        return reference, current

    def cdfs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The distinct values of both samples, and both empirical CDFs at each of them."""
        grid, reference_counts, current_counts = self._on_one_grid()
        return grid, _cumulative_share(reference_counts), _cumulative_share(current_counts)

    def per_value(self) -> tuple[np.ndarray, np.ndarray]:
        """Counts of both samples over the union of their distinct values (categories)."""
        reference, current = self.reference, self.current
        if isinstance(reference, NumericValues):
            return self._on_one_grid()[1:]
        assert isinstance(reference, CategoryCounts) and isinstance(current, CategoryCounts)
        positions = _positions(reference.categories, current.categories)
        new = positions < 0
        known = len(reference.categories)
        reference_counts = np.concatenate((reference.counts, np.zeros(int(new.sum()), np.int64)))
        current_counts = np.zeros(len(reference_counts), np.int64)
        current_counts[positions[~new]] = current.counts[~new]
        current_counts[known:] = current.counts[new]
        return reference_counts, current_counts

    def binned(self) -> tuple[np.ndarray, np.ndarray]:
        """Counts for PSI and Jensen–Shannon, binned as Evidently bins them.

        Numbers with more than 20 distinct reference values fall into numpy's Sturges bins over
        the range of both samples; fewer distinct numbers, and categories, are counted per value.
        """
        reference, current = self.reference, self.current
        if not isinstance(reference, NumericValues) or len(reference.values) <= BINNED_VALUES:
            return self.per_value()
        reference, current = self.numbers()
        edges = _sturges_edges(reference, current)
        return _histogram(reference, edges), _histogram(current, edges)

    def _on_one_grid(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        reference, current = self.numbers()
        return _on_one_grid(reference, current)

    def distinct(self) -> int:
        """How many distinct non-missing values the two samples hold together."""
        reference = self.reference
        if isinstance(reference, NumericValues) and len(reference.values) > FEW_VALUES:
            return len(reference.values)  # enough to decide; no need to merge
        return len(self.per_value()[0])


def _on_one_grid(
    reference: NumericValues, current: NumericValues
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The union of both samples' distinct values, and each sample's counts on it.

    One stable argsort of the two sorted arrays side by side is a timsort merge of two runs
    (linear); the merge also says where each value lands, so no search is needed. np.union1d
    and searchsorted cost ~3x more (the largest part of a 1M-row drift).
    """
    both = np.concatenate((reference.values, current.values))
    order = np.argsort(both, kind="stable")
    merged = both[order]
    first = np.empty(merged.size, bool)
    first[:1] = True
    np.not_equal(merged[1:], merged[:-1], out=first[1:])
    grid = merged[first]
    slot = np.empty(merged.size, np.int64)
    slot[order] = np.cumsum(first) - 1
    split = len(reference.values)
    counts = []
    for values, at in ((reference, slot[:split]), (current, slot[split:])):
        on_grid = np.zeros(grid.size, np.int64)
        on_grid[at] = values.counts
        counts.append(on_grid)
    return grid, counts[0], counts[1]


def _positions(reference: pd.Index | np.ndarray, current: pd.Index | np.ndarray) -> np.ndarray:
    """Where each current category sits among the reference's (-1: a new category)."""
    if not isinstance(reference, np.ndarray) and not isinstance(current, np.ndarray):
        return reference.get_indexer(current)  # both pandas Indexes
    known = {value: index for index, value in enumerate(reference.tolist())}
    return np.fromiter((known.get(value, -1) for value in current.tolist()), np.int64, len(current))


def _cumulative_share(counts: np.ndarray) -> np.ndarray:
    return np.cumsum(counts) / counts.sum()


def _sturges_edges(reference: NumericValues, current: NumericValues) -> np.ndarray:
    """np.histogram_bin_edges(both samples, bins="sturges"), from the distinct values alone."""
    first = min(reference.values[0], current.values[0])
    last = max(reference.values[-1], current.values[-1])
    span = last - first
    width = span / (np.log2(reference.total + current.total) + 1.0)
    if reference.integer and current.integer and width < 1:
        width = 1.0
    bins = int(np.ceil(span / width))
    return np.linspace(first, last, bins + 1)


def _histogram(values: NumericValues, edges: np.ndarray) -> np.ndarray:
    """np.histogram(values, edges): bins are half-open, the last one closed."""
    below = np.searchsorted(values.values, edges[:-1], side="left")
    through = np.searchsorted(values.values, edges[-1:], side="right")
    return np.diff(values.cumulative[np.concatenate((below, through))])
