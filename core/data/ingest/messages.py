"""What an import tells the user: its error and warning sentences, and IngestError."""

from __future__ import annotations

import re

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
    "The delimiter must be one character such as ',', ';', '|' or a tab, not '{delimiter}'. "
    "Choose one of those, or leave the delimiter on automatic."
)
INVALID_DECIMAL = (
    "The decimal mark must be '.' (a point) or ',' (a comma), not '{decimal}'. "
    "Choose one of those, or leave the decimal mark on automatic."
)
MIXED_ENCODING = (
    "The start of the file reads as {encoding} text but a later part does not, so the file's "
    "encoding is uncertain. Choose the encoding explicitly, or save the file as UTF-8 and "
    "import it again."
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
INVALID_QUOTES = (
    "Quote marks must be read as 'detect', 'always' or 'never', not '{quotes}'. "
    "Choose one of those, or leave them on detect."
)
QUOTE_IN_HEADER = (
    "The header (line {line}) has a quote mark that never closes ({excerpt}), so the rows "
    "below it would run into the column names. Fix that quote mark, or choose quote marks "
    "'never' to read them as ordinary characters, and import again."
)
QUOTES_NOT_ENCLOSING = (
    "Quote marks on more than {limit} lines open a value and never close on their row (the "
    "first is line {line}: {excerpt}), so this file does not seem to use quote marks to "
    "enclose values. Choose quote marks 'never' to read them as ordinary characters, or fix "
    "them in the file, and import again."
)
UNREADABLE_FILE = "The file could not be read as a {format} table ({reason}). " + _SUPPORTED

# User-facing warnings kept in the report.
SKIPPED_ROWS_WARNING = (
    "Skipped {count:,} row(s) whose number of fields differs from the header's {width:,} "
    "(lines {lines}). Fix those rows in the file and import it again to keep them."
)
SKIPPED_LINES_WARNING = (
    "The skipped row(s) take up {lines:,} lines of the file, because a quoted value in them "
    "runs over several lines. If a quote mark there was not meant to enclose those lines, fix "
    "it and import again to keep them as rows."
)
QUOTE_READ_AS_TEXT_WARNING = (
    "Line {line} has a quote mark that never closes on its row ({excerpt}): read as opening a "
    "value, it would have swallowed the rows below it, so it was read as an ordinary "
    "character and those rows were kept.{more} If a value there should run over several "
    "lines, fix its quote marks, or choose quote marks 'always', and import again."
)
RENAMED_COLUMNS_WARNING = (
    "Renamed {count:,} column(s) so that every name is unique and not blank: {pairs}."
)
ENCODING_WARNING = (
    "The file is not UTF-8 text; its characters fit {encoding}, so it was read that way. "
    "If letters look wrong, choose the encoding explicitly and import again."
)
ENCODING_UNCERTAIN_WARNING = (
    "The file's encoding is uncertain: it is not UTF-8, and parts of it do not look like text "
    "in the encodings the studio recognises, so it was read as {encoding}. Check the column "
    "names and text; if letters look garbled, choose the file's encoding explicitly (for "
    "example Shift-JIS for Japanese or GB18030 for Chinese), or save the file as UTF-8, and "
    "import it again."
)
DECIMAL_COMMA_WARNING = (
    "Read {columns} as numbers written with a decimal comma ('{example}' is {number}). "
    "If the file writes a decimal point instead, choose the decimal mark explicitly and "
    "import again."
)
THOUSANDS_WARNING = (
    "Read {columns} as numbers written with thousands separators ('{example}' is {number}). "
    "If the file writes a decimal comma instead, choose the decimal mark explicitly and "
    "import again."
)
DATE_GAPS_WARNING = (
    "Column '{column}' was read as dates ({format}); {count:,} value(s) that are not dates "
    "in that format were left empty."
)
AMBIGUOUS_DATES_WARNING = (
    "Column '{column}' has dates that could be day/month or month/day; they were read as {format}."
)


# What the reader's own complaints mean, in the user's words (first match wins).
_REASONS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"straddl|block size", re.I),
        "one row is too long to read in one piece; a quote mark that opens a value and never "
        "closes makes the rest of the file one value",
    ),
    (
        re.compile(r"Expected (\d+) columns?, got (\d+)", re.I),
        "a row has {1} fields where the header has {0}",
    ),
    (re.compile(r"invalid UTF-?8", re.I), "part of the text is not valid UTF-8"),
    (re.compile(r"JSON parse error", re.I), "a line is not valid JSON"),
    (re.compile(r"Empty CSV file", re.I), "there is no header row"),
)
_LIBRARY_NOISE = (
    re.compile(r"\s*\((?:try|consider|perhaps|maybe)\b[^)]*\)", re.I),
    re.compile(r"In CSV column #\d+:\s*", re.I),
    re.compile(r"Row #\d+:\s*", re.I),
    re.compile(r"(?:CSV|JSON) (?:parse error|conversion error to [^:]+):\s*", re.I),
)


class IngestError(ValueError):
    """The message is a complete user-facing sentence: what was wrong and what to do."""


def _reason(exc: Exception) -> str:
    """What went wrong in the user's words: a known complaint translated, else its first line
    without the reader's prefixes and tuning hints ("try to increase block size?")."""
    text = str(exc).strip()
    for pattern, meaning in _REASONS:
        found = pattern.search(text)
        if found:
            return meaning.format(*found.groups())
    first = text.splitlines()[0] if text else ""
    for noise in _LIBRARY_NOISE:
        first = noise.sub("", first)
    return first.strip().rstrip(".") or "its layout is not one the studio can read"
