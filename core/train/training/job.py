"""Training as a background job: the job function and submitting a request to the queue."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.auth import Permission
from core.auth.access import authorized_actor
from core.train.training.request import TrainRequest
from core.train.training.runs import train


def train_job(home: Path, params: dict[str, Any], progress: Any) -> dict[str, Any]:
    """Job: run a training request; the result is the leaderboard."""
    request = TrainRequest.from_json(params["request"])
    outcome = train(
        home,
        request,
        actor=params.get("actor", "studio"),
        job_id=getattr(progress, "job_id", None),
        progress=progress,
    )
    return outcome.to_dict()


def submit_training(home: Path, request: TrainRequest, *, actor: str = "studio") -> Any:
    """Start training as a background job (the same request from two tabs shares one job)."""
    actor = authorized_actor(home, Permission.TRAIN, actor)
    from core.jobs import submit_job

    return submit_job(
        home,
        kind="train",
        params={"request": request.to_json(), "actor": actor},
        subject=f"version:{request.version_id}",
        dedupe_key=f"train:{request.fingerprint}",
        actor=actor,
    )
