"""Benchmark: data drift of 1M reference + 1M current rows x 21 columns, ours vs Evidently.

Both sides get the same frames (the credit sample resampled, a few columns shifted in the
current window) from the same Parquet files, each as a whole process, as a user runs them:
``mlops-studio drift REFERENCE CURRENT --json`` (start, import, read, compute, print) against a
Python process that imports Evidently, reads the files and runs ``Report([DataDriftPreset()])``
(in a venv of its own, .bench/evidently-venv, made on first use), told the same
numeric/categorical split. Verdicts are compared column by column. The time of the core call
alone (compute_drift on frames already in memory, both sides) is printed as a second line.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from whole_command import COMMAND  # noqa: E402  (tests/bench, beside this script)

ROWS = 1_000_000
DROP = ["applicant_id", "application_date"]
TARGET_RATIO = 30.0  # whole command against whole process
TARGET_SECONDS = 109.0 / TARGET_RATIO  # Evidently's whole process on the anchor machine / ratio
TARGET_PEAK_MIB = 1024
EVIDENTLY_VENV = ROOT / ".bench" / "evidently-venv"
EVIDENTLY_VERSION = "0.7.23"
# Evidently's method names, and when its score means drift (read from its stattests: K-S flags
# p <= threshold, the other tests p < threshold, distances >= threshold)
EVIDENTLY_METHODS: dict[str, tuple[str, str]] = {
    "K-S p_value": ("ks", "p<="),
    "chi-square p_value": ("chisquare", "p<"),
    "Z-test p_value": ("z", "p<"),
    "Wasserstein distance (normed)": ("wasserstein", ">="),
    "Jensen-Shannon distance": ("jensenshannon", ">="),
    "PSI": ("psi", ">="),
}
# The command in a new process that reports its own peak RSS on stderr (VmHWM): ru_maxrss,
# of the child or RUSAGE_CHILDREN, starts from this large process's size at the fork.
EVIDENTLY_SCRIPT = """
import time
process_started = time.perf_counter()
import json, resource, sys, warnings
import pyarrow.parquet as pq
warnings.simplefilter("ignore")
from evidently import DataDefinition, Dataset, Report
from evidently.presets import DataDriftPreset

def load(path):
    return pq.read_table(path).to_pandas(self_destruct=True, split_blocks=True)

reference, current = load(sys.argv[1]), load(sys.argv[2])
kinds = json.loads(sys.argv[3])
started = time.perf_counter()
definition = DataDefinition(
    numerical_columns=kinds["numeric"], categorical_columns=kinds["categorical"]
)
snapshot = Report([DataDriftPreset()]).run(
    Dataset.from_pandas(current, data_definition=definition),
    Dataset.from_pandas(reference, data_definition=definition),
)
seconds = time.perf_counter() - started
columns, drifted_count = {}, None
for metric in snapshot.dict()["metrics"]:
    config = metric["config"]
    if config["type"].endswith("ValueDrift"):
        columns[config["column"]] = {
            "method": config["method"], "threshold": config["threshold"], "score": metric["value"]
        }
    elif config["type"].endswith("DriftedColumnsCount"):
        drifted_count = metric["value"]["count"]
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
found = {"seconds": seconds, "peak_mib": peak, "columns": columns, "drifted": drifted_count}
found["in_process"] = time.perf_counter() - process_started
print(json.dumps(found))
"""


def build_frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The credit sample resampled to 1M rows twice; the current window drifts in a few columns.

    Income and savings get a little continuous noise on both sides, so two columns hold about a
    million distinct values each, as measured quantities do.
    """
    from core.data.ingest import read_table

    base = read_table(ROOT / "sample_data" / "credit.csv").table.drop_columns(DROP).to_pandas()
    rng = np.random.default_rng(0)
    reference = base.iloc[rng.integers(0, len(base), ROWS)].reset_index(drop=True)
    current = base.iloc[rng.integers(0, len(base), ROWS)].reset_index(drop=True)
    for frame in (reference, current):
        frame["annual_income"] = frame["annual_income"] * rng.lognormal(0, 0.05, ROWS)
        frame["savings_balance"] = frame["savings_balance"] + rng.normal(0, 50, ROWS)
    current["interest_rate"] = current["interest_rate"] + 1.5
    current["credit_score"] = current["credit_score"] - 40
    current["annual_income"] = current["annual_income"] * 0.75
    current.loc[rng.random(ROWS) < 0.4, "region"] = "north"
    current.loc[rng.random(ROWS) < 0.2, "loan_purpose"] = "crypto"  # a category never seen
    current.loc[rng.random(ROWS) < 0.1, "employment_type"] = None  # more missing, same mix
    return reference, current


