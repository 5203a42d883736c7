"""Sign-off: a reviewer's checklist, decision and comment on a model version, kept for audit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.store import audit, connect, models
from core.store.models import ModelVersion, Review
from core.train.registry import find_model_version

DECISIONS = ("approve", "changes", "reject")
DECISION_LABELS = {"approve": "Approve", "changes": "Request changes", "reject": "Reject"}
CHECKLIST = {
    "gates": "The validation gates were read and their failures, if any, are understood",
    "fairness": "Performance across the sensitive groups was reviewed",
    "explanations": "The model's main drivers make sense for this use",
    "intended_use": "The intended use and its limits are written on the model card",
    "data": "The training data and its lineage are appropriate for this use",
}
NO_REVIEWER = "Give the reviewer's name."
BAD_DECISION = "The decision must be one of approve, changes or reject, not {decision!r}."
NO_COMMENT = "Write a comment: say why you {verb} this version."
UNCHECKED = "To approve, tick every checklist item first. Not yet ticked: {items}."
TOO_LONG = "The {what} is too long ({length:,} characters; at most {most:,})."
MAX_COMMENT = 5_000
MAX_INTENDED_USE = 10_000


class SignOffError(ValueError):
    """A decision that cannot be recorded as given."""


def record_decision(
    home: Path,
    ref: str | ModelVersion,
    *,
    reviewer: str,
    decision: str,
    comment: str,
    checklist: dict[str, bool] | None = None,
    evidence: dict[str, Any] | None = None,
) -> Review:
    """Record a reviewer's decision on a version; it sets the version's review state."""
    reviewer, comment = reviewer.strip(), comment.strip()
    ticks = {key: bool((checklist or {}).get(key)) for key in CHECKLIST}
    _check(reviewer, decision, comment, ticks)
    version = ref if isinstance(ref, ModelVersion) else find_model_version(home, ref)
    with connect(home) as db:
        review = models.add_review(
            db,
            version_id=version.id,
            reviewer=reviewer,
            decision=decision,
            comment=comment,
            checklist=ticks,
            evidence=evidence or {},
        )
        audit.record(
            db,
            actor=reviewer,
            action=f"model.review.{decision}",
            entity_type="model_version",
            entity_id=version.id,
            details={"model": version.model_name, "version": version.version, "comment": comment},
        )
    return review


def _check(reviewer: str, decision: str, comment: str, ticks: dict[str, bool]) -> None:
    if not reviewer:
        raise SignOffError(NO_REVIEWER)
    if decision not in DECISIONS:
        raise SignOffError(BAD_DECISION.format(decision=decision))
    if not comment:
        verb = {"approve": "approve", "changes": "request changes to", "reject": "reject"}
        raise SignOffError(NO_COMMENT.format(verb=verb[decision]))
    if len(comment) > MAX_COMMENT:
        raise SignOffError(TOO_LONG.format(what="comment", length=len(comment), most=MAX_COMMENT))
    missing = [CHECKLIST[key] for key, ticked in ticks.items() if not ticked]
    if decision == "approve" and missing:
        raise SignOffError(UNCHECKED.format(items="; ".join(missing)))


def reviews(home: Path, version: ModelVersion) -> list[Review]:
    with connect(home) as db:
        return models.reviews_of(db, version.id)


def set_intended_use(home: Path, version: ModelVersion, text: str, *, actor: str) -> None:
    text = text.strip()
    if len(text) > MAX_INTENDED_USE:
        raise SignOffError(
            TOO_LONG.format(what="intended use", length=len(text), most=MAX_INTENDED_USE)
        )
    with connect(home) as db:
        models.set_intended_use(db, version.id, text)
        audit.record(
            db,
            actor=actor,
            action="model.intended_use",
            entity_type="model_version",
            entity_id=version.id,
        )
