"""Benchmark: `mlops-studio --help` and the listing commands as whole processes, as a user runs
them, against the bare interpreter started the same way in the same run.

Run: python tests/bench/bench_cli_startup.py [--runs N]. Not collected by pytest. Each command
runs N times in a fresh process on a home holding the sample datasets; the median wall time and
the median CPU time (user + system, less disturbed by other work on the machine) are printed
with the target (0.5 s each) and the ratio to `python -c pass`.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TARGET_S = 0.5
COMMANDS = {
    "--help": ["--help"],
    "datasets": ["datasets"],
    "recipes": ["recipes"],
    "runs": ["runs"],
    "models": ["models"],
    "deployments": ["deployments"],
    "jobs": ["jobs"],
}


def timed(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds of one run of ``command`` in a fresh process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, check=True, env=env, cwd=REPO, capture_output=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def medians(command: list[str], env: dict[str, str], runs: int) -> tuple[float, float]:
    timed(command, env)  # one unmeasured run: the OS file cache, as for a user's second command
    samples = [timed(command, env) for _ in range(runs)]
    return statistics.median(s[0] for s in samples), statistics.median(s[1] for s in samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    cli = [sys.executable, "-m", "app.cli"]
    with tempfile.TemporaryDirectory(prefix="mlops-bench-cli-") as folder:
        env["MLOPS_STUDIO_HOME"] = str(Path(folder) / "studio")
        for sample in ("credit", "houses"):
            path = REPO / "sample_data" / f"{sample}.csv"
            if path.exists():
                subprocess.run(
                    [*cli, "import", str(path), "--name", sample], check=True, env=env,
                    capture_output=True,
                )  # fmt: skip
        base_wall, base_cpu = medians([sys.executable, "-c", "pass"], env, args.runs)
        print(
            f"python -c pass (interpreter start-up): {base_wall:.3f} s wall, {base_cpu:.3f} s CPU"
        )
        worst = 0.0
        for name, command in COMMANDS.items():
            wall, cpu = medians([*cli, *command], env, args.runs)
            worst = max(worst, wall)
            print(
                f"mlops-studio {name:<12} {wall:.3f} s wall (target <= {TARGET_S}), "
                f"{cpu:.3f} s CPU, {wall / base_wall:.1f}x the bare interpreter"
            )
    print(f"cli_startup_worst_median_s={worst:.3f} (target <= {TARGET_S})")
    return 0 if worst <= TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
