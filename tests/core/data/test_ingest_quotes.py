"""Quote marks that open a value and never close: no row is lost, and the report says why."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from core.data.ingest import ImportLimits, IngestError, IngestResult, read_table
from core.data.ingest import delimited as delimited_module
from core.data.ingest.messages import (
    BAD_GZIP,
    INVALID_JSON_LINE,
    INVALID_QUOTES,
    QUOTE_IN_HEADER,
    QUOTE_READ_AS_TEXT_WARNING,
    QUOTES_NOT_ENCLOSING,
    SKIPPED_LINES_WARNING,
    SKIPPED_ROWS_WARNING,
    UNPACKED_TOO_LARGE,
)

HEADER = "id,amount,note"


def rows(count: int) -> list[str]:
    """A header and ``count`` rows; row ``i`` is on line ``i + 2``."""
    return [HEADER] + [f"{i},{i * 3},note {i}" for i in range(count)]


def write(folder: Path, lines: list[str], *, name: str = "data.csv", end: str = "\n") -> Path:
    path = folder / name
    path.write_text("\n".join(lines) + end, encoding="utf-8")
    return path


def on_line(lines: list[str], number: int, text: str) -> list[str]:
    changed = list(lines)
    changed[number - 1] = text
    return changed


def repaired(line: int, excerpt: str, more: str = "") -> str:
    return QUOTE_READ_AS_TEXT_WARNING.format(line=line, excerpt=excerpt, more=more)


def column(result: IngestResult, name: str) -> list[object]:
    return result.table.column(name).to_pylist()


# --- the reported loss: one stray quote in 200,000 rows -----------------------------------


@pytest.fixture(scope="module")
def big_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("big")
    return write(folder, on_line(rows(200_000), 100_002, '12,"broken,3'))


def test_an_unclosed_quote_in_200_000_rows_loses_no_row(big_file: Path) -> None:
    result = read_table(big_file)
    assert result.report.rows == 200_000
    assert result.report.skipped_rows == 0
    ids = column(result, "id")
    assert ids[:100_000] == list(range(100_000))
    assert ids[100_001:] == list(range(100_001, 200_000))
    assert ids[100_000] == 12
    assert column(result, "amount")[100_000] == '"broken'
    assert column(result, "note")[100_000:100_002] == ["3", "note 100001"]
    assert result.report.literal_quote_lines == (100_002,)
    assert result.report.warnings == (repaired(100_002, '12,"broken,3'),)


def test_quotes_always_still_says_how_many_lines_the_skipped_row_took(big_file: Path) -> None:
    """Reading every quote as enclosing (the old reading) loses the rows, but says so."""
    report = read_table(big_file, quotes="always").report
    assert (report.rows, report.skipped_rows) == (100_000, 1)
    assert SKIPPED_LINES_WARNING.format(lines=100_000) in report.warnings
    assert report.rows + 100_000 == 200_000


def test_quotes_never_reads_every_quote_mark_as_a_character(big_file: Path) -> None:
    result = read_table(big_file, quotes="never")
    assert result.report.rows == 200_000
    assert result.report.warnings == ()
    assert column(result, "amount")[100_000] == '"broken'


# --- where the stray quote is --------------------------------------------------------------


@pytest.mark.parametrize("end", ["\n", ""], ids=["final-line-break", "no-final-line-break"])
def test_an_unclosed_quote_on_the_last_line_keeps_that_row(tmp_path: Path, end: str) -> None:
    path = write(tmp_path, on_line(rows(50), 51, '49,147,"broken'), end=end)
    result = read_table(path)
    assert result.report.rows == 50
    assert result.table.slice(48).to_pylist() == [
        {"id": 48, "amount": 144, "note": "note 48"},
        {"id": 49, "amount": 147, "note": '"broken'},
    ]
    assert result.report.warnings == (repaired(51, '49,147,"broken'),)


def test_an_unclosed_quote_in_the_last_column_keeps_the_rows_below(tmp_path: Path) -> None:
    """The swallowed rows hide in one long value of a kept row, not in a skipped one."""
    result = read_table(write(tmp_path, on_line(rows(2_000), 500, '498,1494,"said hi')))
    assert result.report.rows == 2_000
    assert column(result, "id") == list(range(2_000))
    assert column(result, "note")[498] == '"said hi'
    assert result.report.literal_quote_lines == (500,)


@pytest.mark.parametrize("gap", [2, 5_000], ids=["two-lines-apart", "far-apart"])
def test_two_stray_quotes_that_pair_up_are_both_plain_characters(tmp_path: Path, gap: int) -> None:
    """The second stray quote closes the first one's value: the rows between vanish into
    one value while the row keeps its field count, so nothing is skipped to notice."""
    lines = on_line(rows(10_000), 10, '8,"about 5,x')
    lines = on_line(lines, 10 + gap, f'{8 + gap},9" tall,y')
    result = read_table(write(tmp_path, lines))
    assert result.report.rows == 10_000
    assert column(result, "amount")[8] == '"about 5'
    assert column(result, "amount")[8 + gap] == '9" tall'
    assert result.report.literal_quote_lines == (10,)


def test_a_merged_row_that_would_be_skipped_is_kept(tmp_path: Path) -> None:
    lines = on_line(on_line(rows(100), 10, '8,"bad,6'), 12, '10,30,9" tall')
    report = read_table(write(tmp_path, lines)).report
    assert (report.rows, report.skipped_rows) == (100, 0)
    assert report.literal_quote_lines == (10,)


def test_a_tsv_file_is_repaired_the_same_way(tmp_path: Path) -> None:
    lines = [line.replace(",", "\t") for line in on_line(rows(5_000), 300, '298,"broken,7')]
    result = read_table(write(tmp_path, lines, name="data.tsv"))
    assert result.report.delimiter == "\t"
    assert result.report.rows == 5_000
    assert result.report.warnings == (repaired(300, '298 "broken 7'),)


def test_a_gzipped_windows_1252_file_is_repaired_in_its_encoding(tmp_path: Path) -> None:
    text = "\n".join(on_line(rows(5_000), 300, '298,"café €5,7')) + "\n"
    path = tmp_path / "data.csv.gz"
    path.write_bytes(gzip.compress(text.encode("cp1252")))
    result = read_table(path)
    assert result.report.encoding == "cp1252"
    assert result.report.rows == 5_000
    assert column(result, "amount")[298] == '"café €5'
    assert repaired(300, '298,"café €5,7') in result.report.warnings


# --- legitimate quoted line breaks ---------------------------------------------------------


def legitimate_rows(count: int) -> list[str]:
    """Comments that run over lines, with commas, escaped quotes and blank lines inside; the
    last row has one too, and one comment is a long letter of many lines."""
    comments = [
        '"Dear Sir,\nthanks, see below\nregards, Bob"',
        '"12 Main St\nSpringfield, IL 62701"',
        '"He said ""hi""\nthen left, 3 times"',
        '"first\n\nthird"',
        '"Readings:\n1,left arm,5\n2,right arm,7\ndone"',
        "plain",
    ]
    letter = '"' + "\n".join(f"Line {n} of the letter, with a comma" for n in range(60)) + '"'
    lines = ["id,comment,score"]
    for i in range(count):
        comment = letter if i == count // 2 else comments[i % len(comments)]
        lines.append(f"{i},{comment},{i / 4}")
    lines.append(f'{count},"the last one\nruns over, two lines",1.5')
    return lines


@pytest.mark.parametrize("packed", [False, True], ids=["plain", "gzip"])
def test_quoted_values_over_several_lines_import_as_before(tmp_path: Path, packed: bool) -> None:
    """Gzipped, the multi-line value in the last row sends the file to the full scan (its
    tail cannot be read cheaply), which must find nothing either."""
    path = write(tmp_path, legitimate_rows(3_000))
    if packed:
        path = path.with_suffix(".csv.gz")
        path.write_bytes(gzip.compress((tmp_path / "data.csv").read_bytes()))
    result = read_table(path)
    assert result.report.rows == 3_001
    assert result.report.warnings == ()
    assert result.report.literal_quote_lines == ()
    assert result.table.equals(read_table(path, quotes="always").table)
    assert column(result, "comment")[:2] == [
        "Dear Sir,\nthanks, see below\nregards, Bob",
        "12 Main St\nSpringfield, IL 62701",
    ]
    assert column(result, "comment")[-1] == "the last one\nruns over, two lines"


def test_a_text_only_table_with_quoted_line_breaks_imports_as_before(tmp_path: Path) -> None:
    """No numeric column vouches for a row, so only a long run of row-like lines counts."""
    lines = ["name,comment"] + [
        f'person {i},"a short note, {i}\nwith a second line, here\nand a third, too"'
        for i in range(500)
    ]
    path = write(tmp_path, lines)
    result = read_table(path)
    assert result.report.rows == 500
    assert result.report.warnings == ()
    assert result.table.equals(read_table(path, quotes="always").table)


def test_a_text_only_table_is_repaired_after_a_long_run_of_rows(tmp_path: Path) -> None:
    lines = ["name,comment"] + [f"person {i},note {i}" for i in range(1_000)]
    lines = on_line(on_line(lines, 100, 'person 98,"oops'), 400, 'person 398,5" wide')
    result = read_table(write(tmp_path, lines))
    assert result.report.rows == 1_000
    assert column(result, "comment")[98] == '"oops'
    assert result.report.literal_quote_lines == (100,)


def test_a_runaway_to_the_end_of_a_file_without_a_final_line_break_is_found(
    tmp_path: Path,
) -> None:
    """Text only, so no run of rows vouches for it: only the file's end inside quotes does."""
    lines = ["name,comment"] + [f"person {i},note {i}" for i in range(100)]
    lines = on_line(lines, 100, 'person 98,"oops')
    result = read_table(write(tmp_path, lines, end=""))
    assert result.report.rows == 100
    assert column(result, "comment")[98:] == ['"oops', "note 99"]
    assert result.report.literal_quote_lines == (100,)


