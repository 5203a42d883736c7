"""Quote marks that open a value and never close: find them, and read them as plain characters."""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import islice
from typing import IO, Any

import pyarrow as pa
import pyarrow.compute as pc

from core.data.ingest.messages import (
    INVALID_QUOTES,
    QUOTE_IN_HEADER,
    QUOTE_READ_AS_TEXT_WARNING,
    QUOTES_NOT_ENCLOSING,
    IngestError,
)
from core.data.ingest.sources import ForwardStream, _open_binary, _Source

# detect: quote marks enclose values, but one that would swallow the rows below it is read as
# a plain character; always: every quote mark encloses (pyarrow's reading); never: none does.
QUOTE_MODES = ("detect", "always", "never")
# A quoted value is a runaway when this many lines in a row inside it look like rows of the
# table. A legitimate multi-line cell (an address, a comment) is a few lines of prose; lines
# that have exactly the header's number of fields, with numbers where the numeric columns
# are, are rows that a stray quote swallowed. Without numeric columns to check, only the
# field count speaks, so many more such lines are needed; a one-column text table has none.
_RUNAWAY_ROWS = 3
_RUNAWAY_TEXT_ROWS = 10
_MAX_REPAIRS = 100
# A column name wrapped over a few lines is fine; one over more has swallowed rows.
_MAX_NAME_LINES = 5
_TAIL_BYTES = 64 * 1024
_MAX_TAIL_BYTES = 32 << 20
_EXCERPT_CHARACTERS = 40
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")
_NUMBER_LIKE = re.compile(r"[-+]?[\d.,' ]*\d[\d.,' ]*(?:[eE][-+]?\d+)?%?")
# What pyarrow reads as missing or as a special float in a numeric column.
_NUMBER_WORDS = frozenset({"na", "n/a", "#n/a", "null", "none", "nan", "-nan", "inf", "-inf"})
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_READ_LINES = 4096
_PIECE_BYTES = 1 << 20
_FIELD_LIMIT = (1 << 31) - 1


def check_quotes(quotes: str | None) -> str:
    """The quote mode, "detect" when not given; IngestError for anything else."""
    mode = (quotes or "detect").strip().lower()
    if mode not in QUOTE_MODES:
        raise IngestError(INVALID_QUOTES.format(quotes=quotes))
    return mode


@dataclass(frozen=True)
class RowShape:
    """What a row of the table looks like on one line: how a swallowed row is recognised."""

    delimiter: str
    width: int
    numeric: tuple[int, ...]

    @property
    def runaway_rows(self) -> int | None:
        if self.numeric:
            return _RUNAWAY_ROWS
        return _RUNAWAY_TEXT_ROWS if self.width >= 2 else None

    def looks_like_row(self, line: str, *, quote_at: int | None = None) -> bool:
        """Exactly the header's number of fields, numbers (or nothing) in the numeric columns;
        the field holding the stray quote at ``quote_at`` may be anything."""
        body = line.rstrip("\r\n")
        if body.count(self.delimiter) != self.width - 1:
            return False
        fields = body.split(self.delimiter)
        exempt = -1 if quote_at is None else body.count(self.delimiter, 0, quote_at)
        return all(index == exempt or _is_number(fields[index].strip()) for index in self.numeric)

    def swallows_rows(self, lines: Sequence[str]) -> bool:
        """Whether ``runaway_rows`` consecutive ``lines`` look like rows."""
        needed, run = self.runaway_rows, 0
        if needed is None:
            return False
        for line in lines:
            run = run + 1 if self.looks_like_row(line) else 0
            if run >= needed:
                return True
        return False

    def value_swallows_rows(self, value: str, *, column: int) -> bool:
        """Could this multi-line value of ``column`` hold rows that a stray quote merged?

        A value that opens on one line and closes a few lines down, at a quote mark in the
        same column, keeps the row's field count, so the row is not skipped. Then the value's
        first line holds the rest of the opening row (columns after ``column``), its last line
        the start of the closing row (columns before it), and every line between a whole row.
        """
        lines = _LINE_BREAK.split(value)
        inside = lines[1:-1]
        if self.swallows_rows(inside):
            return True
        first, last = lines[0].split(self.delimiter), lines[-1].split(self.delimiter)
        if not self.numeric or len(last) - 1 != column or len(first) != self.width - column:
            return False
        ends = [(column + offset, text) for offset, text in enumerate(first) if offset]
        ends += list(enumerate(last[:-1]))
        numbers = all(_is_number(text.strip()) for index, text in ends if index in self.numeric)
        return numbers and all(self.looks_like_row(line) for line in inside)


