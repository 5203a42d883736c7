"""Benchmark: drift and profile of a 20M-row x 21-column Parquet table in bounded memory.

Generates a reference and a drifted current table (the credit sample resampled, as
bench_drift.py does, written 1M rows per row group) in a temp dir, then runs, each in a process
of its own that reports its own peak RSS: ``mlops-studio drift`` of the two files (read in
partitions, summaries merged) and ``mlops-studio profile`` of the reference (one column at a
time). Agreement: on a 1M-row sample of the same files (their first row group), the partition
path (several partitions merged) must give the in-memory path's counts exactly and its
statistics within the stated summary error, and the 20M run the sample's verdicts.

With ``--cluster`` the same drift command also runs against a 2-worker local Dask cluster
(`mlops-studio cluster start --workers 2`, its own process: the scheduler and the workers'
nannies), whose workers read their shares of row groups from the files; it must give the local
run's verdicts, and every process — the command, the scheduler's and each worker — stays under
the same 1 GiB.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

ROWS = 20_000_000
GROUP_ROWS = 1_000_000
TARGET_PEAK_MIB = 1024
DROP = ["applicant_id", "application_date"]

WORKER = """
import json, resource, sys, time
started = time.perf_counter()
from app.cli import main
sys.argv = ["mlops-studio", *sys.argv[1:]]
try:
    main()
except SystemExit:
    pass
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
for line in open("/proc/self/status"):  # VmHWM: this process's own; ru_maxrss keeps the parent's
    if line.startswith("VmHWM:"):
        peak = int(line.split()[1]) / 1024