@pytest.mark.parametrize("kind", ["no-line-breaks", "legitimate-line-breaks"])
def test_a_file_without_runaways_is_not_scanned_line_by_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    """The cheap checks are all such a file pays for: the full scan is for suspects."""

    def scan(*args: object, **kwargs: object) -> None:
        raise AssertionError("the file was scanned line by line")

    monkeypatch.setattr(delimited_module, "find_runaway_quotes", scan)
    if kind == "no-line-breaks":
        lines = [HEADER] + [f'{i},{i},"quoted, with a comma {i}"' for i in range(5_000)]
    else:
        lines = legitimate_rows(5_000)
    assert read_table(write(tmp_path, lines)).report.rows >= 5_000


# --- refusals ------------------------------------------------------------------------------


def test_a_header_with_an_unclosed_quote_is_refused(tmp_path: Path) -> None:
    with pytest.raises(IngestError) as caught:
        read_table(write(tmp_path, on_line(rows(100), 1, 'id,"amount,note')))
    assert str(caught.value) == QUOTE_IN_HEADER.format(line=1, excerpt='id,"amount,note')


def test_a_file_of_unpaired_quote_marks_is_refused_and_reads_with_quotes_never(
    tmp_path: Path,
) -> None:
    """Inch marks: every other line opens a value the next one closes."""
    lines = ["id,size,note"] + [
        f'{i},"{i} inch,y' if i % 2 == 0 else f'{i},{i}" tall,x' for i in range(1_000)
    ]
    path = write(tmp_path, lines)
    with pytest.raises(IngestError) as caught:
        read_table(path)
    assert str(caught.value) == QUOTES_NOT_ENCLOSING.format(
        limit=100, line=2, excerpt='0,"0 inch,y'
    )
    result = read_table(path, quotes="never")
    assert result.report.rows == 1_000
    assert column(result, "size")[:2] == ['"0 inch', '1" tall']


