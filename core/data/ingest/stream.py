"""Writing an import to Parquet batch by batch, so a file bigger than memory can be imported.

The first batches are kept until they hold ``ImportLimits.stream_after_bytes``; a file that
ends before then is refined and written whole, exactly as it always was. Past that, the
refinements (numbers with separators, yes/no text, dates) are decided on those first batches
- far more rows than the sniffed head - and each later batch is converted the same way and
written as it comes. A later batch that contradicts a decision (a word in a yes/no column, a
decimal in a whole-number column, dates that stop parsing) is not written half-converted:
the pass ends with the column pinned (to text, floats or the date format most values fit) and
the file is read again from the start, so every batch of a column has one type.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from core.data.booleans import WORD_PAIRS
from core.data.ingest.column_facts import TableFacts
from core.data.ingest.messages import AMBIGUOUS_DATES_WARNING, DATE_GAPS_WARNING
from core.data.ingest.numbers import NumberPlan
from core.data.ingest.quotes import RowShape, swallowed_rows_in
from core.data.ingest.refine import (
    _DATE_SHARE,
    PIN_DATE,
    PIN_FLOAT,
    PIN_INT,
    PIN_TEXT,
    _date_share,
    _format_name,
    _numbers_of,
    _refine_table,
    date_choice,
)
from core.data.ingest.report import IngestReport, IngestResult
from core.data.schema import ColumnSchema, infer_schema

# Fixed writer options make the file, and so its hash, canonical for the same content.
PARQUET_OPTIONS = {"compression": "zstd", "use_dictionary": True, "write_statistics": True}
# pyarrow's own row-group length, so a streamed file has the row groups write_table would
# give it; the byte cap keeps a row group of wide rows from holding too much in memory.
_ROW_GROUP_ROWS = 1 << 20
_ROW_GROUP_BYTES = 64 << 20


def write_whole(table: pa.Table, path: Path) -> None:
    """A table held in memory, written as every dataset version is."""
    pq.write_table(table, path, **PARQUET_OPTIONS)


@dataclass(frozen=True)
class ImportedFile:
    """An upload written as the store's Parquet: the report and each column's schema."""

    report: IngestReport
    schema: list[ColumnSchema]
    streamed: bool = False  # written batch by batch, never held whole


def written_whole(result: IngestResult, target: Path) -> ImportedFile:
    """A table read whole, written to ``target`` as a dataset version's Parquet."""
    table = result.table.replace_schema_metadata(None)
    write_whole(table, target)
    return ImportedFile(report=result.report, schema=infer_schema(table))


@dataclass(frozen=True)
class Refinement:
    """How the parsed columns are refined (see ``refine._refine_columns``)."""

    late_columns: frozenset[str] = frozenset()
    numbers: NumberPlan | None = None
    text: bool = True
    pins: Mapping[str, str] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class StreamedTable:
    """A table written batch by batch: its size, schema and notes, and what the quote check
    needs (whether a multi-line value swallowed rows; the last row's multi-line values)."""

    rows: int
    columns: int
    schema: list[ColumnSchema]
    notes: list[str]
    swallows: bool = False
    last_row: tuple[str, ...] = ()


class Revoked(Exception):
    """A later batch contradicted a refinement decided on the first ones: read again with
    these columns pinned."""

    def __init__(self, pins: Mapping[str, str]) -> None:
        super().__init__(", ".join(pins))
        self.pins = dict(pins)


class _Conversion(Protocol):
    def convert(self, column: pa.ChunkedArray) -> pa.ChunkedArray | str: ...

    def pin_at_end(self) -> str | None: ...

    def note(self) -> str | None: ...


class ParquetSink:
    """A Parquet file written a row group at a time."""

    def __init__(self, target: Path, schema: pa.Schema) -> None:
        self.schema = schema
        self._writer = pq.ParquetWriter(target, schema, **PARQUET_OPTIONS)
        self._held: list[pa.Table] = []
        self._rows = 0
        self._bytes = 0

    def write(self, table: pa.Table) -> None:
        self._held.append(table)
        self._rows += table.num_rows
        self._bytes += table.nbytes
        if self._rows >= _ROW_GROUP_ROWS or self._bytes >= _ROW_GROUP_BYTES:
            self._flush()

    def close(self) -> None:
        self._flush()
        self._writer.close()

    def _flush(self) -> None:
        if not self._held:
            return
        held = pa.concat_tables(self._held)
        self._held, self._rows, self._bytes = [], 0, 0
        for start in range(0, held.num_rows, _ROW_GROUP_ROWS):
            self._writer.write_table(held.slice(start, _ROW_GROUP_ROWS))