print(json.dumps({"seconds": time.perf_counter() - started, "peak_mib": peak}), file=sys.stderr)
"""


def write_tables(folder: Path, rows: int) -> tuple[Path, Path]:
    """Reference and current, 1M rows per row group, written as generated (bounded memory)."""
    from core.data.ingest import read_table

    base = read_table(ROOT / "sample_data" / "credit.csv").table.drop_columns(DROP).to_pandas()
    paths = folder / "reference.parquet", folder / "current.parquet"
    rng = np.random.default_rng(0)
    writers: list[pq.ParquetWriter] = []
    for start in range(0, rows, GROUP_ROWS):
        size = min(GROUP_ROWS, rows - start)
        for index, drifted in enumerate((False, True)):
            chunk = _chunk(base, size, rng, drifted=drifted)
            table = pa.Table.from_pandas(chunk, preserve_index=False)
            if len(writers) <= index:
                writers.append(pq.ParquetWriter(paths[index], table.schema))
            writers[index].write_table(table, row_group_size=GROUP_ROWS)
    for writer in writers:
        writer.close()
    return paths


def _chunk(base: pd.DataFrame, rows: int, rng: np.random.Generator, *, drifted: bool) -> Any:
    frame = base.iloc[rng.integers(0, len(base), rows)].reset_index(drop=True)
    frame["annual_income"] = frame["annual_income"] * rng.lognormal(0, 0.05, rows)
    frame["savings_balance"] = frame["savings_balance"] + rng.normal(0, 50, rows)
    if drifted:
        frame["interest_rate"] = frame["interest_rate"] + 1.5
        frame["credit_score"] = frame["credit_score"] - 40
        frame["annual_income"] = frame["annual_income"] * 0.75
        frame.loc[rng.random(rows) < 0.4, "region"] = "north"
        frame.loc[rng.random(rows) < 0.2, "loan_purpose"] = "crypto"
        frame.loc[rng.random(rows) < 0.1, "employment_type"] = None
    return frame


def run_command(
    *args: str, home: Path, env: dict[str, str] | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """One `mlops-studio` command in a new process: its JSON, and its own time and peak RSS."""
    command = [sys.executable, "-c", WORKER, "--home", str(home), *args, "--json"]
    done = subprocess.run(command, check=True, capture_output=True, text=True, cwd=ROOT, env=env)
    return json.loads(done.stdout), json.loads(done.stderr.strip().splitlines()[-1])


def _own_peak_mib() -> float:
    """On a Dask worker: its process's high-water mark of resident memory."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cluster_drift(
    reference: Path, current: Path, home: Path
) -> tuple[dict[str, Any], dict[str, Any], dict[str, float], dict[str, Any]]:
    """The drift command against a 2-worker cluster started by `mlops-studio cluster start`:
    its JSON and run, each worker's peak, and the cluster process's (scheduler and nannies)."""
    from distributed import Client

    start = [
        *(sys.executable, "-c", WORKER, "--home", str(home), "cluster", "start"),
        *("--workers", "2", "--port", "0", "--dashboard-port", "0", "--json"),
    ]
    cluster = subprocess.Popen(
        start, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert cluster.stdout is not None
        address = json.loads(cluster.stdout.readline())["address"]
        env = {**os.environ, "DASK_SCHEDULER_ADDRESS": address}
        drift, run = run_command("drift", str(reference), str(current), home=home, env=env)
        with Client(address, set_as_default=False) as client:
            workers = client.run(_own_peak_mib)
    finally:
        cluster.send_signal(signal.SIGTERM)
        _, errors = cluster.communicate(timeout=120)
    scheduler = json.loads(errors.strip().splitlines()[-1])
    return drift, run, workers, scheduler


def sample_agreement(reference: Path, current: Path, folder: Path) -> tuple[list[str], Any]:
    """The first row group of each file: partitions merged against the in-memory frames."""
    from core.data.profile import profile_table
    from core.data.profile_files import profile_parquet_by_column
    from core.data.schema import infer_schema
    from core.monitor.drift import compute_drift
    from core.monitor.drift.partitions import drift_of_parquet

    problems: list[str] = []
    samples = []
    for path in (reference, current):
        sample = folder / f"sample-{path.name}"
        table = pq.ParquetFile(path).read_row_group(0)
        pq.write_table(table, sample, row_group_size=GROUP_ROWS // 4)
        samples.append((sample, table))
    (reference_sample, reference_table), (current_sample, current_table) = samples
    roles = {column.name: column.role for column in infer_schema(reference_table)}
    whole = compute_drift(reference_table.to_pandas(), current_table.to_pandas(), roles=roles)
    parts = drift_of_parquet(reference_sample, current_sample, rows=GROUP_ROWS // 3)
    for mine, exact in zip(parts.columns, whole.columns, strict=True):
        if not _same_column(mine, exact):
            problems.append(f"drift {mine.column}: {mine} vs {exact}")
    by_column = profile_parquet_by_column(reference_sample).to_dict()
    in_memory = profile_table(reference_table, schema=infer_schema(reference_table)).to_dict()
    for key in ("columns", "duplicate_rows", "missing_cells", "quality"):
        if by_column[key] != in_memory[key]:
            problems.append(f"profile {key} differs on the sample")
    return problems, whole


def _same_column(mine: Any, exact: Any) -> bool:
    """Same method, verdict and missing counts; the statistic equal but for rounding."""
    if (mine.column, mine.method, mine.drifted) != (exact.column, exact.method, exact.drifted):
        return False
    if (mine.reference_missing, mine.current_missing) != (
        exact.reference_missing,
        exact.current_missing,
    ):
        return False
    if mine.statistic is None or exact.statistic is None:
        return mine.statistic is exact.statistic
    return bool(abs(mine.statistic - exact.statistic) <= 1e-9 * max(1.0, abs(exact.statistic)))


def _report_cluster(
    spread: tuple[dict[str, Any], dict[str, Any], dict[str, float], dict[str, Any]],
    local: dict[str, Any],
    problems: list[str],
) -> float:
    """Print the cluster run; note any verdict that differs from the local run; its peak."""
    drift, run, workers, scheduler = spread
    where = drift["compute"]
    verdicts = {c["column"]: c["drifted"] for c in drift["columns"]}
    if verdicts != {c["column"]: c["drifted"] for c in local["columns"]}:
        problems.append(f"the cluster's verdicts {verdicts} differ from the local run's")
    if where["where"] != "cluster":
        problems.append(f"the cluster run ran {where['where']}: {where['notice']}")
    peaks = ", ".join(f"{peak:.0f}" for peak in workers.values())
    print(
        f"drift on a 2-worker Dask cluster ({len(where['workers'])} workers used): "
        f"{run['seconds']:.1f} s; peak MiB: command {run['peak_mib']:.0f}, workers {peaks}, "
        f"scheduler process (with the nannies) {scheduler['peak_mib']:.0f}; "
        f"{drift['drifted_columns']} of {drift['compared_columns']} columns drift"
    )
    return max([run["peak_mib"], scheduler["peak_mib"], *workers.values()])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=ROWS)
    parser.add_argument(
        "--cluster", action="store_true", help="Also run the drift on a 2-worker Dask cluster."
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        started = time.perf_counter()
        reference, current = write_tables(folder, args.rows)
        size = (reference.stat().st_size + current.stat().st_size) / 2**20
        print(
            f"wrote 2 x {args.rows:,} rows x 21 columns ({size:.0f} MiB of Parquet) in "
            f"{time.perf_counter() - started:.0f} s",
            flush=True,
        )
        home = folder / "home"
        drift, drift_run = run_command("drift", str(reference), str(current), home=home)
        profile, profile_run = run_command("profile", str(reference), home=home)
        problems, sample = sample_agreement(reference, current, folder)
        spread = cluster_drift(reference, current, home) if args.cluster else None
    verdicts = {c["column"]: c["drifted"] for c in drift["columns"]}
    sample_verdicts = {c.column: c.drifted for c in sample.columns}
    summarised = [c["column"] for c in drift["columns"] if c["note"] and "within" in c["note"]]
    if verdicts != sample_verdicts:
        problems.append(f"20M verdicts {verdicts} differ from the 1M sample's {sample_verdicts}")
    peak = max(drift_run["peak_mib"], profile_run["peak_mib"])
    print(
        f"drift 2 x {args.rows:,} x 21: {drift_run['seconds']:.1f} s, "
        f"{drift_run['peak_mib']:.0f} MiB peak; {drift['drifted_columns']} of "
        f"{drift['compared_columns']} columns drift (summarised: {', '.join(summarised) or '-'})"
    )
    for column in drift["columns"]:
        if column["column"] in summarised:
            print(f"  {column['column']}: {column['note']}")
    print(
        f"profile {args.rows:,} x 21 (one column at a time): {profile_run['seconds']:.1f} s, "
        f"{profile_run['peak_mib']:.0f} MiB peak; {profile['duplicate_rows']:,} duplicate rows, "
        f"{profile['missing_cells']:,} missing cells"
    )
    if spread is not None:
        peak = max(peak, _report_cluster(spread, drift, problems))
    print(
        f"1M-row sample, partitions merged vs in memory: "
        f"{'counts, statistics and verdicts agree' if not problems else 'DIFFER'}; "
        f"the {args.rows:,}-row verdicts {'match' if verdicts == sample_verdicts else 'DIFFER'}"
    )
    for problem in problems:
        print(f"  {problem}")
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"(this driver process, which generated the data: {own:.0f} MiB peak)")
    missed = peak > TARGET_PEAK_MIB or bool(problems)
    print(f"{'MISS' if missed else 'PASS'} vs {TARGET_PEAK_MIB} MiB per process, same answers")
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
