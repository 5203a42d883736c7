"""The scheduler: one per home (a second is refused), rounds fold the log, it stops on SIGTERM
and `stop` ends it, or says what to do when it will not end."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from core import scheduler
from core.processes import process_running


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


def test_stop_ends_the_background_scheduler_and_waits_for_it(tmp_path, wait_until):
    home = tmp_path / "studio"
    assert scheduler.stop(home) is None  # none runs
    pid = scheduler.start_in_background(home)
    wait_until(lambda: scheduler.running_pid(home) == pid, timeout=60)
    assert scheduler.stop(home) == pid
    assert scheduler.running_pid(home) is None
    assert not process_running(pid, scheduler.SCHEDULER_MODULE)


def test_a_scheduler_that_will_not_stop_is_reported_with_what_to_do(tmp_path, wait_until):
    home = tmp_path / "studio"
    stubborn = (
        "import signal, time; from pathlib import Path; from core.scheduler import scheduler_lock;"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN);"
        f"lock = scheduler_lock(Path({str(home)!r})); lock.__enter__(); time.sleep(60)"
    )
    process = subprocess.Popen([sys.executable, "-c", stubborn])
    try:
        wait_until(lambda: scheduler.running_pid(home) == process.pid, timeout=60)
        with pytest.raises(RuntimeError, match=rf"did not stop within 1 s.*kill -9 {process.pid}"):
            scheduler.stop(home, timeout=1)
    finally:
        process.kill()
        process.wait(30)
