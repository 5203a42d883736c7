"""Telling a file's encoding from its bytes, and saying so when the studio cannot be sure."""

from __future__ import annotations

import codecs
import json
from pathlib import Path

import pyarrow as pa
import pytest

from core.data.ingest import IngestError, columnar, read_table
from core.data.ingest import messages as ingest
from core.data.ingest.messages import (
    ENCODING_UNCERTAIN_WARNING,
    ENCODING_WARNING,
    MIXED_ENCODING,
    RENAMED_COLUMNS_WARNING,
    UNREADABLE_FILE,
    _reason,
)

JAPANESE = (
    "名前,年齢,都市,商品\n"
    "田中 太郎,30,東京,りんごジュース\n"
    "佐藤 花子,25,大阪,ｶﾀｶﾅ ﾃｽﾄ\n"
    "鈴木 一郎,41,名古屋,緑茶（大）\n"
)
WESTERN = "name,country,note\nJosé,España,café\nMüller,Österreich,Straße\nNiño,México,“hot”\n"
CHINESE = "名字,城市,备注\n张伟,北京,很好的产品\n李娜,上海,质量不错\n王芳,广州,价格合理\n"


def write(folder: Path, data: bytes, name: str = "data.csv") -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


def test_shift_jis_names_and_values_are_read_as_japanese(tmp_path: Path) -> None:
    result = read_table(write(tmp_path, JAPANESE.encode("cp932")))
    assert result.report.encoding == "cp932"
    assert result.table.column_names == ["名前", "年齢", "都市", "商品"]
    assert result.table.column("都市").to_pylist() == ["東京", "大阪", "名古屋"]
    assert result.table.column("商品").to_pylist()[1] == "ｶﾀｶﾅ ﾃｽﾄ"
    assert result.table.schema.field("年齢").type == pa.int64()
    assert result.report.warnings == (ENCODING_WARNING.format(encoding="Shift-JIS (Japanese)"),)


def test_a_chosen_shift_jis_reads_without_a_warning(tmp_path: Path) -> None:
    result = read_table(write(tmp_path, JAPANESE.encode("shift_jis")), encoding="shift_jis")
    assert result.table.column_names[0] == "名前"
    assert result.report.warnings == ()


@pytest.mark.parametrize(
    "text",
    [
        WESTERN,
        "Artikel;Menge\nÄpfel;3\nÜBER;4\n",
        "dish,price\nCrème brûlée,5\nSoupe,3\n",
    ],
    ids=["accents", "capitals-that-are-half-width-katakana", "letters-that-pair-into-kanji"],
)
def test_western_text_is_not_mistaken_for_japanese(tmp_path: Path, text: str) -> None:
    data = text.encode("cp1252")
    if "Crème" in text:  # the case is only a trap if the bytes also decode as Shift-JIS
        assert codecs.decode(data, "cp932")
    result = read_table(write(tmp_path, data))
    assert result.report.encoding == "cp1252"
    assert result.table.column_names == text.splitlines()[0].replace(";", ",").split(",")
    expected = ENCODING_WARNING.format(encoding="Windows-1252 (Western European)")
    assert result.report.warnings == (expected,)


def test_text_in_an_encoding_the_studio_cannot_tell_is_imported_with_a_clear_caution(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, CHINESE.encode("gb18030"))
    guessed = read_table(path)
    assert guessed.report.encoding == "cp1252"
    uncertain = ENCODING_UNCERTAIN_WARNING.format(encoding="Windows-1252 (Western European)")
    assert guessed.report.warnings == (uncertain,)
    chosen = read_table(path, encoding="gb18030")
    assert chosen.table.column_names == ["名字", "城市", "备注"]
    assert chosen.report.warnings == ()


def test_utf32_with_a_byte_order_mark(tmp_path: Path) -> None:
    result = read_table(write(tmp_path, "id,name\n1,Zoë\n2,Åsa\n".encode("utf-32")))
    assert result.report.encoding == "utf-32"
    assert result.table.column("name").to_pylist() == ["Zoë", "Åsa"]
    assert result.report.warnings == ()


def test_a_later_part_in_another_encoding_makes_utf8_uncertain(tmp_path: Path) -> None:
    body = "".join(f"{index},plain text {index}\n" for index in range(80_000))
    path = write(tmp_path, b"id,note\n" + body.encode() + "9,café\n".encode("cp1252"))
    result = read_table(path)
    assert result.report.encoding == "cp1252"
    uncertain = ENCODING_UNCERTAIN_WARNING.format(encoding="Windows-1252 (Western European)")
    assert result.report.warnings == (uncertain,)


def test_a_shift_jis_file_with_a_later_foreign_part_is_refused(tmp_path: Path) -> None:
    body = "".join(f"{index},東京 {index}\n" for index in range(80_000))
    path = write(tmp_path, "id,都市\n".encode("cp932") + body.encode("cp932") + b"9,\x81 x\n")
    with pytest.raises(IngestError) as caught:
        read_table(path)
    assert str(caught.value) == MIXED_ENCODING.format(encoding="Shift-JIS (Japanese)")


def test_renamed_columns_are_named_in_words_not_code(tmp_path: Path) -> None:
    result = read_table(write(tmp_path, b"name,name, ,score\n1,2,3,4\n"))
    expected = RENAMED_COLUMNS_WARNING.format(
        count=2, pairs="'name' to 'name_2', a blank name to 'column_3'"
    )
    assert result.report.warnings == (expected,)


@pytest.mark.parametrize(
    ("complaint", "meaning"),
    [
        (
            "straddling object straddles two block boundaries (try to increase block size?)",
            "one row is too long to read in one piece",
        ),
        ("CSV parse error: Expected 3 columns, got 5: 1,2,3,4,5", "a row has 5 fields where"),
        ("JSON parse error: Missing a name for object member. in row 4", "is not valid JSON"),
        ("In CSV column #2: Row #9: CSV conversion error to int64: oops (try this?)", "oops"),
    ],
)
def test_the_readers_complaints_are_put_in_the_users_words(complaint: str, meaning: str) -> None:
    reason = _reason(pa.ArrowInvalid(complaint))
    assert meaning in reason
    for jargon in ("block size", "try", "CSV column #", "parse error", "Row #", "int64"):
        assert jargon not in reason


def test_a_json_line_longer_than_a_read_block_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(columnar, "_JSON_BLOCK_BYTES", 1000)
    lines = [{"a": 1, "text": "x"}, {"a": 2, "text": "y" * 50_000}, {"a": 3, "text": "z"}]
    path = tmp_path / "long.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    result = read_table(path)
    assert result.table.column("a").to_pylist() == [1, 2, 3]


def test_no_sentence_an_import_says_gives_library_advice_or_code() -> None:
    sentences = [value for name, value in vars(ingest).items() if name.isupper()]
    sentences.append(UNREADABLE_FILE)
    for sentence in sentences:
        if isinstance(sentence, str):
            for jargon in ("block size", "pyarrow", "np.", "True_", "!r", "Traceback", "->"):
                assert jargon not in sentence, sentence
