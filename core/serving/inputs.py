"""What a prediction request may hold: inputs typed from the training schema, payloads parsed."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain
from operator import itemgetter
from typing import TYPE_CHECKING, Annotated, Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, create_model

from core.data.booleans import FALSE_WORDS, TRUE_WORDS, truth
from core.data.schema import ColumnSchema

if TYPE_CHECKING:
    from core.train.fast_levels import Levels

NUMBER, TEXT, BOOLEAN, DATETIME = "number", "text", "boolean", "datetime"
UNKNOWN_KEY = "Unknown key; the body holds only the payload ({key})."
NOT_A_LIST = "Expected a list of rows."
NOT_A_ROW = "Expected an object mapping column names to values."
ROW_LENGTH = "This row has {found} values but there are {expected} columns."
UNKNOWN_COLUMN = "Unknown column; the model takes: {columns}."
NOT_FINITE = "Numbers must be finite (no NaN or Infinity)."
WRONG_TYPE = "Expected {kind}, got {found}."
NOT_A_BOOLEAN = (
    "Expected true or false, got {found}; yes/no, y/n, t/f and 1/0 (in any case) also work."
)
TOO_MANY_ROWS = "A request may hold at most {most:,} rows; this one has {found:,}."
NO_ROWS = "The request holds no rows."
MISSING_INPUT = "Missing input: send every column the model takes, null for a missing value."
IGNORED_COLUMNS = "Ignored columns the model does not take, as MLflow does: {names}."
NUMBERS_FROM_TEXT = "'{name}': numbers sent as text were read as numbers, as MLflow does."
NAN_AS_MISSING = "'{name}': NaN was read as a missing value, as MLflow does."
_KINDS = {"numeric": NUMBER, "boolean": BOOLEAN, "datetime": DATETIME}
_WORDS = {
    NUMBER: "a number",
    TEXT: "text or a number",
    BOOLEAN: "true or false",
    DATETIME: "a date",
}


FieldPath = tuple[str | int, ...]


class PayloadError(ValueError):
    """A request that does not fit the model's inputs; ``path`` locates the bad field, ``more``
    holds further (message, path) problems found at the same time (e.g. each missing input)."""

    def __init__(
        self, message: str, path: FieldPath = (), *, more: Sequence[tuple[str, FieldPath]] = ()
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.problems = [(message, path), *more]

    def to_detail(self) -> list[dict[str, Any]]:
        """FastAPI's 422 shape: a list of {loc, msg, type}, one per problem."""
        return [
            {"loc": ["body", *path], "msg": message, "type": "value_error"}
            for message, path in self.problems
        ]

    def to_message(self) -> str:
        """One line naming each problem's field, for MLflow's {"error_code", "message"} shape."""
        return "; ".join(
            f"{_where(path)}: {message}" if path else message for message, path in self.problems
        )


def listed(names: Sequence[str], most: int = 20) -> str:
    """Names quoted for a message, at most ``most`` of them."""
    shown = ", ".join(map(repr, names[:most]))
    return shown + (f" and {len(names) - most:,} more" if len(names) > most else "")


def _where(path: FieldPath) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


@dataclass(frozen=True)
class InputColumn:
    """One raw column the model takes, with the kind of JSON value it accepts."""

    name: str
    kind: str
    dtype: str

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "kind": self.kind, "dtype": self.dtype}


def input_columns(schema: list[ColumnSchema], names: list[str]) -> list[InputColumn]:
    """The model's raw input columns (``names``, in training order) typed from the schema."""
    by_name = {column.name: column for column in schema}
    columns = []
    for name in names:
        column = by_name.get(name)
        kind = _KINDS.get(column.role, TEXT) if column else TEXT
        if column and kind == TEXT and _numeric_dtype(column.dtype) and column.role == "id":
            kind = NUMBER
        columns.append(InputColumn(name, kind, column.dtype if column else "string"))
    return columns


