"""Text and yes/no columns for the compiled pipeline: a column factorized into codes once, and a
chain of level steps run once per distinct row of its columns instead of once per row.

Why: a text column's chain (levels, fill, rare levels, encoder) costs a pandas missing test, a
hash lookup and a copy per step over every row: ~20 ms for the sample model's 10 text columns
at 10,000 rows, though they hold a few dozen distinct rows. Every level step maps a row on its
own, and the distinct rows hold every type their columns hold, so the outputs are the same
values; the registration check and tests/core/serving/test_level_routes.py compare them with
the per-row run and the pandas pipeline.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

Columns = list[np.ndarray]
Step = Callable[[Columns], Columns]

FEW_ROWS = 64  # below this many rows, finding the distinct rows costs more than it saves
_MOST_CODES = 2**40  # combined codes stay well inside int64
_NONE = type(None)


@dataclass(frozen=True)
class Levels:
    """A column of text and nulls (or yes/no and nulls) factorized: each row's code among
    ``levels`` in order of appearance, a null coded ``len(levels)``."""

    codes: np.ndarray  # int64, one per row
    levels: list[Any]
    nulls: bool  # whether a row is null

    @property
    def count(self) -> int:
        return len(self.levels) + 1

    @property
    def types(self) -> frozenset[type]:
        """The column's value types, exactly (text equals only text; yes/no was looked at)."""
        return frozenset(map(type, self.levels)) | ({_NONE} if self.nulls else set())

    def distinct(self) -> set[Any]:
        """The column's distinct values, as ``set(column)`` gives them."""
        return set(self.levels) | ({None} if self.nulls else set())

    def padded(self, extra: int) -> Levels:
        """The codes with the last row's repeated ``extra`` times."""
        return replace(self, codes=np.concatenate([self.codes, self.codes[-1:].repeat(extra)]))


def column_levels(column: np.ndarray) -> Levels | None:
    """The column factorized, when it is an object column of text and nulls or of yes/no and
    nulls; None otherwise (numbers, NaN, or 1 beside True, which are equal but read apart)."""
    if column.dtype != object:
        return None
    codes, found = pd.factorize(column)  # null (None, NaN) coded -1
    levels = found.tolist()
    kinds = set(map(type, levels))
    # text equals only text; behind a bool level may hide an equal 1 or 1.0: look at them all
    if not kinds <= {str} and not (kinds <= {bool} and _only_yes_no(column)):
        return None
    gaps = codes < 0
    nulls = bool(gaps.any())
    if nulls:
        if any(value is not None for value in column[gaps].tolist()):
            return None  # NaN is a float
        codes = np.where(gaps, len(levels), codes)
    return Levels(codes.astype(np.int64, copy=False), levels, nulls)


def _only_yes_no(column: np.ndarray) -> bool:
    return set(map(type, column.tolist())) <= {bool, _NONE}


# the factorized input columns a caller already holds, by the id of their array, for one call
_KNOWN: ContextVar[dict[int, Levels] | None] = ContextVar("known_levels", default=None)


@contextmanager
def known_levels(columns: Columns, levels: dict[int, Levels] | None) -> Iterator[None]:
    """While inside, the level steps take ``levels[i]`` as the factorized ``columns[i]`` (it
    must be that column's factorization) instead of factorizing it again."""
    if not levels:
        yield
        return
    token = _KNOWN.set({id(columns[index]): found for index, found in levels.items()})
    try:
        yield
    finally:
        _KNOWN.reset(token)


def by_distinct_rows(inner: Step) -> Step:
    """``inner`` (a chain of level steps) run once per distinct row of its input columns, each
    output spread back to every row, when those columns hold only text and nulls, or only
    yes/no and nulls; row by row otherwise."""

    def run(columns: Columns) -> Columns:
        if not columns or len(columns[0]) < FEW_ROWS:
            return inner(columns)
        found = distinct_rows(columns)
        if found is None:
            return inner(columns)
        first, inverse = found
        return [out[inverse] for out in inner([column[first] for column in columns])]

    return run


def distinct_rows(columns: Columns) -> tuple[np.ndarray, np.ndarray] | None:
    """(a row holding each combination of the columns' values, each row's combination), or
    None when a column holds anything but text or yes/no, and nulls."""
    rows = len(columns[0])
    known = _KNOWN.get() or {}
    combined = np.zeros(rows, dtype=np.int64)
    most = 1  # combined codes are below this
    for column in columns:
        found = known.get(id(column)) or column_levels(column)
        if found is None:
            return None
        if most * found.count > _MOST_CODES:
            combined, seen = pd.factorize(combined)
            most = len(seen)
        combined = combined * found.count + found.codes
        most *= found.count
    if most > rows:  # more possible combinations than rows: number those present
        combined, seen = pd.factorize(combined)
        most = len(seen)
    # a code no row has keeps row 0: its outputs are computed and never picked
    first = np.zeros(most, dtype=np.intp)
    first[combined] = np.arange(rows)  # any row of a combination: they are equal
    return first, combined
