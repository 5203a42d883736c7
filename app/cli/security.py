"""CLI command for the security review of a model version."""

from __future__ import annotations

from typing import Any

import click

from app.cli.group import StudioContext, cli, emit, studio_command

FAILED = "The security review did not finish ({why})."


@cli.command()
@click.argument("model_version")
@click.option("--timeout", default=600, show_default=True, type=float, help="Seconds to wait.")
@studio_command
def security(ctx: StudioContext, *, as_json: bool, model_version: str, timeout: float) -> None:
    """Security review of MODEL_VERSION: membership inference, robustness, extraction exposure
    and artefact integrity, run as the Security tab's job (so the tab and the card show it)."""
    from core.jobs import wait_for_job
    from core.review.security.report import cached_security, submit_security
    from core.train.registry import find_model_version

    version = find_model_version(ctx.home, model_version)
    submitted = submit_security(ctx.home, version, actor="cli")
    job = wait_for_job(ctx.home, submitted.id, timeout=timeout)
    found = cached_security(ctx.home, version) if job.status == "done" else None
    if found is None:
        raise RuntimeError(FAILED.format(why=job.error or job.status))
    emit(found.to_dict(), as_json, _security_text)


def _security_text(payload: dict[str, Any]) -> str:
    from core.review.security.report import SecurityReport

    found = SecurityReport.from_dict(payload)
    verdict = "passes" if found.passed else "FAILS"
    lines = [f"{found.label}: the security review {verdict}."]
    lines.append(f"  Membership inference: {found.membership.sentence()}")
    if found.robustness is not None:
        lines.append(f"  Robustness: {found.robustness.sentence()}")
    lines.append(f"  Extraction: {found.exposure.sentence()}")
    lines += [f"    {advice}" for advice in found.exposure.advice]
    marks = {True: "pass", False: "FAIL", None: "  - "}
    lines += [
        f"  [{marks[check.passed]:>4}] {check.title}: {check.detail}"
        for check in found.integrity.checks
    ]
    lines += [f"  note: {note}" for note in found.notes]
    return "\n".join(lines)
