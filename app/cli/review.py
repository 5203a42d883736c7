"""CLI commands for review and sign-off: gates, model card, decisions and aliases."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from app.cli.group import StudioContext, cli, emit, score, studio_command
from app.cli.train import version_text


@cli.command()
@click.argument("model_version")
@click.option("--sensitive", "sensitive", multiple=True, help="Sensitive column (repeat).")
@click.option("--shap-rows", default=500, show_default=True, type=int, help="Rows to explain.")
@studio_command
def review(
    ctx: StudioContext,
    *,
    as_json: bool,
    model_version: str,
    sensitive: tuple[str, ...],
    shap_rows: int,
) -> None:
    """Review MODEL_VERSION (NAME, NAME@N or NAME@ALIAS): gates, fairness, top features.

    The review is saved as the version's newest, exactly as the Review page saves it, so the
    model card, `approve` and every page see it."""
    from core.review.record import review_and_save, source_of, verdict_of
    from core.review.review import top_features

    result, record = review_and_save(
        ctx.home,
        model_version,
        sensitive=list(sensitive) or None,
        source=source_of("cli"),
        actor="cli",
    )
    payload = {
        **result.to_dict(),
        "verdict": verdict_of(record).sentence,
        "top_features": top_features(ctx.home, result, rows=shap_rows),
    }
    emit(payload, as_json, _review_text)


def _review_text(payload: dict[str, Any]) -> str:
    version = payload["version"]
    lines = [f"{version['model_name']} v{version['version']}: {payload['verdict']}"]
    marks = {True: "pass", False: "FAIL", None: "  - "}
    lines += [f"  [{marks[g['passed']]:>4}] {g['title']}: {g['message']}" for g in payload["gates"]]
    fairness = payload.get("fairness") or {}
    for name, value in (fairness.get("disparities") or {}).items():
        lines.append(f"  {name}: {score(value)}")
    lines += [f"  note: {note}" for note in payload["notes"]]
    lines.append("Top features (mean |SHAP|):")
    lines += [f"  {row['feature']}: {row['mean_abs_shap']:.4f}" for row in payload["top_features"]]
    return "\n".join(lines)


@cli.command()
@click.argument("model_version")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@studio_command
def card(ctx: StudioContext, *, as_json: bool, model_version: str, out: Path) -> None:
    """Write the model card of MODEL_VERSION as self-contained HTML (or Markdown for .md)."""
    from core.review.card import write_card

    written = write_card(ctx.home, model_version, out)
    emit({"path": str(written)}, as_json, lambda p: f"Wrote the model card to {p['path']}.")


@cli.command()
@click.argument("model_version")
@click.option("--reviewer", required=True, help="Who decides.")
@click.option("--decision", required=True, type=click.Choice(["approve", "changes", "reject"]))
@click.option("--comment", required=True, help="Why.")
@click.option(
    "--confirm-checklist",
    is_flag=True,
    help="Confirm every sign-off checklist item (needed to approve).",
)
@click.option(
    "--reason",
    default=None,
    help="Why approve a version that was not reviewed, fails a gate or has no intended use "
    "(recorded).",
)
@studio_command
def approve(
    ctx: StudioContext,
    *,
    as_json: bool,
    model_version: str,
    reviewer: str,
    decision: str,
    comment: str,
    confirm_checklist: bool,
    reason: str | None,
) -> None:
    """Record a review decision on MODEL_VERSION (approve, changes or reject), with the saved
    review as its evidence."""
    from core.review.signoff import CHECKLIST, record_decision

    ticks = {key: confirm_checklist for key in CHECKLIST}
    recorded = record_decision(
        ctx.home,
        model_version,
        reviewer=reviewer,
        decision=decision,
        comment=comment,
        checklist=ticks,
        reason=reason,
    )
    emit(
        recorded.to_dict(),
        as_json,
        lambda p: f"Recorded {p['decision']} by {p['reviewer']} on {model_version}.",
    )


@cli.command("intended-use")
@click.argument("model_version")
@click.argument("text")
@studio_command
def intended_use(ctx: StudioContext, *, as_json: bool, model_version: str, text: str) -> None:
    """Write who should use MODEL_VERSION, for what and for what not (on its model card)."""
    from core.review.signoff import set_intended_use
    from core.train.registry import find_model_version

    found = find_model_version(ctx.home, model_version)
    set_intended_use(ctx.home, found, text, actor="cli")
    saved = find_model_version(ctx.home, model_version)
    emit(
        {"model_version": saved.label, "intended_use": saved.intended_use},
        as_json,
        lambda p: f"Saved the intended use of {p['model_version']}.",
    )


@cli.command()
@click.argument("model_version")
@click.argument("alias")
@click.option(
    "--reason", default=None, help="Override reason (champion for an unapproved version)."
)
@studio_command
def alias(
    ctx: StudioContext, *, as_json: bool, model_version: str, alias: str, reason: str | None
) -> None:
    """Point ALIAS (e.g. champion) at MODEL_VERSION (NAME@N)."""
    from core.train.registry import find_model_version, set_alias

    found = find_model_version(ctx.home, model_version)
    updated = set_alias(
        ctx.home,
        name=found.model_name,
        version=found.version,
        alias=alias,
        actor="cli",
        override_reason=reason,
    )
    emit(updated.to_dict(), as_json, version_text)
