"""Reading CSV, TSV and other delimited text: plan from the head, then stream with types."""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv

from core.data.ingest.messages import (
    EMPTY_FILE,
    ENCODING_UNCERTAIN_WARNING,
    ENCODING_WARNING,
    MIXED_ENCODING,
    SKIPPED_LINES_WARNING,
    SKIPPED_ROWS_WARNING,
    TOO_MANY_COLUMNS,
    UNDECODABLE,
    UNREADABLE_FILE,
    IngestError,
    _reason,
)
from core.data.ingest.numbers import NumberPlan, check_decimal, plan_numbers
from core.data.ingest.quotes import (
    QuoteRepair,
    RowShape,
    check_header,
    check_quotes,
    ends_inside_quotes,
    find_runaway_quotes,
    may_swallow_rows,
    repaired_stream,
    repaired_warning,
)
from core.data.ingest.refine import _refine_columns
from core.data.ingest.report import (
    IngestReport,
    IngestResult,
    _check_rows,
    _renamed_warning,
    fix_column_names,
)
from core.data.ingest.sniffing import (
    _check_delimiter,
    _check_encoding,
    _decode_head,
    _leading_blank_lines,
    _reject_binary,
    _sniff_delimiter,
    _sniff_encoding,
    encoding_name,
)
from core.data.ingest.sources import _HEAD_BYTES, ImportLimits, _open_stream, _Source
from core.data.ingest.stream import (
    ImportedFile,
    Refinement,
    Revoked,
    StreamedTable,
    stream_batches,
    written_whole,
)

_MAX_BLOCK_BYTES = 1 << 30
_MAX_REPORTED_LINES = 20
_SNIFF_LINES = 500
_NUMBER_SAMPLE = 1000

_REPORTED_ENCODINGS = {"iso8859-1": "latin-1", "utf-8-sig": "utf-8"}
_CONVERSION_ERROR = re.compile(
    r"In CSV column #(\d+): (?:Row #\d+: )?CSV conversion error to [^:]+: (.*)", re.S
)
_INVALID_VALUE = re.compile(r"invalid value '(.*)'", re.S)


@dataclass(frozen=True)
class _TextOptions:
    delimiter: str | None
    encoding: str | None
    tsv: bool
    decimal: str | None = None
    quotes: str | None = None


@dataclass(frozen=True)
class _CsvPlan:
    """Everything the streaming parse needs; a failed parse returns an adjusted copy."""

    encoding: str
    encoding_explicit: bool
    encoding_sure: bool
    delimiter: str
    names: tuple[str, ...]
    renames: tuple[tuple[str, str], ...]
    types: dict[str, pa.DataType] = field(hash=False)
    late_columns: frozenset[str]
    numbers: NumberPlan
    skip_rows: int
    block_size: int
    quotes: str = "detect"
    repairs: tuple[QuoteRepair, ...] = ()
    quotes_checked: bool = False
    pins: dict[str, str] = field(default_factory=dict, hash=False)

    @property
    def shape(self) -> RowShape:
        numeric = tuple(
            index
            for index, name in enumerate(self.names)
            if pa.types.is_integer(self.types[name]) or pa.types.is_floating(self.types[name])
        )
        return RowShape(delimiter=self.delimiter, width=len(self.names), numeric=numeric)


class _RaggedRows:
    """invalid_row_handler for pyarrow: skip the row, remember how many, where, and how many
    lines of the file they take up (more than one each when a quoted value spans lines)."""

    def __init__(self) -> None:
        self.count = 0
        self.lines: list[int] = []
        self.line_breaks = 0

    def __call__(self, row: Any) -> str:
        self.count += 1
        if len(self.lines) < _MAX_REPORTED_LINES and row.number is not None:
            self.lines.append(int(row.number))
        text = row.text or ""
        self.line_breaks += text.count("\n") + text.count("\r") - text.count("\r\n")
        return "skip"


def _read_csv(source: _Source, *, head: bytes, at_eof: bool, options: _TextOptions) -> IngestResult:
    plan = _plan_csv(head, at_eof=at_eof, options=options, limits=source.limits)
    table, ragged, plan = _parse_csv(source, plan)
    assert isinstance(table, pa.Table)
    return _csv_result(source, table, ragged, plan)


def _import_csv(
    source: _Source, *, head: bytes, at_eof: bool, options: _TextOptions, target: Path
) -> ImportedFile:
    """The file written to ``target`` as Parquet, streamed when it is too big to hold."""
    plan = _plan_csv(head, at_eof=at_eof, options=options, limits=source.limits)
    parsed, ragged, plan = _parse_csv(source, plan, target=target)
    if isinstance(parsed, pa.Table):
        return written_whole(_csv_result(source, parsed, ragged, plan), target)
    _check_rows(parsed.rows, ragged.count)
    warnings = _csv_warnings(plan, ragged) + parsed.notes
    report = _csv_report(source, plan, ragged, shape=(parsed.rows, parsed.columns), notes=warnings)
    return ImportedFile(report=report, schema=parsed.schema, streamed=True)


