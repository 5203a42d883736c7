"""Benchmark: our prediction service vs `mlflow models serve` on the same registered pipeline.

The sample model is registered as credit@1 in a temp studio home: the sample credit table
cleaned by the sample recipe, whose feature spec makes a 65-step pipeline (target encoding
included, so no ONNX copy) before a logistic regression, exactly as the sample project trains
it. Registration checks the pipeline compiled to NumPy against the pipeline, and ours serves
it with that NumPy engine, as a real process on a loopback port (1 and 2 workers, API key on,
every prediction logged); MLflow serves the same fitted pipeline, saved with mlflow.sklearn from
a separate venv (.bench/mlflow-venv, built on first use with the project's scikit-learn, pandas,
numpy, scipy and skops versions), with its default worker count. wrk posts one holdout row per
request with 8 connections. Targets (issue 20): ours >= 20x MLflow's requests/s, p99 <= 20 ms,
every prediction logged, and a 10,000-row request answered in <= 0.3x MLflow's time for it
(median of 5). `--model hist_gradient_boosting` times the earlier fixture (no recipe, with an
ONNX copy) instead. `--large-only` times only the 10,000-row request (~1 minute): ours (1
worker) and MLflow run side by side and the request goes to each in turn, so on a shared,
loaded machine both see the same moments; the ratio is the median of the rounds' ratios, printed
with the machine's load average (the ratio moves with it: measure at a quiet moment).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import importlib.metadata
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import venv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from core.data.datasets import import_dataset  # noqa: E402
from core.train.plan import ValidationPlan  # noqa: E402
from core.train.registry import find_model_version, register_run  # noqa: E402
from core.train.tracking import get_run  # noqa: E402
from core.train.training import TrainRequest, holdout_for_run, train  # noqa: E402

TARGET = "default"
MODEL = "logistic_regression"  # the sample project's model
RECIPE = ROOT / "sample_data" / "credit_recipe.json"
REF = "credit@1"
API_KEY = "bench-serving-key-0123456789"
CONNECTIONS = 8
WRK_THREADS = 2
WARMUP_S = 2
BATCH_ROWS = 10_000
BATCH_REPEATS = 5
LARGE_ONLY_ROUNDS = 9  # --large-only: posts to each server, one after the other, per round
MIN_RATIO = 20.0
MAX_P99_MS = 20.0
MAX_BATCH_RATIO = 0.3  # of MLflow's time for the same 10,000 rows
MAX_BATCH_MS = 300.0  # judged instead when MLflow is skipped
OURS_WORKERS = (1, 2)
STARTUP_TIMEOUT_S = 120.0
# credit@1 is never reviewed; serving an unapproved version needs a written reason
OVERRIDE_REASON = "benchmark of the serving path on a throwaway studio home"

MLFLOW_SPEC = "mlflow==3.17.*"
PINNED = ("scikit-learn", "pandas", "numpy", "scipy", "skops")
MLFLOW_VENV = ROOT / ".bench" / "mlflow-venv"
MLFLOW_STAMP = MLFLOW_VENV / ".bench-stamp.json"
# MLflow 3 reports usage unless told not to; nothing here may reach the internet.
NO_TELEMETRY = {"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}
# Runs in the MLflow venv: load the registered skops file exactly as the registry does (hash and
# type allowlist checked), then save that pipeline as an MLflow sklearn model. MLflow 3.17 saves
# sklearn models with skops by default and refuses types it was not told to trust.
EXPORT_TO_MLFLOW = """
import sys
from pathlib import Path

import mlflow.sklearn

from core.train.model_files import TRUSTED_TYPES, load_model

