"""CLI commands for serving: deploy, list, switch, roll back and stop services; batch scoring."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from app.cli.group import API_KEY_ENV, StudioContext, cli, emit, emit_list, studio_command


@cli.command()
@click.argument("model_version")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int, help="Worker processes.")
@click.option("--reason", default=None, help="Override reason (an unapproved version).")
@studio_command
def serve(
    ctx: StudioContext,
    *,
    as_json: bool,
    model_version: str,
    host: str,
    port: int,
    workers: int,
    reason: str | None,
) -> None:
    """Serve MODEL_VERSION in the foreground until Ctrl+C (key: $MLOPS_STUDIO_API_KEY or new)."""
    from core.serving.deployments import new_api_key, serve_in_foreground

    api_key = os.environ.get(API_KEY_ENV) or new_api_key()

    def announce(found: Any) -> None:
        shown = {"deployment_id": found.id, "url": found.url, "model_version": found.model_label}
        if API_KEY_ENV not in os.environ:
            shown["api_key"] = api_key
        emit(shown, as_json, _serve_text)

    serve_in_foreground(
        ctx.home,
        model_version,
        host=host,
        port=port,
        workers=workers,
        api_key=api_key,
        actor="cli",
        override_reason=reason,
        announce=announce,
    )


def _serve_text(payload: dict[str, Any]) -> str:
    lines = [
        f"Deployment {payload['deployment_id']}: {payload['model_version']} at {payload['url']}"
    ]
    if "api_key" in payload:
        lines.append(f"API key (shown once): {payload['api_key']}")
    return "\n".join(lines)


@cli.command()
@click.argument("model_version")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=None, type=int, help="Port (default: a free one).")
@click.option("--workers", default=1, show_default=True, type=int, help="Worker processes.")
@click.option("--reason", default=None, help="Override reason (an unapproved version).")
@click.option(
    "--rate-limit",
    default=None,
    metavar="N/s",
    help="Requests per API key, per second ('20/s') or minute ('600/min'); 429 beyond it.",
)
@click.option("--burst", default=None, type=int, help="Requests a key may send at once.")
@click.option(
    "--round", "round_decimals", default=None, type=int, help="Round probabilities to N decimals."
)
@click.option("--labels-only", is_flag=True, help="Answer with labels only, no probabilities.")
@studio_command
def deploy(
    ctx: StudioContext,
    *,
    as_json: bool,
    model_version: str,
    host: str,
    port: int | None,
    workers: int,
    reason: str | None,
    rate_limit: str | None,
    burst: int | None,
    round_decimals: int | None,
    labels_only: bool,
) -> None:
    """Deploy MODEL_VERSION as a supervised background service; prints its URL and API key."""
    from core.serving.deployments import deploy as start
    from core.serving.hardening import checked_settings, parse_rate

    settings = checked_settings(
        rate_limit=parse_rate(rate_limit) if rate_limit is not None else None,
        rate_burst=burst,
        round_decimals=round_decimals,
        labels_only=labels_only,
    )
    found, api_key = start(
        ctx.home,
        model_version,
        host=host,
        port=port,
        workers=workers,
        actor="cli",
        override_reason=reason,
        settings=settings,
    )
    payload = {**found.to_dict(), "api_key": api_key}
    emit(payload, as_json, _deployed_text)


def _deployed_text(payload: dict[str, Any]) -> str:
    return (
        f"Deployment {payload['id']}: {payload['model_label']} live at {payload['url']}\n"
        f"API key (shown once, stored hashed): {payload['api_key']}\n"
        f"Try: curl -H 'Authorization: Bearer {payload['api_key']}' {payload['url']}/metadata"
    )


@cli.command()
@click.option("--all", "show_all", is_flag=True, help="Include stopped deployments.")
@studio_command
def deployments(ctx: StudioContext, *, as_json: bool, show_all: bool) -> None:
    """List deployments (restarting any whose supervisor died) with their health."""
    from core.serving.deployments import health, reattach

    found = [d for d in reattach(ctx.home) if show_all or d.desired == "running"]
    rows = [{**d.to_dict(), "health": health(d)} for d in found]
    empty = "No deployments. Deploy a version with `mlops-studio deploy NAME@N`."
    emit_list(
        "deployments", rows, as_json, empty=empty, lines=lambda items: map(_deployment_line, items)
    )


def _deployment_line(row: dict[str, Any]) -> str:
    answering = "answering" if row["health"] else "not answering"
    return (
        f"{row['id']}: {row['model_label']} at {row['url']} — {row['status']} ({answering}), "
        f"{_key_text(row)}, {row['restarts']} restarts"
    )


def _key_text(row: dict[str, Any]) -> str:
    return "key revoked" if row["key_revoked_at"] else f"key …{row['key_hint']}"


@cli.command()
@click.argument("deployment_id", type=int)
@click.option("--lines", default=100, show_default=True, type=int, help="How many last lines.")
@studio_command
def logs(ctx: StudioContext, *, as_json: bool, deployment_id: int, lines: int) -> None:
    """Print the end of deployment DEPLOYMENT_ID's service log (supervisor and uvicorn)."""
    from core.serving.deployments import get_deployment, service_log

    text = service_log(ctx.home, get_deployment(ctx.home, deployment_id), lines=lines)
    emit({"deployment_id": deployment_id, "log": text}, as_json, lambda p: p["log"])


