"""A dry run: what a retrain would do now, recorded with nothing trained or changed."""

from __future__ import annotations

import math
from dataclasses import asdict
from pathlib import Path

from core import store, words
from core.auth import Permission
from core.auth.access import authorized_actor
from core.retrain.challenger.runs import (
    MAX_LABELLED_ROWS,
    MIN_LABELLED_ROWS,
    NO_DEPLOYMENT,
    TOO_FEW_LABELS,
    RetrainError,
    _manual,
    _run_of_version,
    _step,
    get_retrain,
)
from core.retrain.policies import Action
from core.store import connect, deployments, retraining
from core.store.retraining import RetrainRun
from core.store.runs import Run


def dry_run(home: Path, deployment_id: int, *, actor: str = "studio") -> RetrainRun:
    """What a retrain would do now — which triggers fire, which rows it would learn from and
    what would happen to the challenger — recorded, with nothing trained or changed."""
    from core.retrain.policies import fired_triggers, policies_of

    actor = authorized_actor(home, Permission.POLICIES, actor)
    with connect(home) as db:
        deployment = deployments.get(db, deployment_id)
        if deployment is None:
            raise RetrainError(NO_DEPLOYMENT.format(id=deployment_id))
        labelled = len(retraining.labelled_rows(db, deployment_id, limit=MAX_LABELLED_ROWS))
    champion_run = _run_of_version(home, deployment.model_version_id)
    policies = [p for p in policies_of(home, deployment_id) if p.enabled]
    # the cool-down is ignored here: the question is what fires, not whether it may run yet
    fired = [
        {**f.to_dict(), "policy": p.name}
        for p in policies
        for f in fired_triggers(home, p, ignore_cooldown=True)
    ]
    action = Action.from_dict(policies[0].action) if policies else Action()
    holdout_share = float(champion_run.plan.get("holdout", 0.2))
    labelled_holdout = max(1, math.ceil(labelled * holdout_share)) if labelled else 0
    plan = {
        "champion": deployment.model_label,
        "model": champion_run.model,
        "params": "re-tuned" if action.retune else champion_run.params,
        "reference_rows": _reference_rows(home, champion_run),
        "labelled_rows": labelled,
        "labelled_holdout_rows": labelled_holdout,
        "enough_labels": labelled >= MIN_LABELLED_ROWS,
        "action": asdict(action),
        "policies": [p.name for p in policies],
    }
    verdict = (
        TOO_FEW_LABELS.format(count=labelled, needed=MIN_LABELLED_ROWS)
        if labelled < MIN_LABELLED_ROWS
        else (
            f"Would retrain {words.model(champion_run.model)} on the champion's training rows plus "
            f"{labelled - labelled_holdout:,} labelled rows, and judge it against "
            f"{deployment.model_label} on its holdout plus the newest {labelled_holdout:,} "
            "labelled rows."
        )
    )
    with connect(home) as db:
        run_id = retraining.add_run(
            db,
            deployment_id=deployment_id,
            status="dry run",
            dry_run=1,
            triggers=fired or [_manual(actor)],
            champion_version_id=deployment.model_version_id,
            decision=verdict,
            details=plan,
            created_by=actor,
            finished_at=store.now(),
        )
        note = "; ".join(f["message"] for f in fired) or "No policy trigger fires right now."
        retraining.add_step(db, run_id, _step("dry run", f"{note} {verdict}"))
    return get_retrain(home, run_id)


def _reference_rows(home: Path, run: Run) -> int:
    from core.train.training import run_data

    data = run_data(home, run)
    return len(data.X_train) + len(data.X_holdout)