home, relative, sha256, label, out = sys.argv[1:]
pipeline = load_model(Path(home), relative, sha256, what=label)
mlflow.sklearn.save_model(pipeline, out, skops_trusted_types=list(TRUSTED_TYPES))
"""
WRK_SCRIPT = """
local file = assert(io.open("{body}", "rb"))
wrk.method = "POST"
wrk.body = file:read("*a")
file:close()
wrk.headers["Content-Type"] = "application/json"
{auth}
"""
_UNITS_MS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}


@dataclass(frozen=True)
class Fixture:
    """A temp studio home with credit@1 registered, and holdout rows as JSON records."""

    home: Path
    records: list[dict[str, Any]]


@dataclass(frozen=True)
class Load:
    """One wrk run: throughput, tail latency and what failed."""

    rps: float
    p99_ms: float
    requests: int
    non_2xx: int
    socket_errors: int

    @property
    def failures(self) -> int:
        return self.non_2xx + self.socket_errors


@dataclass(frozen=True)
class Served:
    """The figures of one server: single-row load and the 10,000-row request."""

    name: str
    load: Load
    batch_ms: float
    predictions: list[Any]
    logged: bool | None = None
    engine: str = "?"
    warmup_requests: int = 0


# -- the fixture -------------------------------------------------------------------------------


def studio_fixture(model: str) -> Fixture:
    """Import the sample credit table, clean it with the sample recipe (its feature spec is the
    pipeline's head), train one model, register it as credit@1. The earlier fixture, a
    HistGradientBoosting on the raw table, is kept for comparison."""
    from core.prep.prepare import prepare_dataset
    from core.prep.recipe import load_recipe_file

    home = Path(tempfile.mkdtemp(prefix="bench-serving-")) / "studio"
    dataset = import_dataset(home, path=ROOT / "sample_data" / "credit.csv", name="credit")
    version_id, recipe_id = dataset.version.id, None
    if model == MODEL:
        recipe = load_recipe_file(RECIPE)
        prepared = prepare_dataset(home, version_id=version_id, recipe=recipe).version
        version_id, recipe_id = prepared.id, prepared.recipe_id
    request = TrainRequest(
        version_id=version_id,
        target=TARGET,
        recipe_id=recipe_id,
        models=(model,),
        plan=ValidationPlan(folds=2),
    )
    run_id = train(home, request).best.id
    version = register_run(home, run_id, name="credit")
    onnx = "with an ONNX copy" if version.onnx_path else f"no ONNX copy: {version.onnx['reason']}"
    fast = version.fast_path
    numpy = "NumPy engine verified" if fast.get("ok") else f"no NumPy engine: {fast.get('reason')}"
    print(f"registered {version.label} from run {run_id} ({onnx}; {numpy})", flush=True)
    holdout, _ = holdout_for_run(home, get_run(home, run_id))
    return Fixture(home, json_records(holdout))


def json_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as a client sends them: every input column, dates as ISO text, gaps as null."""
    return json.loads(frame.to_json(orient="records", date_format="iso"))


def batch_rows(records: list[dict[str, Any]], rows: int) -> list[dict[str, Any]]:
    return [records[i % len(records)] for i in range(rows)]


# -- servers -----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def server(command: list[str], *, env: dict[str, str], log: Path) -> Iterator[subprocess.Popen]:
    """A server in its own process group, stopped (the whole group) however the block ends."""
    with log.open("wb") as output:
        process = subprocess.Popen(
            command,
            env={**os.environ, **env},
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield process
    finally:
        stop_group(process)


def stop_group(process: subprocess.Popen) -> None:
    for sig, wait_s in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=wait_s)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)  # workers left behind by the parent
            return


