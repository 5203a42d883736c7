"""Turn an uploaded CSV/TSV, Parquet or JSON-lines file (maybe gzipped) into an Arrow table."""

from __future__ import annotations

import codecs
import csv
import gzip
import json
import re
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.json as pajson
import pyarrow.parquet as pq

from core import settings

MAX_IMPORT_MB_ENV = settings.MAX_IMPORT_MB_ENV
_SUPPORTED = "Upload a CSV, TSV, Parquet or JSON-lines file."
_RAISE_LIMIT = (
    f"Upload a smaller file, or raise the limit by setting the environment variable "
    f"{MAX_IMPORT_MB_ENV} (in megabytes) before starting the studio."
)

# User-facing error messages. Templates are filled with str.format; tests assert on them.
EMPTY_FILE = "The file is empty. Choose a file with a header row and at least one row of data."
NO_DATA_ROWS = (
    "The file has a header but no data rows. "
    "Add at least one row of data below the header and upload it again."
)
NOT_A_TABLE = "This looks like {kind}, not a table. " + _SUPPORTED
EXCEL_FILE = (
    "This looks like an Excel workbook, which cannot be imported directly. "
    "In Excel choose File > Save As > CSV, then upload the CSV file."
)
JSON_DOCUMENT = (
    "This is a single JSON document, not JSON lines (one object per line). "
    "Save it as JSON lines or CSV and upload it again."
)
BINARY_FILE = "This file contains binary data, not text, so it is not a CSV table. " + _SUPPORTED
FILE_TOO_LARGE = "The file is {size}, over the import limit of {cap}. " + _RAISE_LIMIT
UNPACKED_TOO_LARGE = "The file unpacks to more than the import limit of {cap}. " + _RAISE_LIMIT
TOO_MANY_COLUMNS = (
    "The file has {columns:,} columns, more than the limit of {limit:,}. "
    "Remove the columns you do not need and upload it again."
)
UNDECODABLE = (
    "The file could not be read as {encoding} text. Choose another encoding "
    "(for example utf-8, cp1252 or latin-1), or leave the encoding on automatic."
)
UNKNOWN_ENCODING = (
    "The encoding '{encoding}' is not one the studio knows. "
    "Choose one such as utf-8, utf-16, cp1252 or latin-1."
)
INVALID_DELIMITER = (
    "The delimiter must be one character such as ',', ';', '|' or a tab, not {delimiter!r}. "
    "Choose one of those, or leave the delimiter on automatic."
)
INCONSISTENT_DELIMITER = (
    "Most rows ({skipped:,} of {total:,}) do not have the same number of fields as the header, "
    "so the delimiter looks inconsistent. Choose the delimiter explicitly "
    "(',', ';', tab or '|') and import again."
)
BAD_GZIP = (
    "The file is gzip-compressed but damaged or incomplete, so it cannot be unpacked. "
    "Compress it again and upload the new file."
)
CORRUPT_PARQUET = (
    "The Parquet file is damaged or incomplete and cannot be read. "
    "Export it again from its source and upload the new file."
)
INVALID_JSON_LINE = (
    "Line {line} of the JSON-lines file is not a valid JSON object. "
    "Fix or remove that line and upload the file again."
)
JSON_LINE_NOT_UTF8 = (
    "Line {line} of the JSON-lines file is not UTF-8 text. "
    "Save the file as UTF-8 and upload it again."
)
JSON_MIXED_TYPES = (
    "In the JSON-lines file, field '{field}' holds different kinds of values on different lines "
    "(for example numbers and text). Make each field hold one kind of value, or export as CSV."
)
UNREADABLE_FILE = "The file could not be read as a {format} table ({reason}). " + _SUPPORTED

# User-facing warnings kept in the report.
SKIPPED_ROWS_WARNING = (
    "Skipped {count:,} row(s) whose number of fields differs from the header's {width:,} "
    "(lines {lines})."
)
RENAMED_COLUMNS_WARNING = (
    "Renamed {count:,} column(s) so that every name is unique and not blank: {pairs}."
)
ENCODING_WARNING = (
    "The file is not UTF-8 text, so it was read as {encoding}. "
    "If letters look wrong, choose the encoding explicitly."
)
DATE_GAPS_WARNING = (
    "Column '{column}' was read as dates ({format}); {count:,} value(s) that are not dates "
    "in that format were left empty."
)
AMBIGUOUS_DATES_WARNING = (
    "Column '{column}' has dates that could be day/month or month/day; they were read as {format}."
)