def load(path: Path) -> pd.DataFrame:
    """Parquet to pandas, releasing Arrow's buffers as they convert (both sides load so)."""
    import pyarrow.parquet as pq

    return pq.read_table(path).to_pandas(self_destruct=True, split_blocks=True)


def run_command(reference_path: Path, current_path: Path, home: Path) -> dict[str, Any]:
    """`mlops-studio drift REFERENCE CURRENT --json` as a new process: its wall time and peak."""
    command = [
        sys.executable,
        "-c",
        COMMAND,
        "--home",
        str(home),
        "drift",
        str(reference_path),
        str(current_path),
        "--json",
    ]
    started = time.perf_counter()
    done = subprocess.run(command, check=True, capture_output=True, text=True, cwd=ROOT)
    seconds = time.perf_counter() - started
    peak_mib = json.loads(done.stderr.strip().splitlines()[-1])["peak_mib"]
    payload = json.loads(done.stdout)
    columns = {
        c["column"]: {"kind": c["kind"], "method": c["method"], "score": c["score"]}
        | {"drifted": c["drifted"]}
        for c in payload["columns"]
    }
    return {"seconds": seconds, "peak_mib": peak_mib, "columns": columns}


def run_evidently_process(
    reference_path: Path, current_path: Path, kinds: dict[str, list[str]]
) -> dict[str, Any]:
    """Evidently's whole process (start, import, read, compute), timed from outside."""
    started = time.perf_counter()
    found = run_evidently(reference_path, current_path, kinds)
    found["process_seconds"] = time.perf_counter() - started
    return found


def run_ours(reference_path: Path, current_path: Path) -> dict[str, Any]:
    """In a fresh process: time compute_drift, then measure what the call allocates at peak."""
    from core.monitor.drift import compute_drift

    reference, current = load(reference_path), load(current_path)
    loaded_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    report = compute_drift(reference, current)
    seconds = time.perf_counter() - started
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    tracemalloc.start()
    compute_drift(reference, current)
    call_mib = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    columns = {
        c.column: {"kind": c.kind, "method": c.method, "score": c.score, "drifted": c.drifted}
        for c in report.columns
    }
    return {
        "seconds": seconds,
        "peak_mib": peak_mib,
        "loaded_mib": loaded_mib,
        "call_mib": call_mib,
        "drift_share": report.drift_share,
        "columns": columns,
    }


def evidently_python() -> Path:
    """The Evidently venv's interpreter, made (or brought up to the pins) on first use.

    pandas, numpy and scipy are pinned to this venv's versions, so both sides compute with the
    same libraries; Evidently 0.7 does not import under pandas 3.
    """
    import pyarrow
    import scipy

    python = EVIDENTLY_VENV / "bin" / "python"
    pins = [
        f"evidently=={EVIDENTLY_VERSION}",
        f"pandas=={pd.__version__}",
        f"numpy=={np.__version__}",
        f"scipy=={scipy.__version__}",
        f"pyarrow=={pyarrow.__version__}",
    ]
    stamp = EVIDENTLY_VENV / ".pins"
    if python.exists() and stamp.exists() and stamp.read_text() == " ".join(pins):
        return python
    print(f"setting up {EVIDENTLY_VENV.relative_to(ROOT)} (once): {' '.join(pins)}", flush=True)
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(EVIDENTLY_VENV)], check=True)
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, *pins], check=True)
    stamp.write_text(" ".join(pins))
    return python


def run_evidently(reference_path: Path, current_path: Path, kinds: dict[str, list[str]]) -> Any:
    command = [
        str(evidently_python()),
        "-c",
        EVIDENTLY_SCRIPT,
        str(reference_path),
        str(current_path),
        json.dumps(kinds),
    ]
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def their_verdict(column: dict[str, Any]) -> tuple[str, bool]:
    method, rule = EVIDENTLY_METHODS[column["method"]]
    score, threshold = column["score"], column["threshold"]
    drifted = {"p<=": score <= threshold, "p<": score < threshold, ">=": score >= threshold}[rule]
    return method, bool(drifted)