def _is_number(field: str) -> bool:
    return not field or field.lower() in _NUMBER_WORDS or bool(_NUMBER_LIKE.fullmatch(field))


@dataclass(frozen=True)
class QuoteRepair:
    """A line whose unclosed quote mark is read as a plain character; ``text`` is how."""

    line: int
    excerpt: str
    text: str


def may_swallow_rows(
    table: pa.Table,
    *,
    source: _Source,
    encoding: str,
    shape: RowShape,
    skipped_span_lines: bool,
) -> bool:
    """Cheap check after a parse: could a quoted value have swallowed rows?

    Only values that hold a line break can; a clean file has none, which one pass over each
    text column's bytes shows. Of those that do, a runaway holds lines that look like rows,
    or made its row ragged (skipped rows are few, so each gets the full scan), or is still
    open at the end of the file. ``find_runaway_quotes`` then decides on whole lines.
    """
    if skipped_span_lines:
        return True
    swallows, last_row = swallowed_rows_in(table, shape=shape)
    return swallows or _ends_inside_quotes(source, encoding, shape.delimiter, last_row)


def swallowed_rows_in(table: pa.Table, *, shape: RowShape) -> tuple[bool, list[str]]:
    """Whether a multi-line value in this part of the file holds lines that look like rows;
    and the multi-line values of its last row (which may run to the end of the file)."""
    last_row: list[str] = []
    for index, field in enumerate(table.schema):
        column = table.column(index)
        if not pa.types.is_string(field.type) or not _has_line_break(column):
            continue
        spanning = pc.match_substring_regex(column, r"\r|\n").fill_null(False)
        values = column.filter(spanning).to_pylist()
        if any(shape.value_swallows_rows(value, column=index) for value in values):
            return True, []
        if spanning[table.num_rows - 1].as_py():
            last_row.append(values[-1])
    return False, last_row


def ends_inside_quotes(
    source: _Source, encoding: str, delimiter: str, last_row: Sequence[str]
) -> bool:
    """Whether the file may end inside a quoted value (see ``_ends_inside_quotes``)."""
    return _ends_inside_quotes(source, encoding, delimiter, last_row)


def _ends_inside_quotes(
    source: _Source, encoding: str, delimiter: str, last_row: Sequence[str]
) -> bool:
    """Whether the file may end inside a quoted value, from its last row's multi-line values.

    A value that never closes runs to the end of the file: when the file ends with a line
    break, the value swallowed it (it ends with one); when not, the last record's lines,
    read from the tail, end inside quotes. A gzipped file has no cheap tail, so any
    multi-line value in its last row counts.
    """
    if source.compression is not None:
        return bool(last_row)
    breaks = sum(len(_LINE_BREAK.findall(value)) for value in last_row)
    lines = _last_lines(source, encoding, count=breaks + 1)
    if lines is None:
        return True
    if lines[-1].endswith(("\n", "\r")):
        return any(value.endswith(("\n", "\r")) for value in last_row)
    spans = _quoted_spans(lines, delimiter)
    return bool(spans) and spans[-1].end == len(lines)


