"""The Dask cluster as people see it: a local one to start, its status, the jobs sent there."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from core.jobs.compute import ComputeError, ComputeSettings, Placement, _connect
from core.store.jobs import Job

NOT_SET = (
    "No Dask cluster is set, so heavy work runs on this machine. Start one with "
    "`mlops-studio cluster start --workers 2` and set DASK_SCHEDULER_ADDRESS to its address."
)
BAD_WORKER_COUNT = "The number of workers must be at least 1, not {workers}."


@dataclass(frozen=True)
class ClusterWorker:
    """One Dask worker: where it is, its cores, memory and how many tasks it is running."""

    address: str
    name: str
    cores: int
    memory_limit: int | None
    memory_used: int | None
    running: int


@dataclass(frozen=True)
class ClusterStatus:
    """The configured scheduler, whether it answers, its workers and its dashboard."""

    address: str | None
    reachable: bool
    problem: str | None
    dashboard: str | None
    workers: tuple[ClusterWorker, ...] = ()

    @property
    def cores(self) -> int:
        return sum(worker.cores for worker in self.workers)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["workers"] = [asdict(worker) for worker in self.workers]
        return data


def cluster_status(settings: ComputeSettings | None = None) -> ClusterStatus:
    """Ask the configured scheduler how it is (after at most the connect timeout)."""
    settings = settings or ComputeSettings.from_environment()
    if not settings.address:
        return ClusterStatus(None, False, NOT_SET, None)
    try:
        client = _connect(settings)
    except ComputeError as error:
        return ClusterStatus(settings.address, False, str(error), None)
    if isinstance(client, str):
        problem = f"The scheduler could not be reached ({client})."
        return ClusterStatus(settings.address, False, problem, None)
    try:
        info = client.scheduler_info(n_workers=-1)
        workers = tuple(_worker(address, entry) for address, entry in info["workers"].items())
        return ClusterStatus(settings.address, True, None, client.dashboard_link, workers)
    except OSError as error:
        return ClusterStatus(
            settings.address, False, f"The scheduler stopped answering ({error}).", None
        )
    finally:
        with contextlib.suppress(Exception):
            client.close(timeout=settings.connect_timeout)


def _worker(address: str, entry: dict[str, Any]) -> ClusterWorker:
    metrics = entry.get("metrics", {})
    counts = metrics.get("task_counts", {}) or {}
    return ClusterWorker(
        address=address,
        name=str(entry.get("name", address)),
        cores=int(entry.get("nthreads", 0)),
        memory_limit=entry.get("memory_limit") or None,
        memory_used=metrics.get("memory"),
        running=int(counts.get("executing", 0)),
    )


@contextlib.contextmanager
def local_cluster(
    workers: int,
    *,
    threads: int = 1,
    host: str = "127.0.0.1",
    port: int = 8786,
    dashboard_port: int = 8787,
) -> Iterator[Any]:
    """A Dask LocalCluster of ``workers`` separate worker processes, closed on exit."""
    if workers < 1:
        raise ValueError(BAD_WORKER_COUNT.format(workers=workers))
    import dask
    from distributed import LocalCluster

    # Dask's statistical profiler samples each worker thread's stack every 10 ms; on the
    # studio's pandas-heavy fold fits that took a fifth of each fit's time, so the studio's own
    # cluster runs without it (Dask's dashboard then shows no profile; nothing else changes).
    with (
        dask.config.set({"distributed.worker.profile.enabled": False}),
        LocalCluster(
            n_workers=workers,
            threads_per_worker=threads,
            processes=True,
            host=host,
            scheduler_port=port,
            dashboard_address=f"{host}:{dashboard_port}",
        ) as cluster,
    ):
        yield cluster


@dataclass(frozen=True)
class JobPlacement:
    """A job with where it does (or did) its work."""

    job: Job
    placement: Placement


def jobs_on_cluster(home: Path, *, include_finished: bool = False) -> list[JobPlacement]:
    """Jobs that sent work to a Dask cluster: the active ones (and the newest finished)."""
    from core.jobs.runner import list_recent_jobs
    from core.store import connect
    from core.store import jobs as jobs_store

    recent = list_recent_jobs(home, include_finished=include_finished)
    with connect(home) as db:
        where = jobs_store.compute_of(db, [job.id for job in recent])
    placed = [(job, Placement.from_dict(where.get(job.id))) for job in recent]
    return [JobPlacement(job, found) for job, found in placed if found and found.on_cluster]