_HEAD_BYTES = 1 << 20
_MAX_HEADER_BYTES = 64 << 20
_MAX_BLOCK_BYTES = 1 << 30
_MAX_REPORTED_LINES = 20
_SNIFF_LINES = 500
_DELIMITERS = (",", ";", "\t", "|")
_PARQUET_SUFFIXES = (".parquet", ".pq", ".parq")
_JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json")
_CSV_SUFFIXES = (".csv", ".tsv", ".tab", ".txt", ".psv", ".dat")
_EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls")
_GZIP_MAGIC = b"\x1f\x8b"
_PARQUET_MAGIC = b"PAR1"
_FOREIGN_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive"),
    (b"PK\x05\x06", "a ZIP archive"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "a Microsoft Office document"),
    (b"SQLite format 3\x00", "an SQLite database"),
)
_ENCODING_NAMES = {"iso8859-1": "latin-1", "utf-8-sig": "utf-8", "utf-16-le": "utf-16-le"}
_CONVERSION_ERROR = re.compile(
    r"In CSV column #(\d+): (?:Row #\d+: )?CSV conversion error to [^:]+: (.*)", re.S
)
_INVALID_VALUE = re.compile(r"invalid value '(.*)'", re.S)
_JSON_CONFLICT = re.compile(r"Column\((/[^)]*)\) changed from")
_DATE_LIKE = re.compile(
    r"^\d{1,4}[-/.]\d{1,2}[-/.]\d{2,4}\b|^\d{1,2}[ -][A-Za-z]{3,9}[ -]\d{2,4}"
    r"|^[A-Za-z]{3,9} \d{1,2},? \d{4}"
)
_ISO_DATE = r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)?$"
_ISO = "ISO"
_DATE_FORMATS = (
    _ISO,
    "%d/%m/%Y",
    "%m/%d/%Y",
    "%d/%m/%Y %H:%M",
    "%m/%d/%Y %H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M:%S",
    "%d/%m/%y",
    "%m/%d/%y",
    "%Y/%m/%d",
    "%Y/%m/%d %H:%M:%S",
    "%d.%m.%Y",
    "%d.%m.%Y %H:%M",
    "%d-%m-%Y",
    "%m-%d-%Y",
    "%d %b %Y",
    "%d-%b-%Y",
    "%d %B %Y",
    "%b %d, %Y",
    "%B %d, %Y",
)
_FORMAT_NAMES = {"%d": "dd", "%m": "mm", "%Y": "yyyy", "%y": "yy", "%H": "HH", "%M": "MM"}
_FORMAT_NAMES |= {"%S": "SS", "%b": "Mon", "%B": "Month"}
_BOOLEAN_WORDS = (("true", "false"), ("yes", "no"), ("y", "n"), ("t", "f"))
_DATE_SHARE = 0.95
_TIMESTAMP = pa.timestamp("us")


@dataclass(frozen=True)
class ImportLimits:
    """Caps that keep one upload from exhausting the machine."""

    max_bytes: int = 1024 * 1024 * 1024
    max_columns: int = 20_000

    @classmethod
    def from_env(cls) -> ImportLimits:
        """The limits configured in the environment (see core.settings)."""
        return cls(
            max_bytes=settings.max_import_mb() * 1024 * 1024, max_columns=settings.max_columns()
        )