def wait_until_ready(url: str, process: subprocess.Popen, log: Path) -> None:
    """Poll the health URL until it answers 200 (and, for ours, status "ok")."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited ({process.returncode}):\n{tail(log)}")
        with contextlib.suppress(httpx.HTTPError):
            response = httpx.get(url, timeout=2)
            if response.status_code == 200 and "starting" not in response.text:
                return
        time.sleep(0.25)
    raise RuntimeError(f"{url} did not answer within {STARTUP_TIMEOUT_S:.0f} s:\n{tail(log)}")


def tail(log: Path, lines: int = 30) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def cli_serves() -> bool:
    """Whether `mlops-studio serve` exists yet (the factory under uvicorn stands in until then)."""
    cli = Path(sys.executable).parent / "mlops-studio"
    done = subprocess.run([cli, "serve", "--help"], capture_output=True, check=False)
    return done.returncode == 0


def ours_app() -> Any:
    """The uvicorn factory used while the CLI has no `serve` (home and key come from env)."""
    from core.serving.app import create_app
    from core.serving.keys import key_hash

    home = Path(os.environ["BENCH_SERVING_HOME"])
    api_key = os.environ["MLOPS_STUDIO_API_KEY"]
    return create_app(home, os.environ["BENCH_SERVING_REF"], api_key_hash=key_hash(api_key))


def start_ours(home: Path, *, port: int, workers: int, via: str, log: Path) -> Any:
    """Our service as a real process: the CLI, or the app factory under uvicorn's CLI."""
    env = {"MLOPS_STUDIO_API_KEY": API_KEY, "BENCH_SERVING_HOME": str(home)}
    bindir = Path(sys.executable).parent
    if via == "cli":
        command = [str(bindir / "mlops-studio"), "--home", str(home), "serve", REF]
        command += ["--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
        command += ["--reason", OVERRIDE_REASON]
    else:
        command = [sys.executable, "-m", "uvicorn", "bench_serving:ours_app", "--factory"]
        command += ["--app-dir", str(Path(__file__).parent), "--host", "127.0.0.1"]
        command += ["--port", str(port), "--workers", str(workers), "--log-level", "warning"]
        command += ["--no-access-log"]
        env["BENCH_SERVING_REF"] = REF
    return server(command, env=env, log=log)


def start_mlflow(model_dir: Path, *, port: int, log: Path) -> Any:
    bindir = MLFLOW_VENV / "bin"
    command = [str(bindir / "mlflow"), "models", "serve", "-m", str(model_dir)]
    command += ["--env-manager", "local", "-h", "127.0.0.1", "-p", str(port)]
    env = {**NO_TELEMETRY, "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}"}
    return server(command, env=env, log=log)


# -- the MLflow side ---------------------------------------------------------------------------


def mlflow_python() -> Path:
    """The MLflow venv's python, built once per set of pinned versions (a stamp records them)."""
    wanted = {"mlflow": MLFLOW_SPEC, "python": sys.version.split()[0]}
    wanted |= {name: importlib.metadata.version(name) for name in PINNED}
    python = MLFLOW_VENV / "bin" / "python"
    if MLFLOW_STAMP.exists() and json.loads(MLFLOW_STAMP.read_text()) == wanted:
        return python
    print(f"building {MLFLOW_VENV} ({MLFLOW_SPEC}, pinned {pins_text(wanted)}) ...", flush=True)
    shutil.rmtree(MLFLOW_VENV, ignore_errors=True)
    venv.create(MLFLOW_VENV, with_pip=True)
    pins = [f"{name}=={wanted[name]}" for name in PINNED]
    pip = [str(python), "-m", "pip", "install", "--quiet"]
    subprocess.run([*pip, MLFLOW_SPEC, *pins], check=True)
    subprocess.run([*pip, "--no-deps", "-e", str(ROOT)], check=True)  # our transformers unpickle
    MLFLOW_STAMP.write_text(json.dumps(wanted, indent=2))
    return python


def pins_text(wanted: dict[str, str]) -> str:
    return ", ".join(f"{name} {wanted[name]}" for name in PINNED)


def export_to_mlflow(python: Path, home: Path, out: Path) -> None:
    version = find_model_version(home, REF)
    args = [str(home), version.artifact_path, version.artifact_sha256, version.label, str(out)]
    env = {**os.environ, **NO_TELEMETRY}
    subprocess.run([str(python), "-c", EXPORT_TO_MLFLOW, *args], check=True, env=env)


def mlflow_about(python: Path) -> str:
    """MLflow's version and its serve worker option, as its own --help words it."""
    bindir = python.parent
    done = subprocess.run(
        [str(bindir / "mlflow"), "models", "serve", "--help"],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **NO_TELEMETRY},
    )
    text = " ".join(done.stdout.split())
    option = re.search(r"(-w, --workers \S+.*?)(?= -\w, --| --[a-z]|$)", text)
    code = "import mlflow; print(mlflow.__version__)"
    found = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=False)
    return f"mlflow {found.stdout.strip()}; {option.group(1) if option else 'no --workers option'}"


# -- load --------------------------------------------------------------------------------------


def wrk_load(url: str, body: Path, *, seconds: int, auth: bool) -> Load:
    """wrk: POST the JSON file ``body`` with 8 connections for ``seconds``, latencies kept."""
    header = f'wrk.headers["Authorization"] = "Bearer {API_KEY}"' if auth else ""
    script = body.with_suffix(".lua")
    script.write_text(WRK_SCRIPT.format(body=body, auth=header))
    command = ["wrk", f"-t{WRK_THREADS}", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency"]
    command += ["--timeout", "30s", "-s", str(script), url]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return parse_wrk(done.stdout)


def parse_wrk(text: str) -> Load:
    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s|m|h)\s*$", text, re.MULTILINE)
    total = re.search(r"(\d+) requests in", text)
    if not (rps and p99 and total):
        raise RuntimeError(f"could not read wrk's output:\n{text}")
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text
    )
    return Load(
        rps=float(rps.group(1)),
        p99_ms=float(p99.group(1)) * _UNITS_MS[p99.group(2)],
        requests=int(total.group(1)),
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=sum(int(n) for n in sockets.groups()) if sockets else 0,
    )


