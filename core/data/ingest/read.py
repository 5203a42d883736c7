"""The import entry points: read_table and import_file pick the reader for an upload's format."""

from __future__ import annotations

from pathlib import Path

from core.data.ingest.columnar import _import_parquet, _read_jsonl, _read_parquet
from core.data.ingest.delimited import _import_csv, _read_csv, _TextOptions
from core.data.ingest.report import IngestResult
from core.data.ingest.sources import (
    _GZIP_MAGIC,
    DEFAULT_LIMITS,
    ImportLimits,
    _check_size,
    _detect_format,
    _inner_name,
    _open_stream,
    _read_head,
    _Source,
    _starts_with,
)
from core.data.ingest.stream import ImportedFile, written_whole


def read_table(
    path: Path,
    *,
    file_name: str | None = None,
    delimiter: str | None = None,
    encoding: str | None = None,
    decimal: str | None = None,
    quotes: str | None = None,
    limits: ImportLimits = DEFAULT_LIMITS,
) -> IngestResult:
    """Read a CSV/TSV, Parquet or JSON-lines file (optionally gzipped) into an Arrow table.

    ``file_name`` is the user's original name (uploads are saved under a temp name); it and the
    file's first bytes decide the format. ``delimiter``, ``encoding`` and ``decimal`` (the
    decimal mark, "." or ",") override sniffing for text files. ``quotes`` says how CSV quote
    marks are read: "detect" (the default) encloses values in them, but reads one that opens
    a value and never closes on its row, swallowing the rows below, as a plain character and
    says so in the report; "always" encloses values in every one; "never" reads them all as
    plain characters. ``ImportLimits.from_env()``
    gives limits that honour MLOPS_STUDIO_MAX_IMPORT_MB. Raises :class:`IngestError` with a
    user-facing message for bad input.

    The encoding is read from a byte-order mark, else tried in turn (UTF-8, Shift-JIS,
    Windows-1252, Latin-1) and checked for text that looks garbled; a report warning says when
    the file was not UTF-8 and when the encoding is uncertain. CSV types are inferred from the
    first megabyte, then the file is streamed with those types (low memory); if a later row
    breaks a type, that column is widened and the file re-read. Numbers written with decimal
    commas or thousands separators (``1.234,56``, ``3,5``, ``1,234,567.89``, ``1 234``) become
    numbers as a spreadsheet would read them, with one warning per decimal mark that names the
    columns. Afterwards, text columns that are clearly dates (>= 95% parse with one format)
    become timestamps, clearly yes/no or true/false text becomes bool, and all-null columns
    become strings. Numbers with currency signs stay text.
    """
    source, kind, name, (head, at_eof) = _opened(Path(path), file_name, limits)
    if kind == "parquet":
        return _read_parquet(source)
    if kind == "jsonl":
        return _read_jsonl(source)
    options = _TextOptions(
        delimiter=delimiter,
        encoding=encoding,
        tsv=name.endswith(".tsv"),
        decimal=decimal,
        quotes=quotes,
    )
    return _read_csv(source, head=head, at_eof=at_eof, options=options)


def import_file(
    path: Path,
    *,
    target: Path,
    file_name: str | None = None,
    delimiter: str | None = None,
    encoding: str | None = None,
    decimal: str | None = None,
    quotes: str | None = None,
    limits: ImportLimits = DEFAULT_LIMITS,
) -> ImportedFile:
    """Read a file as :func:`read_table` does and write it to ``target`` as Parquet.

    A CSV or Parquet file whose parsed rows outgrow ``limits.stream_after_bytes`` is never
    held whole: it is written batch by batch, and its row count and column schema are added
    up on the way (see ``core.data.ingest.stream``). Smaller files, and JSON lines, are read
    whole and give exactly what :func:`read_table` gives.
    """
    source, kind, name, (head, at_eof) = _opened(Path(path), file_name, limits)
    if kind == "parquet":
        return _import_parquet(source, target)
    if kind == "jsonl":
        return written_whole(_read_jsonl(source), target)
    options = _TextOptions(
        delimiter=delimiter,
        encoding=encoding,
        tsv=name.endswith(".tsv"),
        decimal=decimal,
        quotes=quotes,
    )
    return _import_csv(source, head=head, at_eof=at_eof, options=options, target=target)


def _opened(
    path: Path, file_name: str | None, limits: ImportLimits
) -> tuple[_Source, str, str, tuple[bytes, bool]]:
    """The upload as a source, its format, its inner name and its head (and whether that is
    all of it)."""
    _check_size(path, limits)
    compression = "gzip" if _starts_with(path, _GZIP_MAGIC) else None
    with _open_stream(path, compression, limits) as stream:
        head, at_eof = _read_head(stream)
    name = _inner_name(file_name or path.name)
    source = _Source(path=path, compression=compression, limits=limits)
    return source, _detect_format(head, name), name, (head, at_eof)