@dataclass(frozen=True)
class IngestReport:
    """What the import found and changed, for the user and for the dataset record.

    ``format`` is "csv" (also TSV and other delimiters), "parquet" or "jsonl". ``encoding`` and
    ``delimiter`` are None where they do not apply. ``skipped_row_lines`` holds the first 20 CSV
    record numbers of skipped ragged rows (header = 1); they equal line numbers unless a quoted
    value spans lines. ``renamed_columns`` pairs are ``(original, new)``.
    """

    format: str
    compression: str | None
    encoding: str | None
    delimiter: str | None
    rows: int
    columns: int
    skipped_rows: int
    skipped_row_lines: tuple[int, ...]
    renamed_columns: tuple[tuple[str, str], ...]
    warnings: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data; each rename becomes ``{"original": ..., "new": ...}``."""
        return {
            "format": self.format,
            "compression": self.compression,
            "encoding": self.encoding,
            "delimiter": self.delimiter,
            "rows": self.rows,
            "columns": self.columns,
            "skipped_rows": self.skipped_rows,
            "skipped_row_lines": list(self.skipped_row_lines),
            "renamed_columns": [{"original": o, "new": n} for o, n in self.renamed_columns],
            "warnings": list(self.warnings),
        }


@dataclass(frozen=True)
class IngestResult:
    """The imported table and the report on how it was read."""

    table: pa.Table
    report: IngestReport


class IngestError(ValueError):
    """The message is a complete user-facing sentence: what was wrong and what to do."""


DEFAULT_LIMITS = ImportLimits()


def read_table(
    path: Path,
    *,
    file_name: str | None = None,
    delimiter: str | None = None,
    encoding: str | None = None,
    limits: ImportLimits = DEFAULT_LIMITS,
) -> IngestResult:
    """Read a CSV/TSV, Parquet or JSON-lines file (optionally gzipped) into an Arrow table.

    ``file_name`` is the user's original name (uploads are saved under a temp name); it and the
    file's first bytes decide the format. ``delimiter`` and ``encoding`` override sniffing for
    text files. ``ImportLimits.from_env()`` gives limits that honour MLOPS_STUDIO_MAX_IMPORT_MB.
    Raises :class:`IngestError` with a user-facing message for bad input.

    CSV types are inferred from the first megabyte, then the file is streamed with those types
    (low memory); if a later row breaks a type, that column is widened and the file re-read.
    Afterwards, text columns that are clearly dates (>= 95% parse with one format) become
    timestamps, clearly yes/no or true/false text becomes bool, and all-null columns become
    strings. Numbers with thousands separators or currency signs stay text.
    """
    path = Path(path)
    _check_size(path, limits)
    compression = "gzip" if _starts_with(path, _GZIP_MAGIC) else None
    with _open_stream(path, compression, limits) as stream:
        head, at_eof = _read_head(stream)
    name = _inner_name(file_name or path.name)
    source = _Source(path=path, compression=compression, limits=limits)
    kind = _detect_format(head, name)
    if kind == "parquet":
        return _read_parquet(source)
    if kind == "jsonl":
        return _read_jsonl(source)
    options = _TextOptions(delimiter=delimiter, encoding=encoding, tsv=name.endswith(".tsv"))
    return _read_csv(source, head=head, at_eof=at_eof, options=options)


# --- reading bytes -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Source:
    path: Path
    compression: str | None
    limits: ImportLimits


class _CappedStream:
    """A read-only stream that stops once more than ``limit`` unpacked bytes have been read."""

    def __init__(self, raw: Any, limit: int) -> None:
        self._raw = raw
        self._limit = limit
        self._seen = 0
        self.closed = False

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size) if size >= 0 else self._raw.read()
        self._seen += len(data)
        if self._seen > self._limit:
            raise IngestError(UNPACKED_TOO_LARGE.format(cap=_format_bytes(self._limit)))
        return bytes(data)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def close(self) -> None:
        self.closed = True


@contextmanager
def _open_stream(path: Path, compression: str | None, limits: ImportLimits) -> Iterator[Any]:
    raw = pa.OSFile(str(path), "rb")
    try:
        if compression == "gzip":
            yield _CappedStream(pa.CompressedInputStream(raw, "gzip"), limits.max_bytes)
        else:
            yield raw
    except OSError as exc:
        if compression == "gzip":
            raise IngestError(BAD_GZIP) from exc
        raise
    finally:
        raw.close()


def _read_head(stream: Any) -> tuple[bytes, bool]:
    """The first megabyte or so, extended until the header line is complete; and whether EOF."""
    parts: list[bytes] = []
    size = 0
    while True:
        chunk = stream.read(_HEAD_BYTES)
        if not chunk:
            return b"".join(parts), True
        parts.append(chunk)
        size += len(chunk)
        if size >= _HEAD_BYTES and (b"\n" in chunk or size >= _MAX_HEADER_BYTES):
            return b"".join(parts), False


def _starts_with(path: Path, magic: bytes) -> bool:
    with path.open("rb") as handle:
        return handle.read(len(magic)) == magic


def _check_size(path: Path, limits: ImportLimits) -> None:
    size = path.stat().st_size
    if size == 0:
        raise IngestError(EMPTY_FILE)
    if size > limits.max_bytes:
        cap = _format_bytes(limits.max_bytes)
        raise IngestError(FILE_TOO_LARGE.format(size=_format_bytes(size), cap=cap))


def _format_bytes(size: int) -> str:
    for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if size >= scale:
            return f"{size / scale:,.1f} {unit}"
    return f"{size:,} bytes"


def _inner_name(name: str) -> str:
    lowered = name.lower().strip()
    for suffix in (".gz", ".gzip"):
        if lowered.endswith(suffix):
            return lowered[: -len(suffix)]
    return lowered


# --- format detection ----------------------------------------------------------------------


def _detect_format(head: bytes, name: str) -> str:
    if not head.strip(b" \t\r\n\x00" + codecs.BOM_UTF8 + codecs.BOM_UTF16_LE + b"\xfe"):
        raise IngestError(EMPTY_FILE)
    _reject_foreign(head, name)
    if head.startswith(_PARQUET_MAGIC):
        return "parquet"
    if name.endswith(_PARQUET_SUFFIXES):
        raise IngestError(CORRUPT_PARQUET)
    first = head.lstrip(codecs.BOM_UTF8 + b" \t\r\n")[:1]
    if name.endswith(_JSONL_SUFFIXES) or (first == b"{" and not name.endswith(_CSV_SUFFIXES)):
        if first == b"[":
            raise IngestError(JSON_DOCUMENT)
        return "jsonl"
    return "csv"


def _reject_foreign(head: bytes, name: str) -> None:
    for magic, kind in _FOREIGN_MAGIC:
        if head.startswith(magic):
            if name.endswith(_EXCEL_SUFFIXES):
                raise IngestError(EXCEL_FILE)
            raise IngestError(NOT_A_TABLE.format(kind=kind))


# --- CSV -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _TextOptions:
    delimiter: str | None
    encoding: str | None
    tsv: bool


@dataclass(frozen=True)
class _CsvPlan:
    """Everything the streaming parse needs; a failed parse returns an adjusted copy."""

    encoding: str
    encoding_explicit: bool
    delimiter: str
    names: tuple[str, ...]
    renames: tuple[tuple[str, str], ...]
    types: dict[str, pa.DataType] = field(hash=False)
    late_columns: frozenset[str]
    skip_rows: int
    block_size: int


class _RaggedRows:
    """invalid_row_handler for pyarrow: skip the row, remember how many and where."""

    def __init__(self) -> None:
        self.count = 0
        self.lines: list[int] = []

    def __call__(self, row: Any) -> str:
        self.count += 1
        if len(self.lines) < _MAX_REPORTED_LINES and row.number is not None:
            self.lines.append(int(row.number))
        return "skip"


def _read_csv(source: _Source, *, head: bytes, at_eof: bool, options: _TextOptions) -> IngestResult:
    plan = _plan_csv(head, at_eof=at_eof, options=options, limits=source.limits)
    table, ragged, plan = _parse_csv(source, plan)
    _check_rows(table.num_rows, ragged.count)
    table, notes = _refine_columns(table, late_columns=plan.late_columns)
    warnings = _csv_warnings(plan, ragged) + notes
    report = IngestReport(
        format="csv",
        compression=source.compression,
        encoding=_ENCODING_NAMES.get(plan.encoding, plan.encoding),
        delimiter=plan.delimiter,
        rows=table.num_rows,
        columns=table.num_columns,
        skipped_rows=ragged.count,
        skipped_row_lines=tuple(ragged.lines),
        renamed_columns=plan.renames,
        warnings=tuple(warnings),
    )
    return IngestResult(table=table, report=report)


def _plan_csv(
    head: bytes, *, at_eof: bool, options: _TextOptions, limits: ImportLimits
) -> _CsvPlan:
    explicit = options.encoding is not None
    encoding = _check_encoding(options.encoding) if options.encoding else _sniff_encoding(head)
    _reject_binary(head, encoding)
    text = _decode_head(head, encoding, at_eof=at_eof)
    lines = [line for line in text.splitlines(keepends=True)[:_SNIFF_LINES] if line.strip()]
    if not lines:
        raise IngestError(EMPTY_FILE)
    delimiter = _check_delimiter(options.delimiter) or _sniff_delimiter(lines, tsv=options.tsv)
    skip_rows = _leading_blank_lines(text)
    header = _parse_header(lines, delimiter)
    if len(header) > limits.max_columns:
        columns, limit = len(header), limits.max_columns
        raise IngestError(TOO_MANY_COLUMNS.format(columns=columns, limit=limit))
    names, renames = fix_column_names(header)
    types = _sample_types(text, names=names, delimiter=delimiter, skip_rows=skip_rows)
    late = frozenset(name for name, kind in types.items() if pa.types.is_null(kind))
    types = {name: pa.string() if name in late else kind for name, kind in types.items()}
    return _CsvPlan(
        encoding=encoding,
        encoding_explicit=explicit,
        delimiter=delimiter,
        names=tuple(names),
        renames=tuple(renames),
        types=types,
        late_columns=late,
        skip_rows=skip_rows,
        block_size=max(_HEAD_BYTES, 4 * len(lines[0].encode("utf-8"))),
    )


def _check_encoding(encoding: str) -> str:
    try:
        name = codecs.lookup(encoding.strip()).name
    except LookupError:
        raise IngestError(UNKNOWN_ENCODING.format(encoding=encoding)) from None
    return "utf-8" if name == "utf-8-sig" else name


def _sniff_encoding(head: bytes) -> str:
    """BOM first, then UTF-16 without a BOM, then strict UTF-8, cp1252 and finally latin-1."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    bomless = _bomless_utf16(head)
    if bomless:
        return bomless
    for candidate in ("utf-8", "cp1252"):
        try:
            codecs.getincrementaldecoder(candidate)().decode(head, final=False)
        except UnicodeDecodeError:
            continue
        return candidate
    return "latin-1"


