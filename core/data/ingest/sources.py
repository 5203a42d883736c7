"""Reading an upload's bytes under the import limits, and telling its format from them."""

from __future__ import annotations

import codecs
import gzip
import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pyarrow as pa

from core import settings
from core.data.ingest.messages import (
    BAD_GZIP,
    CORRUPT_PARQUET,
    EMPTY_FILE,
    EXCEL_FILE,
    FILE_TOO_LARGE,
    JSON_DOCUMENT,
    NOT_A_TABLE,
    UNPACKED_TOO_LARGE,
    IngestError,
)

_HEAD_BYTES = 1 << 20
_MAX_HEADER_BYTES = 64 << 20

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


@dataclass(frozen=True)
class ImportLimits:
    """Caps that keep one upload from exhausting the machine."""

    max_bytes: int = 1024 * 1024 * 1024
    max_columns: int = 20_000
    # An import holding more than this many bytes of parsed rows writes them out batch by
    # batch instead of holding the whole table (see ingest.stream).
    stream_after_bytes: int = 64 * 1024 * 1024

    @classmethod
    def from_env(cls) -> ImportLimits:
        """The limits configured in the environment (see core.settings)."""
        return cls(
            max_bytes=settings.max_import_mb() * 1024 * 1024, max_columns=settings.max_columns()
        )


DEFAULT_LIMITS = ImportLimits()


@dataclass(frozen=True)
class _Source:
    path: Path
    compression: str | None
    limits: ImportLimits


class ForwardStream:
    """A stream read once, start to end (what pyarrow's input stream wraps); closing marks it."""

    closed = False

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def close(self) -> None:
        self.closed = True


class _CappedStream(ForwardStream):
    """A read-only stream that stops once more than ``limit`` unpacked bytes have been read."""

    def __init__(self, raw: Any, limit: int) -> None:
        self._raw = raw
        self._limit = limit
        self._seen = 0

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size) if size >= 0 else self._raw.read()
        self._seen += len(data)
        if self._seen > self._limit:
            raise IngestError(UNPACKED_TOO_LARGE.format(cap=_format_bytes(self._limit)))
        return bytes(data)


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


@contextmanager
def _open_binary(source: _Source) -> Iterator[IO[bytes]]:
    """The unpacked bytes as a Python file, for reading line by line, under the same limit
    and with the same message for a damaged gzip as the pyarrow streams."""
    if source.compression != "gzip":
        with source.path.open("rb") as plain:
            yield plain
        return
    try:
        with gzip.open(source.path, "rb") as unpacked:
            yield io.BufferedReader(_CappedReader(unpacked, source.limits.max_bytes))
    except (OSError, EOFError) as exc:
        raise IngestError(BAD_GZIP) from exc


class _CappedReader(io.RawIOBase):
    """A raw file that stops once more than ``limit`` bytes have been read."""

    def __init__(self, raw: IO[bytes] | gzip.GzipFile, limit: int) -> None:
        super().__init__()
        self._raw = raw
        self._limit = limit
        self._seen = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._raw.read(len(buffer))
        self._seen += len(data)
        if self._seen > self._limit:
            raise IngestError(UNPACKED_TOO_LARGE.format(cap=_format_bytes(self._limit)))
        buffer[: len(data)] = data
        return len(data)


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