def compare(ours: dict[str, Any], theirs: dict[str, Any]) -> tuple[int, int, float, list[str]]:
    """Print both sides per column; return (agreeing, comparable, largest gap, problems)."""
    agree, comparable, gap, problems = 0, 0, 0.0, []
    print(f"{'column':<18} {'method':<14} {'ours':>12} {'evidently':>12}  verdicts")
    for name, mine in ours["columns"].items():
        if name not in theirs["columns"]:
            problems.append(f"{name}: Evidently did not compare it")
            continue
        method, drifted = their_verdict(theirs["columns"][name])
        score = theirs["columns"][name]["score"]
        if method != mine["method"]:
            problems.append(f"{name}: ours {mine['method']}, Evidently {method}")
            continue
        comparable += 1
        agree += drifted == mine["drifted"]
        gap = max(gap, abs(mine["score"] - score) / max(abs(score), 1e-300))
        verdict = "agree" if drifted == mine["drifted"] else "DISAGREE"
        flag = "DRIFT" if mine["drifted"] else "ok"
        print(f"{name:<18} {method:<14} {mine['score']:>12.5g} {score:>12.5g}  {flag} {verdict}")
        if drifted != mine["drifted"]:
            problems.append(f"{name}: ours says {mine['drifted']}, Evidently {drifted}")
    return agree, comparable, gap, problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--skip-evidently", action="store_true", help="time ours only")
    parser.add_argument("--ours", nargs=2, type=Path, help=argparse.SUPPRESS)  # the worker
    args = parser.parse_args()
    if args.ours:
        print(json.dumps(run_ours(*args.ours)))
        return 0
    with tempfile.TemporaryDirectory() as folder:
        reference_path = Path(folder) / "reference.parquet"
        current_path = Path(folder) / "current.parquet"
        reference, current = build_frames()
        reference.to_parquet(reference_path)
        current.to_parquet(current_path)
        del reference, current
        command = run_command(reference_path, current_path, Path(folder) / "home")
        worker = [sys.executable, __file__, "--ours", str(reference_path), str(current_path)]
        done = subprocess.run(worker, check=True, capture_output=True, text=True)
        ours = json.loads(done.stdout.strip().splitlines()[-1])
        head = (
            f"drift 1M+1M x 21 as a command: ours {command['seconds']:.2f} s, "
            f"{command['peak_mib']:.0f} MiB peak"
        )
        core = (
            f"  in process (compute_drift on frames in memory): ours {ours['seconds']:.2f} s, "
            f"{ours['peak_mib']:.0f} MiB peak (frames alone {ours['loaded_mib']:.0f} MiB; the "
            f"call allocates at most {ours['call_mib']:.0f} MiB)"
        )
        missed = command["peak_mib"] > TARGET_PEAK_MIB
        if args.skip_evidently:
            missed |= command["seconds"] > TARGET_SECONDS
            verdict = "PASS" if not missed else "MISS"
            print(f"{head} | {verdict} vs {TARGET_SECONDS:.2f} s and {TARGET_PEAK_MIB} MiB")
            print(core)
            return 1 if missed else 0
        kinds: dict[str, list[str]] = {"numeric": [], "categorical": []}
        for name, column in ours["columns"].items():
            kinds[column["kind"]].append(name)
        theirs = run_evidently_process(reference_path, current_path, kinds)
    agree, comparable, gap, problems = compare(command, theirs)
    same_as_core = all(
        command["columns"][name]["drifted"] == column["drifted"]
        for name, column in ours["columns"].items()
    )
    ratio = theirs["process_seconds"] / command["seconds"]
    core_ratio = theirs["seconds"] / ours["seconds"]
    missed |= ratio < TARGET_RATIO or bool(problems) or comparable != len(command["columns"])
    missed |= not same_as_core
    print(
        f"{head} | evidently whole process {theirs['process_seconds']:.1f} s, "
        f"{theirs['peak_mib']:.0f} MiB peak | {ratio:.1f}x | verdicts {agree}/{comparable} "
        f"agree (Evidently counts {theirs['drifted']:.0f} drifted, "
        f"ours {sum(c['drifted'] for c in command['columns'].values())}); "
        f"scores differ by at most {gap:.1e} (relative)"
    )
    print(f"{core} | evidently's Report.run {theirs['seconds']:.1f} s | {core_ratio:.1f}x")
    if not same_as_core:
        problems.append("the command's verdicts differ from compute_drift's on the frames")
    for problem in problems:
        print(f"  {problem}")
    targets = f"{TARGET_RATIO:.0f}x whole process, {TARGET_PEAK_MIB} MiB, every verdict the same"
    print(f"{'MISS' if missed else 'PASS'} vs {targets}")
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