@pytest.fixture(scope="module")
def packed_runaway(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """7.5 MB of CSV, gzipped, with a stray quote on line 11: the first parse stops at the
    runaway and the scan and the repaired read go through the file again."""
    folder = tmp_path_factory.mktemp("packed")
    path = write(folder, on_line(rows(300_000), 11, '9,"broken,3'))
    return gzip.compress(path.read_bytes())


def test_the_repair_keeps_the_unpacked_size_limit(tmp_path: Path, packed_runaway: bytes) -> None:
    path = tmp_path / "data.csv.gz"
    path.write_bytes(packed_runaway)
    with pytest.raises(IngestError) as caught:
        read_table(path, limits=ImportLimits(max_bytes=3 << 20))
    assert str(caught.value) == UNPACKED_TOO_LARGE.format(cap="3.0 MB")
    assert read_table(path).report.rows == 300_000


def test_a_damaged_gzip_found_while_repairing_gets_the_gzip_message(
    tmp_path: Path, packed_runaway: bytes
) -> None:
    path = tmp_path / "data.csv.gz"
    path.write_bytes(packed_runaway[: len(packed_runaway) * 9 // 10])
    with pytest.raises(IngestError) as caught:
        read_table(path)
    assert str(caught.value) == BAD_GZIP


def test_an_unknown_quote_mode_is_refused(tmp_path: Path) -> None:
    with pytest.raises(IngestError) as caught:
        read_table(write(tmp_path, rows(3)), quotes="sometimes")
    assert str(caught.value) == INVALID_QUOTES.format(quotes="sometimes")


def test_a_ragged_row_still_reports_its_line(tmp_path: Path) -> None:
    report = read_table(write(tmp_path, on_line(rows(10), 5, "3,9"))).report
    assert (report.rows, report.skipped_rows, report.skipped_row_lines) == (9, 1, (5,))
    assert report.warnings == (SKIPPED_ROWS_WARNING.format(count=1, width=3, lines="5"),)


# --- JSON lines cannot swallow rows: an unclosed string is a bad line ----------------------


def test_json_lines_with_an_unclosed_string_names_the_line(tmp_path: Path) -> None:
    lines = [f'{{"id": {i}, "note": "n{i}"}}' for i in range(20_000)]
    lines[9_999] = '{"id": 9999, "note": "broken}'
    path = tmp_path / "data.jsonl"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(IngestError) as caught:
        read_table(path)
    assert str(caught.value) == INVALID_JSON_LINE.format(line=10_000)


def test_report_lists_the_repaired_lines_as_plain_json(tmp_path: Path) -> None:
    lines = on_line(on_line(rows(500), 40, '38,"x,1'), 90, '88,"y,2')
    data = read_table(write(tmp_path, lines)).report.to_dict()
    assert data["literal_quote_lines"] == [40, 90]
    assert data["warnings"] == [
        repaired(40, '38,"x,1', more=" The same was done on 1 more line(s): 90.")
    ]
