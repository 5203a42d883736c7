"""A Parquet file profiled one column at a time equals the profile of the whole table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from core.data import profile_files
from core.data.datasets import DatasetError
from core.data.profile import count_duplicate_rows, profile_table
from core.data.profile_files import profile_big_parquet, profile_file, profile_parquet_by_column
from core.data.schema import infer_schema
from core.jobs.compute import LocalBackend, Placement


def _frame(rows: int, *, distinct_key: bool, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "age": rng.integers(18, 25, rows),
            "income": rng.choice([1000.5, 2000.0, np.nan, -0.0, 0.0], rows),
            "plan": rng.choice(["basic", "pro", None], rows),
            "active": rng.random(rows) < 0.5,
            "joined": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 3, rows), "D"),
            "note": [f"free text number {i % 97} with words" for i in range(rows)],
            "default": rng.integers(0, 2, rows),
        }
    )
    if distinct_key:
        frame.insert(0, "customer_id", np.arange(rows))
    return frame


def _written(tmp_path: Path, frame: pd.DataFrame) -> Path:
    path = tmp_path / "table.parquet"
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path, row_group_size=700)
    return path


@pytest.mark.parametrize("distinct_key", [True, False])
@pytest.mark.parametrize("target", [None, "default"])
def test_by_column_equals_the_whole_table(
    tmp_path: Path, distinct_key: bool, target: str | None
) -> None:
    path = _written(tmp_path, _frame(3000, distinct_key=distinct_key))
    table = pq.ParquetFile(path).read()
    whole = profile_table(table, schema=infer_schema(table), target=target).to_dict()
    parts = profile_parquet_by_column(path, target=target).to_dict()
    for found in (whole, parts):
        found.pop("seconds")
    assert parts["columns"] == whole["columns"]
    assert parts["duplicate_rows"] == whole["duplicate_rows"]
    assert (parts["duplicate_rows"] == 0) is distinct_key  # few values: rows repeat
    assert parts["quality"] == whole["quality"]
    parts.pop("memory_bytes"), whole.pop("memory_bytes")
    assert parts == whole


def test_each_column_is_a_task_of_the_backend_that_reads_the_file_itself(tmp_path: Path) -> None:
    path = _written(tmp_path, _frame(500, distinct_key=True))
    seen: list[tuple[str, str]] = []

    class Recording(LocalBackend):
        def map(self, fn, items, *, shared=None, on_done=None):  # type: ignore[no-untyped-def]
            seen.extend((item.name, shared["path"]) for item in items)
            return super().map(fn, items, shared=shared, on_done=on_done)

    found, placement = profile_big_parquet(path, backend=Recording())
    assert [name for name, _ in seen] == [column.name for column in found.columns]
    assert len(seen) == 8 and {file for _, file in seen} == {str(path)}
    assert placement == Placement("local")


def test_a_file_profile_needs_no_store_and_names_a_missing_target(tmp_path: Path) -> None:
    path = _written(tmp_path, _frame(400, distinct_key=True))
    found = profile_file(path, target="default")
    assert found["source"] == str(path) and found["rows"] == 400 and found["target"] == "default"
    roles = {column["name"]: column["role"] for column in found["columns"]}
    assert roles["customer_id"] == "id" and roles["note"] == "categorical"
    with pytest.raises(DatasetError, match="Column 'nope' is not in"):
        profile_file(path, target="nope")


_NOWHERE = {"address": None, "workers": [], "notice": None}


def _every_role(rows: int, seed: int = 3) -> pd.DataFrame:
    """A column for each rule of infer_schema, some of them near a rule's edge."""
    rng = np.random.default_rng(seed)
    words = [f"w{i} and more words to make a long free text value" for i in range(rows)]
    return pd.DataFrame(
        {
            "customer_id": np.arange(rows),
            "order_key": rng.integers(0, rows // 2, rows),  # named like an id, half distinct
            "is_member": rng.integers(0, 2, rows),
            "has_card": rng.choice([0.0, 1.0, np.nan], rows),  # NaN: not a 0/1 flag
            "zip_code": rng.integers(1000, 1100, rows),
            "answer": rng.choice(["Yes", "no ", None], rows),
            "token": [f"t{i:06d}" for i in rng.permutation(rows)],
            "note": rng.choice(words, rows),
            "plan": rng.choice(["basic", "pro", None], rows),
            "spend": rng.normal(0, 1, rows),
            "empty": [None] * rows,
        }
    )


@pytest.mark.parametrize("big", [False, True])
def test_roles_guessed_from_the_profiles_counts_are_infer_schemas(
    tmp_path: Path, big: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Roles come from the counts the profile takes anyway (nothing is counted twice); they and
    # every statistic must equal infer_schema followed by the profile, on either path.
    if big:
        monkeypatch.setattr(profile_files, "BIG_TABLE_ROWS", 100)
    path = _written(tmp_path, _every_role(1200))
    table = profile_files._as_imported(pq.ParquetFile(path).read())  # empty column: text
    schema = infer_schema(table)
    whole = profile_table(table, schema=schema).to_dict()
    found = profile_file(path)
    assert [column["role"] for column in found["columns"]] == [c.role for c in schema]
    assert {c.role for c in schema} >= {"id", "boolean", "categorical", "text", "numeric"}
    for result in (found, whole):
        result.pop("seconds"), result.pop("source", None)
        if big:
            result.pop("memory_bytes")
    assert found.pop("compute", None) == ({"where": "local"} | _NOWHERE if big else None)
    assert found == whole


def test_text_read_as_codes_is_the_same_table(tmp_path: Path) -> None:
    frame = _every_role(900)
    path = _written(tmp_path, frame)
    read = profile_files._read_parquet(path, pq.ParquetFile(path).schema_arrow)
    whole = pq.ParquetFile(path).read()
    assert read.equals(whole) and read.nbytes == whole.nbytes


@pytest.mark.parametrize("limit", [1, 40, 10_000])
def test_duplicates_are_compared_exactly_in_groups_of_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, limit: int
) -> None:
    # The rows sharing a hash are read back at most `limit` at a time; the count stays exact.
    monkeypatch.setattr(profile_files, "CANDIDATE_ROWS", limit)
    frame = _frame(2000, distinct_key=False)
    path = _written(tmp_path, frame)
    found = profile_files._streamed_duplicate_rows(path, list(frame.columns), rows=len(frame))
    assert found == count_duplicate_rows(pq.ParquetFile(path).read()) == 25


def test_rows_that_share_a_hash_by_chance_are_not_counted_as_duplicates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A hash that sends every cell to 0 makes every row share one hash: only the exact
    # comparison stands between that and 1,999 duplicates.
    monkeypatch.setattr(profile_files, "_mixed", lambda bits: bits * np.uint64(0))
    frame = _frame(2000, distinct_key=False)
    path = _written(tmp_path, frame)
    found = profile_files._streamed_duplicate_rows(path, list(frame.columns), rows=len(frame))
    assert found == frame.duplicated().sum() == count_duplicate_rows(pq.ParquetFile(path).read())


def test_every_kind_of_cell_hashes_alike_in_every_row_group(tmp_path: Path) -> None:
    # Equal cells must hash alike wherever they sit (each row group has its own dictionary);
    # the counts are checked against the in-memory count on the same table.
    from decimal import Decimal

    rng = np.random.default_rng(11)
    rows = 1500
    pick = rng.integers(0, 3, rows)
    table = pa.table(
        {
            "price": pa.array([Decimal("1.10"), Decimal("2.50"), None], pa.decimal128(5, 2)).take(
                pick
            ),
            "tags": pa.array([["a", "b"], [], None], pa.list_(pa.string())).take(pick),
            "code": pa.array([b"\x00\xff", b"", None], pa.binary()).take(pick),
            "note": pa.array(["é", "", None], pa.large_string()).take(rng.integers(0, 3, rows)),
            "day": pa.array([0, 1, None], pa.int32()).cast(pa.date32()).take(pick),
            "ok": pa.array([True, False, None]).take(rng.integers(0, 3, rows)),
            "ratio": pa.array([0.0, -0.0, float("nan")]).take(rng.integers(0, 3, rows)),
        }
    )
    path = tmp_path / "odd.parquet"
    pq.write_table(table, path, row_group_size=400)
    found = profile_files._streamed_duplicate_rows(path, table.column_names, rows=rows)
    assert (
        found == count_duplicate_rows(pq.ParquetFile(path).read()) == rows - 3 * 3 * 3 * 2
    )  # -0.0 is 0.0


@pytest.mark.parametrize("value", ["lots", "0", "-5"])
def test_a_bad_big_table_size_is_refused_by_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv(profile_files.BIG_TABLE_ROWS_VARIABLE, value)
    with pytest.raises(ValueError, match=f"MLOPS_STUDIO_BIG_TABLE_ROWS must be .* not '{value}'"):
        profile_file(_written(tmp_path, _frame(100, distinct_key=True)))
