"""CLI commands for retraining: policies, retrain (or a dry run), promotion and shadow mode."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import click

from app.cli.group import StudioContext, cli, emit, studio_command
from core import words


@cli.command()
@click.argument("deployment_id", type=int)
@click.option("--dry-run", is_flag=True, help="Say what a retrain would do; change nothing.")
@click.option("--wait", is_flag=True, help="Wait for the retrain to finish and print it.")
@studio_command
def retrain(
    ctx: StudioContext, *, as_json: bool, deployment_id: int, dry_run: bool, wait: bool
) -> None:
    """Retrain DEPLOYMENT_ID's model now on its training rows plus the labelled traffic."""
    from core.jobs.runner import wait_for_job
    from core.retrain.challenger import dry_run as plan_retrain
    from core.retrain.challenger import get_retrain, start_retrain

    if dry_run:
        emit(plan_retrain(ctx.home, deployment_id, actor="cli").to_dict(), as_json, _retrain_text)
        return
    started = start_retrain(ctx.home, deployment_id, actor="cli")
    if wait and started.job_id is not None:
        wait_for_job(ctx.home, started.job_id, timeout=24 * 3600)
        started = get_retrain(ctx.home, started.id)
    emit(started.to_dict(), as_json, _retrain_text)


def _retrain_text(payload: dict[str, Any]) -> str:
    lines = [f"Retrain {payload['id']} of deployment {payload['deployment_id']}: "
             f"{payload['status']}"]  # fmt: skip
    lines += [f"  {step['step']}: {step['message']}" for step in payload["steps"]]
    if payload["champion_score"] is not None:
        lines.append(
            f"  {words.metric(payload['metric'])}: champion {payload['champion_score']:.4f}, "
            "challenger "
            f"{payload['challenger_score']:.4f}"
        )
    if payload["decision"]:
        lines.append(f"Decision: {payload['decision']}")
    if payload["error"]:
        lines.append(f"Error: {payload['error']}")
    return "\n".join(lines)


@cli.command()
@click.argument("deployment_id", type=int)
@click.option("--name", required=True, help="What the policy is for, in a few words.")
@click.option("--drift-share", type=float, default=None, help="Fire above this drift share.")
@click.option("--metric-drop", type=float, default=None, help="Fire above this relative drop.")
@click.option("--new-labels", type=int, default=None, help="Fire after this many new labels.")
@click.option("--every-hours", type=float, default=None, help="Fire on this schedule.")
@click.option(
    "--estimated-drop",
    type=float,
    default=None,
    help="Fire when estimated performance (no labels needed) is this share below the holdout's.",
)
@click.option(
    "--promote",
    type=click.Choice(["review", "shadow", "auto"]),
    default="review",
    show_default=True,
    help="Leave the challenger for review, run it in shadow, or promote it when it passes.",
)
@click.option("--retune", is_flag=True, help="Re-tune instead of reusing the parameters.")
@click.option("--trials", default=20, show_default=True, type=int, help="Re-tuning trials.")
@click.option("--min-improvement", default=0.0, show_default=True, type=float)
@click.option("--cooldown", default=60.0, show_default=True, type=float, help="Minutes.")
@studio_command
def policy(
    ctx: StudioContext,
    *,
    as_json: bool,
    deployment_id: int,
    name: str,
    promote: str,
    retune: bool,
    trials: int,
    min_improvement: float,
    cooldown: float,
    **triggers: Any,
) -> None:
    """Add a retraining policy to DEPLOYMENT_ID; the scheduler runs it from now on."""
    from core.retrain.policies import Action, Triggers, add_policy

    action = Action(promote=promote, retune=retune, trials=trials, min_improvement=min_improvement)
    added = add_policy(
        ctx.home,
        deployment_id,
        name=name,
        triggers=Triggers(**triggers),
        action=action,
        cooldown_minutes=cooldown,
        actor="cli",
    )
    emit(added.to_dict(), as_json, lambda p: f"Added policy {p['id']} ({p['name']}).")


@cli.command()
@click.argument("deployment_id", type=int)
@studio_command
def policies(ctx: StudioContext, *, as_json: bool, deployment_id: int) -> None:
    """DEPLOYMENT_ID's retraining policies and its recent retrains."""
    from core.retrain.challenger import retrains_of
    from core.retrain.policies import policies_of

    payload = {
        "policies": [p.to_dict() for p in policies_of(ctx.home, deployment_id)],
        "retrains": [r.to_dict() for r in retrains_of(ctx.home, deployment_id, limit=10)],
    }
    emit(payload, as_json, _policies_text)


def _policies_text(payload: dict[str, Any]) -> str:
    from core.retrain.policies import PROMOTE_LABELS, TRIGGER_LABELS

    lines = []
    for found in payload["policies"]:
        fires = ", ".join(
            f"{TRIGGER_LABELS[k].lower()} {v:g}"
            for k, v in found["triggers"].items()
            if v is not None
        )
        state = "on" if found["enabled"] else "off"
        lines.append(
            f"policy {found['id']} {found['name']!r} ({state}): {fires} -> "
            f"{PROMOTE_LABELS[found['action']['promote']].lower()}"
        )
    lines += [
        f"retrain {r['id']} {words.when(r['created_at'])} {r['status']}: {r['decision'] or ''}"
        for r in payload["retrains"]
    ]
    return "\n".join(lines) or "No policies and no retrains yet."


@cli.command()
@click.argument("retrain_id", type=int)
@click.option("--reason", default=None, help="Why, when the challenger is not approved.")
@studio_command
def promote(ctx: StudioContext, *, as_json: bool, retrain_id: int, reason: str | None) -> None:
    """Make RETRAIN_ID's challenger the champion and switch its deployment to it."""
    from core.retrain.challenger import promote as make_champion

    done = make_champion(ctx.home, retrain_id, actor="cli", override_reason=reason)
    emit(done.to_dict(), as_json, lambda p: p["decision"])


@cli.command()
@click.argument("deployment_id", type=int)
@click.argument("model_version", required=False)
@click.option("--stop", is_flag=True, help="Stop the shadow.")
@studio_command
def shadow(
    ctx: StudioContext, *, as_json: bool, deployment_id: int, model_version: str | None, stop: bool
) -> None:
    """Run MODEL_VERSION in shadow beside DEPLOYMENT_ID's version (or --stop it)."""
    from core.serving.deployments import start_shadow, stop_shadow

    if stop or model_version is None:
        if not stop:
            raise ValueError("Name the version to shadow (NAME@N or NAME@ALIAS), or give --stop.")
        found = stop_shadow(ctx.home, deployment_id, actor="cli")
    else:
        found = start_shadow(ctx.home, deployment_id, model_version, actor="cli")
    shadowing = found.shadow_version_id
    emit(
        asdict(found) | {"api_key_hash": None},
        as_json,
        lambda p: (
            f"Deployment {deployment_id}: shadow "
            + (f"version id {shadowing}" if shadowing else "stopped")
        ),
    )
