"""Numbers written with decimal commas or thousands separators, read as a spreadsheet would."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from core.data.ingest.messages import (
    DECIMAL_COMMA_WARNING,
    INVALID_DECIMAL,
    THOUSANDS_WARNING,
    IngestError,
)

POINT, COMMA = ".", ","
DECIMAL_MARKS = (POINT, COMMA)
# What may stand between groups of three digits: comma, point, (no-break) space, apostrophe.
_THOUSANDS = (",", ".", " ", "\u00a0", "\u202f", "'", "\u2019")
_SAMPLE_VALUES = 1000
_SHOWN_COLUMNS = 6


def _pattern(decimal: str) -> str:
    """A whole value that is a number with ``decimal`` as its decimal mark (RE2 and re)."""
    grouped = "|".join(
        rf"[1-9]\d{{0,2}}(?:{re.escape(mark)}\d{{3}})+" for mark in _THOUSANDS if mark != decimal
    )
    point = re.escape(decimal)
    return rf"^[+-]?(?:{grouped}|\d+)(?:{point}\d+)?$|^[+-]?{point}\d+$"


_PATTERNS = {mark: _pattern(mark) for mark in DECIMAL_MARKS}
_THOUSANDS_CLASS = {
    mark: "[" + "".join(re.escape(other) for other in _THOUSANDS if other != mark) + "]"
    for mark in DECIMAL_MARKS
}
_COMPILED = {mark: re.compile(pattern) for mark, pattern in _PATTERNS.items()}


@dataclass(frozen=True)
class NumberPlan:
    """Which text columns hold numbers and the decimal mark each uses; ``decimal`` is the
    file's own mark, for columns whose values the sampled head of the file did not show."""

    decimal: str
    columns: Mapping[str, str] = field(default_factory=dict, hash=False)
    explicit: bool = False


@dataclass(frozen=True)
class _Reading:
    """How a column's sampled values read: which decimal marks make every one a number,
    whether the choice changes any value, and whether any value has a separator at all."""

    marks: frozenset[str]
    ambiguous: bool
    separated: bool


def check_decimal(decimal: str | None) -> str | None:
    """The decimal mark a user chose: '.', ',' or None (detect); anything else is refused."""
    if decimal is None:
        return None
    value = {"point": POINT, "comma": COMMA}.get(decimal.strip().lower(), decimal.strip())
    if value not in DECIMAL_MARKS:
        raise IngestError(INVALID_DECIMAL.format(decimal=decimal))
    return value


def plan_numbers(
    texts: Mapping[str, Sequence[str]],
    *,
    delimiter: str,
    decimal: str | None,
    point_numbers: Callable[[], Mapping[str, Sequence[str]]] | None = None,
) -> NumberPlan:
    """Decide which text columns are numbers and how their decimals are written.

    ``texts`` holds sampled values of columns read as text. A column whose values fit one
    decimal mark only uses that mark; one that fits both (``1,234``) uses the file's: the
    chosen ``decimal``, else the mark most unambiguous columns use, else a comma in a
    ';'-delimited file and a point elsewhere. In a file that writes decimal commas,
    ``point_numbers()`` gives the text of the columns already read with a decimal point, since
    a ``1.500`` there means 1500 (it is only called then, so other files skip reading them).
    """
    readings = {name: _reading(values) for name, values in texts.items()}
    file_mark = decimal or _file_decimal(readings.values(), delimiter)
    numbers: dict[str, _Reading] = {}
    if file_mark == COMMA and point_numbers is not None:
        numbers = {name: _reading(values) for name, values in point_numbers().items()}
        file_mark = decimal or _file_decimal([*readings.values(), *numbers.values()], delimiter)
    columns = {}
    for name, reading in readings.items():
        mark = _column_mark(reading, file_mark, explicit=decimal is not None)
        if mark is not None and reading.separated:
            columns[name] = mark
    if file_mark == COMMA:
        columns |= {
            name: COMMA
            for name, reading in numbers.items()
            if COMMA in reading.marks and reading.ambiguous
        }
    return NumberPlan(decimal=file_mark, columns=columns, explicit=decimal is not None)


def _reading(values: Iterable[str]) -> _Reading:
    sample = [value.strip() for value in values][:_SAMPLE_VALUES]
    marks = frozenset(
        mark
        for mark in DECIMAL_MARKS
        if sample and all(_COMPILED[mark].match(value) for value in sample)
    )
    ambiguous = len(marks) == 2 and any(
        _python_number(value, POINT) != _python_number(value, COMMA) for value in sample
    )
    separated = any(not value.lstrip("+-").isdigit() for value in sample)
    return _Reading(marks=marks, ambiguous=ambiguous, separated=separated)