def _numeric_dtype(dtype: str) -> bool:
    return dtype.startswith(("int", "uint", "float", "double", "decimal"))


def record_model(columns: list[InputColumn], *, name: str = "Record") -> type[BaseModel]:
    """A pydantic model of one row (extra fields forbidden, numbers finite): the OpenAPI schema."""
    fields: dict[str, Any] = {}
    for column in columns:
        annotation: Any = {
            NUMBER: float | None,
            BOOLEAN: bool | Literal[0, 1] | _BooleanWord | None,
            DATETIME: str | None,
            TEXT: str | float | bool | None,  # numbers and true/false read as their text
        }[column.kind]
        # required but nullable: a request names every input, null for a missing value
        fields[column.name] = (annotation, Field(description=column.dtype))
    config = ConfigDict(extra="forbid", allow_inf_nan=False)
    model: type[BaseModel] = create_model(name, __config__=config, **fields)
    return model


def _any_case(word: str) -> str:
    return "".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else c for c in word)


# a yes/no column takes the words its source file may have used, in any case, as JSON Schema
# says it (no case-insensitive flag there): ^\s*(?:[Tt][Rr][Uu][Ee]|...)\s*$
BOOLEAN_PATTERN = r"^\s*(?:" + "|".join(map(_any_case, TRUE_WORDS + FALSE_WORDS)) + r")\s*$"
_BooleanWord = Annotated[str, StringConstraints(pattern=BOOLEAN_PATTERN)]


class CheckedValues(dict[str, list[Any]]):
    """What ``check_rows`` answers: each input's checked values by name (a plain dict to every
    reader), with the value types checking found in each column it left as sent (``types``),
    the distinct values of the text columns where reading found them (``distinct``, as
    ``set(column)`` gives them), a cache of the arrays built from them (``arrays``) and of the
    text columns' factorization (``levels``, of those arrays), so the NumPy engine, the
    unseen-category count and the out-of-distribution flags convert a 10,000-row column once,
    without a second type pass."""

    def __init__(
        self,
        values: dict[str, list[Any]],
        types: dict[str, frozenset[type]] | None = None,
        distinct: dict[str, set[Any]] | None = None,
    ) -> None:
        super().__init__(values)
        self.types: dict[str, frozenset[type]] = types or {}
        self.distinct: dict[str, set[Any]] = distinct or {}
        self.arrays: dict[str, np.ndarray] = {}
        self.levels: dict[str, Levels] = {}


def rows_to_frame(
    rows: list[Any], columns: list[InputColumn], *, key: str = "records", max_rows: int = 10_000
) -> pd.DataFrame:
    """Check every row against the inputs and build the frame the pipeline takes, column-wise."""
    values = check_rows(rows, columns, key=key, max_rows=max_rows)
    return pd.DataFrame(typed_columns(values, columns))


