"""Telling whether a spawned process is still ours, on real processes: from the moment it is
spawned (its command line not filled in yet), until it is gone, a zombie or someone else."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from core.processes import process_running, spawn_detached, start_ticks

MARKER = "studio-test-marker"
SPAWNS = 200  # the issue saw 10 in 200 judged dead


def _sleeper(log: Path) -> subprocess.Popen[bytes]:
    return spawn_detached(["sh", "-c", "sleep 60", MARKER], log)


def _end(process: subprocess.Popen[bytes]) -> None:
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(10)


def test_a_process_is_running_from_the_moment_it_is_spawned(tmp_path: Path) -> None:
    """Right after Popen returns, exec may not have filled the command line in yet."""
    judged_dead = 0
    for _ in range(SPAWNS):
        process = _sleeper(tmp_path / "spawn.log")
        judged_dead += not process_running(process.pid, MARKER)
        _end(process)
    assert judged_dead == 0, f"{judged_dead} of {SPAWNS} just-spawned processes judged dead"


def test_the_start_time_identifies_a_process_whatever_its_command_line(tmp_path: Path) -> None:
    process = _sleeper(tmp_path / "spawn.log")
    try:
        started = start_ticks(process.pid)
        assert started is not None
        assert process_running(process.pid, "a marker it does not hold", started=started)
        # the same pid, started at another time, is another process: a recycled pid
        assert not process_running(process.pid, MARKER, started=started + 1)
    finally:
        _end(process)


def test_a_process_that_runs_something_else_is_not_ours(tmp_path: Path, wait_until) -> None:
    process = _sleeper(tmp_path / "spawn.log")
    try:
        wait_until(lambda: Path(f"/proc/{process.pid}/cmdline").read_bytes(), timeout=10)
        assert process_running(process.pid, MARKER)
        assert not process_running(process.pid, "core.jobs.worker")
    finally:
        _end(process)


def test_a_process_gone_or_ended_is_not_running(tmp_path: Path, wait_until) -> None:
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", MARKER])
    started = start_ticks(process.pid)
    process.kill()
    # not reaped yet: a zombie, which is not running whatever its pid and start time say
    wait_until(lambda: _state(process.pid) == "Z", timeout=10)
    assert not process_running(process.pid, MARKER)
    assert not process_running(process.pid, MARKER, started=started)
    assert start_ticks(process.pid) is None
    process.wait(10)
    assert not process_running(process.pid, MARKER, started=started)


def _state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
