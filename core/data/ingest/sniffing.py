"""Sniffing a text file's encoding and delimiter from its first megabyte."""

from __future__ import annotations

import codecs
import csv
import unicodedata

from core.data.ingest.messages import (
    BINARY_FILE,
    INVALID_DELIMITER,
    UNDECODABLE,
    UNKNOWN_ENCODING,
    IngestError,
)

_DELIMITERS = (",", ";", "\t", "|")
# UTF-32's little-endian mark starts with UTF-16's, so it is tried first.
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# The heuristics below look at this many characters: enough to judge, quick to scan.
_SAMPLE_CHARACTERS = 64 * 1024
# Hiragana, katakana, CJK punctuation and ideographs, full-width forms; half-width katakana.
_JAPANESE_BLOCKS = ((0x3000, 0x30FF), (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xFF01, 0xFF5E))
_HALF_WIDTH = (0xFF61, 0xFF9F)
_GARBLE_MIN_CHARACTERS = 8
_GARBLE_SHARE = 0.8
# Encodings in the user's words, for messages; others are shown by their codec name.
ENCODING_NAMES = {
    "utf-8": "UTF-8",
    "utf-16": "UTF-16",
    "utf-16-le": "UTF-16 (little-endian)",
    "utf-16-be": "UTF-16 (big-endian)",
    "utf-32": "UTF-32",
    "cp932": "Shift-JIS (Japanese)",
    "shift_jis": "Shift-JIS (Japanese)",
    "cp1252": "Windows-1252 (Western European)",
    "latin-1": "Latin-1 (ISO-8859-1)",
    "iso8859-1": "Latin-1 (ISO-8859-1)",
}


def encoding_name(encoding: str) -> str:
    """An encoding in the user's words: ``Shift-JIS (Japanese)`` for cp932."""
    return ENCODING_NAMES.get(encoding, encoding)


def _check_encoding(encoding: str) -> str:
    try:
        name = codecs.lookup(encoding.strip()).name
    except LookupError:
        raise IngestError(UNKNOWN_ENCODING.format(encoding=encoding)) from None
    return "utf-8" if name == "utf-8-sig" else name


def _sniff_encoding(head: bytes) -> tuple[str, bool]:
    """The encoding of the file's first bytes, and whether the studio is sure of it.

    A byte-order mark decides; then UTF-16 without one; then strict UTF-8. Past that, bytes
    decode in many single- and double-byte encodings, so each candidate must also look like
    text: Shift-JIS when its decode is clean Japanese, else cp1252 (sure unless its accented
    letters come in runs, as double-byte text misread one byte at a time does), else latin-1,
    which decodes anything and so is never sure.
    """
    for bom, name in _BOMS:
        if head.startswith(bom):
            return name, True
    bomless = _bomless_utf16(head)
    if bomless:
        return bomless, True
    if _decodes(head, "utf-8"):
        return "utf-8", True
    japanese = _decoded(head, "cp932")
    if japanese is not None and _looks_japanese(japanese[:_SAMPLE_CHARACTERS]):
        return "cp932", True
    western = _decoded(head, "cp1252")
    if western is not None:
        return "cp1252", not _looks_garbled(western[:_SAMPLE_CHARACTERS])
    return "latin-1", False


def _decodes(data: bytes, encoding: str) -> bool:
    return _decoded(data, encoding) is not None


def _decoded(data: bytes, encoding: str) -> str | None:
    """The text, or None when the bytes are not valid in ``encoding`` (a cut-off last
    character is fine: the sample ends mid-file)."""
    try:
        return codecs.getincrementaldecoder(encoding)().decode(data, final=False)
    except UnicodeDecodeError:
        return None


def _looks_japanese(text: str) -> bool:
    """Mostly kana and kanji, with no private-use or control characters, and not single
    characters wedged inside Latin words (Latin text misread as Shift-JIS pairs an accented
    letter with the next letter: "Crème" becomes "Cr" + a kanji + "e", and reads a capital
    such as "Ä" alone as a half-width katakana, so those count only beside another)."""
    foreign = [index for index, ch in enumerate(text) if ord(ch) > 0x7F]
    if not foreign:
        return False
    if any(unicodedata.category(text[index]) in ("Co", "Cc", "Cn") for index in foreign):
        return False
    japanese = [index for index in foreign if _is_japanese(text, index)]
    if len(japanese) * 2 < len(foreign):
        return False
    wedged = sum(_between_letters(text, index) for index in japanese)
    return wedged * 5 <= len(japanese)


def _is_japanese(text: str, index: int) -> bool:
    code = ord(text[index])
    if _HALF_WIDTH[0] <= code <= _HALF_WIDTH[1]:
        return any(
            0 <= near < len(text) and _HALF_WIDTH[0] <= ord(text[near]) <= _HALF_WIDTH[1]
            for near in (index - 1, index + 1)
        )
    return any(low <= code <= high for low, high in _JAPANESE_BLOCKS)


def _between_letters(text: str, index: int) -> bool:
    before = text[index - 1] if index else ""
    after = text[index + 1] if index + 1 < len(text) else ""
    return before.isascii() and before.isalpha() and after.isascii() and after.isalpha()


def _looks_garbled(text: str) -> bool:
    """Western text has accented letters alone or in pairs among plain ones ("São", "Süß");
    double-byte text (Chinese, Korean, Japanese) read one byte at a time has nothing else."""
    flags = [ord(ch) > 0x7F for ch in text]
    foreign = sum(flags)
    if foreign < _GARBLE_MIN_CHARACTERS:
        return False
    in_runs = sum(
        flag and ((index and flags[index - 1]) or (index + 1 < len(flags) and flags[index + 1]))
        for index, flag in enumerate(flags)
    )
    return in_runs >= _GARBLE_SHARE * foreign


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
        raise IngestError(UNDECODABLE.format(encoding=encoding_name(encoding))) from None
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
