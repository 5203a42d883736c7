"""CLI commands for review and sign-off: gates, model card, decisions and aliases."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from app.cli.group import StudioContext, cli, emit, score, studio_command
from app.cli.train import version_text
from core import words


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
        lines.append(f"  {words.metric(name)}: {score(value)}")
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
        lambda p: (
            f"Recorded {words.review_state(p['decision'])} by {p['reviewer']} on {model_version}."
        ),
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


@cli.command()
@click.argument("model_version")
@click.option("--best-f1", is_flag=True, help="Keep the threshold with the best F1.")
@click.option(
    "--costs",
    nargs=2,
    type=float,
    metavar="FALSE_ALARM MISS",
    help="Keep the threshold with the cheapest mistakes at these costs.",
)
@click.option("--set", "value", type=float, help="Keep this threshold (between 0 and 1).")
@click.option("--clear", is_flag=True, help="Back to the most probable class (0.5).")
@studio_command
def threshold(
    ctx: StudioContext,
    *,
    as_json: bool,
    model_version: str,
    best_f1: bool,
    costs: tuple[float, float] | None,
    value: float | None,
    clear: bool,
) -> None:
    """Show MODEL_VERSION's decision threshold on its holdout, or keep a new one with it.

    Without an option: the threshold now and the best-F1 one, side by side. A kept threshold
    decides the service's, batch scoring's and monitoring's answers."""
    from core.review.threshold import describe, holdout_curve, set_threshold
    from core.train.registry import find_model_version

    chosen = [
        name
        for name, on in (
            ("--best-f1", best_f1),
            ("--costs", costs),
            ("--set", value is not None),
            ("--clear", clear),
        )
        if on
    ]
    if len(chosen) > 1:
        raise click.UsageError(f"Choose one of {', '.join(chosen)}.")
    version = find_model_version(ctx.home, model_version)
    curve = holdout_curve(ctx.home, version)
    new, basis = None, ""
    if best_f1:
        new, basis = curve.best_f1().threshold, "best F1 on the holdout"
    elif costs:
        point = curve.least_cost(false_alarm=costs[0], miss=costs[1])
        new, basis = (
            point.threshold,
            f"cheapest mistakes on the holdout (costs {costs[0]:g}/{costs[1]:g})",
        )
    elif value is not None:
        new, basis = value, "chosen by hand"
    if chosen:
        version = set_threshold(ctx.home, version, new, basis=basis, actor="cli")
    now = curve.at(version.decision_threshold or 0.5)
    payload = {
        "model_version": version.label,
        "decision_threshold": version.decision_threshold,
        "basis": describe(version),
        "positive_class": curve.positive,
        "holdout_rows": curve.rows,
        "at_threshold": now.to_dict(),
        "best_f1": curve.best_f1().to_dict(),
    }
    emit(payload, as_json, _threshold_text)


def _threshold_text(payload: dict[str, Any]) -> str:
    def line(name: str, point: dict[str, Any]) -> str:
        return (
            f"{name}: {point['threshold']:.3f} calls {point['predicted_positive']:,} of "
            f"{payload['holdout_rows']:,} holdout rows {payload['positive_class']}, "
            f"{point['true_positive']:,} right, {point['false_positive']:,} false alarms, "
            f"{point['false_negative']:,} misses (precision {point['precision']:.3f}, "
            f"recall {point['recall']:.3f}, F1 {point['f1']:.3f})"
        )

    return "\n".join(
        [
            f"{payload['model_version']} decides by {payload['basis']}.",
            line("Now", payload["at_threshold"]),
            line("Best F1", payload["best_f1"]),
        ]
    )
