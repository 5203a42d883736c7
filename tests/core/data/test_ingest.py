"""Tests for core.data.ingest: the malformed-file corpus, limits, sniffing and type fixes."""

from __future__ import annotations

import gzip
import importlib.util
import json
import shutil
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from core.data.ingest import ImportLimits, IngestResult, fix_column_names, read_table
from core.data.ingest import messages as ingest  # vars(ingest): every sentence an import says
from core.data.ingest.messages import (
    AMBIGUOUS_DATES_WARNING,
    BAD_GZIP,
    BINARY_FILE,
    CORRUPT_PARQUET,
    DATE_GAPS_WARNING,
    DECIMAL_COMMA_WARNING,
    EMPTY_FILE,
    ENCODING_UNCERTAIN_WARNING,
    ENCODING_WARNING,
    EXCEL_FILE,
    FILE_TOO_LARGE,
    INCONSISTENT_DELIMITER,
    INVALID_DELIMITER,
    INVALID_JSON_LINE,
    JSON_DOCUMENT,
    JSON_LINE_NOT_UTF8,
    JSON_MIXED_TYPES,
    MAX_IMPORT_MB_ENV,
    NO_DATA_ROWS,
    NOT_A_TABLE,
    RENAMED_COLUMNS_WARNING,
    SKIPPED_ROWS_WARNING,
    THOUSANDS_WARNING,
    TOO_MANY_COLUMNS,
    UNDECODABLE,
    UNKNOWN_ENCODING,
    UNPACKED_TOO_LARGE,
    IngestError,
)

DATA = Path(__file__).resolve().parents[2] / "data"
CORPUS = DATA / "malformed"


def load(name: str, **kwargs: object) -> IngestResult:
    return read_table(CORPUS / name, file_name=name, **kwargs)  # type: ignore[arg-type]


def rejection(path: Path, **kwargs: object) -> str:
    with pytest.raises(IngestError) as caught:
        read_table(path, **kwargs)  # type: ignore[arg-type]
    return str(caught.value)


def column(result: IngestResult, name: str) -> list[object]:
    return result.table.column(name).to_pylist()


# --- the committed corpus ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "rows", "columns", "encoding", "delimiter", "skipped"),
    [
        ("utf16_bom.csv", 3, 3, "utf-16", ",", 0),
        ("cp1252_euro.csv", 3, 3, "cp1252", ",", 0),
        ("latin1_accents.csv", 3, 3, "cp1252", ",", 0),
        ("utf8_bom.csv", 2, 2, "utf-8", ",", 0),
        ("semicolon.csv", 4, 3, "utf-8", ";", 0),
        ("tabs.tsv", 3, 3, "utf-8", "\t", 0),
        ("pipes.txt", 3, 3, "utf-8", "|", 0),
        ("mixed_delimiters.csv", 6, 3, "utf-8", ";", 2),
        ("ragged_rows.csv", 4, 3, "utf-8", ",", 3),
        ("duplicate_names.csv", 2, 8, "utf-8", ",", 0),
        ("all_null_column.csv", 3, 3, "utf-8", ",", 0),
        ("html_script.csv", 2, 3, "utf-8", ",", 0),
        ("dates_and_flags.csv", 40, 9, "utf-8", ",", 0),
        ("money_strings.csv", 3, 3, "utf-8", ",", 0),
        ("quoted_newlines.csv", 3, 3, "utf-8", ",", 1),
        ("leading_blank_lines.csv", 2, 2, "utf-8", ",", 0),
        ("sales.csv.gz", 100, 4, "utf-8", ",", 0),
        ("events.jsonl", 3, 4, "utf-8", None, 0),
        ("small.parquet", 3, 3, None, None, 0),
    ],
)
def test_corpus_file_loads(
    name: str, rows: int, columns: int, encoding: str | None, delimiter: str | None, skipped: int
) -> None:
    report = load(name).report
    assert (report.rows, report.columns) == (rows, columns)
    assert (report.encoding, report.delimiter, report.skipped_rows) == (
        encoding,
        delimiter,
        skipped,
    )
    assert len(report.skipped_row_lines) == skipped


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("empty.csv", EMPTY_FILE),
        ("header_only.csv", NO_DATA_ROWS),
        ("png_renamed.csv", NOT_A_TABLE.format(kind="a PNG image")),
        ("pdf_renamed.csv", NOT_A_TABLE.format(kind="a PDF document")),
        ("zip_renamed.csv", NOT_A_TABLE.format(kind="a ZIP archive")),
        ("binary_noise.csv", BINARY_FILE),
        ("broken.jsonl", INVALID_JSON_LINE.format(line=3)),
        ("corrupt.parquet", CORRUPT_PARQUET),
        ("mostly_wrong_delimiter.csv", INCONSISTENT_DELIMITER.format(skipped=8, total=9)),
    ],
)
def test_corpus_file_is_rejected_with_a_clear_message(name: str, message: str) -> None:
    assert rejection(CORPUS / name, file_name=name) == message


