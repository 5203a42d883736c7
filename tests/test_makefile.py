"""`make run`'s recipe, run by the shell as make runs it (make itself is not run): Ctrl+C stops
the UI and then what it left running in the background, through `mlops-studio stop`."""

from __future__ import annotations

import os
import re
import signal
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FAKE_CLI = """#!/bin/sh
echo "$@" >> "$CALLS"
if [ "$1" = ui ]; then exec sleep 60; fi
"""


def recipe(target: str, **variables: str) -> str:
    """The shell text make runs for ``target``: its recipe lines joined where they continue,
    with ``variables`` put in for $(NAME)."""
    text = (ROOT / "Makefile").read_text()
    found = re.search(rf"^{target}:.*\n((?:\t.*\n)+)", text, re.M)
    assert found, f"no recipe for {target}"
    shell = found.group(1).replace("\\\n\t", "\\\n").replace("\n\t", "\n").lstrip("\t")
    for name, value in variables.items():
        shell = shell.replace(f"$({name})", value)
    return shell.replace("$$", "$")


def test_interrupting_make_run_stops_what_the_ui_started(tmp_path: Path, wait_until) -> None:
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    cli = venv / "bin" / "mlops-studio"
    cli.write_text(FAKE_CLI)
    cli.chmod(0o755)
    calls = tmp_path / "calls"
    shell = subprocess.Popen(
        ["/bin/sh", "-c", recipe("run", VENV=str(venv), PORT="8600")],
        env={**os.environ, "CALLS": str(calls)},
        start_new_session=True,  # a process group of its own, as a terminal's foreground job
    )
    try:
        wait_until(lambda: calls.exists() and "ui" in calls.read_text(), timeout=30)
        os.killpg(shell.pid, signal.SIGINT)  # what Ctrl+C sends to the foreground job
        assert shell.wait(30) != 0
    finally:
        if shell.poll() is None:
            os.killpg(shell.pid, signal.SIGKILL)
            shell.wait(10)
    assert calls.read_text().splitlines() == ["ui --demo --port 8600", "stop"]
