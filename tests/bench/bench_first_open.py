"""Benchmark: the studio's first page in a fresh browser tab against a minimal Streamlit app that
draws one plotly chart, both served by `streamlit run` on this machine in the same run.

Run: python tests/bench/bench_first_open.py [--tabs N] [--datasets-only]. Not collected by
pytest. The studio runs on a seeded sample project (`mlops-studio demo`, built to the end and
its sample traffic stopped, so the machine is quiet), started as `mlops-studio ui` starts it;
the minimal app by the same `streamlit run` with the same options. Tabs alternate between the
two, each a fresh browser context (no cache, no session) in Debian's headless Chromium. The
browser itself records, from the navigation start, when the page's title shows, when its first
widget (studio) or chart (minimal app) shows, when its data shows (the studio's overview grid,
which a tab's first run leaves to the run the browser asks for once it has drawn the controls;
the minimal app's chart) and when, that drawn, no script run is going on; medians over the
tabs and the studio/minimal ratio are printed. The first tab of each server is reported apart
(the server's first session); the later tabs are opened once the studio server has finished
loading the other pages' libraries in the background (app/serve.py), as a user's later tabs
find it. Target: studio usable <= 1.5x the minimal app.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
TARGET_RATIO = 1.5
START_TIMEOUT_S = 120.0
BUILD_TIMEOUT_S = 900.0
IDLE_TIMEOUT_S = 240.0
VIEWPORT = {"width": 1400, "height": 1000}
MINIMAL_APP = """
import plotly.graph_objects as go
import streamlit as st

st.title("Minimal")
st.plotly_chart(go.Figure(go.Scatter(x=[1, 2, 3, 4], y=[10, 11, 9, 12])))
"""
# Same server options as `mlops-studio ui` (app/cli/studio.py).
SERVER_OPTIONS = [
    "--server.headless", "true",
    "--browser.gatherUsageStats", "false",
    "--client.toolbarMode", "viewer",
    "--server.fileWatcherType", "none",
]  # fmt: skip
# What "seen" means, as CSS selectors inside Streamlit's main area; the browser notes the first
# moment each one is rendered with a size, relative to the navigation start.
MARKS = {
    "title": '[data-testid="stMain"] h1',
    "usable": (
        '[data-testid="stMain"] [data-testid="stSelectbox"], [data-testid="stMain"] .js-plotly-plot'
    ),
    # the page's data drawn: the studio's overview grid (its chart and grid follow the controls
    # in a second run, app/components.py after_first_paint), the minimal app's chart
    "whole": (
        '[data-testid="stMain"] [data-testid="stDataFrame"], [data-testid="stMain"] .js-plotly-plot'
    ),
}
WATCH = """
(() => {
  const marks = MARKS;
  const seen = (window.__seen = {});
  const check = () => {
    for (const [name, selector] of Object.entries(marks)) {
      if (seen[name] !== undefined) continue;
      const element = document.querySelector(selector);
      if (element && element.getBoundingClientRect().height > 0) seen[name] = performance.now();
    }
    const app = document.querySelector('[data-testid="stApp"]');
    if (seen.whole !== undefined && seen.done === undefined && app &&
        app.getAttribute("data-test-script-state") === "notRunning") seen.done = performance.now();
    if (seen.done === undefined) requestAnimationFrame(check);
  };
  requestAnimationFrame(check);
})();
""".replace("MARKS", json.dumps(MARKS))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def answers(url: str) -> bool:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(f"{url}/_stcore/health", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def start_server(
    module: list[str], script: Path, env: dict[str, str], log: Path
) -> tuple[subprocess.Popen[bytes], str, float]:
    """A Streamlit server for ``script``; its URL and seconds until it answered."""
    port = free_port()
    command = [sys.executable, *module, "run", str(script), "--server.port", str(port)]
    command += ["--server.address", "127.0.0.1", *SERVER_OPTIONS]
    started = time.monotonic()
    with log.open("ab") as out:
        process = subprocess.Popen(
            command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    while not answers(url):
        if process.poll() is not None or time.monotonic() - started > START_TIMEOUT_S:
            raise SystemExit(f"{script.name} did not start:\n{log.read_text()[-2000:]}")
        time.sleep(0.1)
    return process, url, time.monotonic() - started


def stop_server(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(process.pid, signal.SIGKILL)


def seed_sample(home: Path, env: dict[str, str], *, datasets_only: bool) -> None:
    """The sample project, built to the end, with its traffic and scheduler stopped."""
    cli = [sys.executable, "-m", "app.cli", "--home", str(home)]
    seeded = subprocess.run(
        [*cli, "demo", "--json"], check=True, env=env, cwd=REPO, capture_output=True, text=True
    )
    job_id = json.loads(seeded.stdout)["job_id"]
    if datasets_only and job_id is not None:
        subprocess.run([*cli, "cancel", str(job_id)], check=True, env=env, capture_output=True)
    elif job_id is not None:
        sys.path.insert(0, str(REPO))
        from core.jobs.runner import wait_for_job

        print("building the sample project (training, review, deployment) ...", flush=True)
        wait_for_job(home, job_id, timeout=BUILD_TIMEOUT_S)
    subprocess.run([*cli, "stop"], check=True, env=env, capture_output=True)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_until_idle(pid: int, *, timeout: float = IDLE_TIMEOUT_S) -> float:
    """Seconds until the server process stops using the CPU (its warm-up after the first page
    is over): a user's later tabs find it so."""
    started = time.monotonic()
    last = cpu_seconds(pid)
    while time.monotonic() - started < timeout:
        time.sleep(2.0)
        now = cpu_seconds(pid)
        if now - last < 0.1:
            break
        last = now
    return time.monotonic() - started


