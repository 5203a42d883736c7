"""Sign-off: a reviewer's checklist, decision and comment on a model version, kept for audit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.auth import Permission
from core.auth.access import authorized_actor
from core.auth.duties import check_may_approve
from core.review.record import Verdict, latest_record, load_record, verdict_of
from core.store import audit, connect, models
from core.store.models import ModelVersion, Review, ReviewRecord
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
NEEDS_REASON = (
    "{label} {concerns}. To approve it anyway, give a reason of at least {least} characters: it "
    "is recorded with the decision and in the audit log."
)
SHORT_REASON = "A reason to approve must say why, in at least {least} characters."
NOT_REVIEWED = "has not been reviewed, so no gate was checked (run the review first)"
FAILING = "fails the gate{s} {names}"
FAILING_UNNAMED = "fails at least one gate of its review (see the Gates tab)"
NO_INTENDED_USE = "has no intended use written (write it on the model card)"
MAX_COMMENT = 5_000
MAX_INTENDED_USE = 10_000
MIN_REASON = 10  # as for overriding approval to deploy or make champion


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
    reason: str | None = None,
) -> Review:
    """Record a reviewer's decision on a version; it sets the version's review state.

    The evidence is the version's saved review, whoever ran it. Approving a version that was
    not reviewed, fails a gate or has no intended use needs a ``reason`` (recorded)."""
    reviewer = authorized_actor(home, Permission.SIGN_OFF, reviewer.strip())  # the signed-in name
    comment = comment.strip()
    ticks = {key: bool((checklist or {}).get(key)) for key in CHECKLIST}
    _check(reviewer, decision, comment, ticks)
    version = _current(home, ref)
    if decision == "approve":
        check_may_approve(home, version)
    record = latest_record(home, version)  # read once: the verdict and evidence agree
    found = verdict_of(record)
    concerns = approval_concerns(version, found)
    override = _override(version, concerns, reason) if decision == "approve" else None
    evidence = _evidence(home, version, record, concerns)
    with connect(home) as db:
        review = models.add_review(
            db,
            version_id=version.id,
            reviewer=reviewer,
            decision=decision,
            comment=comment,
            checklist=ticks,
            evidence=evidence,
            override_reason=override,
        )
        audit.record(
            db,
            actor=reviewer,
            action=f"model.review.{decision}",
            entity_type="model_version",
            entity_id=version.id,
            details={
                "model": version.model_name,
                "version": version.version,
                "comment": comment,
                "concerns": concerns,
                "override_reason": override,
            },
        )
    return review


def _current(home: Path, ref: str | ModelVersion) -> ModelVersion:
    """The version as the store has it now: a caller's copy may predate its intended use."""
    if isinstance(ref, str):
        return find_model_version(home, ref)
    with connect(home) as db:
        found = models.get_version(db, ref.id)
    if found is None:
        raise SignOffError(f"{ref.label} is no longer registered.")
    return found


def approval_concerns(version: ModelVersion, found: Verdict) -> list[str]:
    """What stands against approving a version, each in a phrase after its label."""
    concerns = []
    if not found.reviewed:
        concerns.append(NOT_REVIEWED)
    elif not found.passed and found.failing:
        s = "s" if len(found.failing) > 1 else ""
        concerns.append(FAILING.format(s=s, names=_names(found.failing)))
    elif not found.passed:  # a review saved before failing gates were recorded by name
        concerns.append(FAILING_UNNAMED)
    if not version.intended_use.strip():
        concerns.append(NO_INTENDED_USE)
    return concerns


def approval_warning(version: ModelVersion, concerns: list[str]) -> str:
    """The sentence that names what an approval would override."""
    joined = ", and ".join(concerns)  # a concern may itself hold an "and"
    return NEEDS_REASON.format(label=version.label, concerns=joined, least=MIN_REASON)


def _override(version: ModelVersion, concerns: list[str], reason: str | None) -> str | None:
    if not concerns:
        return None
    reason = (reason or "").strip()
    if not reason:
        raise SignOffError(approval_warning(version, concerns))
    if len(reason) < MIN_REASON:
        raise SignOffError(SHORT_REASON.format(least=MIN_REASON))
    if len(reason) > MAX_COMMENT:
        raise SignOffError(TOO_LONG.format(what="reason", length=len(reason), most=MAX_COMMENT))
    return reason


def _names(items: tuple[str, ...] | list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    items = list(items)
    return ", ".join(items[:-1]) + f" and {items[-1]}" if len(items) > 1 else "".join(items)


def _evidence(
    home: Path, version: ModelVersion, record: ReviewRecord | None, concerns: list[str]
) -> dict[str, Any]:
    """What the decision was taken on: the saved review's verdict, gates and fairness."""
    found = verdict_of(record)
    evidence: dict[str, Any] = {
        "verdict": found.sentence,
        "reviewed": found.reviewed,
        "passed": found.passed if found.reviewed else None,
        "failing": list(found.failing),
        "reviewed_at": found.reviewed_at or None,
        "review_source": found.source or None,
        "intended_use": version.intended_use,
        "concerns": concerns,
    }
    if record is not None:
        review = load_record(home, record)
        evidence["review_id"] = record.id
        evidence["gates"] = [gate.to_dict() for gate in review.gates]
        disparities = review.fairness.to_dict()["disparities"] if review.fairness else {}
        evidence["fairness"] = disparities
    return evidence


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
    actor = authorized_actor(home, Permission.REVIEW, actor)
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
