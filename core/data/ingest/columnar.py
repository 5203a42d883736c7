"""Reading self-describing files with pyarrow: Parquet (whole, or streamed) and JSON lines."""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pyarrow as pa
import pyarrow.json as pajson
import pyarrow.parquet as pq

from core.data.ingest.messages import (
    CORRUPT_PARQUET,
    INVALID_JSON_LINE,
    JSON_LINE_NOT_UTF8,
    JSON_MIXED_TYPES,
    UNREADABLE_FILE,
    IngestError,
    _reason,
)
from core.data.ingest.refine import _refine_columns
from core.data.ingest.report import (
    IngestReport,
    IngestResult,
    _check_columns,
    _check_rows,
    _renamed_warning,
    fix_column_names,
)
from core.data.ingest.sources import _HEAD_BYTES, _open_binary, _open_stream, _Source
from core.data.ingest.stream import (
    ImportedFile,
    Refinement,
    StreamedTable,
    stream_batches,
    written_whole,
)

_JSON_CONFLICT = re.compile(r"Column\((/[^)]*)\) changed from")
_JSON_BLOCK_BYTES = 16 << 20
_MAX_JSON_BLOCK_BYTES = 1 << 30
_PARQUET_BATCH_ROWS = 64 * 1024


def _read_parquet(source: _Source) -> IngestResult:
    with _local_copy(source) as path:
        try:
            with pq.ParquetFile(path) as parquet:
                _check_columns(len(parquet.schema_arrow), source.limits)
                table = parquet.read()
        except (pa.ArrowException, OSError):
            raise IngestError(CORRUPT_PARQUET) from None
    return _parquet_result(source, table)


def _parquet_result(source: _Source, table: pa.Table) -> IngestResult:
    _check_rows(table.num_rows, 0)
    names, renames = fix_column_names(table.column_names)
    table, notes = _refine_columns(table.rename_columns(names), text=False)
    warnings = ([_renamed_warning(renames)] if renames else []) + notes
    report = _plain_report("parquet", source, table.shape, renames, warnings)
    return IngestResult(table=table, report=report)


def _import_parquet(source: _Source, target: Path) -> ImportedFile:
    """The file written to ``target``: read whole when small (as read_table reads it), else
    copied batch by batch, a row group at a time, so a Parquet file bigger than memory
    imports too."""
    with _local_copy(source) as path:
        try:
            # Pre-buffering would keep every row group it read in memory until the end.
            parquet = pq.ParquetFile(path, pre_buffer=False)
        except (pa.ArrowException, OSError):
            raise IngestError(CORRUPT_PARQUET) from None
        with parquet:
            _check_columns(len(parquet.schema_arrow), source.limits)
            metadata = parquet.metadata
            groups = range(metadata.num_row_groups)
            size = sum(metadata.row_group(index).total_byte_size for index in groups)
            if size >= source.limits.stream_after_bytes:
                return _stream_parquet(source, parquet, target)
    return written_whole(_read_parquet(source), target)


def _stream_parquet(source: _Source, parquet: pq.ParquetFile, target: Path) -> ImportedFile:
    names, renames = fix_column_names(parquet.schema_arrow.names)
    schema = pa.schema(
        [field.with_name(name) for field, name in zip(parquet.schema_arrow, names, strict=True)]
    )
    streamed = stream_batches(
        _parquet_batches(parquet, names),
        schema,
        target=target,
        refinement=Refinement(text=False),
        budget=0,
    )
    assert isinstance(streamed, StreamedTable)
    _check_rows(streamed.rows, 0)
    warnings = ([_renamed_warning(renames)] if renames else []) + streamed.notes
    shape = (streamed.rows, streamed.columns)
    report = _plain_report("parquet", source, shape, renames, warnings)
    return ImportedFile(report=report, schema=streamed.schema, streamed=True)


def _parquet_batches(parquet: pq.ParquetFile, names: list[str]) -> Iterator[pa.RecordBatch]:
    """Each row group's batches under the fixed names; damage found on the way is reported
    as a damaged file."""
    batches = parquet.iter_batches(batch_size=_PARQUET_BATCH_ROWS)
    while True:
        try:
            batch = next(batches)
        except StopIteration:
            return
        except (pa.ArrowException, OSError):
            raise IngestError(CORRUPT_PARQUET) from None
        yield batch.rename_columns(names)


@contextmanager
def _local_copy(source: _Source) -> Iterator[Path]:
    """Parquet needs random access, so a gzipped one is unpacked to a temp file first."""
    if source.compression is None:
        yield source.path
        return
    with tempfile.TemporaryDirectory(prefix="mlops-studio-ingest-") as folder:
        target = Path(folder) / "unpacked.parquet"
        with (
            _open_stream(source.path, source.compression, source.limits) as stream,
            target.open("wb") as out,
        ):
            shutil.copyfileobj(stream, out, _HEAD_BYTES)
        yield target


def _read_jsonl(source: _Source) -> IngestResult:
    table = _parse_jsonl(source)
    _check_columns(table.num_columns, source.limits)
    _check_rows(table.num_rows, 0)
    names, renames = fix_column_names(table.column_names)
    table, notes = _refine_columns(table.rename_columns(names))
    warnings = ([_renamed_warning(renames)] if renames else []) + notes
    report = _plain_report("jsonl", source, table.shape, renames, warnings, encoding="utf-8")
    return IngestResult(table=table, report=report)


def _parse_jsonl(source: _Source) -> pa.Table:
    """The whole file; a line longer than a parse block is read again in bigger blocks."""
    block_size = _JSON_BLOCK_BYTES
    while True:
        try:
            with _open_stream(source.path, source.compression, source.limits) as stream:
                options = pajson.ReadOptions(block_size=block_size)
                table = pajson.read_json(stream, read_options=options)
            table.validate(full=True)  # the JSON reader does not check that strings are UTF-8
            return table
        except pa.ArrowInvalid as exc:
            if "straddling" in str(exc) and block_size < _MAX_JSON_BLOCK_BYTES:
                block_size *= 4
                continue
            raise _jsonl_error(source, exc) from None


def _jsonl_error(source: _Source, exc: pa.ArrowInvalid) -> IngestError:
    """Name the first line that is not a JSON object, else explain pyarrow's complaint."""
    problem = _first_bad_json_line(source)
    if problem is not None:
        return IngestError(problem)
    conflict = _JSON_CONFLICT.search(str(exc))
    if conflict:
        field_name = conflict.group(1).strip("/").replace("/", ".")
        return IngestError(JSON_MIXED_TYPES.format(field=field_name))
    return IngestError(UNREADABLE_FILE.format(format="JSON-lines", reason=_reason(exc)))


def _first_bad_json_line(source: _Source) -> str | None:
    with _open_binary(source) as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except UnicodeDecodeError:
                return JSON_LINE_NOT_UTF8.format(line=number)
            except ValueError:
                return INVALID_JSON_LINE.format(line=number)
            if not isinstance(value, dict):
                return INVALID_JSON_LINE.format(line=number)
    return None


def _plain_report(
    kind: str,
    source: _Source,
    shape: tuple[int, int],
    renames: Sequence[tuple[str, str]],
    warnings: Sequence[str],
    *,
    encoding: str | None = None,
) -> IngestReport:
    return IngestReport(
        format=kind,
        compression=source.compression,
        encoding=encoding,
        delimiter=None,
        rows=shape[0],
        columns=shape[1],
        skipped_rows=0,
        skipped_row_lines=(),
        renamed_columns=tuple(renames),
        warnings=tuple(warnings),
    )
