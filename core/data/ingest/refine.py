"""Column types after parsing: late numbers, yes/no text as bool, clear dates as timestamps."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from core.data.booleans import WORD_PAIRS, labels_metadata, most_common_spelling
from core.data.ingest.messages import AMBIGUOUS_DATES_WARNING, DATE_GAPS_WARNING
from core.data.ingest.numbers import NumberPlan, numbers_warnings, read_numbers

_DATE_LIKE = re.compile(
    r"^\d{1,4}[-/.]\d{1,2}[-/.]\d{2,4}\b|^\d{1,2}[ -][A-Za-z]{3,9}[ -]\d{2,4}"
    r"|^[A-Za-z]{3,9} \d{1,2},? \d{4}"
)
_ISO_DATE = r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)?$"
_ISO = "ISO"
_DATE_FORMATS = (
    _ISO,
    "%d/%m/%Y",
    "%m/%d/%Y",
    "%d/%m/%Y %H:%M",
    "%m/%d/%Y %H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M:%S",
    "%d/%m/%y",
    "%m/%d/%y",
    "%Y/%m/%d",
    "%Y/%m/%d %H:%M:%S",
    "%d.%m.%Y",
    "%d.%m.%Y %H:%M",
    "%d-%m-%Y",
    "%m-%d-%Y",
    "%d %b %Y",
    "%d-%b-%Y",
    "%d %B %Y",
    "%b %d, %Y",
    "%B %d, %Y",
)
_FORMAT_NAMES = {"%d": "dd", "%m": "mm", "%Y": "yyyy", "%y": "yy", "%H": "HH", "%M": "MM"}
_FORMAT_NAMES |= {"%S": "SS", "%b": "Mon", "%B": "Month"}
_DATE_SHARE = 0.95
_TIMESTAMP = pa.timestamp("us")
PIN_TEXT = "text"
PIN_FLOAT = "float"
PIN_INT = "int"
PIN_DATE = "date:"


def _refine_columns(
    table: pa.Table,
    *,
    late_columns: frozenset[str] = frozenset(),
    numbers: NumberPlan | None = None,
    text: bool = True,
    pins: Mapping[str, str] | None = None,
) -> tuple[pa.Table, list[str]]:
    """Give null columns a usable type; with ``text``, also turn clear dates/booleans into types.

    ``numbers`` names the text columns that hold numbers written with separators; they become
    numbers when every value is one. ``late_columns`` were empty in the sampled head (or
    turned to text further down), so their values were never seen: they get a second chance
    to become numbers here, plain or written as the file writes the others. ``pins`` holds
    what a streamed import learned further down the file: a column pinned "text" stays as
    written, one pinned "float" that reads as whole numbers becomes floats.
    """
    refined, number_notes, column_notes = _refine_table(
        table, late_columns=late_columns, numbers=numbers, text=text, pins=pins or {}
    )
    return refined, number_notes + list(column_notes.values())


def _refine_table(
    table: pa.Table,
    *,
    late_columns: frozenset[str],
    numbers: NumberPlan | None,
    text: bool,
    pins: Mapping[str, str],
) -> tuple[pa.Table, list[str], dict[str, str]]:
    """The refined table, the numbers warnings, and each column's own note, by column."""
    names = table.column_names
    columns = list(table.columns)
    fields = list(table.schema)
    notes: dict[str, str] = {}
    converted: dict[str, tuple[str, pa.ChunkedArray]] = {}
    for index, name in enumerate(names):
        column = columns[index]
        pin = pins.get(name)
        if pin == PIN_TEXT or (pin and pin.startswith(PIN_DATE)):
            columns[index] = _pinned(column, pin)
            fields[index] = fields[index].with_type(columns[index].type)
            continue
        if text and (name in late_columns or (numbers and name in numbers.columns)):
            column, mark = _numbers_of(name, column, late=name in late_columns, numbers=numbers)
            if mark is not None:
                converted[name] = (mark, columns[index])
        if pin in (PIN_INT, PIN_FLOAT):
            column = _pinned_numbers(column, pin)
        columns[index], note = _refine_column(name, column, text=text)
        fields[index] = _field(fields[index], columns[index], column)
        if note:
            notes[name] = note
    number_notes = []
    if converted and not (numbers and numbers.explicit):
        number_notes = numbers_warnings(converted)
    return pa.table(columns, schema=pa.schema(fields)), number_notes, notes


def _pinned(column: pa.ChunkedArray, pin: str) -> pa.ChunkedArray:
    """A column kept as text, or read as dates in the format a streamed import found best."""
    if pa.types.is_null(column.type):
        return column.cast(pa.string())
    if pin.startswith(PIN_DATE) and pa.types.is_string(column.type):
        dates, _ = _date_share(column, pin[len(PIN_DATE) :])
        return dates
    return column


def _pinned_numbers(column: pa.ChunkedArray, pin: str) -> pa.ChunkedArray:
    """Whole numbers pinned to floats, and a column with no values in the first part of a
    streamed file that held numbers further down, as those numbers."""
    if pa.types.is_integer(column.type) and pin == PIN_FLOAT:
        return column.cast(pa.float64())
    if column.null_count == len(column) and not pa.types.is_floating(column.type):
        return column.cast(pa.float64() if pin == PIN_FLOAT else pa.int64())
    return column


def _numbers_of(
    name: str, column: pa.ChunkedArray, *, late: bool, numbers: NumberPlan | None
) -> tuple[pa.ChunkedArray, str | None]:
    """The column as numbers if it holds them, and the decimal mark when separators were read."""
    mark = numbers.columns.get(name) if numbers else None
    if mark is None and numbers is not None and late:
        mark = numbers.decimal
    read = read_numbers(column, mark) if mark is not None else None
    if read is not None:
        numbers_read, assumed = read
        return numbers_read, mark if assumed else None
    plain = _as_numbers(column)
    return (column, None) if plain is None else (plain, None)


