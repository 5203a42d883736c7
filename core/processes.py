"""Detached helper processes (job workers, service supervisors): starting them and telling
whether one is still the process we started."""

from __future__ import annotations

import os
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
KERNEL_THREAD = 0x00200000  # PF_KTHREAD in /proc/<pid>/stat's flags


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


@dataclass(frozen=True)
class _Stat:
    """What /proc/<pid>/stat says about a process that the checks here need."""

    state: str
    flags: int
    start_ticks: int


def _stat(pid: int) -> _Stat | None:
    try:
        # the name in parentheses may hold spaces and ")": the fields start after the last ")"
        fields = (PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
        return _Stat(state=fields[0], flags=int(fields[6]), start_ticks=int(fields[19]))
    except (OSError, IndexError, ValueError):
        return None


def start_ticks(pid: int) -> int | None:
    """When process ``pid`` started, in clock ticks after boot: with the pid, it tells the
    process apart from any later one given the same pid. None when the process is gone or
    ended, or the system has no /proc."""
    stat = _stat(pid)
    return None if stat is None or stat.state == "Z" else stat.start_ticks


def process_running(pid: int, marker: str, *, started: int | None = None) -> bool:
    """Whether ``pid`` is still the process we started: alive, and started at ``started``
    (its start_ticks, when recorded at spawn) or else running a command line that holds
    ``marker``. A recycled pid is not ours; a process just spawned is."""
    if not PROC.joinpath("self").exists():
        return _signal_reaches(pid)
    stat = _stat(pid)
    if stat is None or stat.state == "Z":
        return False
    if started is not None:
        return stat.start_ticks == started
    if stat.flags & KERNEL_THREAD:
        return False
    try:
        cmdline = (PROC / str(pid) / "cmdline").read_bytes()
    except OSError:
        return False
    # The kernel shows an empty command line until exec has set the new program up, which can
    # be after Popen returned: a process that has not started yet is not dead.
    return not cmdline or marker.encode() in cmdline.replace(b"\0", b" ")


def _signal_reaches(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True
