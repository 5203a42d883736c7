"""The studio's CLI run in process, as the CLI tests call it."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from app.cli import cli


def run(home: Path, *args: str) -> tuple[int, str]:
    """``mlops-studio ARGS --home HOME``: the exit code and what it printed."""
    result = CliRunner().invoke(cli, [*args, "--home", str(home)], catch_exceptions=False)
    return result.exit_code, result.output


def run_json(home: Path, *args: str) -> dict:
    """The one JSON line a successful ``ARGS --json`` prints."""
    code, output = run(home, *args, "--json")
    assert code == 0, output
    lines = output.strip().splitlines()
    assert len(lines) == 1, output
    return json.loads(lines[0])