def stream_batches(
    batches: Iterable[pa.RecordBatch],
    schema: pa.Schema,
    *,
    target: Path,
    refinement: Refinement,
    budget: int,
    shape: RowShape | None = None,
) -> pa.Table | StreamedTable:
    """The whole table when it fits in ``budget`` bytes; else the table written to ``target``.

    ``shape`` (CSV only) turns on the look for quoted values that swallowed rows.
    """
    held: list[pa.RecordBatch] = []
    size = 0
    stream: _Stream | None = None
    try:
        for batch in batches:
            if stream is not None:
                stream.add(pa.Table.from_batches([batch]))
                continue
            held.append(batch)
            size += batch.nbytes
            if size >= budget:
                stream = _Stream(pa.Table.from_batches(held, schema), target, refinement, shape)
                held = []
    except BaseException:
        # A writer left open would write its footer whenever it is collected, over the file
        # the next pass writes to the same path.
        if stream is not None:
            stream.close()
        raise
    if stream is None:
        return pa.Table.from_batches(held, schema)
    return stream.finish()


class _Stream:
    """The refinements decided on the first batches, applied to each later one."""

    def __init__(
        self, first: pa.Table, target: Path, refinement: Refinement, shape: RowShape | None
    ) -> None:
        self._shape = shape
        self._swallows = False
        self._last_row: tuple[str, ...] = ()
        self._look_for_swallowed_rows(first)
        refined, self._number_notes, self._column_notes = _refine_table(
            first,
            late_columns=refinement.late_columns,
            numbers=refinement.numbers,
            text=refinement.text,
            pins=refinement.pins,
        )
        refined = refined.replace_schema_metadata(None)
        self._conversions = _conversions(first, refined, refinement)
        for name, conversion in self._conversions.items():
            if isinstance(conversion, _Dates):  # counts the first batches' dates too
                conversion.convert(first.column(name))
        self._pins: dict[str, str] = {}
        self._sink = ParquetSink(target, refined.schema)
        self._facts = TableFacts(refined.schema)
        self._keep(refined)

    def add(self, raw: pa.Table) -> None:
        self._look_for_swallowed_rows(raw)
        columns = []
        for name, column in zip(raw.column_names, raw.columns, strict=True):
            converted = self._conversions[name].convert(column)
            if isinstance(converted, str):
                self._pins[name] = converted
            columns.append(converted)
        if not self._pins:
            self._keep(pa.table(columns, schema=self._sink.schema))

    def close(self) -> None:
        self._sink.close()

    def finish(self) -> StreamedTable:
        for name, conversion in self._conversions.items():
            pin = conversion.pin_at_end()
            if pin is not None:
                self._pins.setdefault(name, pin)
        self._sink.close()
        if self._pins:
            raise Revoked(self._pins)
        return StreamedTable(
            rows=self._facts.rows,
            columns=len(self._sink.schema),
            schema=self._facts.schema(),
            notes=self._number_notes + self._notes(),
            swallows=self._swallows,
            last_row=tuple(self._last_row),
        )

    def _keep(self, table: pa.Table) -> None:
        self._sink.write(table)
        self._facts.add(table)

    def _notes(self) -> list[str]:
        notes = []
        for name, conversion in self._conversions.items():
            # Date notes count the whole column; the others were decided on the first batches.
            dates = isinstance(conversion, _Dates)
            note = conversion.note() if dates else self._column_notes.get(name)
            if note:
                notes.append(note)
        return notes

    def _look_for_swallowed_rows(self, raw: pa.Table) -> None:
        if self._shape is None or self._swallows or raw.num_rows == 0:
            return
        self._swallows, last_row = swallowed_rows_in(raw, shape=self._shape)
        self._last_row = tuple(last_row)


def _conversions(
    raw: pa.Table, refined: pa.Table, refinement: Refinement
) -> dict[str, _Conversion]:
    """For each column, how a later batch becomes what the first batches became."""
    conversions: dict[str, _Conversion] = {}
    for name, target in zip(refined.column_names, refined.schema, strict=True):
        source = raw.column(name)
        kind = target.type
        text = pa.types.is_string(source.type) and not pa.types.is_string(kind)
        conversion: _Conversion = _Cast(kind)
        if text and (pa.types.is_integer(kind) or pa.types.is_floating(kind)):
            conversion = _Numbers(name, kind, refinement)
        elif text and pa.types.is_boolean(kind):
            conversion = _Booleans(source)
        elif text and pa.types.is_timestamp(kind):
            conversion = _Dates(name, source, refinement.pins.get(name))
        elif _unseen(name, source, refinement):
            conversion = _Unseen(name, refinement)
        conversions[name] = conversion
    return conversions


def _unseen(name: str, source: pa.ChunkedArray, refinement: Refinement) -> bool:
    """A column empty in the sampled head and in all the first batches, not pinned yet."""
    empty = source.null_count == len(source)
    return empty and name in refinement.late_columns and name not in refinement.pins


class _Cast:
    """A column the first batches kept as it was parsed, or only cast (null text, dates)."""

    def __init__(self, kind: pa.DataType) -> None:
        self._kind = kind

    def convert(self, column: pa.ChunkedArray) -> pa.ChunkedArray | str:
        return column if column.type == self._kind else column.cast(self._kind)

    def pin_at_end(self) -> str | None:
        return None

    def note(self) -> str | None:
        return None