def _bomless_utf16(head: bytes) -> str | None:
    sample = head[:4096]
    even, odd = sample[0::2], sample[1::2]
    if len(odd) < 8:
        return None
    if odd.count(0) > 0.4 * len(odd) and even.count(0) < 0.05 * len(even):
        return "utf-16-le"
    if even.count(0) > 0.4 * len(even) and odd.count(0) < 0.05 * len(odd):
        return "utf-16-be"
    return None


def _reject_binary(head: bytes, encoding: str) -> None:
    if b"\x00" in head[:65536] and not encoding.startswith(("utf-16", "utf-32", "utf_16")):
        raise IngestError(BINARY_FILE)


def _decode_head(head: bytes, encoding: str, *, at_eof: bool) -> str:
    codec = "utf-8-sig" if encoding == "utf-8" else encoding
    try:
        text = codecs.getincrementaldecoder(codec)().decode(head, final=at_eof)
    except UnicodeDecodeError:
        raise IngestError(UNDECODABLE.format(encoding=encoding)) from None
    if not at_eof:
        text = text[: text.rfind("\n") + 1] or text
    return text


def _check_delimiter(delimiter: str | None) -> str | None:
    if delimiter is None:
        return None
    value = {"\\t": "\t", "tab": "\t"}.get(delimiter.lower(), delimiter)
    if len(value) != 1 or value in '"\r\n':
        raise IngestError(INVALID_DELIMITER.format(delimiter=delimiter))
    return value