@cli.command()
@click.argument("deployment_id", type=int)
@studio_command
def undeploy(ctx: StudioContext, *, as_json: bool, deployment_id: int) -> None:
    """Stop deployment DEPLOYMENT_ID gracefully (its logged predictions are kept)."""
    from core.serving.deployments import undeploy as stop

    found = stop(ctx.home, deployment_id, actor="cli")
    emit(found.to_dict(), as_json, lambda p: f"Deployment {p['id']} is {p['status']}.")


@cli.command()
@click.argument("deployment_id", type=int)
@click.argument("model_version")
@click.option("--reason", default=None, help="Override reason (an unapproved version).")
@studio_command
def switch(
    ctx: StudioContext, *, as_json: bool, deployment_id: int, model_version: str, reason: str | None
) -> None:
    """Hot-swap deployment DEPLOYMENT_ID to MODEL_VERSION with no failed requests."""
    from core.serving.deployments import switch_version

    found = switch_version(
        ctx.home, deployment_id, model_version, actor="cli", override_reason=reason
    )
    emit(found.to_dict(), as_json, lambda p: f"Deployment {p['id']} now serves {p['model_label']}.")


@cli.command()
@click.argument("deployment_id", type=int)
@studio_command
def rollback(ctx: StudioContext, *, as_json: bool, deployment_id: int) -> None:
    """Switch deployment DEPLOYMENT_ID back to the version it served before."""
    from core.serving.deployments import roll_back

    found = roll_back(ctx.home, deployment_id, actor="cli")
    emit(found.to_dict(), as_json, lambda p: f"Deployment {p['id']} now serves {p['model_label']}.")


@cli.command()
@click.argument("deployment_id", type=int)
@studio_command
def restart(ctx: StudioContext, *, as_json: bool, deployment_id: int) -> None:
    """Start a stopped or failed deployment again, on its port and with its key."""
    from core.serving.deployments import restart as start_again

    found = start_again(ctx.home, deployment_id, actor="cli")
    emit(found.to_dict(), as_json, lambda p: f"Deployment {p['id']} is {p['status']}.")


@cli.command("rotate-key")
@click.argument("deployment_id", type=int)
@studio_command
def rotate_key(ctx: StudioContext, *, as_json: bool, deployment_id: int) -> None:
    """Give deployment DEPLOYMENT_ID a new API key (shown once); the old one stops working."""
    from core.serving.deployments import rotate_key as rotate

    api_key = rotate(ctx.home, deployment_id, actor="cli")
    payload = {"deployment_id": deployment_id, "api_key": api_key}
    emit(payload, as_json, lambda p: f"New API key (shown once): {p['api_key']}")


@cli.command("revoke-key")
@click.argument("deployment_id", type=int)
@studio_command
def revoke_key(ctx: StudioContext, *, as_json: bool, deployment_id: int) -> None:
    """Revoke deployment DEPLOYMENT_ID's API key: every request gets 401 until a rotation."""
    from core.serving.deployments import revoke_key as revoke

    found = revoke(ctx.home, deployment_id, actor="cli")
    emit(found.to_dict(), as_json, lambda p: f"Deployment {p['id']}'s API key is revoked.")


@cli.command()
@click.argument("model_version")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the scored rows: a .csv or .parquet file.",
)
@click.option(
    "--engine",
    default="auto",
    show_default=True,
    metavar="[auto|onnx|numpy|sklearn]",
    help="What scores: auto (as a deployment does) uses the version's verified ONNX copy "
    "when it has one, else its pipeline compiled to NumPy when registration verified it, "
    "else its scikit-learn pipeline.",
)
@studio_command
def predict(
    ctx: StudioContext, *, as_json: bool, model_version: str, file: Path, out: Path, engine: str
) -> None:
    """Score every row of FILE with MODEL_VERSION (NAME, NAME@N or NAME@ALIAS) into --out,
    with the answers the prediction service gives."""
    from core.serving.batch import score_file

    result = score_file(ctx.home, model_version, file, out, engine=engine)
    emit(result.to_dict(), as_json, _predict_text)


def _predict_text(payload: dict[str, Any]) -> str:
    lines = [
        f"Scored {payload['rows']:,} rows with {payload['model_version']} "
        f"in {payload['seconds']:.1f} s; wrote {payload['out']}."
    ]
    lines += [f"Note: {note}" for note in payload["notes"]]
    return "\n".join(lines)
