"""A streamed import (written batch by batch) gives what the whole-table import gives."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from core import artifacts
from core.data.datasets import Lineage, import_dataset, list_datasets, store_table
from core.data.ingest import ImportLimits, IngestError, import_file, read_table
from core.data.ingest.messages import BAD_GZIP, UNDECODABLE
from core.data.schema import infer_schema

ROOT = Path(__file__).resolve().parents[3]
SAMPLES = sorted((ROOT / "sample_data").glob("*.csv"))
# Every batch after the first is streamed: the CSV reader's blocks are 1 MiB, so a file of a
# few MiB is read in several batches, and a value in the last one meets decisions made before.
STREAM_ALL = ImportLimits(stream_after_bytes=1)
ROWS = 40_000


def _rows(rows: int = ROWS) -> dict[str, list[object]]:
    return {
        "customer_id": list(range(rows)),
        "age": [18 + i % 70 for i in range(rows)],
        "income": [f"{1000 + (i * 37) % 90000}.{i % 100:02d}" for i in range(rows)],
        "city": [("Oslo", "Lyon", "Porto", "Kraków")[i % 4] for i in range(rows)],
        "active": [("Yes", "No", "no")[i % 3] for i in range(rows)],
        "joined": [f"{1 + i % 12:02d}/{1 + i % 28:02d}/2021" for i in range(rows)],
        "note": [
            None if i % 2 else f"a note that runs long enough to be text, {i}" for i in range(rows)
        ],
        "late": [None] * rows,
    }


def _write_csv(path: Path, columns: dict[str, list[object]], *, delimiter: str = ",") -> Path:
    table = pa.table({name: _texts(values) for name, values in columns.items()})
    options = pacsv.WriteOptions(delimiter=delimiter, quoting_style="needed")
    pacsv.write_csv(table, path, options)
    return path


def _texts(values: list[object]) -> pa.Array:
    return pa.array([None if value is None else str(value) for value in values], pa.string())


def _last(columns: dict[str, list[object]], name: str, *values: object) -> None:
    columns[name][-len(values) :] = list(values)


def _word_in_yes_no(columns: dict[str, list[object]]) -> None:
    _last(columns, "active", "maybe")


def _month_first_dates_show_late(columns: dict[str, list[object]]) -> None:
    # Up to the last rows every day is <= 12, so day-first reads them all (and is chosen);
    # then month-first dates with days past 12 make month-first the better format.
    count = ROWS // 2
    _last(columns, "joined", *[f"{1 + i % 12:02d}/{13 + i % 15}/2021" for i in range(count)])


def _day_first_dates_show_late(columns: dict[str, list[object]]) -> None:
    # Ambiguous in the first batches (a note says so), day-first beyond doubt by the end.
    columns["joined"] = [f"{1 + i % 12:02d}/{1 + i % 12:02d}/2021" for i in range(ROWS)]
    _last(columns, "joined", *[f"{13 + i % 15}/{1 + i % 12:02d}/2021" for i in range(ROWS // 2)])


def _decimal_in_whole_numbers(columns: dict[str, list[object]]) -> None:
    _last(columns, "age", "41.5")


def _text_in_whole_numbers(columns: dict[str, list[object]]) -> None:
    _last(columns, "age", "forty")


def _numbers_in_an_empty_column(columns: dict[str, list[object]]) -> None:
    _last(columns, "late", "1", "2", "3")


def _floats_in_an_empty_column(columns: dict[str, list[object]]) -> None:
    _last(columns, "late", "1", "2.5", "3")


def _text_in_an_empty_column(columns: dict[str, list[object]]) -> None:
    _last(columns, "late", "1", "two")


def _dates_that_stop_parsing(columns: dict[str, list[object]]) -> None:
    _last(columns, "joined", *["soon"] * 50)


def _mostly_not_dates(columns: dict[str, list[object]]) -> None:
    _last(columns, "joined", *["soon"] * (ROWS // 10))


CHANGES: dict[str, Callable[[dict[str, list[object]]], None]] = {
    "as generated": lambda columns: None,
    "a word in a yes/no column": _word_in_yes_no,
    "month-first dates only late": _month_first_dates_show_late,
    "day-first dates only late": _day_first_dates_show_late,
    "a decimal in whole numbers": _decimal_in_whole_numbers,
    "text in whole numbers": _text_in_whole_numbers,
    "numbers in a column empty at first": _numbers_in_an_empty_column,
    "decimals in a column empty at first": _floats_in_an_empty_column,
    "text in a column empty at first": _text_in_an_empty_column,
    "dates that stop parsing": _dates_that_stop_parsing,
    "mostly not dates": _mostly_not_dates,
}


def _assert_same_as_whole(path: Path, tmp_path: Path, **options: str) -> None:
    whole = read_table(path, **options)  # type: ignore[arg-type]
    target = tmp_path / "streamed.parquet"
    streamed = import_file(path, target=target, limits=STREAM_ALL, **options)  # type: ignore[arg-type]
    assert streamed.streamed
    expected = whole.table.replace_schema_metadata(None)
    written = pq.read_table(target)
    assert written.schema.equals(expected.schema, check_metadata=True)
    assert written.equals(expected)
    assert streamed.schema == infer_schema(expected)
    assert streamed.report == whole.report


@pytest.mark.parametrize("change", CHANGES)
def test_a_late_value_gives_what_the_whole_file_gives(tmp_path: Path, change: str) -> None:
    columns = _rows()
    CHANGES[change](columns)
    path = _write_csv(tmp_path / "customers.csv", columns)
    assert path.stat().st_size > 2 * 1024 * 1024  # several batches
    _assert_same_as_whole(path, tmp_path)


def test_a_streamed_column_that_turns_to_text_is_text_in_every_batch(tmp_path: Path) -> None:
    columns = _rows()
    _word_in_yes_no(columns)
    path = _write_csv(tmp_path / "customers.csv", columns)
    import_file(path, target=tmp_path / "out.parquet", limits=STREAM_ALL)
    parquet = pq.ParquetFile(tmp_path / "out.parquet")
    assert parquet.schema_arrow.field("active").type == pa.string()
    assert pq.read_table(tmp_path / "out.parquet").column("active")[0].as_py() == "Yes"


def test_european_numbers_stream_like_the_whole_file(tmp_path: Path) -> None:
    columns = _rows()
    columns["income"] = [f"{1 + i % 9}.{i % 1000:03d},{i % 100:02d}" for i in range(ROWS)]
    columns["joined"] = [f"{1 + i % 28:02d}.{1 + i % 12:02d}.2021" for i in range(ROWS)]
    _last(columns, "income", "n/a")
    path = _write_csv(tmp_path / "europe.csv", columns, delimiter=";")
    _assert_same_as_whole(path, tmp_path)
    columns["income"][-1] = "7.000,25"
    path = _write_csv(tmp_path / "europe.csv", columns, delimiter=";")
    _assert_same_as_whole(path, tmp_path)


def test_a_gzipped_csv_with_a_runaway_quote_late_streams_like_the_whole_file(
    tmp_path: Path,
) -> None:
    lines = ["id,name,score"] + [f"{i},name {i},{i % 7}" for i in range(120_000)]
    lines[110_000] = '110000,"broken name,3'
    path = tmp_path / "quotes.csv.gz"
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    _assert_same_as_whole(path, tmp_path)
    assert read_table(path).report.literal_quote_lines == (110_001,)


def test_a_big_parquet_file_is_copied_batch_by_batch(tmp_path: Path) -> None:
    columns = _rows(200_000)
    table = pa.table(
        {
            "id": pa.array(columns["customer_id"], pa.int64()),
            " city ": pa.array(columns["city"]).dictionary_encode(),
            "empty": pa.nulls(200_000),
            "note": pa.array(columns["note"], pa.string()),
        }
    )
    path = tmp_path / "customers.parquet"
    pq.write_table(table, path, row_group_size=30_000)
    _assert_same_as_whole(path, tmp_path)


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda path: path.name)
def test_sample_files_import_exactly_as_before(tmp_path: Path, sample: Path) -> None:
    """The old import (read whole, then store_table) and the new one give the same version,
    down to the file's hash; forcing the streamed path keeps the content and schema."""
    before, _ = store_table(
        tmp_path / "before",
        name="sample",
        table=read_table(sample, limits=ImportLimits.from_env()).table,
        lineage=Lineage(source_file_name=sample.name),
        actor="studio",
    )
    now = import_dataset(tmp_path / "now", path=sample, name="sample").version
    streamed = import_dataset(tmp_path / "streamed", path=sample, name="sample", limits=STREAM_ALL)
    for version in (now, streamed.version):
        assert version.content_hash == before.content_hash
        assert version.schema == before.schema
        assert (version.row_count, version.column_count) == (before.row_count, before.column_count)