def _sniff_delimiter(lines: list[str], *, tsv: bool) -> str:
    """The candidate whose header has 2+ fields and that most sample lines agree with."""
    order = ("\t", *_DELIMITERS[:2], "|") if tsv else _DELIMITERS
    best, best_score = ",", (0, 0, 0)
    for rank, candidate in enumerate(reversed(order)):
        try:
            rows = list(csv.reader(lines, delimiter=candidate))
        except csv.Error:
            continue
        width = len(rows[0])
        if width < 2:
            continue
        score = (sum(len(row) == width for row in rows[1:]), width, rank)
        if score > best_score:
            best, best_score = candidate, score
    return best


def _leading_blank_lines(text: str) -> int:
    count = 0
    for line in text.splitlines():
        if line.strip():
            break
        count += 1
    return count


def _parse_header(lines: list[str], delimiter: str) -> list[str]:
    try:
        return next(csv.reader(lines, delimiter=delimiter))
    except csv.Error as exc:
        raise IngestError(UNREADABLE_FILE.format(format="CSV", reason=str(exc))) from None


def fix_column_names(names: Sequence[str]) -> tuple[list[str], list[tuple[str, str]]]:
    """Strip names, name blanks ``column_<n>`` and number duplicates ``name_2``, ``name_3``.

    Returns the new names and the ``(original, new)`` pairs that changed.
    """
    stripped = [name.strip() or f"column_{index}" for index, name in enumerate(names, 1)]
    taken = set(stripped)
    seen: set[str] = set()
    fixed: list[str] = []
    for name in stripped:
        new = name
        if name in seen:
            suffix = 2
            while f"{name}_{suffix}" in taken or f"{name}_{suffix}" in seen:
                suffix += 1
            new = f"{name}_{suffix}"
        seen.add(new)
        fixed.append(new)
    renames = [(old, new) for old, new in zip(names, fixed, strict=True) if old != new]
    return fixed, renames


