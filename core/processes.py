"""Detached helper processes (job workers, service supervisors): starting them and telling
whether one is still the process we started."""

from __future__ import annotations

import os
import subprocess
import threading
from pathlib import Path


def spawn_detached(
    args: list[str], log_path: Path, *, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start ``args`` in a new session (it outlives a rerun, a closed tab and a restart of the
    UI), appending its output to ``log_path``."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=env,
        )
    # Reap the child when it ends so it never lingers as a zombie that looks alive.
    threading.Thread(target=process.wait, daemon=True).start()
    return process


def process_running(pid: int, marker: str) -> bool:
    """Whether ``pid`` is alive and its command line holds ``marker`` (a recycled pid is not)."""
    stat = Path(f"/proc/{pid}/stat")
    if stat.parent.parent.is_dir() and Path("/proc/self").exists():
        try:
            state = stat.read_text().rsplit(")", 1)[1].split()[0]
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
        except (FileNotFoundError, ProcessLookupError, IndexError):
            return False
        return state != "Z" and marker.encode() in cmdline
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True
