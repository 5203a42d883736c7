"""The CLI's one table helper lays cells out as the hand-aligned tables did."""

from __future__ import annotations

from app.cli.group import Column, table


def test_a_table_pads_cuts_formats_and_separates() -> None:
    columns = (
        Column("name", 6, cut=True),
        Column("rows", 8, ">", ","),
        Column("share", 5, ">", ".0%"),
        Column("note", gap="  "),
    )
    lines = table(columns, [("a_long_name", 1234567, 0.456, "free text"), ("b", 1, 1.0, "")])
    assert lines == [
        "name       rows share  note",
        "a_long 1,234,567   46%  free text",  # a wider cell pushes, as f-strings do
        "b             1  100%  ",
    ]


def test_a_table_without_header_is_only_its_rows() -> None:
    columns = (Column(width=3, align=">"), Column())
    assert table(columns, [(7, "x")], header=False) == ["  7 x"]
    assert table(columns, [], header=False) == []
