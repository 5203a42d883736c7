"""Benchmark: the studio's dataset profile against ydata-profiling's minimal profile, same data.

The headline is whole process against whole process, as a user runs them: ``mlops-studio
profile FILE.parquet --json`` (start, import, read, profile, print) against a Python process
that imports ydata-profiling, reads the same Parquet file with pandas and builds the minimal
profile's description. The core call alone on a frame already in memory (both sides) is a
second line. Counts (missing, distinct) and means must agree column by column (and, as whole
commands, std, min and max too).
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from whole_command import COMMAND  # noqa: E402  (tests/bench, beside this script)

from core.data.profile import DatasetProfile, profile_table  # noqa: E402
from core.data.schema import ColumnSchema, Role  # noqa: E402

SPEEDUP_TARGET = 10.0  # whole command against ydata's whole process
CORE_SPEEDUP_TARGET = 5.0  # profile_table against get_description, frames in memory
# The command in a new process that reports its own peak RSS on stderr (VmHWM): ru_maxrss,
# of the child or RUSAGE_CHILDREN, starts from this large process's size at the fork.
YDATA_SCRIPT = """
import time
started = time.perf_counter()
import json, sys, warnings
warnings.simplefilter("ignore")
import pandas as pd
from ydata_profiling import ProfileReport
frame = pd.read_parquet(sys.argv[1])
variables = ProfileReport(frame, minimal=True, progress_bar=False).get_description().variables
found = {
    name: {"n_missing": int(v["n_missing"]), "n_distinct": int(v["n_distinct"])}
    | {key: float(v[key]) if v.get(key) is not None else None for key in ("mean", "std")}
    | {key: float(v[key]) if v.get(key) is not None else None for key in ("min", "max")}
    for name, v in variables.items()
}
print(json.dumps({"seconds": time.perf_counter() - started, "variables": found}))
"""
MEAN_RELATIVE_TOLERANCE = 1e-9
TARGET = "default"
PURPOSES = [
    "debt_consolidation", "credit_card", "home_improvement", "other", "major_purchase",
    "small_business", "car", "medical", "moving", "vacation", "house", "wedding",
    "renewable_energy", "educational",
]  # fmt: skip


def credit_frame(rows: int, *, seed: int = 0) -> pd.DataFrame:
    """A seeded loan table: 21 numeric and categorical columns with missing values."""
    rng = np.random.default_rng(seed)

    def with_gaps(values: np.ndarray, share: float) -> np.ndarray:
        values = values.astype(float) if values.dtype.kind in "iuf" else values.astype(object)
        values[rng.random(rows) < share] = np.nan
        return values

    lengths = np.array(["<1", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10+"])
    states = np.array([f"S{i:02d}" for i in range(50)])
    return pd.DataFrame(
        {
            "loan_id": np.arange(10_000_000, 10_000_000 + rows),
            "age": rng.integers(18, 80, rows),
            "annual_income": with_gaps(rng.lognormal(11, 0.5, rows).round(2), 0.05),
            "loan_amount": rng.integers(1, 400, rows) * 100.0,
            "term": rng.choice(["36 months", "60 months"], rows, p=[0.7, 0.3]),
            "interest_rate": rng.normal(12, 4, rows).round(2),
            "grade": rng.choice(list("ABCDEFG"), rows),
            "emp_length": with_gaps(rng.choice(lengths, rows), 0.06),
            "home_ownership": rng.choice(
                ["RENT", "OWN", "MORTGAGE", "OTHER"], rows, p=[0.4, 0.1, 0.49, 0.01]
            ),
            "purpose": rng.choice(PURPOSES, rows),
            "addr_state": with_gaps(rng.choice(states, rows), 0.01),
            "dti": with_gaps(rng.gamma(2, 8, rows).round(2), 0.02),
            "delinq_2yrs": rng.poisson(0.3, rows),
            "revol_util": with_gaps(rng.uniform(0, 120, rows).round(1), 0.03),
            "open_acc": rng.poisson(10, rows),
            "total_acc": rng.poisson(25, rows),
            "credit_score": with_gaps(rng.normal(690, 50, rows).round(), 0.01),
            "months_since_last_delinq": with_gaps(rng.integers(0, 120, rows), 0.5),
            "verification_status": rng.choice(
                ["Verified", "Not Verified", "Source Verified"], rows
            ),
            "installment": rng.normal(450, 200, rows),
            TARGET: (rng.random(rows) < 0.12).astype(int),
        }
    )


def schema_of(frame: pd.DataFrame) -> list[ColumnSchema]:
    """The schema an analyst would confirm: id, target, numbers and categories."""

    def role(name: str) -> Role:
        if name == "loan_id":
            return "id"
        if name == TARGET:
            return "target"
        return "numeric" if pd.api.types.is_numeric_dtype(frame[name]) else "categorical"

    return [
        ColumnSchema(name=str(name), dtype=str(dtype), role=role(str(name)))
        for name, dtype in frame.dtypes.items()
    ]


def run_ours(frame: pd.DataFrame) -> tuple[float, DatasetProfile]:
    """Everything `mlops-studio profile` does after reading: Arrow conversion, stats, checks."""
    started = time.perf_counter()
    table = pa.Table.from_pandas(frame, preserve_index=False)
    profile = profile_table(table, schema=schema_of(frame), target=TARGET)
    return time.perf_counter() - started, profile


def run_ydata(frame: pd.DataFrame) -> tuple[float, dict[str, dict]]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ydata's own deprecation notices are not the subject here
        from ydata_profiling import ProfileReport

        started = time.perf_counter()
        description = ProfileReport(frame, minimal=True, progress_bar=False).get_description()
    return time.perf_counter() - started, description.variables


def disagreements(profile: DatasetProfile, variables: dict[str, dict]) -> list[str]:
    problems = []
    ours = {column.name: column for column in profile.columns}
    for name, theirs in variables.items():
        column = ours[name]
        if column.missing != theirs["n_missing"]:
            problems.append(f"{name}: missing {column.missing} vs {theirs['n_missing']}")
        if column.distinct != theirs["n_distinct"]:
            problems.append(f"{name}: distinct {column.distinct} vs {theirs['n_distinct']}")
        if not _same_mean(column.mean, theirs.get("mean")):
            problems.append(f"{name}: mean {column.mean} vs {theirs.get('mean')}")
    return problems


def _same_mean(ours: float | None, theirs: float | None) -> bool:
    if theirs is None or math.isnan(theirs):
        return True  # ydata reports no mean for this column type
    return ours is not None and math.isclose(ours, theirs, rel_tol=MEAN_RELATIVE_TOLERANCE)


def run_command(path: Path, home: Path) -> tuple[float, float, dict]:
    """`mlops-studio profile FILE --json` as a new process: wall time, peak MiB, its payload."""
    command = [sys.executable, "-c", COMMAND, "--home", str(home), "profile", str(path)]
    started = time.perf_counter()
    done = subprocess.run(
        [*command, "--json"], check=True, capture_output=True, text=True, cwd=ROOT
    )
    seconds = time.perf_counter() - started
    peak = json.loads(done.stderr.strip().splitlines()[-1])["peak_mib"]
    return seconds, peak, json.loads(done.stdout)


def run_ydata_process(path: Path) -> tuple[float, dict[str, dict]]:
    """ydata-profiling's whole process (start, import, read, describe), timed from outside."""
    started = time.perf_counter()
    command = [sys.executable, "-c", YDATA_SCRIPT, str(path)]
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    return time.perf_counter() - started, json.loads(done.stdout.strip().splitlines()[-1])[
        "variables"
    ]