def _sample_types(
    text: str, *, names: list[str], delimiter: str, skip_rows: int
) -> dict[str, pa.DataType]:
    """Let pyarrow infer column types from the decoded head of the file."""
    sample = text.encode("utf-8")
    read_options = pacsv.ReadOptions(
        column_names=names,
        skip_rows=skip_rows,
        skip_rows_after_names=1,
        use_threads=False,
        block_size=max(len(sample) + 1, _HEAD_BYTES),
    )
    try:
        table = pacsv.read_csv(
            pa.py_buffer(sample),
            read_options=read_options,
            parse_options=_parse_options(delimiter, _RaggedRows()),
            convert_options=pacsv.ConvertOptions(strings_can_be_null=True),
        )
    except pa.ArrowInvalid as exc:
        raise IngestError(UNREADABLE_FILE.format(format="CSV", reason=_reason(exc))) from None
    return {f.name: f.type for f in table.schema}


def _parse_options(delimiter: str, ragged: _RaggedRows) -> pacsv.ParseOptions:
    return pacsv.ParseOptions(
        delimiter=delimiter, newlines_in_values=True, invalid_row_handler=ragged
    )


def _parse_csv(source: _Source, plan: _CsvPlan) -> tuple[pa.Table, _RaggedRows, _CsvPlan]:
    """Stream the file with fixed types; when a later row breaks a type, widen it and restart."""
    while True:
        ragged = _RaggedRows()
        try:
            return _stream_csv(source, plan, ragged), ragged, plan
        except pa.ArrowInvalid as exc:
            plan = _replan_after_error(plan, exc)
        except UnicodeDecodeError:
            plan = _next_encoding(plan)


def _stream_csv(source: _Source, plan: _CsvPlan, ragged: _RaggedRows) -> pa.Table:
    read_options = pacsv.ReadOptions(
        column_names=list(plan.names),
        skip_rows=plan.skip_rows,
        skip_rows_after_names=1,
        use_threads=False,
        block_size=plan.block_size,
        encoding=plan.encoding,
    )
    convert_options = pacsv.ConvertOptions(column_types=plan.types, strings_can_be_null=True)
    with _open_stream(source.path, source.compression, source.limits) as stream:
        reader = pacsv.open_csv(
            stream,
            read_options=read_options,
            parse_options=_parse_options(plan.delimiter, ragged),
            convert_options=convert_options,
        )
        return reader.read_all()


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
    return replace(plan, types={**plan.types, name: wider})


def _wider_type(current: pa.DataType, value: str) -> pa.DataType:
    if pa.types.is_integer(current):
        try:
            float(value)
        except ValueError:
            return pa.string()
        return pa.float64()
    return pa.string()