def _csv_result(
    source: _Source, table: pa.Table, ragged: _RaggedRows, plan: _CsvPlan
) -> IngestResult:
    _check_rows(table.num_rows, ragged.count)
    table, notes = _refine_columns(
        table, late_columns=plan.late_columns, numbers=plan.numbers, pins=plan.pins
    )
    warnings = _csv_warnings(plan, ragged) + notes
    shape = (table.num_rows, table.num_columns)
    return IngestResult(table=table, report=_csv_report(source, plan, ragged, shape, warnings))


def _csv_report(
    source: _Source,
    plan: _CsvPlan,
    ragged: _RaggedRows,
    shape: tuple[int, int],
    notes: Sequence[str],
) -> IngestReport:
    return IngestReport(
        format="csv",
        compression=source.compression,
        encoding=_REPORTED_ENCODINGS.get(plan.encoding, plan.encoding),
        delimiter=plan.delimiter,
        rows=shape[0],
        columns=shape[1],
        skipped_rows=ragged.count,
        skipped_row_lines=tuple(ragged.lines),
        renamed_columns=plan.renames,
        warnings=tuple(notes),
        literal_quote_lines=tuple(repair.line for repair in plan.repairs),
    )


def _plan_csv(
    head: bytes, *, at_eof: bool, options: _TextOptions, limits: ImportLimits
) -> _CsvPlan:
    explicit = options.encoding is not None
    encoding, sure = (
        (_check_encoding(options.encoding), True) if options.encoding else _sniff_encoding(head)
    )
    decimal = check_decimal(options.decimal)
    quotes = check_quotes(options.quotes)
    _reject_binary(head, encoding)
    text = _decode_head(head, encoding, at_eof=at_eof)
    lines = [line for line in text.splitlines(keepends=True)[:_SNIFF_LINES] if line.strip()]
    if not lines:
        raise IngestError(EMPTY_FILE)
    delimiter = _check_delimiter(options.delimiter) or _sniff_delimiter(lines, tsv=options.tsv)
    skip_rows = _leading_blank_lines(text)
    header = _parse_header(lines, delimiter, quotes=quotes)
    if quotes != "never":
        check_header(lines, header, delimiter=delimiter, line=skip_rows + 1)
    if len(header) > limits.max_columns:
        columns, limit = len(header), limits.max_columns
        raise IngestError(TOO_MANY_COLUMNS.format(columns=columns, limit=limit))
    names, renames = fix_column_names(header)
    sample = _Sample(
        text=text, names=tuple(names), delimiter=delimiter, skip_rows=skip_rows, quotes=quotes
    )
    head_table = sample.read()
    types = {field.name: field.type for field in head_table.schema}
    numbers = _plan_numbers(sample, head_table, decimal=decimal)
    late = frozenset(name for name, kind in types.items() if pa.types.is_null(kind))
    text_columns = late | set(numbers.columns)
    types = {name: pa.string() if name in text_columns else kind for name, kind in types.items()}
    return _CsvPlan(
        encoding=encoding,
        encoding_explicit=explicit,
        encoding_sure=sure,
        delimiter=delimiter,
        names=tuple(names),
        renames=tuple(renames),
        types=types,
        late_columns=late,
        numbers=numbers,
        skip_rows=skip_rows,
        block_size=max(_HEAD_BYTES, 4 * len(lines[0].encode("utf-8"))),
        quotes=quotes,
    )


def _parse_header(lines: list[str], delimiter: str, *, quotes: str) -> list[str]:
    try:
        if quotes == "never":
            return next(csv.reader(lines, delimiter=delimiter, quoting=csv.QUOTE_NONE))
        return next(csv.reader(lines, delimiter=delimiter))
    except csv.Error as exc:
        raise IngestError(UNREADABLE_FILE.format(format="CSV", reason=str(exc))) from None


