"""After the decision: promote the challenger to champion, or keep the champion."""

from __future__ import annotations

from pathlib import Path

from core.auth import Permission
from core.auth.access import authorized_actor
from core.retrain.challenger.runs import (
    NOTHING_TO_PROMOTE,
    RetrainError,
    _step,
    _version,
    get_retrain,
)
from core.store import connect, retraining
from core.store.models import ModelVersion
from core.store.retraining import RetrainRun


def promote(
    home: Path, run_id: int, *, actor: str = "studio", override_reason: str | None = None
) -> RetrainRun:
    """Make a retrain's challenger the champion and serve it (approved, or with a reason)."""
    actor = authorized_actor(home, Permission.SWITCH, actor)
    retrain = get_retrain(home, run_id)
    if retrain.challenger_version_id is None or retrain.status != "done":
        raise RetrainError(NOTHING_TO_PROMOTE.format(id=run_id, decision=retrain.decision))
    challenger = _version(home, retrain.challenger_version_id)
    _make_champion(home, retrain.deployment_id, challenger, actor, override_reason)
    message = f"{actor} promoted {challenger.label} to champion."
    decision = f"Promoted {challenger.label} ({actor})."
    return _close(home, retrain, "promoted", message, decision, actor=actor)


def awaiting_decision(retrain: RetrainRun) -> bool:
    """Whether a person still has to promote the retrain's challenger or keep the champion."""
    promoted = (retrain.decision or "").startswith("Promoted")
    closed = promoted or bool(retrain.details.get("closed_by"))
    return retrain.status == "done" and retrain.challenger_version_id is not None and not closed


def _make_champion(
    home: Path, deployment_id: int, challenger: ModelVersion, actor: str, reason: str | None
) -> None:
    """Champion alias first (it checks approval or the reason), then the hot swap."""
    from core.serving.deployments import get_deployment, stop_shadow, switch_version
    from core.train.registry import CHAMPION, set_alias

    set_alias(
        home,
        name=challenger.model_name,
        version=challenger.version,
        alias=CHAMPION,
        actor=actor,
        override_reason=reason,
    )
    deployment = get_deployment(home, deployment_id)
    if deployment.shadow_version_id is not None:
        stop_shadow(home, deployment_id, actor=actor)
    if deployment.model_version_id != challenger.id:
        switch_version(home, deployment_id, challenger.id, actor=actor, override_reason=reason)


def keep_champion(home: Path, run_id: int, *, actor: str = "studio") -> RetrainRun:
    """Turn a retrain's challenger down: its shadow stops and the champion stays."""
    actor = authorized_actor(home, Permission.SWITCH, actor)
    from core.serving.deployments import get_deployment, stop_shadow

    retrain = get_retrain(home, run_id)
    deployment = get_deployment(home, retrain.deployment_id)
    if (
        retrain.challenger_version_id is not None
        and deployment.shadow_version_id == retrain.challenger_version_id
    ):
        stop_shadow(home, retrain.deployment_id, actor=actor)
    message = f"{actor} kept the champion."
    return _close(home, retrain, "kept", message, f"Kept the champion ({actor}).", actor=actor)


def _close(
    home: Path, retrain: RetrainRun, step: str, message: str, decision: str, *, actor: str
) -> RetrainRun:
    """Record a person's decision on a retrain's challenger; nobody is asked again."""
    with connect(home) as db:
        retraining.add_step(db, retrain.id, _step(step, message))
        details = {**retrain.details, "closed_by": actor}
        retraining.update_run(db, retrain.id, decision=decision, details=details)
    return get_retrain(home, retrain.id)
