"""Recording retrains: start one (or join the one under way), its job, its steps and end."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import Any

from core import store
from core.auth import Permission
from core.auth.access import authorized_actor
from core.retrain.policies import Fired
from core.store import audit, connect, deployments, required, retraining
from core.store.connection import writing
from core.store.models import ModelVersion
from core.store.retraining import RetrainRun
from core.store.runs import Run

JOB_KIND = "retrain"
MIN_LABELLED_ROWS = 30
MAX_LABELLED_ROWS = 200_000
MANUAL = "manual"
JOBLESS_GRACE_S = 30.0

NO_DEPLOYMENT = "There is no deployment {id}. `mlops-studio deployments` lists them."
TOO_FEW_LABELS = (
    "Only {count:,} labelled production rows so far; a retrain needs at least {needed} to learn "
    "anything new. Send labels to /feedback or upload a label file, then retrain."
)
MISSING_COLUMNS = (
    "The labelled traffic lacks the training column(s) {columns}, so it cannot be added to the "
    "training rows."
)
NO_CHALLENGER = "The retrain trained no usable {model} model: {error}"
NO_RETRAIN = "There is no retrain {id}."
NOTHING_TO_PROMOTE = "Retrain {id} has no challenger waiting for review ({decision})."


class RetrainError(ValueError):
    """A retrain that cannot start or go on; the message says why and what to do."""


def start_retrain(
    home: Path,
    deployment_id: int,
    *,
    policy_id: int | None = None,
    fired: list[Fired] | None = None,
    actor: str = "studio",
) -> RetrainRun:
    """Record a retrain and start its job. While one runs for the deployment, that one is
    returned (the new triggers are noted on it): two triggers at once start one retrain."""
    actor = authorized_actor(home, Permission.POLICIES, actor)
    triggers = [f.to_dict() for f in fired or []] or [_manual(actor)]
    with connect(home) as db, writing(db):
        deployment = deployments.get(db, deployment_id)
        if deployment is None:
            raise RetrainError(NO_DEPLOYMENT.format(id=deployment_id))
        if policy_id is not None:
            retraining.update_policy(db, policy_id, last_fired_at=time.time())
        running = retraining.runs(db, deployment_id=deployment_id, active=True, limit=1)
        if running:
            retraining.add_step(
                db, running[0].id, _step("joined", _joined(triggers), triggers=triggers)
            )
            return running[0]
        run_id = retraining.add_run(
            db,
            policy_id=policy_id,
            deployment_id=deployment_id,
            triggers=triggers,
            champion_version_id=deployment.model_version_id,
            created_by=actor,
        )
        retraining.add_step(db, run_id, _step("triggered", _why(triggers)))
        audit.record(
            db,
            actor=actor,
            action="retrain.start",
            entity_type="retrain_run",
            entity_id=run_id,
            details={"deployment_id": deployment_id, "policy_id": policy_id},
        )
    return submit(home, run_id, actor=actor)


def submit(home: Path, run_id: int, *, actor: str = "studio") -> RetrainRun:
    """Start (or restart) the background job of a pending retrain."""
    from core.jobs import submit_job

    retrain = get_retrain(home, run_id)
    attempt = int(retrain.details.get("attempts", 0)) + 1
    job = submit_job(
        home,
        kind=JOB_KIND,
        params={"retrain_run_id": run_id, "actor": actor},
        subject=f"deployment:{retrain.deployment_id}",
        dedupe_key=f"retrain:{run_id}:{attempt}",
        actor=actor,
    )
    with connect(home) as db:
        details = {**retrain.details, "attempts": attempt}
        retraining.update_run(db, run_id, job_id=job.id, details=details)
    return get_retrain(home, run_id)


def resume_retrains(home: Path, *, most_attempts: int = 3) -> list[int]:
    """Pending or running retrains whose job is gone (a restart) start again; returns them."""
    from core.jobs.runner import refresh_job

    with connect(home) as db:
        active = retraining.runs(db, active=True, limit=100)
    resumed = []
    for retrain in active:
        job = refresh_job(home, retrain.job_id) if retrain.job_id else None
        if job is not None and job.active:
            continue
        if job is None and _age_seconds(retrain.created_at) < JOBLESS_GRACE_S:
            continue  # its starter is submitting the job right now
        # its job may have finished it since the list was read: only a retraining still
        # waiting on the stopped job is taken over
        if int(retrain.details.get("attempts", 0)) >= most_attempts:
            why = job.error if job is not None and job.error else "its job kept stopping"
            _give_up(home, retrain, f"Gave up after {most_attempts} attempts: {why}")
            continue
        resumed_step = _step("resumed", "Its job had stopped; started it again.")
        with connect(home) as db:
            taken = retraining.take_over(
                db, retrain.id, retrain.job_id, status="pending", step=resumed_step
            )
        if not taken:
            continue
        submit(home, retrain.id, actor="scheduler")
        resumed.append(retrain.id)
    return resumed


def _give_up(home: Path, retrain: RetrainRun, error: str) -> None:
    step = _step("failed", f"{error} The champion keeps serving.")
    with connect(home) as db:
        if not retraining.take_over(db, retrain.id, retrain.job_id, status="failed", step=step):
            return
    _finish(home, retrain.id, status="failed", error=error, decision="Kept the champion (failed).")


def _age_seconds(timestamp: str) -> float:
    return time.time() - datetime.fromisoformat(timestamp).timestamp()


def get_retrain(home: Path, run_id: int) -> RetrainRun:
    with connect(home) as db:
        found = retraining.get_run(db, run_id)
    return required(found, RetrainError(NO_RETRAIN.format(id=run_id)))


def retrains_of(home: Path, deployment_id: int, *, limit: int = 50) -> list[RetrainRun]:
    with connect(home) as db:
        return retraining.runs(db, deployment_id=deployment_id, limit=limit)


def _manual(actor: str) -> dict[str, Any]:
    return {"trigger": MANUAL, "value": 1, "threshold": 1, "message": f"Started by {actor}."}


def _why(triggers: list[dict[str, Any]]) -> str:
    return " ".join(trigger["message"] for trigger in triggers)


def _joined(triggers: list[dict[str, Any]]) -> str:
    return f"Fired while this retrain was under way, so no second retrain started: {_why(triggers)}"


def _step(name: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"at": store.now(), "step": name, "message": message, **extra}


class _Recorder:
    """Reports progress and appends each named step to the retrain's record."""

    def __init__(self, home: Path, run_id: int, progress: Any) -> None:
        self.home, self.run_id, self.progress = home, run_id, progress

    def __call__(self, fraction: float, step: str, message: str, **fields: Any) -> None:
        with connect(self.home) as db:
            retraining.add_step(db, self.run_id, _step(step, message))
            if fields:
                retraining.update_run(db, self.run_id, **fields)
        self.progress(fraction, message)


def _version(home: Path, version_id: int) -> ModelVersion:
    from core.train.registry import model_version_by_id

    return model_version_by_id(home, version_id)


def _run_of_version(home: Path, version_id: int) -> Run:
    from core.train.tracking import get_run

    return get_run(home, _version(home, version_id).run_id)


def _finish(home: Path, run_id: int, **fields: Any) -> None:
    with connect(home) as db:
        retraining.update_run(db, run_id, finished_at=store.now(), **fields)
        audit.record(
            db,
            actor="retrain",
            action=f"retrain.{fields.get('status', 'done')}",
            entity_type="retrain_run",
            entity_id=run_id,
            details={"decision": fields.get("decision")},
        )


def _fail(home: Path, run_id: int, error: str) -> None:
    with connect(home) as db:
        retraining.add_step(db, run_id, _step("failed", f"{error} The champion keeps serving."))
    _finish(home, run_id, status="failed", error=error, decision="Kept the champion (failed).")