class _Numbers(_Cast):
    """Text the first batches read as numbers: later batches must read the same way."""

    def __init__(self, name: str, kind: pa.DataType, refinement: Refinement) -> None:
        super().__init__(kind)
        self._name = name
        self._late = name in refinement.late_columns
        self._numbers = refinement.numbers

    def convert(self, column: pa.ChunkedArray) -> pa.ChunkedArray | str:
        if column.null_count == len(column):
            return column.cast(self._kind)
        read, _ = _numbers_of(self._name, column, late=self._late, numbers=self._numbers)
        if read.type == self._kind:
            return read
        if pa.types.is_integer(read.type) and pa.types.is_floating(self._kind):
            return read.cast(self._kind)
        if pa.types.is_floating(read.type) and pa.types.is_integer(self._kind):
            return PIN_FLOAT
        return PIN_TEXT


class _Unseen(_Cast):
    """A column with no value in the first batches: text, unless every value further down
    reads as a number, in which case the file is read again with it pinned to numbers."""

    def __init__(self, name: str, refinement: Refinement) -> None:
        super().__init__(pa.string())
        self._name = name
        self._numbers = refinement.numbers
        self._kinds: set[str] = set()

    def convert(self, column: pa.ChunkedArray) -> pa.ChunkedArray | str:
        if column.null_count < len(column) and PIN_TEXT not in self._kinds:
            read, _ = _numbers_of(self._name, column, late=True, numbers=self._numbers)
            integer, floating = pa.types.is_integer(read.type), pa.types.is_floating(read.type)
            self._kinds.add(PIN_INT if integer else PIN_FLOAT if floating else PIN_TEXT)
        return super().convert(column)

    def pin_at_end(self) -> str | None:
        if not self._kinds or PIN_TEXT in self._kinds:
            return None
        return PIN_FLOAT if PIN_FLOAT in self._kinds else PIN_INT


class _Booleans(_Cast):
    """Yes/no text: a later batch with any other word makes the column text."""

    def __init__(self, source: pa.ChunkedArray) -> None:
        super().__init__(pa.bool_())
        seen = set(pc.unique(_lowered(source)).drop_null().to_pylist())
        self._pair = next(pair for pair in WORD_PAIRS if seen <= set(pair))

    def convert(self, column: pa.ChunkedArray) -> pa.ChunkedArray | str:
        lowered = _lowered(column)
        if not set(pc.unique(lowered).drop_null().to_pylist()) <= set(self._pair):
            return PIN_TEXT
        return pc.equal(lowered, pa.scalar(self._pair[0], lowered.type))


def _lowered(column: pa.ChunkedArray) -> pa.ChunkedArray:
    return pc.utf8_lower(pc.utf8_trim_whitespace(column))


class _Dates(_Cast):
    """Dates: each batch parsed with the chosen format, while counting how many values every
    format the first batches allowed would parse, so the whole column's best one decides."""

    def __init__(self, name: str, source: pa.ChunkedArray, pin: str | None) -> None:
        super().__init__(pa.timestamp("us"))
        self._name = name
        choice = date_choice(source) if pin is None else None
        if choice is None:  # pinned to the format the whole column fits best
            self._format = pin[len(PIN_DATE) :] if pin else ""
            self._parsed = {self._format: 0}
        else:
            self._format = choice[0]
            self._parsed = dict.fromkeys(choice[1], 0)
        self._present = 0
        self._lost = 0

    def convert(self, column: pa.ChunkedArray) -> pa.ChunkedArray | str:
        self._present += len(column) - column.null_count
        chosen: pa.ChunkedArray | str = PIN_TEXT
        for fmt in self._parsed:
            dates, _ = _date_share(column, fmt)
            if not pa.types.is_timestamp(dates.type):
                continue
            self._parsed[fmt] += len(dates) - dates.null_count
            if fmt == self._format:
                chosen = dates
                self._lost += dates.null_count - column.null_count
        return chosen

    def pin_at_end(self) -> str | None:
        best = max(self._parsed, key=self._parsed.__getitem__)
        if self._parsed[best] < _DATE_SHARE * self._present:
            return PIN_TEXT
        if self._parsed[best] > self._parsed[self._format]:
            return PIN_DATE + best
        return None

    def note(self) -> str | None:
        fmt = self._format
        swapped = fmt.replace("%d", "%_").replace("%m", "%d").replace("%_", "%m")
        if swapped != fmt and self._parsed.get(swapped) == self._parsed[fmt]:
            return AMBIGUOUS_DATES_WARNING.format(column=self._name, format=_format_name(fmt))
        if self._lost:
            return DATE_GAPS_WARNING.format(
                column=self._name, format=_format_name(fmt), count=self._lost
            )
        return None