def _last_lines(source: _Source, encoding: str, *, count: int) -> list[str] | None:
    """The file's last ``count`` lines (after any blank ones), or None when they run longer
    than the largest tail read."""
    width = codecs.lookup(encoding).name
    step = 4 if "32" in width else 2 if "16" in width else 1
    with source.path.open("rb") as raw:
        size = raw.seek(0, io.SEEK_END)
        length = _TAIL_BYTES
        while True:
            start = max(0, size - length)
            start -= start % step
            raw.seek(start)
            lines = _LINE.findall(raw.read().decode(encoding, errors="replace"))
            while len(lines) > 1 and not lines[-1].strip("\r\n"):
                lines.pop()
            if len(lines) > count or (start == 0 and len(lines) >= count):
                return lines[-count:]  # past the first line, which may be cut mid-line
            if start == 0 or length >= _MAX_TAIL_BYTES:
                return None
            length *= 8


def check_header(lines: Sequence[str], names: Sequence[str], *, delimiter: str, line: int) -> None:
    """Refuse a header whose quote mark never closes: a column name that runs over many lines
    has swallowed the rows below it. ``lines`` start with the header, which is on ``line``."""
    if not any(len(_LINE_BREAK.findall(name)) > _MAX_NAME_LINES for name in names):
        return
    for span in _quoted_spans(lines, delimiter):
        if span.end - span.line > _MAX_NAME_LINES:
            excerpt = _excerpt(lines[span.line].rstrip("\r\n"), span.position)
            raise IngestError(QUOTE_IN_HEADER.format(line=line + span.line, excerpt=excerpt))


def _has_line_break(column: pa.ChunkedArray) -> bool:
    # memchr over the raw bytes, a megabyte at a time: a few milliseconds for tens of
    # megabytes of text, and no copy of a whole column.
    for chunk in column.chunks:
        data = chunk.buffers()[2]
        for start in range(0, data.size if data is not None else 0, _PIECE_BYTES):
            piece = data.slice(start, min(_PIECE_BYTES, data.size - start)).to_pybytes()
            if b"\n" in piece or b"\r" in piece:
                return True
    return False


class _Runaway(Exception):  # noqa: N818 - a signal, not an error
    """The record being read is a runaway; ``span`` is the quoted value that swallows rows."""

    def __init__(self, span: _Span) -> None:
        super().__init__()
        self.span = span


class _LineFeed:
    """The file's lines for csv.reader, numbered, keeping the lines of the record being read.

    csv.reader asks for another line only while a quoted value is open, so a request while
    ``record`` is not empty means the record goes on: the last line given is inside it.
    """

    def __init__(self, lines: Iterator[str], shape: RowShape) -> None:
        self._lines = lines
        self._shape = shape
        self._number = 0
        self.pending: deque[tuple[int, str]] = deque()
        self.record: list[tuple[int, str]] = []
        self._run = 0

    def __iter__(self) -> _LineFeed:
        return self

    def __next__(self) -> str:
        if len(self.record) >= 2:
            inside = self._shape.looks_like_row(self.record[-1][1])
            self._run = self._run + 1 if inside else 0
            needed = self._shape.runaway_rows
            if needed is not None and self._run >= needed:
                raise self._open_runaway()
        while True:
            if self.pending:
                number, line = self.pending.popleft()
            else:
                line = next(self._lines, "")
                if not line:
                    if self.record:
                        raise self._open_runaway()  # the file ends inside a quoted value
                    raise StopIteration
                self._number += 1
                number = self._number
            # A line without quote marks that starts a record is that whole record, with
            # nothing to judge: csv.reader never sees it, which makes the scan fast.
            if self.record or '"' in line:
                break
        self.record.append((number, line))
        return line

    def _open_runaway(self) -> Exception:
        spans = _quoted_spans([line for _, line in self.record], self._shape.delimiter)
        if not spans or spans[-1].end != len(self.record):
            return csv.Error("the csv module and the quote scan disagree")  # ends the scan
        return _Runaway(spans[-1])

    def record_done(self) -> None:
        self.record = []
        self._run = 0

    def resume_with(self, repair: QuoteRepair) -> None:
        """Read the runaway record again from its first line, with ``repair`` in place."""
        again = [(n, repair.text if n == repair.line else line) for n, line in self.record]
        self.pending.extendleft(reversed(again))
        self.record_done()


