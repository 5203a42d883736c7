"""MLflow's scoring protocol, as its scoring server reads /invocations: the content type and its
parameters, the four JSON payload keys in every orientation with ``params``, CSV bodies, and
MLflow's error shape. Rows come out as /predict's rows, for the same checks."""

from __future__ import annotations

import io
import math
from typing import Any

from core.serving.inputs import (
    NOT_A_LIST,
    ROW_LENGTH,
    TOO_MANY_ROWS,
    UNKNOWN_KEY,
    InputColumn,
    PayloadError,
    listed,
)

JSON, CSV = "application/json", "text/csv"
FORMATS = ("dataframe_split", "dataframe_records", "instances", "inputs")
OURS = "records"  # /predict's own key, also read here
ERROR_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHENTICATED",
    408: "REQUEST_LIMIT_EXCEEDED",
    413: "REQUEST_LIMIT_EXCEEDED",
    415: "BAD_REQUEST",
    500: "INTERNAL_ERROR",
}
UNSUPPORTED = "Send application/json or text/csv, as MLflow's scoring server takes, not {kind!r}."
ONLY_UTF8 = "The body must be UTF-8 (charset={charset!r} was sent)."
UNKNOWN_PARAMETER = (
    "Unrecognized content type parameter {name!r}: since MLflow 2.0 the payload's key "
    "(dataframe_split, dataframe_records, instances or inputs) says its format, not the header."
)
NOT_A_DICT = "The input must be a JSON object with exactly one of the keys {keys}."
ONE_FORMAT = "The input must hold exactly one of the keys {keys}; it holds {found}."
PARAMS_IGNORED = "This model takes no params; 'params' was ignored."
PARAMS_NOT_OBJECT = "'params' must be an object of names and values (as MLflow reads it)."
OTHER_KEYS = "Ignored top-level keys MLflow does not read: {names}."
SPLIT_SHAPE = (
    "dataframe_split must be an object with 'data' (a list of rows) and optionally 'columns' "
    "and 'index'."
)
INDEX_LENGTH = "'index' has {index} entries but 'data' has {rows} rows."
RECORDS_SHAPE = "dataframe_records must be a list of records (objects of column: value)."
COLUMN_LENGTHS = "Every column must hold the same number of values; found {lengths}."
TENSOR_SHAPE = (
    "{key} must be a list of rows (objects or lists in the model's column order) or an object "
    "of columns (lists of values, or one value each for one row)."
)
CSV_UNREADABLE = "The CSV body could not be read ({error})."
_SPLIT_KEYS = {"columns", "data", "index"}


class ProtocolError(Exception):
    """A request refused before its payload is read (415 for the content type)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def error_body(status: int, message: str) -> dict[str, str]:
    """MLflow's error shape."""
    return {"error_code": ERROR_CODES.get(status, "BAD_REQUEST"), "message": message}


def media_type(header: str) -> str:
    """JSON or CSV from a Content-Type header, parameters read as MLflow reads them: charset
    must be UTF-8 and any other parameter (MLflow 1's ``format=pandas-split``) is refused."""
    kind, *parameters = (part.strip() for part in header.split(";"))
    for parameter in filter(None, parameters):
        name, _, value = parameter.partition("=")
        name, value = name.strip().lower(), value.strip().strip('"').lower()
        if name != "charset":
            raise ProtocolError(415, UNKNOWN_PARAMETER.format(name=name))
        if value != "utf-8":
            raise ProtocolError(415, ONLY_UTF8.format(charset=value))
    kind = kind.lower()
    if kind not in (JSON, CSV):
        raise ProtocolError(415, UNSUPPORTED.format(kind=kind))
    return kind


def json_rows(
    body: Any, columns: list[InputColumn], *, max_rows: int = 10_000, strict: bool = False
) -> tuple[str, list[Any], list[str]]:
    """(the payload's key, its rows, notes on what was ignored) from an MLflow JSON body; more
    than ``max_rows`` rows are refused before any row is built (a 16 MB body of columns could
    otherwise become millions of rows). ``strict`` (/predict): a key beside the payload,
    ``params`` included, is refused rather than ignored."""
    keys = ", ".join((*FORMATS, OURS))
    if not isinstance(body, dict):
        raise PayloadError(NOT_A_DICT.format(keys=keys))
    found = [key for key in (*FORMATS, OURS) if key in body]
    if len(found) != 1:
        raise PayloadError(ONE_FORMAT.format(keys=keys, found=", ".join(found) or "none"))
    key = found[0]
    other = next((name for name in body if name != key), None)
    if strict and other is not None:
        raise PayloadError(UNKNOWN_KEY.format(key=key), (str(other),))
    if not isinstance(body.get("params", {}), dict):
        raise PayloadError(PARAMS_NOT_OBJECT, ("params",))
    notes = [PARAMS_IGNORED] if "params" in body else []
    others = set(body) - {key, "params"}
    if others:
        notes.append(OTHER_KEYS.format(names=listed(sorted(others))))
    names = [column.name for column in columns]
    value = body[key]
    split = key == "dataframe_split" and isinstance(value, dict)
    found_rows = _row_count(value.get("data") if split else value)
    if found_rows > max_rows:
        raise PayloadError(TOO_MANY_ROWS.format(most=max_rows, found=found_rows), (key,))
    if key == "dataframe_split":
        return key, _split_rows(value, names), notes
    if key in ("dataframe_records", OURS):
        if not isinstance(value, list):
            raise PayloadError(RECORDS_SHAPE, (key,))
        return key, value, notes
    return key, _tensor_rows(value, names, key), notes