def _file_decimal(readings: Iterable[_Reading], delimiter: str) -> str:
    votes = {mark: 0 for mark in DECIMAL_MARKS}
    for reading in readings:
        if len(reading.marks) == 1 and reading.separated:
            votes[next(iter(reading.marks))] += 1
    if votes[POINT] != votes[COMMA]:
        return max(votes, key=votes.__getitem__)
    return COMMA if delimiter == ";" else POINT


def _column_mark(reading: _Reading, file_mark: str, *, explicit: bool) -> str | None:
    if file_mark in reading.marks:
        return file_mark
    if len(reading.marks) == 1 and not explicit:
        return next(iter(reading.marks))
    return None


def _python_number(text: str, decimal: str) -> float:
    whole, _, fraction = text.partition(decimal)
    digits = "".join(ch for ch in whole if ch.isdigit() or ch in "+-")
    return float(f"{digits}.{fraction}" if fraction else digits)


def read_numbers(column: pa.ChunkedArray, decimal: str) -> tuple[pa.ChunkedArray, bool] | None:
    """The text column as numbers written with ``decimal``, or None unless every value is one;
    and whether reading them took a convention (a thousands separator, or a decimal comma).

    Whole numbers become integers; a value with a decimal part makes the column floats.
    """
    if column.null_count == len(column):
        return None
    return _plain_numbers(column, decimal) or _grouped_numbers(column, decimal)


def _plain_numbers(column: pa.ChunkedArray, decimal: str) -> tuple[pa.ChunkedArray, bool] | None:
    """Numbers without thousands separators, for which the cast itself checks every value: a
    separator it cannot read fails it, except a point where the decimal is a comma, so that
    one is looked for first (a '1.234' there is 1234, not 1.234)."""
    if decimal == COMMA and _contains(column, POINT):
        return None
    fractions = _contains(column, decimal)
    text = pc.replace_substring(column, COMMA, POINT) if fractions and decimal == COMMA else column
    numbers = _cast_numbers(text, fractions=fractions)
    return None if numbers is None else (numbers, fractions and decimal == COMMA)


def _grouped_numbers(column: pa.ChunkedArray, decimal: str) -> tuple[pa.ChunkedArray, bool] | None:
    """Numbers with thousands separators (or stray spaces), each value checked by pattern."""
    text = pc.utf8_trim_whitespace(column)
    if not pc.all(pc.match_substring_regex(text, _PATTERNS[decimal])).as_py():
        return None
    text = pc.replace_substring_regex(text, _THOUSANDS_CLASS[decimal], "")
    fractions = _contains(text, decimal)
    if fractions and decimal == COMMA:
        text = pc.replace_substring(text, COMMA, POINT)
    numbers = _cast_numbers(text, fractions=fractions)
    return None if numbers is None else (numbers, True)


def _contains(column: pa.ChunkedArray, mark: str) -> bool:
    return bool(pc.any(pc.match_substring(column, mark)).as_py())


def _cast_numbers(text: pa.ChunkedArray, *, fractions: bool) -> pa.ChunkedArray | None:
    for kind in (pa.float64(),) if fractions else (pa.int64(), pa.float64()):
        try:
            return text.cast(kind)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
    return None


def numbers_warnings(converted: Mapping[str, tuple[str, pa.ChunkedArray]]) -> list[str]:
    """One sentence per decimal mark: which columns were read as numbers, with an example.

    ``converted`` maps each column to its decimal mark and its values as the file wrote them.
    """
    warnings = []
    for mark, template in ((COMMA, DECIMAL_COMMA_WARNING), (POINT, THOUSANDS_WARNING)):
        names = [name for name, (used, _) in converted.items() if used == mark]
        if not names:
            continue
        example = _example([converted[name][1] for name in names], mark)
        number = _python_number(example, mark)
        shown = f"{number:.15g}" if number != int(number) else f"{int(number)}"
        warnings.append(template.format(columns=_column_list(names), example=example, number=shown))
    return warnings


def _example(sources: Sequence[pa.ChunkedArray], mark: str) -> str:
    """A value that shows the decimal mark, else one that shows a separator (first found)."""
    values = [
        str(value).strip()
        for source in sources
        for value in source.drop_null().slice(0, 200).to_pylist()
    ]
    decimal = [value for value in values if mark in value]
    separated = [value for value in values if not value.lstrip("+-").isdigit()]
    return (decimal or separated or values)[0]


def _column_list(names: Sequence[str]) -> str:
    quoted = [f"'{name}'" for name in names[:_SHOWN_COLUMNS]]
    if len(names) > _SHOWN_COLUMNS:
        quoted.append(f"{len(names) - _SHOWN_COLUMNS:,} more")
    if len(quoted) == 1:
        return f"column {quoted[0]}"
    return "columns " + ", ".join(quoted[:-1]) + " and " + quoted[-1]