def find_runaway_quotes(
    source: _Source, *, encoding: str, shape: RowShape, header_line: int
) -> tuple[QuoteRepair, ...]:
    """Every line whose quote mark opens a value that swallows rows, with that line repaired.

    Reads the file once with the csv module, which quotes as pyarrow does. When a record
    turns out to be a runaway, the quote that opened it becomes a plain character and
    reading resumes from that record, so a stray quote that the runaway would have closed
    is judged again on its own line.
    """
    repairs: dict[int, QuoteRepair] = {}
    with _text_lines(source, encoding, errors="replace") as lines, _no_field_limit():
        feed = _LineFeed(lines, shape)
        for _ in range(2 * _MAX_REPAIRS):
            try:
                for fields in csv.reader(feed, delimiter=shape.delimiter, strict=False):
                    if len(feed.record) > 1:
                        _check_record(feed.record, fields, shape)
                    feed.record_done()
            except _Runaway as runaway:
                repair = _repair(feed.record, runaway.span, shape.delimiter)
                _keep(repairs, repair, header_line=header_line)
                feed.resume_with(repair)
                continue
            except csv.Error:
                pass
            break
        else:
            _keep(repairs, repairs[min(repairs)], header_line=header_line, full=True)
    return tuple(repairs[line] for line in sorted(repairs))


def _check_record(record: Sequence[tuple[int, str]], fields: list[str], shape: RowShape) -> None:
    """A finished record over several lines is a runaway when one of its quoted values is
    made of lines that each look like a row (with numeric columns to vouch for them), or
    when the record has the wrong number of fields (it is lost anyway) and a line inside a
    quoted value looks like a row."""
    lines = [line for _, line in record]
    ragged = len(fields) != shape.width
    for span in _quoted_spans(lines, shape.delimiter):
        inside = lines[span.line + 1 : span.end]
        rows_inside = [shape.looks_like_row(line) for line in inside]
        if (ragged and any(rows_inside)) or (
            shape.numeric
            and all(rows_inside)
            and shape.looks_like_row(lines[span.line], quote_at=span.position)
            and shape.looks_like_row(lines[span.end], quote_at=span.close)
        ):
            raise _Runaway(span)


def _keep(
    repairs: dict[int, QuoteRepair], repair: QuoteRepair, *, header_line: int, full: bool = False
) -> None:
    """Add a repair (a line repaired twice keeps its first excerpt), refusing the header or
    a file with so many that it does not seem to enclose values in quotes at all."""
    if repair.line <= header_line:
        raise IngestError(QUOTE_IN_HEADER.format(line=repair.line, excerpt=repair.excerpt))
    first = repairs.get(repair.line, repair)
    repairs[repair.line] = QuoteRepair(first.line, first.excerpt, repair.text)
    if full or len(repairs) > _MAX_REPAIRS:
        earliest = repairs[min(repairs)]
        message = QUOTES_NOT_ENCLOSING.format(
            limit=_MAX_REPAIRS, line=earliest.line, excerpt=earliest.excerpt
        )
        raise IngestError(message)


@contextmanager
def _no_field_limit() -> Iterator[None]:
    """csv refuses values over 128 KiB by default; a legitimate long value must not stop
    the scan. The limit is process-wide, so it is put back afterwards."""
    previous = csv.field_size_limit(_FIELD_LIMIT)
    try:
        yield
    finally:
        csv.field_size_limit(previous)


def _repair(record: Sequence[tuple[int, str]], span: _Span, delimiter: str) -> QuoteRepair:
    """The span's opening quote read as a plain character: its field quoted and escaped."""
    number, line = record[span.line]
    start = span.position
    body_end = len(line.rstrip("\r\n"))
    end = line.find(delimiter, start)
    end = body_end if end < 0 or end > body_end else end
    field = line[start:end]
    text = line[:start] + '"' + field.replace('"', '""') + '"' + line[end:]
    return QuoteRepair(line=number, excerpt=_excerpt(line[:body_end], start), text=text)


@dataclass(frozen=True)
class _Span:
    """A quoted value over several lines: where its quote opens, and where it closes
    (``end`` is the number of lines when it is still open)."""

    line: int
    position: int
    end: int
    close: int = 0


