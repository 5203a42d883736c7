"""Numbers written with decimal commas and thousands separators, read as a spreadsheet would."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.data.ingest import IngestError, IngestResult, read_table
from core.data.ingest.messages import (
    DECIMAL_COMMA_WARNING,
    ENCODING_WARNING,
    INVALID_DECIMAL,
)


def write(folder: Path, text: str, *, name: str = "data.csv", encoding: str = "utf-8") -> Path:
    path = folder / name
    path.write_bytes(text.encode(encoding))
    return path


def column(result: IngestResult, name: str) -> list[object]:
    return result.table.column(name).to_pylist()


def types(result: IngestResult) -> dict[str, str]:
    return {field.name: str(field.type) for field in result.table.schema}


def test_a_european_export_reads_as_a_spreadsheet_would(tmp_path: Path) -> None:
    """Semicolons, decimal commas, points between thousands, Windows-1252 letters."""
    text = (
        "Artikel;Menge;Preis;Umsatz;Bestand;Änderung;Notiz\n"
        "Äpfel;1.500;3,50;5.250,00;1.234.567;-2,5;gut\n"
        "Birnen;800;2,25;1.800,00;12.000;+0,75;\n"
        "Kiwis;12.000;0,99;11.880,00;7;;ok\n"
    )
    result = read_table(write(tmp_path, text, encoding="cp1252"))
    assert result.report.delimiter == ";"
    assert types(result) == {
        "Artikel": "string",
        "Menge": "int64",
        "Preis": "double",
        "Umsatz": "double",
        "Bestand": "int64",
        "Änderung": "double",
        "Notiz": "string",
    }
    assert column(result, "Artikel") == ["Äpfel", "Birnen", "Kiwis"]
    assert column(result, "Menge") == [1500, 800, 12000]
    assert column(result, "Preis") == [3.5, 2.25, 0.99]
    assert column(result, "Umsatz") == [5250.0, 1800.0, 11880.0]
    assert column(result, "Bestand") == [1234567, 12000, 7]
    assert column(result, "Änderung") == [-2.5, 0.75, None]
    numbers = DECIMAL_COMMA_WARNING.format(
        columns="columns 'Menge', 'Preis', 'Umsatz', 'Bestand' and 'Änderung'",
        example="3,50",
        number="3.5",
    )
    encoding = ENCODING_WARNING.format(encoding="Windows-1252 (Western European)")
    assert result.report.warnings == (encoding, numbers)


@pytest.mark.parametrize(
    ("values", "expected", "kind"),
    [
        (['"1,234,567.89"', '"2,000.5"', "3.25"], [1234567.89, 2000.5, 3.25], "double"),
        (["1 234", "12 345", "7"], [1234, 12345, 7], "int64"),
        (['"1\u00a0234,5"', '"12\u00a0345,25"', "7"], [1234.5, 12345.25, 7.0], "double"),
        (["1'234.50", "12'345", "-7"], [1234.5, 12345.0, -7.0], "double"),
        (['"1,234"', '"12,000"', "999"], [1234, 12000, 999], "int64"),
    ],
    ids=["commas-and-point", "spaces", "no-break-spaces-and-comma", "apostrophes", "commas"],
)
def test_thousands_separators_of_each_kind_become_numbers(
    tmp_path: Path, values: list[str], expected: list[float], kind: str
) -> None:
    rows = "".join(f"{index},{value}\n" for index, value in enumerate(values))
    result = read_table(write(tmp_path, "id,amount\n" + rows))
    assert types(result)["amount"] == kind
    assert column(result, "amount") == pytest.approx(expected)
    assert len(result.report.warnings) == 1
    assert "column 'amount'" in result.report.warnings[0]


def test_a_grouping_that_fits_both_marks_follows_the_file(tmp_path: Path) -> None:
    """'1,234' is 1234 beside '2,000.5', but 1.234 beside '3,5' or in a ';' file."""
    with_points = write(tmp_path, 'a,b\n"1,234","2,000.5"\n"5,678","1.5"\n', name="points.csv")
    assert column(read_table(with_points), "a") == [1234, 5678]
    with_commas = write(tmp_path, 'a,b\n"1,234","3,5"\n"5,678","2,25"\n', name="commas.csv")
    assert column(read_table(with_commas), "a") == [1.234, 5.678]
    semicolons = write(tmp_path, "a;b\n1,234;x\n5,678;y\n", name="semicolons.csv")
    result = read_table(semicolons)
    assert column(result, "a") == [1.234, 5.678]
    expected = DECIMAL_COMMA_WARNING.format(columns="column 'a'", example="1,234", number="1.234")
    assert result.report.warnings == (expected,)


def test_a_chosen_decimal_mark_wins_and_needs_no_warning(tmp_path: Path) -> None:
    path = write(tmp_path, 'a,b\n"1,234","3,5"\n"5,678","2,25"\n')
    points = read_table(path, decimal=".")
    assert column(points, "a") == [1234, 5678]
    assert column(points, "b") == ["3,5", "2,25"]  # not numbers with a decimal point
    assert points.report.warnings == ()
    commas = read_table(path, decimal="comma")
    assert column(commas, "a") == [1.234, 5.678]
    assert commas.report.warnings == ()


def test_an_unknown_decimal_mark_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "a\n1\n")
    with pytest.raises(IngestError) as caught:
        read_table(path, decimal=";")
    assert str(caught.value) == INVALID_DECIMAL.format(decimal=";")


def test_point_decimals_in_a_comma_file_stay_as_written(tmp_path: Path) -> None:
    """A column of '0.5' cannot be thousands, so it stays 0.5 beside decimal commas."""
    path = write(tmp_path, "rate;price\n0.5;3,5\n0.125;2,25\n1.500;1,5\n")
    result = read_table(path)
    assert column(result, "rate") == [0.5, 0.125, 1.5]
    assert column(result, "price") == [3.5, 2.25, 1.5]


@pytest.mark.parametrize(
    "values",
    [
        ['"1,2,3"', '"4,5"', "6"],  # lists of codes
        ["1.2.3", "1.10.0", "2.0.1"],  # version numbers
        ['"1,5"', "unknown", '"2,5"'],  # a word among the numbers
        ["555-1234", "555-9876", "555-0000"],  # phone numbers
        ['"€1.234,50"', '"€3,00"', '"€12,00"'],  # money keeps its sign, so stays text
    ],
    ids=["code-lists", "versions", "a-word", "phones", "money"],
)
def test_text_that_only_looks_like_numbers_stays_text(tmp_path: Path, values: list[str]) -> None:
    rows = "".join(f"{index},{value}\n" for index, value in enumerate(values))
    result = read_table(write(tmp_path, "id,value\n" + rows))
    assert types(result)["value"] == "string"
    assert result.report.warnings == ()


def test_many_columns_are_named_in_one_warning(tmp_path: Path) -> None:
    header = ";".join(f"m{index}" for index in range(8))
    row = ";".join(f"{index},5" for index in range(8))
    result = read_table(write(tmp_path, f"{header}\n{row}\n{row}\n"))
    expected = DECIMAL_COMMA_WARNING.format(
        columns="columns 'm0', 'm1', 'm2', 'm3', 'm4', 'm5' and 2 more",
        example="0,5",
        number="0.5",
    )
    assert result.report.warnings == (expected,)
    assert column(result, "m7") == [7.5, 7.5]


def test_numbers_first_seen_past_the_sampled_head_are_read_the_same_way(tmp_path: Path) -> None:
    """A column empty in the head, and one whose later rows break its sampled type."""
    body = "".join(f"{index};{index % 7};;{index},5\n" for index in range(100_000))
    text = "id;small;late;price\n" + body + "100000;1.234,5;2,75;9,5\n"
    result = read_table(write(tmp_path, text))
    assert types(result) == {"id": "int64", "small": "double", "late": "double", "price": "double"}
    assert column(result, "small")[-2:] == [99_999 % 7, 1234.5]
    assert column(result, "late")[-2:] == [None, 2.75]
    assert column(result, "price")[:2] == [0.5, 1.5]
    (warning,) = result.report.warnings
    assert warning.startswith("Read columns 'small', 'late' and 'price' as numbers written with")


def test_a_comma_file_whose_later_value_breaks_the_thousands_reading_keeps_points(
    tmp_path: Path,
) -> None:
    """'1.500' read as 1500 from the head, until a later '0.25' shows the column uses points."""
    body = "".join(f"{index};1.500;{index},5\n" for index in range(100_000))
    path = write(tmp_path, "id;weight;price\n" + body + "100000;0.25;1,5\n")
    result = read_table(path)
    assert types(result)["weight"] == "double"
    assert column(result, "weight")[-2:] == [1.5, 0.25]


def test_plain_decimals_first_seen_past_the_head_need_no_warning(tmp_path: Path) -> None:
    body = "".join(f"{index},,{index % 7}\n" for index in range(100_000))
    path = write(tmp_path, "id,late,code\n" + body + "100000,2.5,x\n")
    result = read_table(path)
    assert types(result) == {"id": "int64", "late": "double", "code": "string"}
    assert column(result, "late")[-1] == 2.5
    assert result.report.warnings == ()