def test_png_message_tells_the_user_what_to_upload() -> None:
    message = rejection(CORPUS / "png_renamed.csv", file_name="png_renamed.csv")
    assert message == (
        "This looks like a PNG image, not a table. Upload a CSV, TSV, Parquet or JSON-lines file."
    )


def test_corpus_is_small_and_reproducible(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("make_malformed", DATA / "make_malformed.py")
    assert spec is not None and spec.loader is not None
    maker = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(maker)
    assert sum(path.stat().st_size for path in CORPUS.iterdir()) < 200_000
    assert sorted(maker.CORPUS_FILES) == sorted(path.name for path in CORPUS.iterdir())
    for name, make in maker.CORPUS_FILES.items():
        if not name.endswith(".parquet"):  # parquet metadata names the pyarrow version
            assert make() == (CORPUS / name).read_bytes(), name


# --- text decoding -------------------------------------------------------------------------


def test_utf16_values_decode() -> None:
    result = load("utf16_bom.csv")
    assert column(result, "name") == ["José", "Zoë", "Ñandú"]
    assert column(result, "city")[2] == "São Paulo"
    assert column(result, "amount") == [10, 20, 30]


def test_cp1252_euro_and_curly_quotes_decode_with_a_warning() -> None:
    result = load("cp1252_euro.csv")
    assert column(result, "price") == ["€5", "€3", "€4"]
    assert column(result, "note") == ["“special”", "‘mild’ – hot", "…"]
    expected = ENCODING_WARNING.format(encoding="Windows-1252 (Western European)")
    assert result.report.warnings == (expected,)


def test_latin1_accents_decode_sniffed_or_explicit() -> None:
    sniffed = load("latin1_accents.csv")
    explicit = load("latin1_accents.csv", encoding="latin-1")
    for result in (sniffed, explicit):
        assert column(result, "name") == ["José", "Müller", "Niño"]
        assert column(result, "country") == ["España", "Österreich", "México"]
    assert explicit.report.encoding == "latin-1"
    assert explicit.report.warnings == ()


def test_bytes_undefined_in_cp1252_fall_back_to_latin1_and_say_it_is_uncertain(
    tmp_path: Path,
) -> None:
    path = tmp_path / "odd.csv"
    path.write_bytes(b"name,code\ncaf\xe9,\x81x\nna\xf1a,y\n")
    result = read_table(path)
    assert result.report.encoding == "latin-1"
    assert column(result, "name") == ["café", "naña"]
    uncertain = ENCODING_UNCERTAIN_WARNING.format(encoding="Latin-1 (ISO-8859-1)")
    assert result.report.warnings == (uncertain,)


def test_utf16_without_bom_is_recognised(tmp_path: Path) -> None:
    path = tmp_path / "le.csv"
    path.write_bytes("id,name\n1,Ana\n2,Bo\n3,Cy\n".encode("utf-16-le"))
    result = read_table(path)
    assert result.report.encoding == "utf-16-le"
    assert column(result, "name") == ["Ana", "Bo", "Cy"]


def test_utf8_bom_is_not_part_of_the_first_name() -> None:
    result = load("utf8_bom.csv")
    assert result.table.column_names == ["id", "label"]
    assert column(result, "label") == ["ünï", "çà"]


def test_explicit_wrong_encoding_is_rejected() -> None:
    path = CORPUS / "cp1252_euro.csv"
    assert rejection(path, encoding="utf-8") == UNDECODABLE.format(encoding="UTF-8")


def test_unknown_encoding_is_rejected() -> None:
    path = CORPUS / "semicolon.csv"
    assert rejection(path, encoding="klingon") == UNKNOWN_ENCODING.format(encoding="klingon")


def test_non_utf8_bytes_after_the_sniffed_head_switch_to_cp1252(tmp_path: Path) -> None:
    path = tmp_path / "late.csv"
    body = "".join(f"{i},plain text {i}\n" for i in range(80_000))
    path.write_bytes(b"id,note\n" + body.encode() + "999999,café €\n".encode("cp1252"))
    result = read_table(path)
    assert result.report.encoding == "cp1252"
    assert column(result, "note")[-1] == "café €"
    assert result.report.rows == 80_001


# --- delimiters, ragged rows and names -----------------------------------------------------


def test_semicolon_decimal_commas_become_numbers_with_one_warning() -> None:
    result = load("semicolon.csv")
    assert result.table.schema.field("price").type == pa.float64()
    assert column(result, "price") == [1.5, 2.25, 0.99, 3.1]
    expected = DECIMAL_COMMA_WARNING.format(columns="column 'price'", example="1,50", number="1.5")
    assert result.report.warnings == (expected,)


def test_explicit_delimiter_overrides_sniffing() -> None:
    assert load("tabs.tsv", delimiter="tab").report.delimiter == "\t"
    assert load("pipes.txt", delimiter="|").table.column_names == ["id", "city", "population"]
    assert column(load("pipes.txt"), "city") == ["Oslo", "Bergen", "Tromsø"]


def test_delimiter_must_be_one_character() -> None:
    path = CORPUS / "pipes.txt"
    assert rejection(path, delimiter=";;") == INVALID_DELIMITER.format(delimiter=";;")


def test_mixed_delimiters_keep_the_header_delimiter_and_report_stray_lines() -> None:
    result = load("mixed_delimiters.csv")
    assert result.report.skipped_row_lines == (4, 7)
    assert column(result, "id") == [1, 2, 4, 5, 7, 8]
    lines = "4, 7"
    expected = SKIPPED_ROWS_WARNING.format(count=2, width=3, lines=lines)
    assert result.report.warnings == (expected,)


def test_ragged_rows_are_skipped_with_their_line_numbers() -> None:
    result = load("ragged_rows.csv")
    assert result.report.skipped_row_lines == (3, 5, 7)
    assert column(result, "a") == [1, 6, 13, 17]


def test_only_the_first_twenty_ragged_lines_are_listed(tmp_path: Path) -> None:
    path = tmp_path / "ragged.csv"
    rows = [f"{i},{i}" if i % 3 else f"{i}" for i in range(1, 91)]
    path.write_text("a,b\n" + "\n".join(rows) + "\n")
    report = read_table(path).report
    assert report.skipped_rows == 30
    assert report.skipped_row_lines == tuple(range(4, 62, 3))
    assert "(lines 4, 7, 10," in report.warnings[0] and ", 61, ...)." in report.warnings[0]


def test_duplicate_blank_and_padded_names_are_renamed_and_reported() -> None:
    result = load("duplicate_names.csv")
    expected = ["id", "name", "name_2", "column_4", "value", "column_6", "name_3", "score"]
    assert result.table.column_names == expected
    renames = (
        ("name", "name_2"),
        (" ", "column_4"),
        ("", "column_6"),
        ("name", "name_3"),
        ("  score  ", "score"),
    )
    assert result.report.renamed_columns == renames
    assert result.report.warnings[0].startswith(RENAMED_COLUMNS_WARNING.split("{")[0][:-1])
    assert column(result, "name_3") == ["e", "j"]


def test_fix_column_names_avoids_existing_suffixes() -> None:
    names, renames = fix_column_names(["a", "a", "a_2", "", "column_4"])
    assert names == ["a", "a_3", "a_2", "column_4", "column_4_2"]
    assert renames == [("a", "a_3"), ("", "column_4"), ("column_4", "column_4_2")]


def test_quoted_newlines_stay_inside_one_value() -> None:
    result = load("quoted_newlines.csv")
    assert column(result, "comment") == ["first line\nsecond line", "plain", "x"]


def test_html_and_script_text_load_unchanged() -> None:
    result = load("html_script.csv")
    assert result.table.column_names == ["<b>name</b>", "<script>alert(1)</script>", "note"]
    assert column(result, "<script>alert(1)</script>")[1] == "<script>alert(2)</script>"
    assert column(result, "note") == ["<i>hi</i>", "&amp;"]


# --- types ---------------------------------------------------------------------------------


def test_all_null_column_becomes_string() -> None:
    result = load("all_null_column.csv")
    assert result.table.schema.field("empty").type == pa.string()
    assert column(result, "empty") == [None, None, None]


def test_dates_and_booleans_become_typed_columns() -> None:
    result = load("dates_and_flags.csv")
    types = {field.name: str(field.type) for field in result.table.schema}
    assert types == {
        "id": "int64",
        "iso": "timestamp[us]",
        "eu": "timestamp[us]",
        "us": "timestamp[us]",
        "ambiguous": "timestamp[us]",
        "gappy": "timestamp[us]",
        "flag": "bool",
        "active": "bool",
        "mixed": "string",
    }
    first = result.table.slice(0, 1).to_pylist()[0]
    assert (first["eu"].day, first["eu"].month) == (2, 3)
    assert (first["us"].day, first["us"].month) == (2, 3)
    assert (first["ambiguous"].day, first["ambiguous"].month) == (2, 6)  # "02/06/2023"
    assert column(result, "gappy")[6] is None
    assert column(result, "flag")[:2] == [True, False]
    assert result.report.warnings == (
        AMBIGUOUS_DATES_WARNING.format(column="ambiguous", format="dd/mm/yyyy"),
        DATE_GAPS_WARNING.format(column="gappy", format="yyyy-mm-dd", count=1),
    )


def test_mostly_non_dates_and_non_booleans_stay_text(tmp_path: Path) -> None:
    path = tmp_path / "loose.csv"
    rows = [
        f"{i},{'2024-01-05' if i % 5 else 'soon'},{'yes' if i % 7 else 'maybe'}" for i in range(40)
    ]
    path.write_text("id,when,answer\n" + "\n".join(rows) + "\n")
    result = read_table(path)
    assert result.table.schema.field("when").type == pa.string()
    assert result.table.schema.field("answer").type == pa.string()


def test_thousands_separators_become_numbers_and_money_stays_text() -> None:
    result = load("money_strings.csv")
    assert result.table.schema.field("amount").type == pa.int64()
    assert column(result, "amount") == [1234, 12000, 999]
    assert column(result, "price") == ["$12.50", "$3.00", "$1,000.00"]
    expected = THOUSANDS_WARNING.format(columns="column 'amount'", example="1,234", number="1234")
    assert result.report.warnings == (expected,)


def test_types_that_change_after_the_sample_are_widened(tmp_path: Path) -> None:
    path = tmp_path / "drift.csv"
    body = "".join(f"{i},{i % 7},,{i % 3}\n" for i in range(100_000))
    path.write_text("id,small,late,code\n" + body + "100000,2.5,42,x\n")
    result = read_table(path)
    types = {field.name: field.type for field in result.table.schema}
    assert types == {
        "id": pa.int64(),
        "small": pa.float64(),
        "late": pa.int64(),
        "code": pa.string(),
    }
    assert column(result, "small")[-1] == 2.5
    assert column(result, "late")[-1] == 42
    assert column(result, "code")[-2:] == ["0", "x"]


def test_twelve_thousand_columns_load(tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    header = ",".join(f"feature_{i}" for i in range(12_000))
    rows = [",".join(str((r * 7 + c) % 100) for c in range(12_000)) for r in range(5)]
    path.write_text(header + "\n" + "\n".join(rows) + "\n")
    started = time.perf_counter()
    result = read_table(path)
    assert time.perf_counter() - started < 10
    assert (result.report.rows, result.report.columns) == (5, 12_000)
    assert column(result, "feature_11999") == [(r * 7 + 11_999) % 100 for r in range(5)]


# --- limits --------------------------------------------------------------------------------


def test_file_over_the_size_cap_names_size_cap_and_setting() -> None:
    message = rejection(CORPUS / "dates_and_flags.csv", limits=ImportLimits(max_bytes=1024))
    assert message == FILE_TOO_LARGE.format(size="2.7 KB", cap="1.0 KB")
    assert MAX_IMPORT_MB_ENV in message


def test_gzip_that_unpacks_past_the_cap_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "bomb.csv.gz"
    path.write_bytes(gzip.compress(b"a\n" + b"0\n" * 100_000))
    message = rejection(path, limits=ImportLimits(max_bytes=50_000))
    assert message == UNPACKED_TOO_LARGE.format(cap="48.8 KB")


def test_too_many_columns_is_rejected_for_each_format(tmp_path: Path) -> None:
    limits = ImportLimits(max_columns=5)
    expected = TOO_MANY_COLUMNS.format(columns=8, limit=5)
    assert rejection(CORPUS / "duplicate_names.csv", limits=limits) == expected
    wide = pa.table({f"c{i}": [i] for i in range(8)})
    pq.write_table(wide, tmp_path / "wide.parquet")
    (tmp_path / "wide.jsonl").write_text(json.dumps(wide.to_pylist()[0]) + "\n")
    assert rejection(tmp_path / "wide.parquet", limits=limits) == expected
    assert rejection(tmp_path / "wide.jsonl", limits=limits) == expected


def test_limits_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MAX_IMPORT_MB_ENV, raising=False)
    assert ImportLimits.from_env() == ImportLimits()
    monkeypatch.setenv(MAX_IMPORT_MB_ENV, "5")
    assert ImportLimits.from_env().max_bytes == 5 * 1024 * 1024
    monkeypatch.setenv(MAX_IMPORT_MB_ENV, "lots")
    with pytest.raises(ValueError, match="MLOPS_STUDIO_MAX_IMPORT_MB must be a whole number"):
        ImportLimits.from_env()


# --- formats -------------------------------------------------------------------------------


def test_format_comes_from_magic_bytes_when_the_name_says_nothing(tmp_path: Path) -> None:
    upload = tmp_path / "upload-1234.tmp"
    shutil.copy(CORPUS / "small.parquet", upload)
    result = read_table(upload)
    assert result.report.format == "parquet"
    assert result.table.column_names == ["id", "name", "score"]


def test_file_name_picks_jsonl_for_a_temp_upload(tmp_path: Path) -> None:
    upload = tmp_path / "upload-1234.tmp"
    shutil.copy(CORPUS / "events.jsonl", upload)
    result = read_table(upload, file_name="events.ndjson")
    assert result.report.format == "jsonl"
    assert column(result, "kind") == ["click", "view", "click"]


def test_gzipped_csv_and_parquet(tmp_path: Path) -> None:
    sales = load("sales.csv.gz")
    assert (sales.report.format, sales.report.compression) == ("csv", "gzip")
    assert sales.table.schema.field("when").type == pa.timestamp("us")
    path = tmp_path / "small.parquet.gz"
    path.write_bytes(gzip.compress((CORPUS / "small.parquet").read_bytes()))
    result = read_table(path)
    assert (result.report.format, result.report.compression) == ("parquet", "gzip")
    assert column(result, "score") == [0.5, 0.25, 1.0]


def test_truncated_gzip_is_rejected(tmp_path: Path) -> None:
    whole = gzip.compress(b"a,b\n" + b"1,2\n" * 50_000)
    path = tmp_path / "cut.csv.gz"
    path.write_bytes(whole[: len(whole) // 2])
    assert rejection(path) == BAD_GZIP


def test_excel_workbook_gets_its_own_advice() -> None:
    assert rejection(CORPUS / "zip_renamed.csv", file_name="budget.xlsx") == EXCEL_FILE


def test_parquet_named_file_without_parquet_bytes_is_corrupt() -> None:
    path = CORPUS / "semicolon.csv"
    assert rejection(path, file_name="data.parquet") == CORRUPT_PARQUET


def test_jsonl_values_and_blank_lines() -> None:
    result = load("events.jsonl")
    assert column(result, "value") == [1.5, None, 2.0]
    assert column(result, "ok") == [True, False, True]


def test_jsonl_with_mixed_value_kinds(tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    path.write_text('{"a": 1}\n{"a": "x"}\n')
    assert rejection(path) == JSON_MIXED_TYPES.format(field="a")


def test_jsonl_line_that_is_not_utf8_or_not_an_object(tmp_path: Path) -> None:
    latin = tmp_path / "latin.jsonl"
    latin.write_bytes(b'{"a": "ok"}\n{"a": "caf\xe9"}\n')
    assert rejection(latin) == JSON_LINE_NOT_UTF8.format(line=2)
    array = tmp_path / "array.jsonl"
    array.write_text('{"a": 1}\n\n[1, 2]\n')
    assert rejection(array) == INVALID_JSON_LINE.format(line=3)


def test_a_value_longer_than_a_parse_block_loads(tmp_path: Path) -> None:
    path = tmp_path / "long.csv"
    path.write_text("id,text\n1," + "x" * 3_000_000 + "\n2,short\n")
    result = read_table(path)
    assert [len(value) for value in column(result, "text")] == [3_000_000, 5]


def test_json_document_is_not_json_lines(tmp_path: Path) -> None:
    path = tmp_path / "rows.json"
    path.write_text('[{"a": 1}, {"a": 2}]\n')
    assert rejection(path) == JSON_DOCUMENT


def test_parquet_null_and_duplicate_columns_are_made_usable(tmp_path: Path) -> None:
    table = pa.table([pa.array([1, 2]), pa.nulls(2), pa.array([3, 4])], names=["x", "", "x"])
    pq.write_table(table, tmp_path / "odd.parquet")
    result = read_table(tmp_path / "odd.parquet")
    assert result.table.column_names == ["x", "column_2", "x_2"]
    assert result.table.schema.field("column_2").type == pa.string()
    assert result.report.renamed_columns == (("", "column_2"), ("x", "x_2"))


def test_report_is_plain_json() -> None:
    data = load("ragged_rows.csv").report.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["skipped_row_lines"] == [3, 5, 7]
    renamed = load("duplicate_names.csv").report.to_dict()["renamed_columns"]
    assert renamed[0] == {"original": "name", "new": "name_2"}


def test_messages_and_warnings_are_whole_sentences() -> None:
    messages = {
        name: value
        for name, value in vars(ingest).items()
        if name.isupper()
        and not name.startswith("_")
        and name != "MAX_IMPORT_MB_ENV"
        and isinstance(value, str)
    }
    assert len(messages) > 20
    for name, message in messages.items():
        assert message[0].isupper() and message.endswith("."), name
        assert "Traceback" not in message, name