def time_batch(url: str, payload: dict[str, Any], *, auth: bool) -> tuple[float, list[Any]]:
    """Median wall ms of ``BATCH_REPEATS`` posts of one big body (after one warm-up post)."""
    content = json.dumps(payload, separators=(",", ":")).encode()  # as httpx sends json=
    headers = {"Content-Type": "application/json"}
    if auth:
        headers["Authorization"] = f"Bearer {API_KEY}"
    seconds = []
    with httpx.Client(timeout=120) as client:
        for attempt in range(BATCH_REPEATS + 1):
            started = time.perf_counter()
            response = client.post(url, content=content, headers=headers)
            elapsed = time.perf_counter() - started
            if response.status_code != 200:
                raise RuntimeError(f"{url} answered {response.status_code}: {response.text[:500]}")
            seconds += [elapsed] if attempt else []
    return statistics.median(seconds) * 1e3, response.json()["predictions"]


def measure(
    name: str, base: str, path: str, key: str, fixture: Fixture, *, auth: bool, seconds: int
) -> Served:
    """Single-row load (warm-up, then the timed run) and the 10,000-row request on one server."""
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as scratch:
        body = Path(scratch) / "row.json"
        body.write_text(json.dumps({key: fixture.records[:1]}))
        warmup = wrk_load(base + path, body, seconds=WARMUP_S, auth=auth)
        load = wrk_load(base + path, body, seconds=seconds, auth=auth)
    rows = batch_rows(fixture.records, BATCH_ROWS)
    batch_ms, predictions = time_batch(base + path, {key: rows}, auth=auth)
    failed = f", {load.failures:,} FAILED" if load.failures else ""
    print(
        f"  {name}: {load.rps:,.0f} req/s, p99 {load.p99_ms:.1f} ms "
        f"({load.requests:,} requests{failed}); {BATCH_ROWS:,}-row request {batch_ms:.0f} ms",
        flush=True,
    )
    return Served(name, load, batch_ms, predictions, warmup_requests=warmup.requests)


def probe_request_id(base: str, fixture: Fixture) -> str:
    """One authorised prediction; its request id is looked up in the store after shutdown."""
    response = httpx.post(
        base + "/predict",
        json={"records": fixture.records[:1]},
        headers={"Authorization": f"Bearer {API_KEY}"},
        timeout=30,
    )
    response.raise_for_status()
    return str(response.json()["request_id"])


def was_logged(home: Path, request_id: str) -> bool:
    from core.store import connect, deployments

    with connect(home) as db:
        return request_id in deployments.logged_request_ids(db, [request_id])


def logged_requests(home: Path) -> int:
    """Answered requests in the prediction log (read-only; the servers have stopped)."""
    from core.settings import database_path

    with contextlib.closing(sqlite3.connect(database_path(home))) as db:
        (count,) = db.execute("SELECT COUNT(*) FROM predictions WHERE status = 200").fetchone()
    return int(count)


def run_ours(fixture: Fixture, *, workers: int, via: str, seconds: int, logs: Path) -> Served:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = logs / f"ours-{workers}.log"
    before = logged_requests(fixture.home)
    with start_ours(fixture.home, port=port, workers=workers, via=via, log=log) as process:
        wait_until_ready(base + "/health", process, log)
        engine = str(httpx.get(base + "/health", timeout=5).json().get("engine", "?"))
        print(f"  ours (workers {workers}) is up: engine {engine}", flush=True)
        request_id = probe_request_id(base, fixture)
        name = f"ours (workers {workers})"
        served = measure(name, base, "/predict", "records", fixture, auth=True, seconds=seconds)
    # every answered request is in the log: wrk's timed and warm-up requests (it counts only
    # those it saw finish, so the log may hold a few more), the probe and the 6 batch posts
    counted = served.load.requests + served.warmup_requests + 1 + BATCH_REPEATS + 1
    logged = logged_requests(fixture.home) - before
    complete = was_logged(fixture.home, request_id) and logged >= counted
    print(f"    {logged:,} requests logged for {counted:,} wrk and this script saw answered")
    return dataclasses.replace(served, logged=complete, engine=engine)