@dataclass(frozen=True)
class _Sample:
    """The decoded head of the file, which pyarrow reads to infer the column types."""

    text: str
    names: tuple[str, ...]
    delimiter: str
    skip_rows: int
    quotes: str

    def read(self, *, as_text: Sequence[str] | None = None) -> pa.Table:
        """Every column with inferred types, or only the ``as_text`` columns, as text."""
        data = self.text.encode("utf-8")
        read_options = pacsv.ReadOptions(
            column_names=list(self.names),
            skip_rows=self.skip_rows,
            skip_rows_after_names=1,
            use_threads=False,
            block_size=max(len(data) + 1, _HEAD_BYTES),
        )
        convert_options = pacsv.ConvertOptions(strings_can_be_null=True)
        if as_text is not None:
            convert_options = pacsv.ConvertOptions(
                strings_can_be_null=True,
                include_columns=list(as_text),
                column_types=dict.fromkeys(as_text, pa.string()),
            )
        try:
            return pacsv.read_csv(
                pa.py_buffer(data),
                read_options=read_options,
                parse_options=_parse_options(self.delimiter, _RaggedRows(), quotes=self.quotes),
                convert_options=convert_options,
            )
        except pa.ArrowInvalid as exc:
            reason = _reason(exc)
            raise IngestError(UNREADABLE_FILE.format(format="CSV", reason=reason)) from None


def _plan_numbers(sample: _Sample, head: pa.Table, *, decimal: str | None) -> NumberPlan:
    """Which text columns hold numbers with separators (``1.234,56``, ``1,234``, ``3,5``)."""
    texts = {
        field.name: _head_texts(head.column(index))
        for index, field in enumerate(head.schema)
        if pa.types.is_string(field.type)
    }
    point_names = [field.name for field in head.schema if pa.types.is_floating(field.type)]

    def point_numbers() -> dict[str, list[str]]:
        if not point_names:
            return {}
        table = sample.read(as_text=point_names)
        return {name: _head_texts(table.column(name)) for name in point_names}

    return plan_numbers(
        texts, delimiter=sample.delimiter, decimal=decimal, point_numbers=point_numbers
    )


def _head_texts(column: pa.ChunkedArray) -> list[str]:
    return [str(value) for value in column.drop_null().slice(0, _NUMBER_SAMPLE).to_pylist()]


def _parse_options(delimiter: str, ragged: _RaggedRows, *, quotes: str) -> pacsv.ParseOptions:
    return pacsv.ParseOptions(
        delimiter=delimiter,
        quote_char=False if quotes == "never" else '"',
        newlines_in_values=True,
        invalid_row_handler=ragged,
    )


def _parse_csv(
    source: _Source, plan: _CsvPlan, *, target: Path | None = None
) -> tuple[pa.Table | StreamedTable, _RaggedRows, _CsvPlan]:
    """Stream the file with fixed types; when a later row breaks a type, widen it and restart.

    A quote mark that never closes makes the rest of the file one value, too long for a parse
    block or hidden in one row; either way the file is checked for such quotes, and read
    again with them as plain characters. With a ``target``, a file too big to hold is written
    there batch by batch (see ``stream``); a batch that contradicts a refinement the first
    ones chose pins that column and the file is read again.
    """
    while True:
        ragged = _RaggedRows()
        try:
            table = _stream_csv(source, plan, ragged, target)
        except Revoked as revoked:
            plan = _pinned(plan, revoked)
            continue
        except pa.ArrowInvalid as exc:
            if "straddling" in str(exc) and _should_check_quotes(plan):
                plan = _check_quotes(source, plan)
                continue
            plan = _replan_after_error(plan, exc)
            continue
        except UnicodeDecodeError:
            plan = _next_encoding(plan)
            continue
        if _should_check_quotes(plan) and _may_swallow_rows(source, plan, table, ragged):
            plan = _check_quotes(source, plan)
            if plan.repairs:
                continue
        return table, ragged, plan


def _pinned(plan: _CsvPlan, revoked: Revoked) -> _CsvPlan:
    """The plan with the columns a streamed pass pinned; a pin only ever widens a column, so
    one that changes nothing would loop, and is refused instead (it never should happen)."""
    pins = {**plan.pins, **revoked.pins}
    if pins == plan.pins:
        reason = f"columns {', '.join(revoked.pins)} change type further down the file"
        raise IngestError(UNREADABLE_FILE.format(format="CSV", reason=reason))
    return replace(plan, pins=pins)


def _may_swallow_rows(
    source: _Source, plan: _CsvPlan, table: pa.Table | StreamedTable, ragged: _RaggedRows
) -> bool:
    spans_lines = ragged.line_breaks > 0
    if isinstance(table, StreamedTable):
        return (
            spans_lines
            or table.swallows
            or ends_inside_quotes(source, plan.encoding, plan.delimiter, table.last_row)
        )
    return may_swallow_rows(
        table,
        source=source,
        encoding=plan.encoding,
        shape=plan.shape,
        skipped_span_lines=spans_lines,
    )


def _should_check_quotes(plan: _CsvPlan) -> bool:
    return plan.quotes == "detect" and not plan.quotes_checked


