"""Sniffing a text file's encoding and delimiter from its first megabyte."""

from __future__ import annotations

import codecs
import csv

from core.data.ingest.messages import (
    BINARY_FILE,
    INVALID_DELIMITER,
    UNDECODABLE,
    UNKNOWN_ENCODING,
    IngestError,
)

_DELIMITERS = (",", ";", "\t", "|")


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
