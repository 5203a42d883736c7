"""The scheduler: one per home (a second is refused), rounds fold the log, it stops on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from core import scheduler


def test_one_scheduler_per_home(tmp_path):
    home = tmp_path / "studio"
    assert scheduler.running_pid(home) is None
    with scheduler.scheduler_lock(home):
        assert scheduler.running_pid(home) == os.getpid()
        with pytest.raises(RuntimeError, match="already runs"), scheduler.scheduler_lock(home):
            pass
    assert scheduler.running_pid(home) is None


def test_background_scheduler_runs_rounds_and_stops_on_sigterm(tmp_path, wait_until):
    home = tmp_path / "studio"
    args = [sys.executable, "-m", "core.scheduler", "--home", str(home), "--every", "0.2"]
    process = subprocess.Popen(args, stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: scheduler.running_pid(home) == process.pid, timeout=60)
        second = subprocess.run(args, capture_output=True, text=True, timeout=60)
        assert second.returncode == 1 and "already runs" in second.stderr
        assert scheduler.start_in_background(home) == process.pid  # no second one started
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0
        process.stderr.close()
    assert scheduler.running_pid(home) is None
