"""Column roles of a table read in parts: the facts infer_schema needs, gathered part by part.

A streamed import never holds the whole table, so each column's facts (values present,
distinct values, whether all are 0/1, total text length, whether any text holds whitespace)
are added up batch by batch and give the role :func:`core.data.schema.infer_schema` would give
the whole column. Distinct values are counted exactly for numbers and by 64-bit hashes for
text (8 bytes per distinct value; a collision among 20M values has odds near 1 in 10^5).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from core.data.booleans import labels_from_metadata
from core.data.schema import (
    _ID_TOKENS,
    ColumnSchema,
    Role,
    _named_like_flag,
    _numeric_role_of,
    _only_zero_one,
    _string_role_of,
    _tokens,
)

_WEIGHTS = np.random.default_rng(20261207).integers(1, 2**63, size=4096, dtype=np.uint64) | 1
_LENGTH_MIX = np.uint64(0x9E3779B97F4A7C15)
_COMPACT_AT = 1 << 20


class _DistinctCount:
    """Distinct 64-bit keys, deduplicated whenever the pending ones outgrow the known ones."""

    def __init__(self) -> None:
        self._known = np.empty(0, np.uint64)
        self._pending: list[np.ndarray] = []
        self._pending_size = 0

    def add(self, keys: np.ndarray) -> None:
        self._pending.append(np.unique(keys))
        self._pending_size += len(self._pending[-1])
        if self._pending_size > max(_COMPACT_AT, len(self._known)):
            self._compact()

    def count(self) -> int:
        self._compact()
        return len(self._known)

    def _compact(self) -> None:
        if self._pending:
            self._known = np.unique(np.concatenate([self._known, *self._pending]))
            self._pending, self._pending_size = [], 0


def text_hashes(values: pa.Array) -> np.ndarray:
    """A 64-bit hash of each non-null string, from its UTF-8 bytes, without Python objects."""
    values = values.drop_null()
    if len(values) == 0:
        return np.empty(0, np.uint64)
    wide = pa.types.is_large_string(values.type)
    _, offsets_buffer, data_buffer = values.buffers()
    offsets = np.frombuffer(offsets_buffer, np.int64 if wide else np.int32)
    offsets = offsets[values.offset : values.offset + len(values) + 1].astype(np.int64)
    data = np.frombuffer(data_buffer, np.uint8) if data_buffer is not None else np.empty(0)
    start, lengths = offsets[0], np.diff(offsets)
    text = data[start : offsets[-1]].astype(np.uint64) + np.uint64(1)
    position = np.arange(len(text), dtype=np.int64) - np.repeat(offsets[:-1] - start, lengths)
    spread = (position >> 12).astype(np.uint64) * np.uint64(2) + np.uint64(1)
    weighted = text * _WEIGHTS[position & 4095] * spread
    sums = np.zeros(len(weighted) + 1, np.uint64)
    np.cumsum(weighted, out=sums[1:])
    hashed = sums[offsets[1:] - start] - sums[offsets[:-1] - start]
    return _mix(hashed ^ (lengths.astype(np.uint64) * _LENGTH_MIX))


def _mix(keys: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser, so that nearby sums land far apart."""
    keys = keys ^ (keys >> np.uint64(30))
    keys = keys * np.uint64(0xBF58476D1CE4E5B9)
    keys = keys ^ (keys >> np.uint64(27))
    keys = keys * np.uint64(0x94D049BB133111EB)
    return keys ^ (keys >> np.uint64(31))


class ColumnFacts:
    """What one column's role depends on, added up over the parts of the column."""

    def __init__(self, field: pa.Field) -> None:
        self.field = field
        kind = field.type
        self._text = pa.types.is_string(kind) or pa.types.is_large_string(kind)
        self._numeric = (
            pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind)
        )
        tokens = _tokens(field.name)
        self._id_named = bool(tokens) and tokens[-1] in _ID_TOKENS and pa.types.is_integer(kind)
        self._flag_named = _named_like_flag(tokens)
        self.present = 0
        self._zero_one = True
        self._distinct = _DistinctCount()
        self._words: set[str] | None = set()
        self._length = 0
        self._spaced = False

    def add(self, column: pa.ChunkedArray) -> None:
        for chunk in column.chunks:
            present = len(chunk) - chunk.null_count
            if present == 0:
                continue
            self.present += present
            if self._text:
                self._add_text(chunk)
            elif self._numeric:
                self._add_number(chunk)

    def _add_text(self, chunk: pa.Array) -> None:
        # As _string_role does: hash once (value_counts), then look at the distinct values only.
        counted = pc.value_counts(chunk)
        values, counts = counted.field("values"), counted.field("counts")
        valid = values.is_valid()
        values, counts = values.filter(valid), counts.filter(valid)
        self._distinct.add(text_hashes(values))
        lengths = pc.multiply(pc.utf8_length(values).cast(pa.int64()), counts)
        self._length += int(pc.sum(lengths).as_py() or 0)
        spaced = pc.any(pc.match_substring_regex(values, r"\s")).as_py()
        self._spaced = self._spaced or bool(spaced)
        if self._words is not None and len(values) <= 2:
            self._words |= set(values.to_pylist())
        if self._words is not None and (len(values) > 2 or len(self._words) > 2):
            self._words = None  # more than two distinct values: never a yes/no column

    def _add_number(self, chunk: pa.Array) -> None:
        if self._flag_named:  # only a name that reads like a flag asks whether all are 0/1
            self._zero_one = self._zero_one and _only_zero_one(chunk)
        if self._id_named:
            values = chunk.drop_null().cast(pa.int64()).to_numpy(zero_copy_only=False)
            self._distinct.add(values.view(np.uint64))

    def schema(self) -> ColumnSchema:
        """The column as infer_schema would describe it read whole."""
        field = self.field
        labels = labels_from_metadata(field.metadata) if pa.types.is_boolean(field.type) else None
        return ColumnSchema(
            name=field.name, dtype=str(field.type), role=self._role(), labels=labels
        )

    def _role(self) -> Role:
        kind = self.field.type
        if pa.types.is_boolean(kind):
            return "boolean"
        if pa.types.is_temporal(kind) and not pa.types.is_duration(kind):
            return "datetime"
        if self._numeric:
            return _numeric_role_of(
                self.field.name, kind, self.present, lambda: self._zero_one, self._distinct.count
            )
        if pa.types.is_duration(kind):
            return "numeric"
        if self._text:
            return self._text_role()
        if pa.types.is_dictionary(kind) or pa.types.is_null(kind):
            return "categorical"
        return "text"

    def _text_role(self) -> Role:
        words: Callable[[], set[str]] = lambda: {  # noqa: E731
            str(value).strip().lower() for value in self._words or ()
        }
        return _string_role_of(
            self.field.name,
            present=self.present,
            distinct=self._distinct.count(),
            words=words,
            spaced=lambda: self._spaced,
            length=lambda: self._length,
        )


class TableFacts:
    """The facts of every column of a table read in parts, and its row count."""

    def __init__(self, schema: pa.Schema) -> None:
        self.rows = 0
        self._columns = [ColumnFacts(field) for field in schema]

    def add(self, table: pa.Table) -> None:
        self.rows += table.num_rows
        for facts, column in zip(self._columns, table.columns, strict=True):
            facts.add(column)

    def schema(self) -> list[ColumnSchema]:
        return [facts.schema() for facts in self._columns]
