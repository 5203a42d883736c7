"""Stopping what a studio home left running in the background: its scheduler, the sample
traffic and, when asked, every deployment."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.store.deployments import Deployment
from core.store.jobs import Job


@dataclass(frozen=True)
class Stopped:
    """What ``stop_studio`` stopped, and what still runs."""

    scheduler_pid: int | None
    sample_traffic_job: int | None
    deployments: list[int] = field(default_factory=list)
    deployments_running: list[int] = field(default_factory=list)
    jobs_running: list[Job] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "scheduler_pid": self.scheduler_pid,
            "sample_traffic_job": self.sample_traffic_job,
            "deployments": self.deployments,
            "deployments_running": self.deployments_running,
            "jobs_running": [job.to_dict() for job in self.jobs_running],
        }


def stop_studio(home: Path, *, deployments: bool = False, actor: str = "studio") -> Stopped:
    """Stop the scheduler (first, so it restarts nothing), then the sample traffic, then, with
    ``deployments``, every running deployment gracefully (buffered predictions are written
    first). Other jobs are left to finish: they are listed, as are the deployments left."""
    from core import scheduler
    from core.auth.access import authorize
    from core.auth.roles import Permission
    from core.jobs.runner import list_recent_jobs

    if not home.exists():
        return Stopped(scheduler_pid=None, sample_traffic_job=None)
    # stopping the scheduler ends monitoring, alerts and retraining for every service: the
    # operator's permission to stop services, checked before anything stops
    authorize(home, Permission.DEPLOY)
    scheduler_pid = scheduler.stop(home)
    traffic = _stop_sample_traffic(home, actor)
    running = _running_deployments(home)
    stopped = [_stop_deployment(home, found, actor) for found in running] if deployments else []
    return Stopped(
        scheduler_pid=scheduler_pid,
        sample_traffic_job=traffic,
        deployments=stopped,
        deployments_running=[] if deployments else [found.id for found in running],
        jobs_running=list_recent_jobs(home),
    )


def _stop_sample_traffic(home: Path, actor: str) -> int | None:
    from core.demo import MODEL, TRAFFIC_KIND
    from core.jobs.runner import cancel_job, current_job, wait_for_job

    job = current_job(home, kind=TRAFFIC_KIND, subject=MODEL)
    if job is None or not job.active:
        return None
    cancel_job(home, job.id, actor=actor)
    wait_for_job(home, job.id, timeout=60)
    return job.id


def _running_deployments(home: Path) -> list[Deployment]:
    from core.serving.deployments import list_deployments

    return list_deployments(home, include_stopped=False)


def _stop_deployment(home: Path, deployment: Deployment, actor: str) -> int:
    from core.serving.deployments import undeploy

    undeploy(home, deployment.id, actor=actor)
    return deployment.id
