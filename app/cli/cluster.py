"""CLI commands for a Dask cluster: start a local one, and ask how the configured one is."""

from __future__ import annotations

import signal
import threading
from typing import Any

import click

from app.cli.group import StudioContext, cli, emit, studio_command


@cli.group()
def cluster() -> None:
    """Run tuning, batch scoring and explanations on a Dask cluster."""


@cluster.command("start")
@click.option("--workers", default=2, show_default=True, type=int, help="Worker processes.")
@click.option("--threads", default=1, show_default=True, type=int, help="Threads per worker.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8786, show_default=True, type=int, help="Scheduler port.")
@click.option("--dashboard-port", default=8787, show_default=True, type=int)
@studio_command
def start(
    ctx: StudioContext,
    *,
    as_json: bool,
    workers: int,
    threads: int,
    host: str,
    port: int,
    dashboard_port: int,
) -> None:
    """Start a local Dask cluster of separate worker processes; it runs until Ctrl+C."""
    from core.jobs.cluster import local_cluster

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with local_cluster(
        workers, threads=threads, host=host, port=port, dashboard_port=dashboard_port
    ) as running:
        shown = {
            "address": running.scheduler_address,
            "dashboard": running.dashboard_link,
            "workers": workers,
            "threads_per_worker": threads,
        }
        emit(shown, as_json, _start_text)
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
    if not as_json:
        click.echo("The cluster stopped.")


def _start_text(payload: dict[str, Any]) -> str:
    return "\n".join(
        [
            f"A Dask cluster with {payload['workers']} worker processes is running at "
            f"{payload['address']} (dashboard: {payload['dashboard']}).",
            "Send the studio's heavy work there by starting it with:",
            f"  export DASK_SCHEDULER_ADDRESS={payload['address']}",
            "Press Ctrl+C to stop the cluster.",
        ]
    )


@cluster.command("status")
@studio_command
def status(ctx: StudioContext, *, as_json: bool) -> None:
    """The scheduler set in DASK_SCHEDULER_ADDRESS: reachable or not, its workers, dashboard."""
    from core.jobs.cluster import cluster_status

    emit(cluster_status().to_dict(), as_json, _status_text)


def _status_text(payload: dict[str, Any]) -> str:
    if not payload["reachable"]:
        return str(payload["problem"])
    lines = [f"Dask cluster at {payload['address']}: reachable"]
    if payload["dashboard"]:
        lines.append(f"Dashboard: {payload['dashboard']}")
    if not payload["workers"]:
        lines.append("No workers are connected yet.")
    for worker in payload["workers"]:
        memory = _gib(worker["memory_limit"])
        lines.append(
            f"  {worker['address']}: {worker['cores']} cores, {memory} memory, "
            f"{worker['running']} running tasks"
        )
    return "\n".join(lines)


def _gib(size: int | None) -> str:
    return "unlimited" if not size else f"{size / 2**30:.1f} GiB"
