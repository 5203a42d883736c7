"""A prediction request's payload read into checked input columns: the common, clean records
body ({"records": [...]} or {"dataframe_records": [...]} holding every input and nothing else)
by a typed JSON decoder in one C pass, every other body by the general path.

Why: for 10,000 rows, parsing into dicts (orjson, ~24 ms), transposing them into columns
(~8 ms) and checking each value's type (~6 ms) cost more than scoring. msgspec decodes each row
into a slotted object of the model's fields, checking types, refusing unknown and missing
inputs and non-finite numbers while it parses (~11 ms). Any body it does not take (an unknown
or missing input, a wrong type, NaN, yes/no words, an integer beyond 64 bits, invalid text,
another key) goes the general way (bodies.parse_json, mlflow_protocol.json_rows,
inputs.check_rows), which reads it and says exactly what is wrong: answers and refusals are the
general path's own, and the tests compare both on the same bodies.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from operator import attrgetter
from typing import Annotated, Any

import msgspec

from core.serving import mlflow_protocol as mlflow
from core.serving.bodies import parse_json, payload_text, records_text
from core.serving.inputs import BOOLEAN, DATETIME, NUMBER, CheckedValues, InputColumn, check_rows

# orjson reads integers up to 64 bits as integers and larger ones as floats; msgspec's bounds
# stop at int64, so anything larger goes the general way and is read as orjson reads it
_WHOLE = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]
# what check_rows takes per kind, as it would leave it (a yes/no word or 1/0 is read there)
_TYPES: dict[str, Any] = {
    NUMBER: _WHOLE | float | None,
    BOOLEAN: bool | None,
    DATETIME: str | None,
}
_TEXT_TYPE = str | _WHOLE | float | bool | None
_NONE = type(None)
_ALLOWED: dict[str, frozenset[type]] = {
    NUMBER: frozenset({int, float, _NONE}),
    BOOLEAN: frozenset({bool, _NONE}),
    DATETIME: frozenset({str, _NONE}),
}


@dataclass(frozen=True)
class Payload:
    """A request's rows as checked columns, and what the log and the answer need of them."""

    values: CheckedValues
    rows: list[Any]  # as read (counted; encoded for the log when ``sent`` is None)
    sent: str | None = None  # the rows' JSON as the client sent it
    notes: tuple[str, ...] = ()  # what MLflow's reading changed, said in the answer


def predict_payload(raw: bytes, columns: list[InputColumn], *, max_rows: int) -> Payload:
    """/predict's JSON body: {"records": [...]}, any other key refused (PayloadError, or
    BodyError for a body that is no JSON)."""
    fast = read_records(raw, columns, mlflow.OURS, max_rows=max_rows)
    if fast is not None:
        return fast
    body, strict = parse_json(raw)
    key, rows, _ = mlflow.json_rows(body, columns, max_rows=max_rows, strict=True)
    values = check_rows(rows, columns, key=key, max_rows=max_rows, finite=strict)
    return Payload(values, rows, payload_text(raw, body, key, rows) if strict else None)


def invocations_payload(raw: bytes, columns: list[InputColumn], *, max_rows: int) -> Payload:
    """/invocations' JSON body in any of MLflow's orientations, read as MLflow reads it."""
    fast = read_records(raw, columns, "dataframe_records", max_rows=max_rows)
    if fast is not None:
        return fast
    body, strict = parse_json(raw)
    key, rows, notes = mlflow.json_rows(body, columns, max_rows=max_rows)
    values = check_rows(rows, columns, key=key, max_rows=max_rows, finite=strict, notes=notes)
    sent = None if notes or not strict else payload_text(raw, body, key, rows)
    return Payload(values, rows, sent, tuple(notes))


def csv_payload(raw: bytes, columns: list[InputColumn], *, max_rows: int) -> Payload:
    """A text/csv body: a cell may read as Infinity ("1e999"), so numbers are checked."""
    rows = mlflow.csv_rows(raw, columns, max_rows=max_rows)
    notes: list[str] = []
    values = check_rows(rows, columns, key="csv", max_rows=max_rows, notes=notes)
    return Payload(values, rows, None, tuple(notes))


@dataclass(frozen=True)
class _Decoder:
    decoder: msgspec.json.Decoder
    fields: Callable[[Any], tuple[Any, ...]]
    names: tuple[str, ...]
    types: dict[str, frozenset[type]]  # a column's possible types, where the kind fixes them


def read_records(
    raw: bytes, columns: list[InputColumn], key: str, *, max_rows: int
) -> Payload | None:
    """The body ``{key: [rows]}`` as checked columns, or None for anything else (the general
    path reads it then and says what is wrong)."""
    if not columns:  # a pipeline that does not record its inputs reads the rows as they are
        return None
    reader = _decoder(tuple(columns), key)
    try:
        rows = getattr(reader.decoder.decode(raw), key)
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
        return None
    if not rows or len(rows) > max_rows:
        return None
    sent = records_text(raw, key)
    if sent is None:  # the key written with escapes, say: the log must keep what was sent
        return None
    names = reader.names
    # every row gives a tuple of all the fields: no length to check
    lists = [list(column) for column in zip(*map(reader.fields, rows), strict=False)]
    values = dict(zip(names, lists, strict=True))
    # the decoder allowed only these types per kind; text may hold numbers, so it is looked at
    types = {name: reader.types.get(name) or frozenset(map(type, values[name])) for name in names}
    return Payload(CheckedValues(values, types), rows, sent)


@lru_cache(maxsize=16)
def _decoder(columns: tuple[InputColumn, ...], key: str) -> _Decoder:
    """A decoder of ``{key: [row, ...]}`` whose rows hold exactly ``columns`` (each may be
    null), for one model version's inputs; fields are named f0, f1, ... and renamed to the
    column names, which need not be Python names."""
    fields = [f"f{index}" for index in range(len(columns))]
    kinds = [(f, _TYPES.get(c.kind, _TEXT_TYPE)) for f, c in zip(fields, columns, strict=True)]
    rename = {f: c.name for f, c in zip(fields, columns, strict=True)}
    row = msgspec.defstruct("Row", kinds, rename=rename, forbid_unknown_fields=True, gc=False)
    body = msgspec.defstruct("Body", [(key, list[row])], forbid_unknown_fields=True)  # type: ignore[valid-type]
    types = {c.name: _ALLOWED[c.kind] for c in columns if c.kind in _ALLOWED}
    return _Decoder(
        msgspec.json.Decoder(body), _as_tuples(fields), tuple(c.name for c in columns), types
    )


def _as_tuples(fields: list[str]) -> Callable[[Any], tuple[Any, ...]]:
    """Each row's values in column order, as a tuple (attrgetter of one name gives the value)."""
    if len(fields) > 1:
        return attrgetter(*fields)
    single = attrgetter(fields[0])
    return lambda row: (single(row),)
