"""Frame pieces the step families share: keeping rows, replacing a column, distinct values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pandas.api.types import is_float_dtype

from core.prep.steps.wording import SHOW_MAX


def _names_not_in(names: pd.Index, others: pd.Index) -> tuple[str, ...]:
    other = set(others)
    return tuple(str(name) for name in names if name not in other)


def _keep_rows(frame: pd.DataFrame, keep: np.ndarray) -> pd.DataFrame:
    return frame.iloc[np.flatnonzero(keep)].reset_index(drop=True)


def _with_column(frame: pd.DataFrame, column: str, values: Any) -> pd.DataFrame:
    out = frame.copy(deep=False)
    out[column] = values
    return out


def _as_text(values: pd.Series) -> pd.Series:
    """Each (non-missing) value as text, numbered from 0; whole floats lose their ``.0``."""
    text = values.astype(str).reset_index(drop=True)
    if is_float_dtype(values.dtype):
        text = text.str.replace(r"\.0$", "", regex=True)
    return text


def _floats(series: pd.Series) -> np.ndarray:
    return series.to_numpy(dtype=float, na_value=np.nan)


@dataclass(frozen=True)
class _Distinct:
    """A column as its distinct values written as text, plus which one each row holds.

    Parsing the distinct values only (then spreading the results back to the rows) is what keeps
    the parse steps fast on long columns with few distinct values.
    """

    codes: np.ndarray
    text: pd.Series
    arrow: pa.Array
    given: np.ndarray  # which distinct values are more than blank space

    @classmethod
    def of(cls, series: pd.Series) -> _Distinct:
        codes, uniques = pd.factorize(series)
        text = _as_text(pd.Series(uniques))
        arrow = pa.array(text, type=pa.string())
        blank = _flags_of(pc.equal(pc.utf8_length(pc.utf8_trim_whitespace(arrow)), 0))
        return cls(codes, text, arrow, ~blank)

    def rows(self, flags: np.ndarray) -> int:
        """How many rows hold one of the flagged distinct values."""
        return int(flags[self.codes[self.codes >= 0]].sum())

    def spread(self, values: np.ndarray, missing: Any) -> np.ndarray:
        rows = np.full(len(self.codes), missing, dtype=values.dtype)
        seen = self.codes >= 0
        rows[seen] = values[self.codes[seen]]
        return rows

    def example(self, flags: np.ndarray) -> str:
        return str(self.text[flags].iloc[0])[:SHOW_MAX]


def _flags_of(result: pa.Array) -> np.ndarray:
    return np.asarray(pc.fill_null(result, False).to_numpy(zero_copy_only=False), dtype=bool)