def _next_encoding(plan: _CsvPlan) -> _CsvPlan:
    """A later part of the file is not in the sniffed encoding: try the next fallback."""
    fallback = {"utf-8": "cp1252", "cp1252": "latin-1"}.get(plan.encoding)
    if plan.encoding_explicit or fallback is None:
        raise IngestError(UNDECODABLE.format(encoding=plan.encoding)) from None
    return replace(plan, encoding=fallback)


def _reason(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0].rstrip(".") if str(exc).strip() else type(exc).__name__


def _check_rows(rows: int, skipped: int) -> None:
    total = rows + skipped
    if total == 0:
        raise IngestError(NO_DATA_ROWS)
    if skipped * 2 > total:
        raise IngestError(INCONSISTENT_DELIMITER.format(skipped=skipped, total=total))


def _csv_warnings(plan: _CsvPlan, ragged: _RaggedRows) -> list[str]:
    warnings = []
    if plan.encoding in ("cp1252", "latin-1", "iso8859-1") and not plan.encoding_explicit:
        warnings.append(ENCODING_WARNING.format(encoding=plan.encoding))
    if ragged.count:
        lines = ", ".join(str(line) for line in ragged.lines)
        more = ", ..." if ragged.count > len(ragged.lines) else ""
        width = len(plan.names)
        warnings.append(
            SKIPPED_ROWS_WARNING.format(count=ragged.count, width=width, lines=lines + more)
        )
    if plan.renames:
        warnings.append(_renamed_warning(plan.renames))
    return warnings


def _renamed_warning(renames: Sequence[tuple[str, str]]) -> str:
    pairs = ", ".join(f"{old!r} -> {new!r}" for old, new in renames[:10])
    more = f" and {len(renames) - 10:,} more" if len(renames) > 10 else ""
    return RENAMED_COLUMNS_WARNING.format(count=len(renames), pairs=pairs + more)


# --- Parquet and JSON lines ----------------------------------------------------------------


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
    try:
        with _open_stream(source.path, source.compression, source.limits) as stream:
            table = pajson.read_json(stream, read_options=pajson.ReadOptions(block_size=16 << 20))
        table.validate(full=True)  # the JSON reader does not check that strings are UTF-8
    except pa.ArrowInvalid as exc:
        raise _jsonl_error(source, exc) from None
    _check_columns(table.num_columns, source.limits)
    _check_rows(table.num_rows, 0)
    names, renames = fix_column_names(table.column_names)
    table, notes = _refine_columns(table.rename_columns(names))
    warnings = ([_renamed_warning(renames)] if renames else []) + notes
    report = _plain_report("jsonl", source, table, renames, warnings, encoding="utf-8")
    return IngestResult(table=table, report=report)


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
    with _open_lines(source) as handle:
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


@contextmanager
def _open_lines(source: _Source) -> Iterator[IO[bytes] | gzip.GzipFile]:
    if source.compression == "gzip":
        with gzip.open(source.path, "rb") as unpacked:
            yield unpacked
    else:
        with source.path.open("rb") as plain:
            yield plain


def _check_columns(columns: int, limits: ImportLimits) -> None:
    if columns > limits.max_columns:
        limit = limits.max_columns
        raise IngestError(TOO_MANY_COLUMNS.format(columns=columns, limit=limit))


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


# --- column types after parsing ------------------------------------------------------------


def _refine_columns(
    table: pa.Table, *, late_columns: frozenset[str] = frozenset(), text: bool = True
) -> tuple[pa.Table, list[str]]:
    """Give null columns a usable type; with ``text``, also turn clear dates/booleans into types.

    ``late_columns`` were empty in the sampled head, so pyarrow never saw their values: they
    were read as text and get a second chance to become numbers here.
    """
    names = table.column_names
    columns = list(table.columns)
    notes: list[str] = []
    for index, name in enumerate(names):
        column = columns[index]
        if text and name in late_columns:
            column = _as_numbers(column) or column
        columns[index], note = _refine_column(name, column, text=text)
        if note:
            notes.append(note)
    return pa.table(columns, names=names), notes