def _datasets_folder_is_empty(home: Path) -> bool:
    folder = artifacts.resolve(home, "datasets")
    return not folder.exists() or not any(folder.iterdir())


def test_bad_bytes_late_in_a_streamed_csv_leave_nothing_registered(tmp_path: Path) -> None:
    columns = _rows()
    _last(columns, "city", "Tórshavn")
    path = _write_csv(tmp_path / "customers.csv", columns)
    path.write_bytes(path.read_bytes().replace("Tórshavn".encode(), "Tórshavn".encode("latin-1")))
    home = tmp_path / "home"
    with pytest.raises(IngestError) as caught:
        import_dataset(home, path=path, name="customers", encoding="utf-8", limits=STREAM_ALL)
    assert str(caught.value) == UNDECODABLE.format(encoding="UTF-8")
    assert list_datasets(home) == []
    assert _datasets_folder_is_empty(home)


def test_a_gzip_cut_short_leaves_nothing_registered(tmp_path: Path) -> None:
    columns = _rows()
    packed = gzip.compress(_write_csv(tmp_path / "c.csv", columns).read_bytes())
    path = tmp_path / "customers.csv.gz"
    path.write_bytes(packed[: len(packed) - 5000])
    home = tmp_path / "home"
    with pytest.raises(IngestError) as caught:
        import_dataset(home, path=path, name="customers", limits=STREAM_ALL)
    assert str(caught.value) == BAD_GZIP
    assert list_datasets(home) == []
    assert _datasets_folder_is_empty(home)


def test_a_late_byte_outside_utf8_rereads_the_whole_file_in_the_fallback(tmp_path: Path) -> None:
    columns = _rows()
    _last(columns, "city", "Tórshavn")
    path = _write_csv(tmp_path / "customers.csv", columns)
    path.write_bytes(path.read_bytes().replace("Tórshavn".encode(), "Tórshavn".encode("cp1252")))
    _assert_same_as_whole(path, tmp_path)
    written = pq.read_table(tmp_path / "streamed.parquet").column("city")
    assert written[-1].as_py() == "Tórshavn" and written[0].as_py() == "Oslo"


def test_a_small_parquet_file_imports_exactly_as_before(tmp_path: Path) -> None:
    path = tmp_path / "credit.parquet"
    pq.write_table(read_table(SAMPLES[0]).table, path, row_group_size=5_000)
    before, _ = store_table(
        tmp_path / "before",
        name="credit",
        table=read_table(path).table,
        lineage=Lineage(source_file_name=path.name),
        actor="studio",
    )
    now = import_dataset(tmp_path / "now", path=path, name="credit").version
    assert (now.content_hash, now.schema) == (before.content_hash, before.schema)
