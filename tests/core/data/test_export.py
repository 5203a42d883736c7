"""Exports: CSV cells a spreadsheet would run get a leading quote; files are whole or absent."""

import io
from pathlib import Path

import pandas as pd
import pytest

from core.data.export import csv_bytes, safe_cell, safe_csv_frame, write_atomically, write_csv


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("-3.5", "-3.5"),
        ("+1e5", "+1e5"),
        ("plain", "plain"),
        ("a=b", "a=b"),
        (-3.5, -3.5),
        (None, None),
    ],
)
def test_safe_cell(value, expected):
    assert safe_cell(value) == expected


def _risky_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "name": ['=HYPERLINK("http://x.test")', "ok", None, "-x"],
            "-x": [-3.5, 2.0, -1.0, 0.5],
            "flag": [True, False, True, None],
            "level": pd.Categorical(["@a", "b", "@a", "b"]),
            "mixed": ["=1", 2, None, "z"],
            "when": pd.to_datetime(["2024-01-02", "2024-01-03", None, "2024-01-05"]),
        }
    )


def test_safe_csv_frame_touches_text_only():
    safe = safe_csv_frame(_risky_frame())
    assert list(safe.columns) == ["name", "'-x", "flag", "level", "mixed", "when"]
    assert safe["name"].tolist() == ['\'=HYPERLINK("http://x.test")', "ok", None, "'-x"]
    assert safe["'-x"].tolist() == [-3.5, 2.0, -1.0, 0.5] and safe["'-x"].dtype == float
    assert list(safe["level"].cat.categories) == ["'@a", "b"]
    assert safe["mixed"].tolist() == ["'=1", 2, None, "z"]
    assert safe["when"].dtype == "datetime64[ns]"


def test_csv_bytes_and_write_csv_agree_and_are_safe(tmp_path: Path):
    data = csv_bytes(_risky_frame())
    write_csv(_risky_frame(), tmp_path / "out.csv")
    assert (tmp_path / "out.csv").read_bytes() == data
    back = pd.read_csv(io.BytesIO(data))
    assert list(back.columns) == ["name", "'-x", "flag", "level", "mixed", "when"]
    assert back["name"].tolist()[:2] == ['\'=HYPERLINK("http://x.test")', "ok"]
    assert back["'-x"].tolist() == [-3.5, 2.0, -1.0, 0.5]
    assert back["level"].tolist() == ["'@a", "b", "'@a", "b"]
    assert back["mixed"].tolist()[0] == "'=1"
    assert data.decode().splitlines()[1].endswith(",2024-01-02")


def test_times_keep_their_seconds_when_they_have_them():
    frame = pd.DataFrame({"at": pd.to_datetime(["2024-01-02 10:30:00", "2024-01-03 00:00:00"])})
    assert csv_bytes(frame).decode().splitlines()[1:] == [
        "2024-01-02 10:30:00",
        "2024-01-03 00:00:00",
    ]


def test_a_failed_write_leaves_the_old_file_and_no_temp_file(tmp_path: Path):
    target = tmp_path / "out.csv"
    target.write_text("before")
    target.chmod(0o640)

    def half(temp: Path) -> None:
        temp.write_text("half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_atomically(target, half)
    assert target.read_text() == "before"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]
    write_atomically(target, lambda temp: temp.write_text("after"))
    assert target.read_text() == "after" and target.stat().st_mode & 0o777 == 0o640