def _refine_column(
    name: str, column: pa.ChunkedArray, *, text: bool
) -> tuple[pa.ChunkedArray, str | None]:
    kind = column.type
    if pa.types.is_null(kind):
        return column.cast(pa.string()), None
    if not text:
        return column, None
    if pa.types.is_date(kind):
        return column.cast(_TIMESTAMP), None
    if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        return column, None
    booleans = _as_booleans(column)
    if booleans is not None:
        return booleans, None
    dates = _as_dates(name, column)
    return dates if dates is not None else (column, None)


def _head_values(column: pa.ChunkedArray, count: int) -> list[Any]:
    """Up to ``count`` non-null values from the start of the column, cheaply."""
    return column.slice(0, count * 5).drop_null().slice(0, count).to_pylist()


def _as_numbers(column: pa.ChunkedArray) -> pa.ChunkedArray | None:
    if column.null_count == len(column):
        return None
    for kind in (pa.int64(), pa.float64()):
        try:
            return column.cast(kind)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
    return None


def _as_booleans(column: pa.ChunkedArray) -> pa.ChunkedArray | None:
    sample = {str(value).strip().lower() for value in _head_values(column, 200)}
    pair = next((pair for pair in _BOOLEAN_WORDS if sample and sample <= set(pair)), None)
    if pair is None:
        return None
    lowered = pc.utf8_lower(pc.utf8_trim_whitespace(column))
    distinct = set(pc.unique(lowered).drop_null().to_pylist())
    if not distinct <= set(pair) or (len(pair[0]) == 1 and len(distinct) < 2):
        return None
    return pc.equal(lowered, pa.scalar(pair[0], lowered.type))


def _as_dates(name: str, column: pa.ChunkedArray) -> tuple[pa.ChunkedArray, str | None] | None:
    """Dates when >= 95% of non-null values parse with one format; day-first wins a tie."""
    sample = _head_values(column, 200)
    if not sample or sum(bool(_DATE_LIKE.match(str(v).strip())) for v in sample) * 2 < len(sample):
        return None
    sample_array = pa.chunked_array([pa.array(sample, pa.string())])
    candidates = [fmt for fmt in _DATE_FORMATS if _date_share(sample_array, fmt)[1] >= _DATE_SHARE]
    if not candidates:
        return None
    parsed = {fmt: _date_share(column, fmt) for fmt in candidates}
    best = max(candidates, key=lambda fmt: parsed[fmt][1])
    dates, share = parsed[best]
    if share < _DATE_SHARE:
        return None
    return dates, _date_note(name, column, dates, best, parsed)


def _date_share(column: pa.ChunkedArray, fmt: str) -> tuple[pa.ChunkedArray, float]:
    """Parse with one format: the timestamps (failures null) and the share that parsed."""
    present = len(column) - column.null_count
    if fmt == _ISO:
        iso = pc.match_substring_regex(column, _ISO_DATE)
        try:
            dates = pc.if_else(iso, column, pa.scalar(None, column.type)).cast(_TIMESTAMP)
        except pa.ArrowInvalid:
            return column, 0.0
    else:
        dates = pc.strptime(column, format=fmt, unit="us", error_is_null=True)
    parsed = len(dates) - dates.null_count
    return dates, parsed / present if present else 0.0


def _date_note(
    name: str,
    column: pa.ChunkedArray,
    dates: pa.ChunkedArray,
    fmt: str,
    parsed: dict[str, tuple[pa.ChunkedArray, float]],
) -> str | None:
    swapped = fmt.replace("%d", "%_").replace("%m", "%d").replace("%_", "%m")
    if swapped != fmt and swapped in parsed and parsed[swapped][1] == parsed[fmt][1]:
        return AMBIGUOUS_DATES_WARNING.format(column=name, format=_format_name(fmt))
    lost = dates.null_count - column.null_count
    if lost:
        return DATE_GAPS_WARNING.format(column=name, format=_format_name(fmt), count=lost)
    return None


def _format_name(fmt: str) -> str:
    if fmt == _ISO:
        return "yyyy-mm-dd"
    for code, text in _FORMAT_NAMES.items():
        fmt = fmt.replace(code, text)
    return fmt