def open_tab(browser: Any, url: str) -> dict[str, float]:
    """Milliseconds from navigation start to each mark, in a fresh browser context."""
    context = browser.new_context(viewport=VIEWPORT)
    try:
        context.add_init_script(WATCH)
        page = context.new_page()
        # the marks are taken in the page; waiting for "load" here only risks a timeout
        page.goto(url, wait_until="commit", timeout=120_000)
        done = "window.__seen && window.__seen.done !== undefined"
        page.wait_for_function(done, timeout=120_000)
        seen: dict[str, float] = page.evaluate("window.__seen")
        return seen
    finally:
        context.close()


def summary(name: str, tabs: list[dict[str, float]]) -> dict[str, float]:
    first, rest = tabs[0], tabs[1:] or tabs
    medians = {mark: statistics.median(tab[mark] for tab in rest) for mark in first}
    shown = ", ".join(f"{mark} {value / 1000:.2f} s" for mark, value in medians.items())
    cold = ", ".join(f"{mark} {value / 1000:.2f} s" for mark, value in first.items())
    print(f"{name:<8} median of {len(rest)} fresh tabs: {shown}")
    print(f"{name:<8} server's first tab:      {cold}")
    return medians


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tabs", type=int, default=6, help="fresh tabs per app")
    parser.add_argument("--datasets-only", action="store_true", help="skip the sample build")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="mlops-bench-open-") as folder:
        root = Path(folder)
        home = root / "studio"
        env = {**os.environ, "PYTHONPATH": str(REPO), "MLOPS_STUDIO_HOME": str(home)}
        env |= {"NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}
        seed_sample(home, env, datasets_only=args.datasets_only)
        minimal = root / "minimal_app.py"
        minimal.write_text(MINIMAL_APP)
        servers = []
        try:
            studio = start_server(
                ["-m", "app.serve"], REPO / "app" / "streamlit_app.py", env, root / "studio.log"
            )
            servers.append(studio[0])
            peer = start_server(["-m", "streamlit"], minimal, env, root / "minimal.log")
            servers.append(peer[0])
            print(f"server start: studio {studio[2]:.1f} s, minimal app {peer[2]:.1f} s")
            timings: dict[str, list[dict[str, float]]] = {"studio": [], "minimal": []}
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
                for tab in range(args.tabs + 1):
                    timings["minimal"].append(open_tab(browser, peer[1]))
                    timings["studio"].append(open_tab(browser, studio[1]))
                    if tab == 0:
                        idle = wait_until_idle(studio[0].pid)
                        print(f"studio server busy after its first tab (warm-up): {idle:.0f} s")
                browser.close()
        finally:
            for process in servers:
                stop_server(process)
            subprocess.run(
                [sys.executable, "-m", "app.cli", "--home", str(home), "stop", "--deployments"],
                env=env, capture_output=True, check=False,
            )  # fmt: skip
    ours = summary("studio", timings["studio"])
    peer_medians = summary("minimal", timings["minimal"])
    ratio = ours["usable"] / peer_medians["usable"]
    cold = timings["studio"][0]["usable"] / timings["minimal"][0]["usable"]
    print(f"studio done / minimal done: {ours['done'] / peer_medians['done']:.2f}")
    print(f"first_open_usable_ratio={ratio:.2f} (target <= {TARGET_RATIO}) first_tab={cold:.2f}")
    return 0 if ratio <= TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
