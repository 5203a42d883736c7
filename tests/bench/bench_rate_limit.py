"""Benchmark: what a per-key rate limit costs each request of the prediction service.

The loans-like table is trained and registered in a temp studio home; the same version is
served by a real uvicorn on a loopback port twice, without a limit and with one (100,000
requests/s per key, so nothing is refused and only the bucket's bookkeeping is measured).
One client posts one row per request, alternating rounds between the two services so machine
load falls on both alike; prints the median latency of each and their ratio (target: the
limit adds under 5 % to a request). The in-process token bucket is also timed alone per call.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from core.data.datasets import import_dataset  # noqa: E402
from core.serving.app import create_app  # noqa: E402
from core.serving.deployments import free_port  # noqa: E402
from core.serving.hardening import RateLimiter  # noqa: E402
from core.store.deployments import ServingSettings  # noqa: E402
from core.train.plan import ValidationPlan  # noqa: E402
from core.train.registry import register_run  # noqa: E402
from core.train.training import TrainRequest, train  # noqa: E402

ROW = {"records": [{"income": 42.0, "region": "north"}]}


def registered(home: Path) -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {"income": rng.normal(50, 10, 2000), "region": rng.choice(["north", "south"], 2000)}
    )
    frame["default"] = (frame["income"] + rng.normal(scale=5, size=2000) < 48).astype(int)
    home.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(home.parent / "loans.csv", index=False)
    version = import_dataset(home, path=home.parent / "loans.csv", name="loans").version
    request = TrainRequest(
        version_id=version.id,
        target="default",
        models=("logistic_regression",),
        plan=ValidationPlan(folds=2),
    )
    register_run(home, train(home, request).best.id, name="loans", onnx=False)


@contextmanager
def served(app):
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)


def latencies(client: httpx.Client, count: int) -> list[float]:
    found = []
    for _ in range(count):
        started = time.perf_counter()
        response = client.post("/predict", json=ROW)
        found.append(time.perf_counter() - started)
        assert response.status_code == 200, response.text
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp()) / "studio"
    registered(home)
    limited = ServingSettings(rate_limit=100_000.0)
    apps = {
        "no limit": create_app(home, "loans@1"),
        "rate limit": create_app(home, "loans@1", settings=limited),
    }
    times: dict[str, list[float]] = {name: [] for name in apps}
    with served(apps["no limit"]) as plain, served(apps["rate limit"]) as capped:
        clients = {
            "no limit": httpx.Client(base_url=plain),
            "rate limit": httpx.Client(base_url=capped),
        }
        for client in clients.values():
            latencies(client, 200)  # warm up
        per_round = args.requests // args.rounds
        for _ in range(args.rounds):
            for name, client in clients.items():
                times[name] += latencies(client, per_round)
    medians = {name: statistics.median(found) * 1000 for name, found in times.items()}
    for name, value in medians.items():
        print(f"{name:>10}: median {value:.3f} ms per request over {len(times[name]):,} requests")
    print(f"ratio rate limit / no limit: {medians['rate limit'] / medians['no limit']:.3f}")
    bucket = RateLimiter(rate=100_000.0, burst=100_000.0)
    started = time.perf_counter()
    for _ in range(200_000):
        bucket.wait("key")
    print(f"token bucket alone: {(time.perf_counter() - started) / 200_000 * 1e6:.2f} µs per call")


if __name__ == "__main__":
    main()