def _quoted_spans(lines: Sequence[str], delimiter: str) -> list[_Span]:
    """The quoted values in a record's lines that run past a line's end.

    The csv quoting rules: a quote opens a value only at the start of a field; inside, ``""``
    is a quote mark and a lone one closes it; after that, as in an unquoted field, quote marks
    are plain characters up to the next delimiter.
    """
    spans: list[_Span] = []
    opened: tuple[int, int] | None = None
    at_field_start = True
    for index, line in enumerate(lines):
        if opened is None:
            at_field_start = True
        position = 0
        while position < len(line):
            if opened is not None:
                close = line.find('"', position)
                if close < 0:
                    break
                if line.startswith('"', close + 1):
                    position = close + 2
                    continue
                if opened[0] != index:
                    spans.append(_Span(opened[0], opened[1], end=index, close=close))
                opened, at_field_start, position = None, False, close + 1
            elif at_field_start and line.startswith('"', position):
                opened, position = (index, position), position + 1
            else:
                found = line.find(delimiter, position)
                if found < 0:
                    break
                at_field_start, position = True, found + 1
    if opened is not None:
        spans.append(_Span(line=opened[0], position=opened[1], end=len(lines)))
    return spans


def _excerpt(line: str, quote: int) -> str:
    """The line around the quote mark, short and on one line."""
    start = max(0, min(quote - _EXCERPT_CHARACTERS // 2, len(line) - _EXCERPT_CHARACTERS))
    text = line[start : start + _EXCERPT_CHARACTERS]
    text = ("..." if start else "") + text + ("..." if start + len(text) < len(line) else "")
    return _CONTROL.sub(" ", text).strip()


def repaired_warning(repairs: Sequence[QuoteRepair]) -> str:
    first, others = repairs[0], repairs[1:]
    more = ""
    if others:
        listed = ", ".join(str(repair.line) for repair in others[:20])
        listed += ", ..." if len(others) > 20 else ""
        more = f" The same was done on {len(others):,} more line(s): {listed}."
    return QUOTE_READ_AS_TEXT_WARNING.format(line=first.line, excerpt=first.excerpt, more=more)


@contextmanager
def _text_lines(source: _Source, encoding: str, *, errors: str) -> Iterator[IO[str]]:
    """The file as text, split at the line breaks pyarrow counts (\\n, \\r\\n and \\r)."""
    codec = "utf-8-sig" if codecs.lookup(encoding).name == "utf-8" else encoding
    with (
        _open_binary(source) as raw,
        io.TextIOWrapper(raw, encoding=codec, errors=errors, newline="") as text,
    ):
        yield text


class RepairedText(ForwardStream):
    """The file as UTF-8 with the repaired lines swapped in: what pyarrow reads after repair.

    Decoding is strict, so text that is not in the plan's encoding fails here as it would in
    pyarrow, and the caller's fallback to the next encoding still applies.
    """

    def __init__(self, lines: IO[str], repairs: Mapping[int, str]) -> None:
        self._lines = lines
        self._repairs = repairs
        self._number = 0
        self._buffer = b""

    def read(self, size: int = -1) -> bytes:
        parts = [self._buffer]
        have = len(self._buffer)
        while size < 0 or have < size:
            batch = list(islice(self._lines, _READ_LINES))
            if not batch:
                break
            self._swap_repaired(batch)
            data = "".join(batch).encode("utf-8")
            parts.append(data)
            have += len(data)
        data = b"".join(parts)
        cut = len(data) if size < 0 else size
        self._buffer = data[cut:]
        return data[:cut]

    def _swap_repaired(self, batch: list[str]) -> None:
        first = self._number + 1
        self._number += len(batch)
        for line, text in self._repairs.items():
            if first <= line <= self._number:
                batch[line - first] = text


@contextmanager
def repaired_stream(
    source: _Source, *, encoding: str, repairs: Sequence[QuoteRepair]
) -> Iterator[Any]:
    with _text_lines(source, encoding, errors="strict") as lines:
        yield RepairedText(lines, {repair.line: repair.text for repair in repairs})
