"""CLI commands for the studio itself: the browser UI, the sample project, background jobs and
stopping what runs in the background."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from app.cli.group import Column, StudioContext, cli, emit, emit_list, studio_command, table
from core import settings
from core.auth.access import check_exposure
from core.auth.sso import check_sso_library, secrets_files, sso_configured

APP_FILE = Path(__file__).resolve().parents[1] / "streamlit_app.py"
JOB_COLUMNS = (
    Column(width=5, align=">"),
    Column(width=28),
    Column(width=10),
    Column(width=5, align=">", spec=".0%"),
    Column(gap="  "),
)


@cli.command()
@click.option("--port", default=8501, show_default=True, type=int)
@click.option("--host", default="localhost", show_default=True, help="Address the UI listens on.")
@click.option("--demo", is_flag=True, help="Seed the sample project first (once per home).")
@studio_command
def ui(ctx: StudioContext, *, as_json: bool, port: int, host: str, demo: bool) -> None:
    """Open the studio in the browser."""
    check_exposure(ctx.home, host, sso=sso_configured(ctx.home))
    if sso_configured(ctx.home):
        check_sso_library()
    if demo:
        from core.demo import seed_demo

        seed_demo(ctx.home)
    command = [
        sys.executable,
        "-m",
        "app.serve",
        "run",
        str(APP_FILE),
        "--server.port",
        str(port),
        "--server.address",
        host,
        "--server.maxUploadSize",
        str(settings.max_import_mb()),
        "--browser.gatherUsageStats",
        "false",
        "--client.toolbarMode",
        "viewer",
        "--server.fileWatcherType",
        "none",
        *[f"--secrets.files={path}" for path in secrets_files(ctx.home)],
    ]
    env = {**os.environ, settings.HOME_ENV: str(ctx.home)}
    from core.scheduler import start_in_background

    scheduler = start_in_background(ctx.home)  # monitoring goes on after the UI closes
    if as_json:
        shown = {"url": f"http://{host}:{port}", "home": str(ctx.home), "scheduler_pid": scheduler}
        click.echo(json.dumps(shown))
    os.execve(sys.executable, command, env)


@cli.command()
@click.option("--reset", is_flag=True, help="Delete the studio home and seed it again.")
@studio_command
def demo(ctx: StudioContext, *, as_json: bool, reset: bool) -> None:
    """Seed the sample project into the studio home (once; --reset rebuilds it)."""
    from core.demo import seed_demo

    summary = seed_demo(ctx.home, reset=reset)
    emit(
        summary,
        as_json,
        lambda p: f"Sample project ready in {p['home']}: {', '.join(p['datasets'])}.",
    )


@cli.command()
@click.option("--all", "show_all", is_flag=True, help="Include finished jobs (newest 50).")
@studio_command
def jobs(ctx: StudioContext, *, as_json: bool, show_all: bool) -> None:
    """List background jobs, their progress and each waiting job's place in the queue."""
    from core.jobs.pool import slots_problem
    from core.jobs.runner import list_recent_jobs

    found = [_job_item(job) for job in list_recent_jobs(ctx.home, include_finished=show_all)]
    emit_list("jobs", found, as_json, empty="No jobs.", lines=_job_lines)
    if problem := slots_problem():  # on stderr: --json's stdout stays one object
        click.echo(f"Warning: {problem} Until then no queued job starts.", err=True)


def _job_item(job: Any) -> dict[str, Any]:
    from core.jobs.kinds import job_title
    from core.jobs.pool import job_state

    # "state": where it stands in words (a waiting job's place in the queue)
    return {**job.to_dict(), "title": job_title(job.kind), "state": job_state(job)}


def _job_lines(items: list[dict[str, Any]]) -> list[str]:
    rows = [(j["id"], j["title"], j["status"], j["progress"], j["state"]) for j in items]
    return table(JOB_COLUMNS, rows, header=False)


@cli.command()
@click.argument("job_id", type=int)
@studio_command
def cancel(ctx: StudioContext, *, as_json: bool, job_id: int) -> None:
    """Cancel a queued or running job."""
    from core.jobs import cancel_job

    job = cancel_job(ctx.home, job_id, actor="cli")
    if job is None:
        raise KeyError(f"There is no job {job_id}. Run `mlops-studio jobs --all` to list them.")
    emit(job.to_dict(), as_json, lambda p: f"Job {p['id']} is {p['status']}.")


@cli.command()
@click.option(
    "--deployments", "with_deployments", is_flag=True, help="Stop every running deployment too."
)
@studio_command
def stop(ctx: StudioContext, *, as_json: bool, with_deployments: bool) -> None:
    """Stop the scheduler and the sample traffic (and, with --deployments, every deployment)."""
    from core.shutdown import stop_studio

    stopped = stop_studio(ctx.home, deployments=with_deployments, actor="cli")
    payload = {**stopped.to_dict(), "home": str(ctx.home)}
    payload["jobs_running"] = [_job_item(job) for job in stopped.jobs_running]
    emit(payload, as_json, _stopped_text)


def _stopped_text(payload: dict[str, Any]) -> str:
    pid = payload["scheduler_pid"]
    lines = [f"Stopped the scheduler (pid {pid})." if pid else "No scheduler was running."]
    if payload["sample_traffic_job"]:
        lines.append("Stopped the sample traffic.")
    if payload["deployments"]:
        lines.append(f"Stopped deployment(s) {_ids(payload['deployments'])}.")
    if payload["deployments_running"]:
        lines.append(
            f"Deployment(s) {_ids(payload['deployments_running'])} still run: "
            "`mlops-studio stop --deployments` stops them."
        )
    for job in payload["jobs_running"]:
        # a queued job starts when a running one ends, scheduler or not
        doing = {"queued": "waits for a free slot", "starting": "is starting"}.get(
            job["status"], "is still running"
        )
        lines.append(
            f"Job {job['id']} ({job['title']}) {doing}: `mlops-studio cancel {job['id']}` stops it."
        )
    return "\n".join(lines)


def _ids(ids: list[int]) -> str:
    return ", ".join(str(found) for found in ids)
