"""What a prediction request may hold: inputs typed from the training schema, payloads parsed."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain
from operator import itemgetter
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, create_model

from core.data.schema import ColumnSchema

NUMBER, TEXT, BOOLEAN, DATETIME = "number", "text", "boolean", "datetime"
PAYLOAD_KEYS = ("records", "dataframe_records", "dataframe_split", "instances", "inputs")
NOT_AN_OBJECT = "The body must be a JSON object with one of: {keys}."
NO_PAYLOAD = 'The body has none of {keys}; send {{"records": [{{...}}, ...]}}.'
TWO_PAYLOADS = "Send one payload, not several ({found})."
NOT_A_LIST = "Expected a list of rows."
NOT_A_ROW = "Expected an object mapping column names to values."
BAD_SPLIT = "dataframe_split needs 'columns' (a list of names) and 'data' (a list of rows)."
ROW_LENGTH = "This row has {found} values but there are {expected} columns."
UNKNOWN_COLUMN = "Unknown column; the model takes: {columns}."
NOT_FINITE = "Numbers must be finite (no NaN or Infinity)."
WRONG_TYPE = "Expected {kind}, got {found}."
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
            BOOLEAN: bool | None,
            DATETIME: str | None,
            TEXT: str | float | None,
        }[column.kind]
        # required but nullable: a request names every input, null for a missing value
        fields[column.name] = (annotation, Field(description=column.dtype))
    config = ConfigDict(extra="forbid", allow_inf_nan=False)
    model: type[BaseModel] = create_model(name, __config__=config, **fields)
    return model


def payload_rows(body: Any, columns: list[InputColumn]) -> tuple[str, list[Any]]:
    """(which payload, its rows) from our {"records"} or MLflow's scoring-server payloads."""
    if not isinstance(body, dict):
        raise PayloadError(NOT_AN_OBJECT.format(keys=", ".join(PAYLOAD_KEYS)))
    found = [key for key in PAYLOAD_KEYS if key in body]
    if not found:
        raise PayloadError(NO_PAYLOAD.format(keys=", ".join(PAYLOAD_KEYS)))
    if len(found) > 1:
        raise PayloadError(TWO_PAYLOADS.format(found=", ".join(found)))
    key = found[0]
    value = body[key]
    if key == "dataframe_split":
        return key, _split_rows(value)
    if not isinstance(value, list):
        raise PayloadError(NOT_A_LIST, (key,))
    if key in ("instances", "inputs") and value and isinstance(value[0], list):
        names = [column.name for column in columns]
        return key, [_zip_row(row, names, (key, index)) for index, row in enumerate(value)]
    return key, value


def _split_rows(value: Any) -> list[Any]:
    if not isinstance(value, dict) or not isinstance(value.get("columns"), list):
        raise PayloadError(BAD_SPLIT, ("dataframe_split",))
    data = value.get("data")
    if not isinstance(data, list):
        raise PayloadError(BAD_SPLIT, ("dataframe_split", "data"))
    names = [str(name) for name in value["columns"]]
    return [
        _zip_row(row, names, ("dataframe_split", "data", index)) for index, row in enumerate(data)
    ]


def _zip_row(row: Any, names: list[str], path: tuple[str | int, ...]) -> dict[str, Any]:
    if not isinstance(row, list):
        raise PayloadError(NOT_A_LIST, path)
    if len(row) != len(names):
        raise PayloadError(ROW_LENGTH.format(found=len(row), expected=len(names)), path)
    return dict(zip(names, row, strict=True))


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
) -> dict[str, list[Any]]:
    """Each input column's values across ``rows``, every one checked; PayloadError locates the
    first bad field, then names every input a row omits (``complete``; null is the way to send
    a missing value). Checks run per column over whole lists, so 10,000 rows stay cheap.
    ``finite``: the parser already refused NaN and Infinity, so numbers need no second look.
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
    unknown = set(chain.from_iterable(rows)).difference(known)
    if unknown and notes is not None:
        rows = [{k: v for k, v in row.items() if k in known} for row in rows]
        notes.append(IGNORED_COLUMNS.format(names=listed(sorted(unknown))))
    elif unknown:
        index, name = next((i, n) for i, row in enumerate(rows) for n in row if n in unknown)
        names = ", ".join(known)
        raise PayloadError(UNKNOWN_COLUMN.format(columns=names), (key, index, str(name)))
    found = _transposed(rows)
    values = {}
    for column in columns:
        if column.name in found:
            gathered = list(found[column.name])
        else:
            gathered = [row.get(column.name) for row in rows]
        values[column.name] = _checked_column(gathered, column, key, finite=finite, notes=notes)
    if complete:
        _require_every_input(rows, columns, key)
    return values


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
    DATETIME: {str, int, float, type(None)},
}


def _checked_column(
    values: list[Any],
    column: InputColumn,
    key: str,
    *,
    finite: bool = False,
    notes: list[str] | None = None,
) -> list[Any]:
    types = set(map(type, values))
    suspect = not types <= _ALLOWED_TYPES[column.kind]
    suspect = suspect or (float in types and not finite and _has_non_finite(values))
    if column.kind == NUMBER and int in types:
        integers = [v for v in values if type(v) is int]
        suspect = suspect or max(map(abs, integers)) > _LARGEST_FLOAT
    if suspect and notes is not None:
        values = _coerced(values, column, notes)
    if suspect:
        for index, value in enumerate(values):  # slow path: find and name the first bad value
            _checked(value, column, (key, index, column.name))
    return values


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
