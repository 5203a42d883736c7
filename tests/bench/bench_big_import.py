"""Benchmark: `mlops-studio import` of a 20M-row x 21-column CSV and Parquet file, whole command.

Run: python tests/bench/bench_big_import.py [--rows N] [--no-peer] [--folder DIR]. Not collected
by pytest. The table is bench_import.py's (floats, integers, categories, ISO and day-first
dates, a yes/no column), written by a child 1M rows at a time; the Parquet file is the same
rows converted by a streaming child. Each import is a fresh `mlops-studio import FILE --json`
process that reports its own peak RSS (VmHWM); the target is a peak <= 1 GiB, which the old
whole-table import could not meet past a few million rows. In the same run, pandas imports the
same files as a whole process too (read_csv or read_parquet, then to_parquet), and the time
ratio is printed. pandas holds the whole table (about 0.7 GiB per million rows of this
table), so it is skipped when that would not fit in the memory free (or with --no-peer).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from whole_command import COMMAND  # noqa: E402  (tests/bench, beside this script)

ROWS = 20_000_000
CHUNK_ROWS = 1_000_000
TARGET_PEAK_MIB = 1024
PANDAS_MIB_PER_MILLION_ROWS = 700  # this table in pandas, object strings
TO_PARQUET = """
import sys
import pyarrow.csv as pacsv, pyarrow.parquet as pq
reader = pacsv.open_csv(sys.argv[1], read_options=pacsv.ReadOptions(block_size=16 << 20))
with pq.ParquetWriter(sys.argv[2], reader.schema) as writer:
    for batch in reader:
        writer.write_batch(batch)
"""
PANDAS = """
import json, sys
import pandas as pd
source, target = sys.argv[1], sys.argv[2]
frame = pd.read_parquet(source) if source.endswith(".parquet") else pd.read_csv(source)
frame.to_parquet(target)
for line in open("/proc/self/status"):
    if line.startswith("VmHWM:"):
        print(json.dumps({"peak_mib": int(line.split()[1]) / 1024}), file=sys.stderr)
"""


def write_csv(path: Path, rows: int) -> None:
    """The benchmark table, generated and written a chunk at a time (in a child process)."""
    import numpy as np
    import pyarrow.csv as pacsv
    from bench_import import orders_table

    rng = np.random.default_rng(42)
    writer = None
    for start in range(0, rows, CHUNK_ROWS):
        table = orders_table(min(CHUNK_ROWS, rows - start), rng)
        if writer is None:
            options = pacsv.WriteOptions(quoting_style="needed")
            writer = pacsv.CSVWriter(path, table.schema, write_options=options)
        writer.write_table(table)
    assert writer is not None
    writer.close()


def _timed(command: list[str], env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """Wall seconds, peak MiB (the child's VmHWM, its last stderr line) and stdout."""
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{command[:4]} failed:\n{done.stderr[-3000:]}")
    peak = json.loads(done.stderr.strip().splitlines()[-1])["peak_mib"]
    return seconds, float(peak), done.stdout


def ours(path: Path, home: Path) -> tuple[float, float, dict[str, object]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MLOPS_STUDIO_MAX_IMPORT_MB": str(1 << 20)}
    command = [sys.executable, "-c", COMMAND, "import", str(path), "--name", path.stem]
    seconds, peak, out = _timed([*command, "--home", str(home), "--json"], env)
    version: dict[str, object] = json.loads(out.strip().splitlines()[-1])["version"]
    return seconds, peak, version


def pandas_import(path: Path, folder: Path) -> tuple[float, float]:
    target = folder / f"pandas-{path.stem}.parquet"
    seconds, peak, _ = _timed([sys.executable, "-c", PANDAS, str(path), str(target)])
    target.unlink(missing_ok=True)
    return seconds, peak


def _peer_fits(rows: int) -> bool:
    """Whether pandas, holding the whole table, fits in the memory free now (with room)."""
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return rows / 1e6 * PANDAS_MIB_PER_MILLION_ROWS * 1.5 < int(line.split()[1]) / 1024
    return False


def _files(folder: Path, rows: int) -> tuple[Path, Path]:
    csv, parquet = folder / f"orders-{rows}.csv", folder / f"orders-{rows}.parquet"
    if not csv.exists():
        script = [sys.executable, __file__, "--rows", str(rows), "--write-csv", str(csv)]
        subprocess.run(script, check=True)
    if not parquet.exists():
        subprocess.run([sys.executable, "-c", TO_PARQUET, str(csv), str(parquet)], check=True)
    return csv, parquet


def _report(kind: str, path: Path, folder: Path, *, peer: bool) -> bool:
    seconds, peak, version = ours(path, folder / f"home-{kind}")
    size = path.stat().st_size / 2**20
    line = (
        f"{kind:7} {size:,.0f} MiB: ours {seconds:,.1f} s, peak {peak:,.0f} MiB "
        f"({version['rows']:,} rows x {version['columns']} columns)"
    )
    if peer:
        peer_seconds, peer_peak = pandas_import(path, folder)
        reader = "read_parquet" if kind == "parquet" else "read_csv"
        line += (
            f"; pandas {reader}+to_parquet {peer_seconds:,.1f} s, peak {peer_peak:,.0f} MiB; "
            f"time ours/pandas = {seconds / peer_seconds:.2f}, "
            f"memory ours/pandas = {peak / peer_peak:.2f}"
        )
    met = peak <= TARGET_PEAK_MIB
    print(line + f" - peak target <= {TARGET_PEAK_MIB} MiB {'met' if met else 'MISSED'}")
    return met


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=ROWS)
    parser.add_argument("--no-peer", action="store_true", help="skip pandas (it holds it all)")
    parser.add_argument("--folder", type=Path, help="keep the generated files here for reuse")
    parser.add_argument("--write-csv", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.write_csv:
        write_csv(args.write_csv, args.rows)
        return 0
    with tempfile.TemporaryDirectory(prefix="mlops-bench-") as scratch:
        folder = args.folder or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        csv, parquet = _files(folder, args.rows)
        print(f"table: {args.rows:,} rows x 21 columns")
        peer = not args.no_peer and _peer_fits(args.rows)
        if not peer and not args.no_peer:
            print("pandas skipped: the whole table would not fit in the memory free now")
        files = (("csv", csv), ("parquet", parquet))
        met = [_report(kind, path, folder, peer=peer) for kind, path in files]
    return 0 if all(met) else 1


if __name__ == "__main__":
    sys.exit(main())
