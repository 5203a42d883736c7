"""The command line starts fast: `--help` reads the command table alone, and the listing
commands import none of the heavy libraries (checked by what a fresh process has imported,
not by timing; tests/bench/bench_cli_startup.py times them)."""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import app.cli
from app.cli import COMMANDS, cli

ROOT = Path(__file__).resolve().parents[3]
HEAVY = frozenset(
    {
        "pandas",
        "numpy",
        "pyarrow",
        "sklearn",
        "scipy",
        "plotly",
        "streamlit",
        "fastapi",
        "uvicorn",
        "shap",
        "ydata_profiling",
        "onnx",
        "onnxruntime",
        "skops",
        "dask",
    }
)
LISTINGS = ("datasets", "recipes", "runs", "models", "deployments", "jobs")
# Runs the CLI in a fresh process, then prints the top-level modules and the step modules it
# imported (every run ends in SystemExit, as a console script does).
PROBE = """
import json, sys
from app.cli import cli
for args in {runs!r}:
    try:
        cli(args, prog_name="mlops-studio")
    except SystemExit as ended:
        assert not ended.code, (args, ended.code)
print(json.dumps(sorted(name for name in sys.modules if name.startswith("app.cli.")
                        or "." not in name)))
"""


def imported_by(*runs: list[str], home: Path) -> set[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MLOPS_STUDIO_HOME": str(home)}
    completed = subprocess.run(
        [sys.executable, "-c", PROBE.format(runs=list(runs))],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=True,
    )
    return set(json.loads(completed.stdout.strip().splitlines()[-1]))


def test_help_imports_no_step_module_and_no_heavy_library(tmp_path: Path) -> None:
    imported = imported_by(["--help"], home=tmp_path / "studio")
    assert imported & HEAVY == set()
    assert {name for name in imported if name.startswith("app.cli.")} == {"app.cli.group"}


def test_listing_commands_import_no_heavy_library(tmp_path: Path) -> None:
    home = tmp_path / "studio"
    imported = imported_by(*([name, "--json"] for name in LISTINGS), home=home)
    assert imported & HEAVY == set()
    assert (home / "studio.db").exists()  # the commands did open the store


def test_a_command_imports_only_its_own_step_module(tmp_path: Path) -> None:
    imported = imported_by(["datasets", "--json"], home=tmp_path / "studio")
    assert {name for name in imported if name.startswith("app.cli.")} == {
        "app.cli.group",
        "app.cli.datasets",
    }


def test_the_table_lists_every_command_once_with_its_own_help() -> None:
    steps = [
        info.name
        for info in pkgutil.iter_modules(app.cli.__path__)
        if info.name not in ("group", "__main__")
    ]
    for step in steps:
        importlib.import_module(f"app.cli.{step}")
    defined = {
        name: (command.callback.__module__.rsplit(".", 1)[-1], command.get_short_help_str(1000))
        for name, command in cli.commands.items()
        if command.callback is not None
    }
    assert defined == COMMANDS


def test_an_unknown_command_is_one_clear_line(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MLOPS_STUDIO_HOME": str(tmp_path)}
    completed = subprocess.run(
        [sys.executable, "-m", "app.cli", "datset"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
    )
    assert completed.returncode == 2
    assert "No such command 'datset'" in completed.stderr
    assert "Traceback" not in completed.stderr
