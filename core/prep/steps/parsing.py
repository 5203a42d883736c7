"""Steps that fix types: read dates, numbers and yes/no values from text."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from core.data.booleans import FALSE_WORDS, TRUE_WORDS
from core.prep.steps.frames import _Distinct, _flags_of, _with_column
from core.prep.steps.registry import REQUIRED, Cleaned, Param, StepError, cleaning_step, column_kind
from core.prep.steps.wording import _show, _values

STRIP_CHARACTERS = "$€£¥% "
ACCOUNTING_NEGATIVE = r"^\((.*)\)$"
PLAIN_NUMBER = r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$"
MAX_EXACT_INTEGER = 2**53
DATE_CODES = {
    "%Y": "year",
    "%m": "month",
    "%d": "day",
    "%H": "hour",
    "%M": "minute",
    "%S": "second",
}
DATE_DEFAULTS = {"year": 1900, "month": 1, "day": 1, "hour": 0, "minute": 0, "second": 0}
MIN_DATE_YEAR, MAX_DATE_YEAR = 1678, 2261  # whole years that fit datetime64[ns]

BAD_DATE_FORMAT = (
    "‘{format}’ is not a date format this studio can read ({reason}); write it with strftime"
    " codes such as %Y-%m-%d or %d/%m/%Y %H:%M."
)
DATE_FORMAT_READS_NOTHING = (
    "The format ‘{format}’ reads none of the {count:,} values in ‘{column}’ (for example"
    " ‘{example}’); write the format those values use, e.g. %d/%m/%Y for 31/01/2024."
)
NUMBERS_READ_NOTHING = (
    "None of the {count:,} values in ‘{column}’ reads as a number (for example ‘{example}’);"
    " check the thousands separator, the decimal mark and the characters to remove."
)
BOOLEANS_READ_NOTHING = (
    "None of the {count:,} values in ‘{column}’ is a true or false word (for example"
    " ‘{example}’); add its words to true_values or false_values."
)
NO_BOOLEAN_WORDS = "‘{param}’ of parse_booleans is empty; list at least one word."
BOTH_TRUE_AND_FALSE = "‘{word}’ is listed as both true and false; keep it in only one list."
BAD_DECIMAL = "The decimal mark must be one character, not {value}; use . or ,."
BAD_THOUSANDS = "The thousands separator must be one character or empty, not {value}."
SAME_SEPARATORS = (
    "The thousands separator and the decimal mark are both ‘{mark}’; make them differ."
)
STRIPS_DECIMAL = "‘strip’ would remove the decimal mark ‘{mark}’; take it out of strip."


def _refuse_unreadable(
    message: str, column: str, distinct: _Distinct, failed: np.ndarray, **extra: Any
) -> None:
    """Raise when values were given but not one of them could be read."""
    given = distinct.rows(distinct.given)
    if given and distinct.rows(failed) == given:
        example = distinct.example(failed)
        raise StepError(message.format(column=column, count=given, example=example, **extra))


def _read_note(done: str, unread: int, why: str) -> str:
    """'Read x as …' plus how many values could not be read and became missing."""
    if not unread:
        return done + "."
    return f"{done}; {_values(unread)} {why} and {'is' if unread == 1 else 'are'} now missing."


def _check_date_format(params: dict[str, Any], columns: Mapping[str, str]) -> list[str]:
    if "%" not in params["format"]:
        return [BAD_DATE_FORMAT.format(format=params["format"], reason="it has no % codes")]
    return []


@cleaning_step(
    "parse_dates",
    label="Parse dates from text",
    params={
        "column": Param(
            "column", REQUIRED, "the column to read", kinds=("string", "numeric", "datetime")
        ),
        "format": Param("text", REQUIRED, "strftime format, e.g. %Y-%m-%d"),
    },
    describe=lambda p: f"Read {p['column']} as dates in the format {p['format']}",
    check=_check_date_format,
)
def _parse_dates(frame: pd.DataFrame, *, column: str, format: str) -> Cleaned:
    """Values that do not match become missing and are counted; matching none is an error."""
    if column_kind(frame[column]) == "datetime":
        return Cleaned(frame.copy(), f"{column} already holds dates; nothing changed.")
    distinct = _Distinct.of(frame[column])
    dates = _to_datetime(distinct.text, distinct.arrow, format)
    failed = distinct.given & dates.isna().to_numpy()
    _refuse_unreadable(DATE_FORMAT_READS_NOTHING, column, distinct, failed, format=format)
    note = _read_note(f"Read {column} as dates ({format})", distinct.rows(failed), "did not match")
    rows = dates.array.take(distinct.codes, allow_fill=True)
    return Cleaned(_with_column(frame, column, rows), note)


def _to_datetime(text: pd.Series, arrow: pa.Array, format: str) -> pd.Series:
    """Distinct texts as dates, NaT where they do not match; Arrow reads the easy ones fast."""
    utc = "%z" in format or "%Z" in format
    exact = None if utc else _exact_dates(arrow, format)
    if exact is None:
        return _pandas_dates(text, format, utc=utc)
    rest = np.isnat(exact)
    if rest.any():
        exact[rest] = _pandas_dates(text[rest], format, utc=False).to_numpy("datetime64[ns]")
    return pd.Series(exact)


def _pandas_dates(text: pd.Series, format: str, *, utc: bool) -> pd.Series:
    # %z values may carry different offsets; pandas only accepts that when converting to UTC
    try:
        return pd.to_datetime(text, format=format, errors="coerce", utc=utc)
    except (ValueError, TypeError) as error:
        raise StepError(BAD_DATE_FORMAT.format(format=format, reason=error)) from error


def _exact_dates(values: pa.Array, format: str) -> np.ndarray | None:
    """Zero-padded values of a plain numeric format, read by Arrow; NaT where it is not sure.

    Arrow's strptime rolls 2024-02-30 over to March 1st, so a value is taken only when each
    field Arrow read equals the digits written in the text; everything else (including formats
    this does not cover, which give None) is left to pandas, whose results are the reference.
    """
    layout = _date_layout(format)
    if layout is None:
        return None
    pattern, spans = layout
    shaped = pc.if_else(pc.match_substring_regex(values, pattern), values, None)
    stamps = pc.strptime(shaped, format=format, unit="s", error_is_null=True)
    year = pc.year(stamps)
    exact = pc.and_(pc.greater_equal(year, MIN_DATE_YEAR), pc.less_equal(year, MAX_DATE_YEAR))
    for field, default in DATE_DEFAULTS.items():
        written = _date_field(shaped, spans[field]) if field in spans else default
        exact = pc.and_(exact, pc.equal(getattr(pc, field)(stamps), written))
    chosen = pc.if_else(pc.fill_null(exact, False), stamps, None)
    return np.array(pc.cast(chosen, pa.timestamp("ns")).to_numpy(zero_copy_only=False))


def _date_layout(format: str) -> tuple[str, dict[str, tuple[int, int]]] | None:
    """A fixed-width pattern for a simple format's values, and where each field's digits sit.

    Only %Y %m %d %H %M %S (once each) and ASCII non-digit literals qualify; others give None.
    """
    pattern, spans, position = "^", {}, 0
    for part in filter(None, re.split("(%.)", format)):
        field = DATE_CODES.get(part)
        if field is not None and field not in spans:
            width = 4 if field == "year" else 2
            spans[field] = (position, position + width)
            pattern, position = pattern + f"[0-9]{{{width}}}", position + width
        elif part.isascii() and not any(c.isdigit() or c == "%" for c in part):
            pattern, position = pattern + _literal(part), position + len(part)
        else:
            return None
    return pattern + "$", spans


def _date_field(values: pa.Array, span: tuple[int, int]) -> pa.Array:
    return pc.cast(pc.utf8_slice_codeunits(values, span[0], span[1]), pa.int64())


def _literal(text: str) -> str:
    """``text`` as an RE2 pattern matching exactly it, each character written as a code point."""
    return "".join(f"\\x{{{ord(character):x}}}" for character in text)


def _check_separators(params: dict[str, Any], columns: Mapping[str, str]) -> list[str]:
    thousands, decimal, strip = params["thousands"], params["decimal"], params["strip"]
    if len(decimal) != 1:
        return [BAD_DECIMAL.format(value=_show(decimal))]
    if len(thousands) > 1:
        return [BAD_THOUSANDS.format(value=_show(thousands))]
    if thousands == decimal:
        return [SAME_SEPARATORS.format(mark=decimal)]
    return [STRIPS_DECIMAL.format(mark=decimal)] if decimal in strip else []


@cleaning_step(
    "parse_numbers",
    label="Parse numbers from text",
    params={
        "column": Param("column", REQUIRED, "the column to read", kinds=("string", "numeric")),
        "thousands": Param("text", ",", "thousands separator to drop (empty: none)"),
        "decimal": Param("text", ".", "decimal mark"),
        "strip": Param("text", STRIP_CHARACTERS, "characters to remove, such as currency signs"),
    },
    describe=lambda p: f"Read {p['column']} as numbers",
    check=_check_separators,
)
def _parse_numbers(
    frame: pd.DataFrame, *, column: str, thousands: str, decimal: str, strip: str
) -> Cleaned:
    """'$1,234.50' → 1234.5, '(12)' → -12; unreadable values become missing and are counted.

    The column becomes int64 when every value is a whole number, float64 otherwise.
    """
    if column_kind(frame[column]) == "numeric":
        return Cleaned(frame.copy(), f"{column} already holds numbers; nothing changed.")
    distinct = _Distinct.of(frame[column])
    numbers = _read_numbers(distinct.arrow, thousands=thousands, decimal=decimal, strip=strip)
    failed = distinct.given & np.isnan(numbers)
    _refuse_unreadable(NUMBERS_READ_NOTHING, column, distinct, failed)
    note = _read_note(f"Read {column} as numbers", distinct.rows(failed), "could not be read")
    rows = _whole_if_possible(distinct.spread(numbers, np.nan))
    return Cleaned(_with_column(frame, column, rows), note)


def _read_numbers(text: pa.Array, *, thousands: str, decimal: str, strip: str) -> np.ndarray:
    """Finite numbers from text (NaN where unreadable), with Arrow's vectorised string kernels."""
    values = pc.utf8_trim_whitespace(text)
    if strip:
        values = pc.replace_substring_regex(values, _any_of(strip), "")
    values = pc.replace_substring_regex(values, ACCOUNTING_NEGATIVE, r"-\1")
    if thousands:
        values = pc.replace_substring(values, thousands, "")
    if decimal != ".":
        values = pc.replace_substring(values, decimal, ".")
    readable = pc.match_substring_regex(values, PLAIN_NUMBER)
    numbers = pc.cast(pc.if_else(readable, values, None), pa.float64())
    floats = numbers.to_numpy(zero_copy_only=False).astype(float)
    return np.where(np.isfinite(floats), floats, np.nan)