def _row_count(value: Any) -> int:
    if isinstance(value, list):
        return len(value)
    if isinstance(value, dict):
        return max((len(v) for v in value.values() if isinstance(v, list)), default=1)
    return 0


def _split_rows(value: Any, names: list[str]) -> list[Any]:
    key = "dataframe_split"
    if (
        not isinstance(value, dict)
        or "data" not in value
        or set(value) - {"columns", "data", "index"}
    ):
        raise PayloadError(SPLIT_SHAPE, (key,))
    data, header, index = value["data"], value.get("columns", names), value.get("index")
    if not isinstance(data, list) or not isinstance(header, list):
        raise PayloadError(SPLIT_SHAPE, (key,))
    if index is not None and (not isinstance(index, list) or len(index) != len(data)):
        size = len(index) if isinstance(index, list) else "no"
        raise PayloadError(INDEX_LENGTH.format(index=size, rows=len(data)), (key, "index"))
    header = [str(name) for name in header]
    return [_zipped(row, header, (key, "data", i)) for i, row in enumerate(data)]


def _tensor_rows(value: Any, names: list[str], key: str) -> list[Any]:
    """``instances``/``inputs``: rows as objects or positional lists, an object of columns,
    or (a model with one input) a list of its values."""
    if isinstance(value, dict):
        return _column_rows(value, key)
    if not isinstance(value, list):
        raise PayloadError(TENSOR_SHAPE.format(key=key), (key,))
    if all(isinstance(item, dict) for item in value):
        return value
    if all(isinstance(item, list) for item in value):
        return [_zipped(row, names, (key, i)) for i, row in enumerate(value)]
    if len(names) == 1 and not any(isinstance(item, dict | list) for item in value):
        return [{names[0]: item} for item in value]
    raise PayloadError(TENSOR_SHAPE.format(key=key), (key,))


def _column_rows(columns: dict[str, Any], key: str) -> list[dict[str, Any]]:
    lists = [isinstance(values, list) for values in columns.values()]
    if columns and not any(lists):
        if any(isinstance(values, dict) for values in columns.values()):
            raise PayloadError(TENSOR_SHAPE.format(key=key), (key,))
        return [dict(columns)]  # one value per column: one row
    if not all(lists):
        raise PayloadError(TENSOR_SHAPE.format(key=key), (key,))
    lengths = {len(values) for values in columns.values()}
    if len(lengths) > 1:
        raise PayloadError(COLUMN_LENGTHS.format(lengths=sorted(lengths)), (key,))
    names = list(columns)
    return [dict(zip(names, row, strict=True)) for row in zip(*columns.values(), strict=True)]


def _zipped(row: Any, names: list[str], path: tuple[str | int, ...]) -> dict[str, Any]:
    if len(names) == 1 and not isinstance(row, dict | list):
        row = [row]
    if not isinstance(row, list):
        raise PayloadError(NOT_A_LIST, path)
    if len(row) != len(names):
        raise PayloadError(ROW_LENGTH.format(found=len(row), expected=len(names)), path)
    return dict(zip(names, row, strict=True))


def csv_rows(
    raw: bytes, columns: list[InputColumn], *, max_rows: int = 10_000
) -> list[dict[str, Any]]:
    """Rows of a CSV body with a header line, read as MLflow reads CSV for a model with a
    signature: each column by the model's type for it (numbers, true/false, text kept as
    written, so '007' stays '007'); empty cells are missing values."""
    import pandas as pd

    try:
        text = io.StringIO(raw.decode("utf-8"))
        frame = pd.read_csv(text, dtype=str, nrows=max_rows + 1)  # one more shows "too many"
    except Exception as error:  # pandas raises many kinds for malformed text: all are input's
        raise PayloadError(CSV_UNREADABLE.format(error=_first_line(error)), ("csv",)) from error
    kinds = {column.name: column.kind for column in columns}
    names = [str(name) for name in frame.columns]
    values = [
        [_csv_value(cell, kinds.get(name)) for cell in frame[original].tolist()]
        for name, original in zip(names, frame.columns, strict=True)
    ]
    return [dict(zip(names, row, strict=True)) for row in zip(*values, strict=True)]


def _csv_value(cell: Any, kind: str | None) -> Any:
    if not isinstance(cell, str):
        return None  # pandas' NaN for an empty cell
    if kind == "number":
        try:
            number = float(cell)
        except ValueError:
            return cell  # refused with its row and column by the input checks
        return None if math.isnan(number) else number
    return cell


def _first_line(error: Exception) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]
