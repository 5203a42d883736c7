"""Importing a file bigger than the memory it may use: `mlops-studio import` of a 2M-row x
21-column CSV and Parquet file, each in its own process, whose peak memory must stay far
below what the whole table takes in pandas (which the old whole-table import exceeded)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from core.data.ingest.messages import UNDECODABLE
from tests.bench.whole_command import COMMAND

ROOT = Path(__file__).resolve().parents[3]
ROWS = 2_000_000
SAMPLE_ROWS = 100_000
pytestmark = pytest.mark.slow

TO_PARQUET = """
import sys
import pyarrow.csv as pacsv, pyarrow.parquet as pq
reader = pacsv.open_csv(sys.argv[1])
with pq.ParquetWriter(sys.argv[2], reader.schema) as writer:
    for batch in reader:
        writer.write_batch(batch, row_group_size=128 * 1024)
"""


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Written by a child (tests/bench/bench_import.py's table), so this process stays small."""
    path = tmp_path_factory.mktemp("big") / "orders.csv"
    script = ROOT / "tests" / "bench" / "bench_import.py"
    command = [sys.executable, str(script), "--rows", str(ROWS), "--write-csv", str(path)]
    subprocess.run(command, check=True, capture_output=True, cwd=ROOT)
    return path


@pytest.fixture(scope="module")
def whole_in_pandas_mib(big_csv: Path) -> float:
    """What the whole table takes in pandas, from a sample of its rows."""
    sample = pd.read_csv(big_csv, nrows=SAMPLE_ROWS)
    return float(sample.memory_usage(deep=True).sum()) * ROWS / SAMPLE_ROWS / 2**20


def _studio(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`mlops-studio ARGS --json` in a fresh process that prints its peak MiB on stderr."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MLOPS_STUDIO_MAX_IMPORT_MB": "8192"}
    return subprocess.run(
        [sys.executable, "-c", COMMAND, *args, "--home", str(home), "--json"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=False,
    )


def _import(path: Path, home: Path) -> tuple[dict, float]:
    """`mlops-studio import PATH --json` in a fresh process: its output and its peak MiB."""
    completed = _studio(home, "import", str(path), "--name", "orders")
    assert completed.returncode == 0, completed.stderr[-2000:]
    peak = json.loads(completed.stderr.strip().splitlines()[-1])["peak_mib"]
    return json.loads(completed.stdout.strip().splitlines()[-1]), float(peak)


def _roles(payload: dict) -> dict[str, str]:
    return {column["name"]: column["role"] for column in payload["version"]["schema"]}


def test_a_big_csv_imports_in_bounded_memory(
    big_csv: Path, whole_in_pandas_mib: float, tmp_path: Path
) -> None:
    payload, peak = _import(big_csv, tmp_path / "home")
    assert payload["version"]["rows"] == ROWS and payload["version"]["columns"] == 21
    roles = _roles(payload)
    assert roles["measure_0"] == "numeric" and roles["category_0"] == "categorical"
    assert roles["order_date"] == roles["invoice_date"] == "datetime"
    assert roles["returned"] == "boolean"
    # The old import held the whole table: 626 MiB here, against 1.3 GiB in pandas; streaming
    # holds the first 64 MiB of rows and a row group (277 MiB).
    assert peak < whole_in_pandas_mib / 4, (peak, whole_in_pandas_mib)


def test_a_big_parquet_file_imports_in_bounded_memory(
    big_csv: Path, whole_in_pandas_mib: float, tmp_path: Path
) -> None:
    parquet = tmp_path / "orders.parquet"
    subprocess.run([sys.executable, "-c", TO_PARQUET, str(big_csv), str(parquet)], check=True)
    payload, peak = _import(parquet, tmp_path / "home")
    assert payload["version"]["rows"] == ROWS == pq.ParquetFile(parquet).metadata.num_rows
    assert payload["version"]["columns"] == 21
    assert _roles(payload)["category_0"] == "categorical"
    # The old import read the whole table: 676 MiB here.
    assert peak < whole_in_pandas_mib / 4, (peak, whole_in_pandas_mib)


def test_a_bad_byte_in_the_last_row_of_a_big_csv_is_one_clear_line_and_saves_nothing(
    big_csv: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "orders.csv"
    with big_csv.open("rb") as source, bad.open("wb") as target:
        shutil.copyfileobj(source, target)
        target.write(
            b"1,2,3,4,5,6,7,8,9,10,11,12,Krak\xf3w,b,c,d,e,2021-01-01,2021-01-04,01/03/2023,no\n"
        )
    home = tmp_path / "home"
    completed = _studio(home, "import", str(bad), "--name", "orders", "--encoding", "utf-8")
    # (the measuring wrapper swallows the exit code; the error object is what the CLI printed)
    assert "Traceback" not in completed.stdout + completed.stderr
    error = json.loads(completed.stdout.strip().splitlines()[-1])["error"]
    assert error == UNDECODABLE.format(encoding="UTF-8")
    listed = _studio(home, "datasets")
    assert json.loads(listed.stdout.strip().splitlines()[-1])["datasets"] == []
    folder = home / "artifacts" / "datasets"
    assert not folder.exists() or not any(folder.iterdir())