def _any_of(characters: str) -> str:
    """An RE2 class matching any one of ``characters``."""
    return "[" + _literal(characters) + "]"


def _whole_if_possible(values: np.ndarray) -> np.ndarray:
    whole = not np.isnan(values).any() and bool(np.all(np.abs(values) < MAX_EXACT_INTEGER))
    if whole and bool(np.all(values == np.round(values))):
        return values.astype(np.int64)
    return values


def _check_boolean_words(params: dict[str, Any], columns: Mapping[str, str]) -> list[str]:
    problems = [
        NO_BOOLEAN_WORDS.format(param=name)
        for name in ("true_values", "false_values")
        if not params[name]
    ]
    both = set(_words(params["true_values"])) & set(_words(params["false_values"]))
    return problems + [BOTH_TRUE_AND_FALSE.format(word=word) for word in sorted(both)]


def _words(values: Sequence[str]) -> list[str]:
    return sorted({value.strip().lower() for value in values})


@cleaning_step(
    "parse_booleans",
    label="Parse yes/no values",
    params={
        "column": Param(
            "column", REQUIRED, "the column to read", kinds=("string", "numeric", "bool")
        ),
        "true_values": Param("text_list", TRUE_WORDS, "words meaning true (any case)"),
        "false_values": Param("text_list", FALSE_WORDS, "words meaning false (any case)"),
    },
    describe=lambda p: f"Read {p['column']} as true/false",
    check=_check_boolean_words,
)
def _parse_booleans(
    frame: pd.DataFrame, *, column: str, true_values: list[str], false_values: list[str]
) -> Cleaned:
    """Other values become missing and are counted; the column is bool unless some are missing."""
    if column_kind(frame[column]) == "bool":
        return Cleaned(frame.copy(), f"{column} already holds true/false values; nothing changed.")
    distinct = _Distinct.of(frame[column])
    words = pc.utf8_lower(pc.utf8_trim_whitespace(distinct.arrow))
    true = _flags_of(pc.is_in(words, pa.array(_words(true_values), type=pa.string())))
    false = _flags_of(pc.is_in(words, pa.array(_words(false_values), type=pa.string())))
    failed = distinct.given & ~true & ~false
    _refuse_unreadable(BOOLEANS_READ_NOTHING, column, distinct, failed)
    flags = np.full(len(true), None, dtype=object)
    flags[true], flags[false] = True, False
    rows = distinct.spread(flags, None)
    complete = bool(pd.notna(rows).all())
    why = f"matched neither list (e.g. ‘{distinct.example(failed)}’)" if failed.any() else ""
    note = _read_note(f"Read {column} as true/false", distinct.rows(failed), why)
    return Cleaned(_with_column(frame, column, rows.astype(bool) if complete else rows), note)