def run_mlflow(fixture: Fixture, *, seconds: int, logs: Path) -> Served:
    python = mlflow_python()
    print(f"  {mlflow_about(python)}", flush=True)
    model_dir = logs / "mlflow-model"
    export_to_mlflow(python, fixture.home, model_dir)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = logs / "mlflow.log"
    with start_mlflow(model_dir, port=port, log=log) as process:
        wait_until_ready(base + "/health", process, log)
        started = re.findall(r"--workers (\d+)", log.read_text(errors="replace"))
        workers = started[0] if started else "?"
        print(f"  mlflow is up: its command runs uvicorn with {workers} worker(s)", flush=True)
        key = "dataframe_records"
        return measure("mlflow", base, "/invocations", key, fixture, auth=False, seconds=seconds)


def compare_large(fixture: Fixture, *, via: str, logs: Path) -> int:
    """Both servers up at once; the 10,000-row request posted to ours, then MLflow, round by
    round (one warm-up round first); every answer of ours logged, the same predictions."""
    python = mlflow_python()
    print(f"  {mlflow_about(python)}", flush=True)
    export_to_mlflow(python, fixture.home, logs / "mlflow-model")
    ports = free_port(), free_port()
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    rows = batch_rows(fixture.records, BATCH_ROWS)
    before = logged_requests(fixture.home)
    load = os.getloadavg()[0]
    with (
        start_ours(fixture.home, port=ports[0], workers=1, via=via, log=logs / "ours.log") as a,
        start_mlflow(logs / "mlflow-model", port=ports[1], log=logs / "mlflow.log") as b,
    ):
        wait_until_ready(urls[0] + "/health", a, logs / "ours.log")
        wait_until_ready(urls[1] + "/health", b, logs / "mlflow.log")
        posts = [
            _Post(urls[0] + "/predict", _sent({"records": rows}), auth=True),
            _Post(urls[1] + "/invocations", _sent({"dataframe_records": rows}), auth=False),
        ]
        with httpx.Client(timeout=120) as client:
            times = [[post.send(client) for post in posts] for _ in range(LARGE_ONLY_ROUNDS + 1)]
    ours, theirs = ([ms for ms, _ in column] for column in zip(*times[1:], strict=True))
    ratio = statistics.median(a / b for a, b in zip(ours, theirs, strict=True))
    same = times[-1][0][1] == times[-1][1][1]
    logged = logged_requests(fixture.home) - before == LARGE_ONLY_ROUNDS + 1
    print(f"  ours (1 worker): {', '.join(f'{ms:.0f}' for ms in ours)} ms")
    print(f"  mlflow:          {', '.join(f'{ms:.0f}' for ms in theirs)} ms")
    checks = [
        (f"{BATCH_ROWS:,}-row request {ratio:.2f}x MLflow's", f"<= {MAX_BATCH_RATIO}x",
         ratio <= MAX_BATCH_RATIO),
        ("every prediction logged", "yes", logged),
        ("same predictions as MLflow", "yes", same),
    ]  # fmt: skip
    for figure, target, ok in checks:
        print(f"  {figure:<34} target {target:<10} {'PASS' if ok else 'MISS'}")
    print(
        f"\n10k-row request, interleaved: ours {statistics.median(ours):.0f} ms | mlflow "
        f"{statistics.median(theirs):.0f} ms | ratio {ratio:.2f}x (median of {len(ours)} rounds; "
        f"load average {load:.1f} before, {os.getloadavg()[0]:.1f} after)",
        flush=True,
    )
    return 0 if all(ok for _, _, ok in checks) else 1