def check_rows(
    rows: list[Any],
    columns: list[InputColumn],
    *,
    key: str = "records",
    max_rows: int = 10_000,
    finite: bool = False,
    complete: bool = True,
    notes: list[str] | None = None,
) -> CheckedValues:
    """Each input column's values across ``rows``, every one checked; PayloadError locates the
    first bad field, then names every input a row omits (``complete``; null is the way to send
    a missing value). Checks run per column over whole lists, so 10,000 rows stay cheap.
    ``finite``: orjson parsed the body, so it refused NaN and Infinity and every integer fits
    64 bits: numbers need no second look.
    ``notes``: MLflow's coercions instead of refusals (unknown columns dropped, numbers sent as
    text read as numbers, NaN read as missing), each said once in ``notes``."""
    if not rows:
        raise PayloadError(NO_ROWS, (key,))
    if len(rows) > max_rows:
        raise PayloadError(TOO_MANY_ROWS.format(most=max_rows, found=len(rows)), (key,))
    if not all(type(row) is dict for row in rows):
        index = next(i for i, row in enumerate(rows) if not isinstance(row, dict))
        raise PayloadError(NOT_A_ROW, (key, index))
    known = {column.name: column for column in columns}
    found = _transposed(rows)
    # rows that all hold the same keys (``found``) hold no other key
    unknown = set(found or chain.from_iterable(rows)).difference(known)
    if unknown and notes is not None:
        rows = [{k: v for k, v in row.items() if k in known} for row in rows]
        notes.append(IGNORED_COLUMNS.format(names=listed(sorted(unknown))))
        found = {name: found[name] for name in found if name in known}
    elif unknown:
        index, name = next((i, n) for i, row in enumerate(rows) for n in row if n in unknown)
        names = ", ".join(known)
        raise PayloadError(UNKNOWN_COLUMN.format(columns=names), (key, index, str(name)))
    values = {}
    types = {}
    for column in columns:
        if column.name in found:
            gathered = list(found[column.name])
        else:
            gathered = [row.get(column.name) for row in rows]
        checked, seen = _checked_column(gathered, column, key, finite=finite, notes=notes)
        values[column.name] = checked
        if seen is not None:
            types[column.name] = seen
    if complete:
        _require_every_input(rows, columns, key)
    return CheckedValues(values, types)


def _require_every_input(rows: list[dict[str, Any]], columns: list[InputColumn], key: str) -> None:
    """Unknown columns are gone by now, so a row with as many keys as inputs holds every one."""
    if set(map(len, rows)) == {len(columns)}:
        return
    problems: list[tuple[str, FieldPath]] = []
    for column in columns:
        index = next((i for i, row in enumerate(rows) if column.name not in row), None)
        if index is not None:
            problems.append((MISSING_INPUT, (key, index, column.name)))
    if problems:
        raise PayloadError(*problems[0], more=problems[1:])


