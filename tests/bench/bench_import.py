"""Benchmark: peak memory and time of importing a 1M-row CSV, ours (the full import) vs pandas.

Run: python tests/bench/bench_import.py [--rows N]. Not collected by pytest. Each measurement
runs in a fresh subprocess that reports its own peak RSS (VmHWM from /proc/self/status, else
getrusage ru_maxrss); a subprocess that only imports the same modules gives the interpreter
baseline that is subtracted. The parent stays small and even the CSV is written by a child,
because on Linux a child's ru_maxrss starts from the parent's high-water mark.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
TARGET = 3.0
# Every child imports the same modules, so the baseline child measures only the interpreter.
IMPORTS = """
import json, resource, sys, time
from pathlib import Path
sys.path.insert(0, {repo!r})
import numpy, pandas, pyarrow, pyarrow.csv, pyarrow.parquet
from core.data.datasets import import_dataset
"""
REPORT = """
peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
for line in open("/proc/self/status") if Path("/proc/self/status").exists() else []:
    if line.startswith("VmHWM:"):
        peak_kb = int(line.split()[1])
print(json.dumps({{"peak_kb": peak_kb, "timings": timings}}))
"""
CASES = {
    "baseline": "timings = {{}}\n",
    "ours": """
started = time.perf_counter()
outcome = import_dataset(Path({parquet!r}).parent / "studio", path=Path({csv!r}), name="bench")
timings = {{"import": time.perf_counter() - started}}
""",
    "pandas": """
started = time.perf_counter()
frame = pandas.read_csv({csv!r})
timings = {{"read": time.perf_counter() - started}}
""",
}


def make_csv(path: Path, rows: int) -> int:
    """A seeded ~20-column CSV: floats, integers, categories, ISO and day-first dates, flags."""
    import numpy as np
    import pyarrow.csv as pacsv

    table = orders_table(rows, np.random.default_rng(42))
    pacsv.write_csv(table, path, pacsv.WriteOptions(quoting_style="needed"))
    return table.num_columns


def orders_table(rows: int, rng: Any) -> Any:
    """The benchmark's 21 columns for ``rows`` rows, drawn from ``rng`` (a NumPy Generator)."""
    import numpy as np
    import pyarrow as pa

    columns: dict[str, pa.Array] = {}
    for i in range(8):
        columns[f"measure_{i}"] = pa.array(rng.normal(100, 30, rows).round(3))
    for i in range(4):
        columns[f"count_{i}"] = pa.array(rng.integers(0, 10_000, rows))
    cities = pa.array(["Oslo", "Lisboa", "Kraków", "Zürich", "Dublin", "Porto", "Lyon"])
    for i in range(5):
        codes = pa.array(rng.integers(0, len(cities), rows, dtype=np.int32))
        columns[f"category_{i}"] = pa.DictionaryArray.from_arrays(codes, cities).cast(pa.string())
    days = np.datetime64("2020-01-01") + rng.integers(0, 1500, rows).astype("timedelta64[D]")
    columns["order_date"] = pa.array(days).cast(pa.string())
    columns["ship_date"] = pa.array(np.datetime_as_string(days + 3)).cast(pa.string())
    day = np.char.zfill(rng.integers(1, 29, rows).astype(str), 2)
    columns["invoice_date"] = pa.array(np.char.add(day, "/03/2023"))
    columns["returned"] = pa.array(np.where(rng.random(rows) < 0.1, "yes", "no"))
    return pa.table(columns)


def measure(case: str, csv: Path, parquet: Path) -> dict[str, object]:
    code = IMPORTS.format(repo=str(REPO)) + CASES[case].format(csv=str(csv), parquet=str(parquet))
    completed = subprocess.run(
        [sys.executable, "-c", code + REPORT.format()],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, object] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def _write_csv_in_child(path: Path, rows: int) -> int:
    command = [sys.executable, __file__, "--rows", str(rows), "--write-csv", str(path)]
    completed = subprocess.run(command, check=True, capture_output=True, text=True)
    return int(completed.stdout.strip())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--write-csv", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.write_csv:
        print(make_csv(args.write_csv, args.rows))
        return 0
    with tempfile.TemporaryDirectory(prefix="mlops-bench-") as folder:
        csv, parquet = Path(folder) / "bench.csv", Path(folder) / "bench.parquet"
        width = _write_csv_in_child(csv, args.rows)
        size = csv.stat().st_size
        baseline, ours, peer = (measure(case, csv, parquet) for case in CASES)
    mib = 1024 * 1024
    base_kb = int(baseline["peak_kb"])  # type: ignore[call-overload]
    ours_bytes = (int(ours["peak_kb"]) - base_kb) * 1024  # type: ignore[call-overload]
    peer_bytes = (int(peer["peak_kb"]) - base_kb) * 1024  # type: ignore[call-overload]
    ours_times: dict[str, float] = ours["timings"]  # type: ignore[assignment]
    peer_times: dict[str, float] = peer["timings"]  # type: ignore[assignment]
    ratio, pandas_ratio = ours_bytes / size, ours_bytes / peer_bytes
    print(f"file: {args.rows:,} rows x {width} columns, {size / mib:,.1f} MiB")
    print(f"interpreter baseline (same imports): {base_kb / 1024:,.1f} MiB peak RSS")
    print(
        f"ours   full import (read, Parquet, SHA-256, schema, store): "
        f"+{ours_bytes / mib:,.1f} MiB ({ours_bytes / size:.2f}x file), "
        f"{ours_times['import']:.2f}s"
    )
    print(
        f"pandas read_csv alone:                                     +{peer_bytes / mib:,.1f} MiB "
        f"({peer_bytes / size:.2f}x file), read {peer_times['read']:.2f}s"
    )
    print(
        f"import_peak_memory_x_file_size={ratio:.1f} (target <= {TARGET}) "
        f"pandas_ratio={pandas_ratio:.1f}"
    )
    return 0 if ratio <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
