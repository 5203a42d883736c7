"""Table exports: CSV that spreadsheets cannot run as formulas; writes that are all or nothing."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

# A spreadsheet runs a cell starting with one of these as a formula (CSV injection, OWASP).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_START = r"^[=+\-@\t\r]"
# Text that is only a number ("-3.5") cannot run as a formula, so it is left as it is.
_PLAIN_NUMBER = r"^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$"
_CSV_OPTIONS = pacsv.WriteOptions(quoting_style="needed")


def safe_cell(value: Any) -> Any:
    """``value`` with a leading ``'`` if it is text a spreadsheet would run as a formula."""
    risky = isinstance(value, str) and value.startswith(FORMULA_STARTS)
    return "'" + value if risky and not re.match(_PLAIN_NUMBER, value) else value


def safe_csv_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells and column names are safe to open in a spreadsheet.

    Only text is touched: number, boolean and date columns keep their values and dtypes.
    """
    safe = frame.rename(columns=safe_cell)
    for position in range(safe.shape[1]):
        column = safe.iloc[:, position]
        if isinstance(column.dtype, pd.CategoricalDtype):
            safe.isetitem(position, column.cat.rename_categories(safe_cell))
        elif column.dtype == object or isinstance(column.dtype, pd.StringDtype):
            safe.isetitem(position, _safe_text_series(column))
    return safe


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """The frame as spreadsheet-safe UTF-8 CSV, for a download button."""
    sink = pa.BufferOutputStream()
    pacsv.write_csv(_csv_table(frame), sink, _CSV_OPTIONS)
    data: bytes = sink.getvalue().to_pybytes()
    return data


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    """Write the frame as spreadsheet-safe CSV; the file appears whole or not at all."""
    table = _csv_table(frame)
    return write_atomically(path, lambda temp: pacsv.write_csv(table, temp, _CSV_OPTIONS))


def write_parquet(frame: pd.DataFrame, path: Path) -> Path:
    """Write the frame as Parquet (values as they are); the file appears whole or not at all."""
    return write_atomically(path, lambda temp: frame.to_parquet(temp, index=False))


def write_atomically(path: Path, write: Callable[[Path], object]) -> Path:
    """Call ``write(temp)`` on a temp file next to ``path``, then rename it into place.

    A failure (or a cancelled job) part-way removes the temp file and leaves ``path`` as it was.
    """
    path = Path(path)
    handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    os.close(handle)
    temp = Path(temp_name)
    try:
        write(temp)
        # mkstemp makes the file private; an export gets the mode of the file it replaces
        os.chmod(temp, path.stat().st_mode & 0o777 if path.exists() else 0o644)
        with temp.open("rb") as written:
            os.fsync(written.fileno())
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)
    return path


# -- text cells, vectorised in Arrow -----------------------------------------------------------


def _safe_text(array: Any) -> Any:
    """A string array with ``'`` before each cell a spreadsheet would run as a formula."""
    risky = pc.and_(
        pc.match_substring_regex(array, _FORMULA_START),
        pc.invert(pc.match_substring_regex(array, _PLAIN_NUMBER)),
    )
    if not pc.any(risky).as_py():
        return array
    prefixed = pc.binary_join_element_wise("'", array, "")
    return pc.if_else(pc.fill_null(risky, False), prefixed, array)


def _safe_text_series(column: pd.Series) -> pd.Series:
    try:
        array = pa.array(column, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # text mixed with other kinds of values
        return column.map(safe_cell)
    if not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)):
        return column
    safe = _safe_text(array)
    if safe is array:
        return column
    risky = np.asarray(pc.not_equal(safe, array).fill_null(False))
    return column.where(~risky, safe.to_numpy(zero_copy_only=False))


def _csv_table(frame: pd.DataFrame) -> pa.Table:
    """The frame as Arrow, text neutralised and times written plainly, ready for the CSV writer."""
    names = [str(safe_cell(name)) for name in frame.columns]
    columns = [_csv_column(frame.iloc[:, position]) for position in range(frame.shape[1])]
    return pa.table(columns, names=names)


def _csv_column(column: pd.Series) -> Any:
    try:
        array = pa.array(column, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        array = pa.array(column.astype(str).where(column.notna(), None), pa.string())
    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    if pa.types.is_nested(array.type) or pa.types.is_binary(array.type):
        array = pa.array(column.astype(str).where(column.notna(), None), pa.string())
    if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
        return _safe_text(array)
    if pa.types.is_timestamp(array.type) and array.type.tz is None:
        return _plain_times(array)
    return array


def _plain_times(array: Any) -> Any:
    """2024-05-01 for whole days, 2024-05-01 10:30:00 for whole seconds, else as stored."""
    for unit, kind in (("day", pa.date32()), ("second", pa.timestamp("s"))):
        whole = pc.all(pc.equal(pc.floor_temporal(array, unit=unit), array)).as_py()
        if whole is not False:
            return array.cast(kind, safe=False)
    return array