def _transposed(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Columns of rows that all hold the same keys (what clients send), transposed in C;
    otherwise nothing, and each column is gathered key by key."""
    keys = list(rows[0])
    if not keys or set(map(len, rows)) != {len(keys)}:
        return {}
    try:  # same size and every key of the first row: the same keys
        values = (
            map(itemgetter(*keys), rows) if len(keys) > 1 else ((row[keys[0]],) for row in rows)
        )
        return dict(zip(keys, zip(*values, strict=True), strict=True))
    except KeyError:
        return {}


def typed_columns(values: dict[str, list[Any]], columns: list[InputColumn]) -> dict[str, Any]:
    """The checked values as the typed Series the pipeline reads, by column name."""
    return {column.name: typed_column(values[column.name], column) for column in columns}


_LARGEST_FLOAT = 1.7976931348623157e308
_ALLOWED_TYPES: dict[str, set[type]] = {
    NUMBER: {int, float, type(None)},
    BOOLEAN: {bool, type(None)},
    TEXT: {str, int, float, bool, type(None)},
    DATETIME: {str, type(None)},  # a number is no date anyone writes (epoch nanoseconds?)
}


def _checked_column(
    values: list[Any],
    column: InputColumn,
    key: str,
    *,
    finite: bool = False,
    notes: list[str] | None = None,
) -> tuple[list[Any], frozenset[type] | None]:
    """The column's checked values, and their types when checking left them as sent."""
    types = frozenset(map(type, values))
    if column.kind == BOOLEAN and not types <= _ALLOWED_TYPES[BOOLEAN]:
        return _booleans(values, column, key), None
    suspect = not types <= _ALLOWED_TYPES[column.kind]
    suspect = suspect or (float in types and not finite and _has_non_finite(values))
    if column.kind == NUMBER and int in types and not finite:  # orjson's integers fit 64 bits
        integers = [v for v in values if type(v) is int]
        suspect = suspect or max(map(abs, integers)) > _LARGEST_FLOAT
    if suspect and notes is not None:
        values = _coerced(values, column, notes)
        types = frozenset(map(type, values))
    if suspect:
        for index, value in enumerate(values):  # slow path: find and name the first bad value
            _checked(value, column, (key, index, column.name))
    return values, types


def _booleans(values: list[Any], column: InputColumn, key: str) -> list[Any]:
    """A yes/no column's values as true/false, read from the words and 1/0 its source file
    may have used; the first value that means neither is refused with its path."""
    read = []
    for index, value in enumerate(values):
        meaning = None if value is None else truth(value)
        if meaning is None and value is not None:
            raise PayloadError(NOT_A_BOOLEAN.format(found=_found(value)), (key, index, column.name))
        read.append(meaning)
    return read


def _coerced(values: list[Any], column: InputColumn, notes: list[str]) -> list[Any]:
    """MLflow's reading of a column: NaN is a missing value, and a number column's numeric
    text is a number (what cannot be read stays, to be refused with its path)."""
    read_text = read_nan = False
    coerced = []
    for value in values:
        if type(value) is str and column.kind == NUMBER:
            try:
                number = float(value)
            except ValueError:
                number = None
            if number is not None:
                read_text = True
                value = number
        if type(value) is float and math.isnan(value):
            read_nan = True
            value = None
        coerced.append(value)
    if read_text:
        notes.append(NUMBERS_FROM_TEXT.format(name=column.name))
    if read_nan:
        notes.append(NAN_AS_MISSING.format(name=column.name))
    return coerced


def _has_non_finite(values: list[Any]) -> bool:
    numbers = [value for value in values if type(value) is float]
    return bool(numbers) and not bool(np.isfinite(np.asarray(numbers)).all())


def _checked(value: Any, column: InputColumn, path: tuple[str | int, ...]) -> Any:
    if value is None:
        return None
    if isinstance(value, float) and not math.isfinite(value):
        raise PayloadError(NOT_FINITE, path)
    if column.kind == NUMBER and type(value) is int and abs(value) > _LARGEST_FLOAT:
        raise PayloadError(NOT_FINITE, path)
    if not _fits(value, column.kind):
        raise PayloadError(WRONG_TYPE.format(kind=_WORDS[column.kind], found=_found(value)), path)
    return value


def _fits(value: Any, kind: str) -> bool:
    if isinstance(value, dict | list):
        return False
    if kind == NUMBER:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == BOOLEAN:
        return isinstance(value, bool)
    if kind == DATETIME:
        return isinstance(value, str)
    return isinstance(value, str | int | float)


def _found(value: Any) -> str:
    names = {bool: "true/false", str: "text", int: "a number", float: "a number"}
    names |= {dict: "an object", list: "a list"}
    return names.get(type(value), type(value).__name__)


def typed_column(values: list[Any], column: InputColumn) -> pd.Series:
    """One column's checked values as the typed Series the pipeline reads."""
    if column.kind == NUMBER:
        return pd.Series(values, dtype="float64")
    if column.kind == DATETIME:
        return parse_dates(pd.Series(values, dtype="object"))
    if column.kind == BOOLEAN or set(map(type, values)) <= {str, type(None)}:
        return pd.Series(values, dtype="object")
    return pd.Series(
        [v if v is None or isinstance(v, str) else _text(v) for v in values], dtype=object
    )


def parse_dates(values: pd.Series) -> pd.Series:
    """Dates in any common format; times with a zone are converted to UTC and every result is
    naive, as DateParts reads them. Unreadable values become NaT."""
    return pd.to_datetime(values, errors="coerce", utc=True, format="mixed").dt.tz_localize(None)


def _text(value: Any) -> str:
    # 3.0 and 3 name the same category level, as the training data's text did
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def plain_iso_dates(values: list[Any]) -> np.ndarray | None:
    """ISO dates and date-times without a zone, parsed by numpy exactly as pandas parses
    them; None when any value is in another form (numpy warns about zones, refuses the rest)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            return np.array(values, dtype="datetime64[ns]")
        except (ValueError, UserWarning, OverflowError):
            return None
