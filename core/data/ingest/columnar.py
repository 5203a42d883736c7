"""Reading self-describing files whole with pyarrow: Parquet and JSON lines."""

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

_JSON_CONFLICT = re.compile(r"Column\((/[^)]*)\) changed from")
_JSON_BLOCK_BYTES = 16 << 20
_MAX_JSON_BLOCK_BYTES = 1 << 30


def _read_parquet(source: _Source) -> IngestResult:
    with _local_copy(source) as path:
        try:
            with pq.ParquetFile(path) as parquet:
                _check_columns(len(parquet.schema_arrow), source.limits)
                table = parquet.read()
        except (pa.ArrowException, OSError):
            raise IngestError(CORRUPT_PARQUET) from None
    _check_rows(table.num_rows, 0)
    names, renames = fix_column_names(table.column_names)
    table, notes = _refine_columns(table.rename_columns(names), text=False)
    warnings = ([_renamed_warning(renames)] if renames else []) + notes
    report = _plain_report("parquet", source, table, renames, warnings)
    return IngestResult(table=table, report=report)


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
    report = _plain_report("jsonl", source, table, renames, warnings, encoding="utf-8")
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
    table: pa.Table,
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
        rows=table.num_rows,
        columns=table.num_columns,
        skipped_rows=0,
        skipped_row_lines=(),
        renamed_columns=tuple(renames),
        warnings=tuple(warnings),
    )
