"""`mlops-studio cluster start` runs a real local Dask cluster until Ctrl+C; `cluster status`
reports it (and says clearly when none is set or it cannot be reached)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from app.cli import cli
from core.serving.deployments import free_port

ROOT = Path(__file__).resolve().parents[3]


def _status(env: dict[str, str]) -> dict:
    completed = subprocess.run(
        [sys.executable, "-m", "app.cli", "cluster", "status", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    )
    return json.loads(completed.stdout)


def test_status_without_a_cluster_says_how_to_start_one(monkeypatch) -> None:
    monkeypatch.delenv("DASK_SCHEDULER_ADDRESS", raising=False)
    monkeypatch.delenv("MLOPS_STUDIO_DASK", raising=False)
    result = CliRunner().invoke(cli, ["cluster", "status", "--json"])
    payload = json.loads(result.output)
    assert result.exit_code == 0
    assert payload["reachable"] is False and payload["workers"] == []
    assert "mlops-studio cluster start --workers 2" in payload["problem"]


def test_status_of_an_unreachable_scheduler_is_one_clear_line(monkeypatch) -> None:
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", f"tcp://127.0.0.1:{free_port()}")
    monkeypatch.setenv("MLOPS_STUDIO_DASK_CONNECT_TIMEOUT", "2")
    result = CliRunner().invoke(cli, ["cluster", "status"])
    assert result.exit_code == 0
    assert result.output.startswith("The scheduler could not be reached")
    assert "Traceback" not in result.output


@pytest.mark.slow
def test_start_runs_a_cluster_that_status_sees_and_ctrl_c_stops() -> None:
    port, dashboard = free_port(), free_port()
    args = [sys.executable, "-m", "app.cli", "cluster", "start", "--workers", "2"]
    args += ["--port", str(port), "--dashboard-port", str(dashboard), "--json"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with subprocess.Popen(
        args, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    ) as server:
        try:
            assert server.stdout is not None
            started = json.loads(server.stdout.readline())
            assert started["address"] == f"tcp://127.0.0.1:{port}"
            assert started["workers"] == 2
            status = _status({**env, "DASK_SCHEDULER_ADDRESS": started["address"]})
            assert status["reachable"] is True and status["problem"] is None
            assert str(dashboard) in status["dashboard"]
            assert len(status["workers"]) == 2
            for worker in status["workers"]:
                assert worker["cores"] == 1 and worker["memory_limit"] > 0
                assert worker["running"] == 0
            server.send_signal(signal.SIGINT)
            assert server.wait(timeout=60) == 0
        finally:
            if server.poll() is None:
                server.kill()
                server.wait()