def _sent(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()  # as httpx sends json=


@dataclass(frozen=True)
class _Post:
    """One server's 10,000-row request, sent as httpx sends json=."""

    url: str
    content: bytes
    auth: bool

    def send(self, client: httpx.Client) -> tuple[float, list[Any]]:
        headers = {"Content-Type": "application/json"}
        if self.auth:
            headers["Authorization"] = f"Bearer {API_KEY}"
        started = time.perf_counter()
        response = client.post(self.url, content=self.content, headers=headers)
        elapsed = (time.perf_counter() - started) * 1e3
        if response.status_code != 200:
            raise RuntimeError(f"{self.url} answered {response.status_code}: {response.text[:500]}")
        return elapsed, response.json()["predictions"]


# -- the verdict -------------------------------------------------------------------------------


def verdict(ours: list[Served], mlflow: Served | None) -> int:
    """Print each figure against its target, then the one-line summary; 1 if a target is missed."""
    best = max(ours, key=lambda served: served.load.rps)
    load = best.load
    ratio = load.rps / mlflow.load.rps if mlflow else float("nan")
    batch_ms = min(served.batch_ms for served in ours)
    agree = mlflow is None or all(served.predictions == mlflow.predictions for served in ours)
    if mlflow:
        batch_ratio = batch_ms / mlflow.batch_ms
        batch = (
            f"{BATCH_ROWS:,}-row request {batch_ratio:.2f}x MLflow's",
            f"<= {MAX_BATCH_RATIO}x",
            batch_ratio <= MAX_BATCH_RATIO,
        )
    else:
        batch = (
            f"{BATCH_ROWS:,}-row request {batch_ms:.0f} ms",
            f"<= {MAX_BATCH_MS:.0f} ms",
            batch_ms <= MAX_BATCH_MS,
        )
    checks = [
        (f"ratio to MLflow {ratio:.1f}x", f">= {MIN_RATIO:.0f}x", ratio >= MIN_RATIO),
        (f"p99 {load.p99_ms:.1f} ms", f"<= {MAX_P99_MS:.0f} ms", load.p99_ms <= MAX_P99_MS),
        batch,
        (f"failed requests {load.failures:,}", "0", load.failures == 0),
        ("every prediction logged", "yes", all(served.logged for served in ours)),
        ("same predictions as MLflow", "yes", agree),
        (f"engine {best.engine}", "numpy or onnx", best.engine in ("numpy", "onnx")),
    ]  # fmt: skip
    print(f"\ntargets (judged on {best.name}):")
    for figure, target, ok in checks:
        print(f"  {figure:<34} target {target:<10} {'PASS' if ok else 'MISS'}")
    peer = "mlflow skipped"
    if mlflow:
        peer = f"mlflow {mlflow.load.rps:,.0f} req/s p99 {mlflow.load.p99_ms:.0f} ms"
        peer += f" (10k batch {mlflow.batch_ms:.0f} ms)"
    batch_vs = f" = {batch_ms / mlflow.batch_ms:.2f}x MLflow's" if mlflow else ""
    print(
        f"\nserving ({best.engine} engine): ours {load.rps:,.0f} req/s p99 {load.p99_ms:.1f} ms "
        f"{best.name.removeprefix('ours ')} | {peer} | ratio {ratio:.1f}x | "
        f"10k batch {batch_ms:.0f} ms{batch_vs}",
        flush=True,
    )
    return 0 if all(ok for _, _, ok in checks) else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10, help="wrk duration of a timed run")
    parser.add_argument(
        "--via",
        choices=("auto", "cli", "factory"),
        default="auto",
        help="start ours with `mlops-studio serve` or the app factory under uvicorn",
    )
    parser.add_argument("--skip-mlflow", action="store_true", help="time ours only")
    parser.add_argument(
        "--model",
        choices=(MODEL, "hist_gradient_boosting"),
        default=MODEL,
        help="the sample model (recipe, NumPy engine) or the earlier raw-table fixture (ONNX)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temp home and server logs")
    parser.add_argument(
        "--large-only",
        action="store_true",
        help="time only the 10,000-row request, ours and MLflow side by side, in turns",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is not installed (apt-get install -y wrk)", file=sys.stderr)
        return 2
    via = ("cli" if cli_serves() else "factory") if args.via == "auto" else args.via
    fixture = studio_fixture(args.model)
    try:
        if args.large_only:
            return compare_large(fixture, via=via, logs=fixture.home.parent)
        return compare(fixture, via=via, seconds=args.seconds, skip_mlflow=args.skip_mlflow)
    finally:
        if args.keep:
            print(f"kept {fixture.home.parent} (studio home, server logs, MLflow model)")
        else:
            shutil.rmtree(fixture.home.parent, ignore_errors=True)


def compare(fixture: Fixture, *, via: str, seconds: int, skip_mlflow: bool) -> int:
    logs = fixture.home.parent
    wrk = f"wrk -t{WRK_THREADS} -c{CONNECTIONS} -d{seconds}s after a {WARMUP_S} s warm-up"
    print(f"single-row POSTs: {wrk}; ours started via {via}", flush=True)
    ours = [run_ours(fixture, workers=n, via=via, seconds=seconds, logs=logs) for n in OURS_WORKERS]
    mlflow = None if skip_mlflow else run_mlflow(fixture, seconds=seconds, logs=logs)
    return verdict(ours, mlflow)


if __name__ == "__main__":
    raise SystemExit(main())