def _check_quotes(source: _Source, plan: _CsvPlan) -> _CsvPlan:
    repairs = find_runaway_quotes(
        source, encoding=plan.encoding, shape=plan.shape, header_line=plan.skip_rows + 1
    )
    return replace(plan, repairs=repairs, quotes_checked=True)


def _stream_csv(
    source: _Source, plan: _CsvPlan, ragged: _RaggedRows, target: Path | None
) -> pa.Table | StreamedTable:
    read_options = pacsv.ReadOptions(
        column_names=list(plan.names),
        skip_rows=plan.skip_rows,
        skip_rows_after_names=1,
        use_threads=False,
        block_size=plan.block_size,
        encoding=plan.encoding,
    )
    convert_options = pacsv.ConvertOptions(column_types=plan.types, strings_can_be_null=True)
    parse_options = _parse_options(plan.delimiter, ragged, quotes=plan.quotes)
    if plan.repairs:
        read_options.encoding = "utf8"
        opened = repaired_stream(source, encoding=plan.encoding, repairs=plan.repairs)
    else:
        opened = _open_stream(source.path, source.compression, source.limits)
    with opened as stream:
        reader = pacsv.open_csv(
            stream,
            read_options=read_options,
            parse_options=parse_options,
            convert_options=convert_options,
        )
        if target is None:
            return reader.read_all()
        refinement = Refinement(
            late_columns=plan.late_columns, numbers=plan.numbers, pins=plan.pins
        )
        return stream_batches(
            reader,
            reader.schema,
            target=target,
            refinement=refinement,
            budget=source.limits.stream_after_bytes,
            shape=plan.shape if _should_check_quotes(plan) else None,
        )


def _replan_after_error(plan: _CsvPlan, exc: pa.ArrowInvalid) -> _CsvPlan:
    message = str(exc)
    if "straddling" in message and plan.block_size < _MAX_BLOCK_BYTES:
        return replace(plan, block_size=plan.block_size * 4)
    match = _CONVERSION_ERROR.search(message)
    if match is None:
        raise IngestError(UNREADABLE_FILE.format(format="CSV", reason=_reason(exc))) from None
    if "invalid UTF8" in match.group(2):
        return _next_encoding(plan)
    name = plan.names[int(match.group(1))]
    value = _INVALID_VALUE.search(match.group(2))
    wider = _wider_type(plan.types[name], value.group(1) if value else "")
    if wider == plan.types[name]:
        raise IngestError(UNREADABLE_FILE.format(format="CSV", reason=_reason(exc))) from None
    # A column that becomes text gets a second look afterwards, as if empty in the head.
    late = plan.late_columns | {name} if pa.types.is_string(wider) else plan.late_columns
    return replace(plan, types={**plan.types, name: wider}, late_columns=late)


def _wider_type(current: pa.DataType, value: str) -> pa.DataType:
    if pa.types.is_integer(current):
        try:
            float(value)
        except ValueError:
            return pa.string()
        return pa.float64()
    return pa.string()


def _next_encoding(plan: _CsvPlan) -> _CsvPlan:
    """A later part of the file is not in the sniffed encoding: try the next fallback, which
    the studio can no longer be sure of. Japanese text read as Western letters would be
    garbled throughout, so a Shift-JIS file with a foreign part is refused instead."""
    name = encoding_name(plan.encoding)
    if plan.encoding_explicit:
        raise IngestError(UNDECODABLE.format(encoding=name)) from None
    fallback = {"utf-8": "cp1252", "cp1252": "latin-1"}.get(plan.encoding)
    if fallback is None:
        raise IngestError(MIXED_ENCODING.format(encoding=name)) from None
    return replace(plan, encoding=fallback, encoding_sure=False)


def _csv_warnings(plan: _CsvPlan, ragged: _RaggedRows) -> list[str]:
    warnings = []
    if not plan.encoding_explicit:
        name = encoding_name(plan.encoding)
        if not plan.encoding_sure:
            warnings.append(ENCODING_UNCERTAIN_WARNING.format(encoding=name))
        elif not plan.encoding.startswith("utf"):
            warnings.append(ENCODING_WARNING.format(encoding=name))
    if ragged.count:
        lines = ", ".join(str(line) for line in ragged.lines)
        more = ", ..." if ragged.count > len(ragged.lines) else ""
        width = len(plan.names)
        warnings.append(
            SKIPPED_ROWS_WARNING.format(count=ragged.count, width=width, lines=lines + more)
        )
        if ragged.line_breaks:
            covered = ragged.count + ragged.line_breaks
            warnings.append(SKIPPED_LINES_WARNING.format(lines=covered))
    if plan.repairs:
        warnings.append(repaired_warning(plan.repairs))
    if plan.renames:
        warnings.append(_renamed_warning(plan.renames))
    return warnings
