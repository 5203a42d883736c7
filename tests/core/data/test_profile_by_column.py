"""A Parquet file profiled one column at a time equals the profile of the whole table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from core.data.datasets import DatasetError
from core.data.profile import profile_table
from core.data.profile_files import profile_file, profile_parquet_by_column
from core.data.schema import infer_schema


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


def test_the_column_map_is_a_parameter(tmp_path: Path) -> None:
    path = _written(tmp_path, _frame(500, distinct_key=True))
    seen: list[str] = []

    def recording_map(function, columns):
        for name, column in columns:
            seen.append(name)
            yield function((name, column))

    found = profile_parquet_by_column(path, mapper=recording_map)
    assert seen == [column.name for column in found.columns] and len(seen) == 8


def test_a_file_profile_needs_no_store_and_names_a_missing_target(tmp_path: Path) -> None:
    path = _written(tmp_path, _frame(400, distinct_key=True))
    found = profile_file(path, target="default")
    assert found["source"] == str(path) and found["rows"] == 400 and found["target"] == "default"
    roles = {column["name"]: column["role"] for column in found["columns"]}
    assert roles["customer_id"] == "id" and roles["note"] == "categorical"
    with pytest.raises(DatasetError, match="Column 'nope' is not in"):
        profile_file(path, target="nope")
