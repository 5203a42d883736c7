"""Benchmark: `mlops-studio profile` of a 20M-row x 21-column Parquet file in bounded memory.

Writes the credit sample resampled to 20M rows (1M rows per row group, as bench_big_table.py
does), then runs the whole command in a process of its own that reports its own peak RSS: once
on this machine and once with a two-worker Dask LocalCluster configured (each column a task on
the workers; every worker's peak RSS is read from the worker). Agreement: on a 1M-row sample of
the same file (its first row group), the by-column path (the one the 20M run takes) must give
exactly the in-memory profile (counts, statistics, duplicates and quality findings), and the
cluster run exactly the local run's profile.
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
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench_big_table import DROP, GROUP_ROWS, WORKER, _chunk  # noqa: E402  (tests/bench)

from core.data.profile_files import BIG_TABLE_ROWS, BIG_TABLE_ROWS_VARIABLE  # noqa: E402

ROWS = 20_000_000
TARGET_PEAK_MIB = 1024


def write_table(path: Path, rows: int) -> None:
    """The credit sample resampled to ``rows`` rows, written a row group at a time."""
    from core.data.ingest import read_table

    base = read_table(ROOT / "sample_data" / "credit.csv").table.drop_columns(DROP).to_pandas()
    rng = np.random.default_rng(0)
    writer: pq.ParquetWriter | None = None
    for start in range(0, rows, GROUP_ROWS):
        chunk = _chunk(base, min(GROUP_ROWS, rows - start), rng, drifted=False)
        table = pa.Table.from_pandas(chunk, preserve_index=False)
        writer = writer or pq.ParquetWriter(path, table.schema)
        writer.write_table(table, row_group_size=GROUP_ROWS)
    assert writer is not None
    writer.close()


def run_profile(path: Path, home: Path, env: dict[str, str]) -> tuple[dict[str, Any], dict]:
    """`mlops-studio profile FILE --json` in a new process: its JSON, its time and peak RSS."""
    command = [sys.executable, "-c", WORKER, "--home", str(home), "profile", str(path), "--json"]
    done = subprocess.run(command, check=True, capture_output=True, text=True, cwd=ROOT, env=env)
    return json.loads(done.stdout), json.loads(done.stderr.strip().splitlines()[-1])


def _worker_peak_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def on_cluster(path: Path, home: Path, rows: int) -> tuple[dict[str, Any], dict, dict[str, float]]:
    """The same command with a two-worker LocalCluster configured; each worker's peak RSS."""
    from distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
            memory_limit=0,
        ) as cluster,
        Client(cluster.scheduler_address, set_as_default=False) as client,
    ):  # fmt: skip
        env = {**os.environ, "DASK_SCHEDULER_ADDRESS": cluster.scheduler_address}
        env[BIG_TABLE_ROWS_VARIABLE] = str(min(BIG_TABLE_ROWS, rows - 1))
        payload, run = run_profile(path, home, env)
        peaks = client.run(_worker_peak_mib)
    return payload, run, peaks


def sample_agreement(path: Path, folder: Path) -> list[str]:
    """The first row group: the by-column path against the in-memory profile, exactly."""
    from core.data.profile import profile_table
    from core.data.profile_files import profile_parquet_by_column

    sample = folder / "sample.parquet"
    table = pq.ParquetFile(path).read_row_group(0)
    pq.write_table(table, sample, row_group_size=GROUP_ROWS // 4)
    by_column = profile_parquet_by_column(sample).to_dict()
    in_memory = profile_table(table, schema=None).to_dict()
    keys = ("columns", "duplicate_rows", "missing_cells", "role_counts", "quality")
    return [
        f"profile {key} differs on the sample" for key in keys if by_column[key] != in_memory[key]
    ]


def _same_profile(first: dict[str, Any], second: dict[str, Any]) -> bool:
    keep = ("columns", "duplicate_rows", "missing_cells", "role_counts", "quality", "rows")
    return all(first[key] == second[key] for key in keep)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=ROWS)
    parser.add_argument("--no-cluster", action="store_true", help="skip the Dask cluster run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        path = folder / "credit-big.parquet"
        started = time.perf_counter()
        write_table(path, args.rows)
        print(
            f"wrote {args.rows:,} rows x 21 columns ({path.stat().st_size / 2**20:.0f} MiB of "
            f"Parquet) in {time.perf_counter() - started:.0f} s",
            flush=True,
        )
        env = {key: value for key, value in os.environ.items() if "DASK" not in key}
        # the by-column path (taken past 4M rows) at any --rows, for a run at a reduced scale
        env[BIG_TABLE_ROWS_VARIABLE] = str(min(BIG_TABLE_ROWS, args.rows - 1))
        local, local_run = run_profile(path, folder / "home", env)
        print(
            f"profile {args.rows:,} x 21 as a command, this machine: "
            f"{local_run['seconds']:.1f} s, {local_run['peak_mib']:.0f} MiB peak; "
            f"{local['duplicate_rows']:,} duplicate rows, {local['missing_cells']:,} missing "
            f"cells ({local['compute']['where']})",
            flush=True,
        )
        peaks = [local_run["peak_mib"]]
        problems = sample_agreement(path, folder)
        if not args.no_cluster:
            clustered, cluster_run, workers = on_cluster(path, folder / "home", args.rows)
            where = clustered["compute"]
            print(
                f"profile {args.rows:,} x 21 as a command, 2-worker Dask cluster: "
                f"{cluster_run['seconds']:.1f} s, command {cluster_run['peak_mib']:.0f} MiB "
                f"peak, workers {', '.join(f'{peak:.0f}' for peak in workers.values())} MiB "
                f"peak; ran on {len(where['workers'])} workers ({where['where']})",
                flush=True,
            )
            peaks += [cluster_run["peak_mib"], *workers.values()]
            if not _same_profile(clustered, local):
                problems.append("the cluster's profile differs from this machine's")
            if where["where"] != "cluster" or len(where["workers"]) != 2:
                problems.append(f"the columns did not run on both workers: {where}")
    print(
        "1M-row sample, by column vs in memory: "
        f"{'counts, statistics and findings agree' if not problems else 'DIFFER'}"
    )
    for problem in problems:
        print(f"  {problem}")
    missed = max(peaks) > TARGET_PEAK_MIB or bool(problems)
    print(
        f"{'MISS' if missed else 'PASS'}: largest peak {max(peaks):.0f} MiB of any process "
        f"(target <= {TARGET_PEAK_MIB} MiB), same answers"
    )
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
