"""The supervisor of one deployment: runs its uvicorn process, waits until it answers, restarts
it when it dies and stops it gracefully. Started detached by ``deploy``:
``python -m core.serving.supervisor --home HOME --deployment ID``."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections import deque
from pathlib import Path
from typing import Any

from core import store
from core.artifacts import resolve
from core.store import connect, deployments

SUPERVISOR_MODULE = "core.serving.supervisor"
APP_FACTORY = "core.serving.app:deployment_app"
READY_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 20.0
CRASH_WINDOW_S = 60.0
MAX_CRASHES = 5
MAX_LOG_BYTES = 10 * 1024 * 1024  # the service log, then one older part beside it (".1")
LOG_CHECK_S = 2.0
DIED = "The service process stopped unexpectedly (exit code {code}); restarted it."
GAVE_UP = (
    "The service process stopped {count} times within {window:.0f} s, so it was not restarted "
    "again. Its log says why; fix that, then restart the deployment."
)
NOT_READY = "The service did not answer /health within {seconds:.0f} s; restarted it."


def _stamp(message: str) -> None:
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S')} supervisor: {message}", flush=True)


def server_command(deployment: deployments.Deployment) -> list[str]:
    """The uvicorn command line of a deployment (the app reads its row from the store)."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        APP_FACTORY,
        "--factory",
        "--host",
        deployment.host,
        "--port",
        str(deployment.port),
        "--workers",
        str(deployment.workers),
        "--no-access-log",
        "--timeout-graceful-shutdown",
        str(int(STOP_TIMEOUT_S / 2)),
    ]


def server_env(home: Path, deployment_id: int) -> dict[str, str]:
    """The service's environment: where the store is, which deployment, one thread each."""
    from core.serving.app import DEPLOYMENT_ENV, HOME_ENV

    env = dict(os.environ)
    env |= {HOME_ENV: str(home), DEPLOYMENT_ENV: str(deployment_id)}
    env |= {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    return env


def rotate_log(path: Path, most: int = MAX_LOG_BYTES) -> bool:
    """Keep a log under ``most`` bytes: copy it to ``<name>.1`` and empty it. Copy and truncate
    rather than rename, because the supervisor and the service write to it through descriptors
    they inherited (opened for appending, so their next line lands at the new start)."""
    try:
        if path.stat().st_size <= most:
            return False
        shutil.copyfile(path, older_log(path))
        with path.open("r+b") as log:
            log.truncate(0)
    except OSError:  # a log that cannot be rotated must not stop the service
        return False
    return True


def older_log(path: Path) -> Path:
    return path.with_name(path.name + ".1")


def answers(url: str, *, timeout: float = 1.0) -> dict[str, Any] | None:
    """The service's /health, or None when it does not answer (yet)."""
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=timeout) as response:
            body: dict[str, Any] = json.loads(response.read())
            return body
    except (OSError, ValueError):
        return None


class Supervisor:
    """Keeps one deployment's service process running until asked to stop."""

    def __init__(self, home: Path, deployment_id: int) -> None:
        self.home = home
        self.deployment_id = deployment_id
        self.stopping = False
        self.child: subprocess.Popen[bytes] | None = None
        self.crashes: deque[float] = deque()

    def stop(self, *_: Any) -> None:
        self.stopping = True
        if self.child is not None and self.child.poll() is None:
            self.child.send_signal(signal.SIGTERM)

    def update(self, **fields: Any) -> None:
        with connect(self.home) as db:
            deployments.update(db, self.deployment_id, **fields)

    def deployment(self) -> deployments.Deployment | None:
        with connect(self.home) as db:
            return deployments.get(db, self.deployment_id)

    def run(self) -> int:
        self.update(supervisor_pid=os.getpid())
        while not self.stopping:
            deployment = self.deployment()
            if deployment is None or deployment.desired != "running":
                break
            code = self.serve_once(deployment)
            if self.stopping:
                break
            if not self.note_crash(code):
                return 1
        self.finish()
        return 0

    def serve_once(self, deployment: deployments.Deployment) -> int | None:
        """Start the service, mark it running once it answers, and wait until it ends."""
        self.child = subprocess.Popen(
            server_command(deployment),
            env=server_env(self.home, self.deployment_id),
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own group, so stray workers can be cleaned up
            cwd=self.home,
        )
        self.update(server_pid=self.child.pid)
        _stamp(f"started the service (pid {self.child.pid}) on {deployment.url}")
        if self.wait_until_ready(deployment.url):
            self.update(status="running", started_at=store.now(), last_error=None)
            _stamp("the service answers /health")
        log = resolve(self.home, deployment.log_path) if deployment.log_path else None
        while True:
            try:
                code = self.child.wait(LOG_CHECK_S)
                break
            except subprocess.TimeoutExpired:
                if log is not None and rotate_log(log):
                    _stamp(f"the log passed {MAX_LOG_BYTES:,} bytes; its older part is {log}.1")
        self.clean_up_group()
        return code

    def wait_until_ready(self, url: str) -> bool:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline and not self.stopping:
            assert self.child is not None
            if self.child.poll() is not None:
                return False
            health = answers(url)
            if health and health.get("status") == "ok":
                return True
            time.sleep(0.1)
        if not self.stopping:
            self.update(last_error=NOT_READY.format(seconds=READY_TIMEOUT_S))
            self.stop_child()
        return False

    def note_crash(self, code: int | None) -> bool:
        """Record an unexpected end; False when it keeps crashing and should not restart."""
        now = time.monotonic()
        self.crashes.append(now)
        while self.crashes and now - self.crashes[0] > CRASH_WINDOW_S:
            self.crashes.popleft()
        deployment = self.deployment()
        restarts = (deployment.restarts if deployment else 0) + 1
        if len(self.crashes) >= MAX_CRASHES:
            message = GAVE_UP.format(count=len(self.crashes), window=CRASH_WINDOW_S)
            self.update(status="failed", last_error=message, server_pid=None, supervisor_pid=None)
            self.update(stopped_at=store.now())
            _stamp(message)
            return False
        message = DIED.format(code=code)
        self.update(status="restarting", restarts=restarts, last_error=message, server_pid=None)
        _stamp(message)
        time.sleep(min(2.0 ** (len(self.crashes) - 1) * 0.5, 8.0))
        return True

    def stop_child(self) -> None:
        child = self.child
        if child is None or child.poll() is not None:
            return
        child.send_signal(signal.SIGTERM)
        try:
            child.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        self.clean_up_group()

    def clean_up_group(self) -> None:
        if self.child is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.child.pid, signal.SIGKILL)

    def finish(self) -> None:
        self.stop_child()
        self.update(status="stopped", stopped_at=store.now(), server_pid=None, supervisor_pid=None)
        _stamp("stopped")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Supervise one deployment's service process.")
    parser.add_argument("--home", required=True)
    parser.add_argument("--deployment", type=int, required=True)
    args = parser.parse_args(argv)
    supervisor = Supervisor(Path(args.home), args.deployment)
    signal.signal(signal.SIGTERM, supervisor.stop)
    signal.signal(signal.SIGINT, supervisor.stop)
    return supervisor.run()


if __name__ == "__main__":
    raise SystemExit(main())