def command_disagreements(payload: dict, variables: dict[str, dict]) -> list[str]:
    problems = []
    ours = {column["name"]: column for column in payload["columns"]}
    for name, theirs in variables.items():
        column = ours[name]
        if column["missing"] != theirs["n_missing"]:
            problems.append(f"{name}: missing {column['missing']} vs {theirs['n_missing']}")
        if column["distinct"] != theirs["n_distinct"]:
            problems.append(f"{name}: distinct {column['distinct']} vs {theirs['n_distinct']}")
        for key in ("mean", "std", "min", "max"):
            if not _same_mean(column[key], theirs.get(key)):
                problems.append(f"{name}: {key} {column[key]} vs {theirs.get(key)}")
    return problems


def whole_commands(frame: pd.DataFrame, *, repeat: int) -> int:
    """The headline: both tools as whole processes on the same Parquet file, each run
    ``repeat`` times alternately and its best time kept (the machine is shared: a run that
    waited for a core says nothing about either tool)."""
    ours_times: list[float] = []
    ydata_times: list[float] = []
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "credit.parquet"
        frame.to_parquet(path)
        for _ in range(repeat):
            ours_s, peak, payload = run_command(path, Path(folder) / "home")
            ydata_s, variables = run_ydata_process(path)
            ours_times.append(ours_s)
            ydata_times.append(ydata_s)
    problems = command_disagreements(payload, variables)
    ours_s, ydata_s = min(ours_times), min(ydata_times)
    ratio = ydata_s / ours_s
    print(
        f"profile {len(frame):,} x {frame.shape[1]} as a command: ours {ours_s:.2f} s "
        f"({peak:.0f} MiB peak) | ydata-profiling minimal whole process {ydata_s:.2f} s | "
        f"{ratio:.1f}x (target >= {SPEEDUP_TARGET:.0f}x) | counts, mean, std, min, max on "
        f"{len(variables)} columns: {'agree' if not problems else 'DIFFER'}",
        flush=True,
    )
    print(
        f"  best of {repeat}: ours {', '.join(f'{t:.2f}' for t in ours_times)} s; "
        f"ydata {', '.join(f'{t:.2f}' for t in ydata_times)} s",
        flush=True,
    )
    for problem in problems:
        print(f"  MISMATCH {problem}")
    return 1 if problems or ratio < SPEEDUP_TARGET else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="whole-command runs of each tool")
    args = parser.parse_args()

    frame = credit_frame(args.rows)
    missed = whole_commands(frame, repeat=args.repeat)
    print(f"frame: {len(frame):,} rows x {frame.shape[1]} columns", flush=True)
    ours_s, profile = run_ours(frame)
    print(
        f"studio profile_table (Arrow conversion + stats + quality): {ours_s:.2f} s"
        f" (conversion {ours_s - profile.seconds:.2f} s, profile_table {profile.seconds:.2f} s)",
        flush=True,
    )
    for finding in profile.quality:
        print(f"  [{finding.severity}] {finding.check}: {finding.message}")
    ydata_s, variables = run_ydata(frame)
    print(f"ydata-profiling minimal get_description: {ydata_s:.2f} s", flush=True)

    problems = disagreements(profile, variables)
    compared = sum(1 for theirs in variables.values() if theirs.get("mean") is not None)
    print(f"compared {len(variables)} columns (missing, distinct; mean on {compared})")
    for problem in problems:
        print(f"  MISMATCH {problem}")
    speedup = ydata_s / ours_s
    print(f"ratio ydata/studio: {speedup:.1f}")
    print(
        f"  in process: profile_speedup_vs_ydata_minimal={speedup:.1f}x "
        f"(target >= {CORE_SPEEDUP_TARGET:.0f}x)"
    )
    return 1 if problems or missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