def _field(field: pa.Field, refined: pa.ChunkedArray, source: pa.ChunkedArray) -> pa.Field:
    """The column's field with its new type; a yes/no column made from text keeps the labels
    the file used (``Yes``/``No``), so a target trained on it answers in those words."""
    field = field.with_type(refined.type)
    if pa.types.is_boolean(refined.type) and not pa.types.is_boolean(source.type):
        field = field.with_metadata(_source_labels(source))
    return field


def _source_labels(source: pa.ChunkedArray) -> dict[bytes, bytes]:
    counts = pc.value_counts(source.drop_null()).to_pylist()
    spelled = [(item["values"], item["counts"]) for item in counts]
    lowered = {text.strip().lower() for text, _ in spelled}
    pair = next(pair for pair in WORD_PAIRS if lowered <= set(pair))
    return labels_metadata(*(most_common_spelling(spelled, word) for word in pair))


def _refine_column(
    name: str, column: pa.ChunkedArray, *, text: bool
) -> tuple[pa.ChunkedArray, str | None]:
    kind = column.type
    if pa.types.is_null(kind):
        return column.cast(pa.string()), None
    if not text:
        return column, None
    if pa.types.is_date(kind):
        return column.cast(_TIMESTAMP), None
    if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        return column, None
    booleans = _as_booleans(column)
    if booleans is not None:
        return booleans, None
    dates = _as_dates(name, column)
    return dates if dates is not None else (column, None)


def _head_values(column: pa.ChunkedArray, count: int) -> list[Any]:
    """Up to ``count`` non-null values from the start of the column, cheaply."""
    return column.slice(0, count * 5).drop_null().slice(0, count).to_pylist()


def _as_numbers(column: pa.ChunkedArray) -> pa.ChunkedArray | None:
    if column.null_count == len(column):
        return None
    for kind in (pa.int64(), pa.float64()):
        try:
            return column.cast(kind)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
    return None


def _as_booleans(column: pa.ChunkedArray) -> pa.ChunkedArray | None:
    sample = {str(value).strip().lower() for value in _head_values(column, 200)}
    pair = next((pair for pair in WORD_PAIRS if sample and sample <= set(pair)), None)
    if pair is None:
        return None
    lowered = pc.utf8_lower(pc.utf8_trim_whitespace(column))
    distinct = set(pc.unique(lowered).drop_null().to_pylist())
    if not distinct <= set(pair) or (len(pair[0]) == 1 and len(distinct) < 2):
        return None
    return pc.equal(lowered, pa.scalar(pair[0], lowered.type))


def _as_dates(name: str, column: pa.ChunkedArray) -> tuple[pa.ChunkedArray, str | None] | None:
    """Dates when >= 95% of non-null values parse with one format; day-first wins a tie."""
    choice = date_choice(column)
    if choice is None:
        return None
    best, parsed = choice
    dates, share = parsed[best]
    if share < _DATE_SHARE:
        return None
    return dates, _date_note(name, column, dates, best, parsed)


def date_choice(
    column: pa.ChunkedArray,
) -> tuple[str, dict[str, tuple[pa.ChunkedArray, float]]] | None:
    """The format most values parse with, of those >= 95% of the first values parse with, and
    the parse with each such format; None when the column does not look like dates."""
    sample = _head_values(column, 200)
    if not sample or sum(bool(_DATE_LIKE.match(str(v).strip())) for v in sample) * 2 < len(sample):
        return None
    sample_array = pa.chunked_array([pa.array(sample, pa.string())])
    candidates = [fmt for fmt in _DATE_FORMATS if _date_share(sample_array, fmt)[1] >= _DATE_SHARE]
    if not candidates:
        return None
    parsed = {fmt: _date_share(column, fmt) for fmt in candidates}
    return max(candidates, key=lambda fmt: parsed[fmt][1]), parsed


def _date_share(column: pa.ChunkedArray, fmt: str) -> tuple[pa.ChunkedArray, float]:
    """Parse with one format: the timestamps (failures null) and the share that parsed."""
    present = len(column) - column.null_count
    if fmt == _ISO:
        iso = pc.match_substring_regex(column, _ISO_DATE)
        try:
            dates = pc.if_else(iso, column, pa.scalar(None, column.type)).cast(_TIMESTAMP)
        except pa.ArrowInvalid:
            return column, 0.0
    else:
        dates = pc.strptime(column, format=fmt, unit="us", error_is_null=True)
    parsed = len(dates) - dates.null_count
    return dates, parsed / present if present else 0.0


def _date_note(
    name: str,
    column: pa.ChunkedArray,
    dates: pa.ChunkedArray,
    fmt: str,
    parsed: dict[str, tuple[pa.ChunkedArray, float]],
) -> str | None:
    swapped = fmt.replace("%d", "%_").replace("%m", "%d").replace("%_", "%m")
    if swapped != fmt and swapped in parsed and parsed[swapped][1] == parsed[fmt][1]:
        return AMBIGUOUS_DATES_WARNING.format(column=name, format=_format_name(fmt))
    lost = dates.null_count - column.null_count
    if lost:
        return DATE_GAPS_WARNING.format(column=name, format=_format_name(fmt), count=lost)
    return None


def _format_name(fmt: str) -> str:
    if fmt == _ISO:
        return "yyyy-mm-dd"
    for code, text in _FORMAT_NAMES.items():
        fmt = fmt.replace(code, text)
    return fmt
