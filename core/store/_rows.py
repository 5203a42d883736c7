"""What the entity modules share: the store's time format, JSON columns, filters, checked writes."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Collection, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlite_utils import Database
from sqlite_utils.db import NotFoundError

from core.store.connection import writing

T = TypeVar("T")


def now() -> str:
    """The current UTC time as ISO-8601 text, the store's one time format."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


def loads(text: str | None, default: Any) -> Any:
    return json.loads(text) if text else default


def dumps(value: Any) -> str:
    return json.dumps(value, default=str)


def marks(values: Collection[Any]) -> str:
    """``?, ?, ?`` for an ``IN (...)`` of these values."""
    return ", ".join("?" for _ in values)


def where(
    equal: Mapping[str, Any], *clauses: tuple[str, Iterable[Any]]
) -> tuple[str | None, list[Any]]:
    """A WHERE clause (None: every row) of ``column = ?`` for each value that is not None, and
    of the given ``(sql, params)`` clauses; column names come from code, never from users."""
    parts = [f"{column} = ?" for column, value in equal.items() if value is not None]
    params = [value for value in equal.values() if value is not None]
    for sql, values in clauses:
        parts.append(sql)
        params.extend(values)
    return (" AND ".join(parts) or None), params


def checked(table: str, fields: Iterable[str], known: Collection[str]) -> None:
    """Refuse field names that are not known columns of ``table``."""
    unknown = sorted(set(fields) - set(known))
    if unknown:
        raise ValueError(f"{table} has no updatable field {', '.join(map(repr, unknown))}")


def columns(fields: Mapping[str, Any], json_fields: Collection[str] = ()) -> dict[str, Any]:
    """Fields as column values: a JSON field ``x`` is stored as text in ``x_json``."""
    return {
        f"{name}_json" if name in json_fields else name: dumps(value)
        if name in json_fields
        else value
        for name, value in fields.items()
    }


def update(
    db: Database,
    table: str,
    row_id: int,
    fields: Mapping[str, Any],
    *,
    known: Collection[str],
    json_fields: Collection[str] = (),
) -> None:
    """Set some known fields of one row (JSON fields given as Python objects)."""
    checked(table, fields, known)
    if not fields:
        return
    # as before the split: updating a row deleted meanwhile (a run deleted mid-training)
    # changes nothing
    with writing(db), contextlib.suppress(NotFoundError):
        db.table(table).update(row_id, columns(fields, json_fields))


def insert(db: Database, table: str, fields: Mapping[str, Any]) -> int:
    """Insert one row; returns its id."""
    with writing(db):
        row_id = db.table(table).insert(dict(fields)).last_rowid
    assert row_id is not None
    return row_id


def first(rows: Iterable[dict[str, Any]]) -> dict[str, Any] | None:
    return next(iter(rows), None)


def fields_of(cls: Any, *, without: Collection[str] = ("id",)) -> frozenset[str]:
    """The dataclass's field names, less ``without``: the fields a row of it can update."""
    return frozenset(name for name in cls.__dataclass_fields__ if name not in without)


def record(
    cls: type[T],
    row: Mapping[str, Any],
    *,
    decoded: Mapping[str, str] | None = None,
    flags: Collection[str] = (),
    **given: Any,
) -> T:
    """A row as the dataclass ``cls``: each field from its column; a field named in ``decoded``
    from the JSON column ``<field>_json`` (that JSON text when NULL); a field in ``flags`` from
    0/1 as a boolean; ``given`` fields as they are."""
    decoded = decoded or {}
    values = dict(given)
    for name in cls.__dataclass_fields__:  # type: ignore[attr-defined]
        if name in values:
            continue
        if name in decoded:
            values[name] = json.loads(row[f"{name}_json"] or decoded[name])
        elif name in flags:
            values[name] = bool(row.get(name))
        elif name in row:
            values[name] = row[name]
    return cls(**values)
