"""The Compute page's sections: the scheduler, its workers and the jobs that ran there."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app.components import home, metric_rows
from core.jobs.cluster import ClusterStatus, JobPlacement, cluster_status, jobs_on_cluster
from core.jobs.compute import Placement
from core.jobs.kinds import job_title
from core.jobs.runner import list_recent_jobs
from core.store import connect
from core.store import jobs as jobs_store

HOW_TO = (
    "Set DASK_SCHEDULER_ADDRESS (or MLOPS_STUDIO_DASK) before starting the studio to send tuning "
    "trials, batch scoring and explanations to a Dask cluster. `mlops-studio cluster start "
    "--workers 2` starts one on this machine and prints its address."
)


def status() -> ClusterStatus:
    with st.spinner("Asking the Dask scheduler how it is…"):
        return cluster_status()


def scheduler(found: ClusterStatus) -> None:
    """The address, whether it answers, and the way to Dask's own dashboard."""
    if found.address is None:
        st.info("No Dask cluster is set: heavy work runs on this machine.")
        st.caption(HOW_TO)
        return
    metric_rows(
        [
            ("Scheduler", found.address),
            ("Reachable", "Yes" if found.reachable else "No"),
            ("Workers", f"{len(found.workers):,}"),
            ("Cores", f"{found.cores:,}"),
        ]
    )
    if not found.reachable:
        st.warning(
            f"{found.problem} Jobs run on this machine until it answers, and each one says so."
        )
    elif found.dashboard:
        st.link_button("Open Dask's dashboard", found.dashboard, icon=":material/open_in_new:")


def workers(found: ClusterStatus) -> None:
    if not found.reachable:
        return
    st.subheader("Workers")
    if not found.workers:
        st.info("The scheduler answers but no workers are connected yet.")
        return
    rows = [
        {
            "Worker": worker.address,
            "Cores": worker.cores,
            "Memory": _gib(worker.memory_limit),
            "Memory in use": _gib(worker.memory_used),
            "Running tasks": worker.running,
        }
        for worker in found.workers
    ]
    st.dataframe(pd.DataFrame(rows), hide_index=True, key="compute_workers")


def jobs() -> None:
    """The jobs that ran (or are running) on the cluster, and those that fell back here."""
    st.subheader("Jobs")
    placed = jobs_on_cluster(home(), include_finished=True) + _fell_back()
    if not placed:
        st.caption("No job has sent work to a Dask cluster yet.")
        return
    rows = [
        {
            "Job": job_title(entry.job.kind),
            "Status": entry.job.status.capitalize(),
            "Progress": entry.job.progress,
            "Where": entry.placement.describe(),
            "Workers": len(entry.placement.workers),
            "Notice": entry.placement.notice or "",
        }
        for entry in sorted(placed, key=lambda entry: -entry.job.id)
    ]
    st.dataframe(
        pd.DataFrame(rows),
        hide_index=True,
        key="compute_jobs",
        column_config={"Progress": st.column_config.ProgressColumn(min_value=0, max_value=1)},
    )


def _fell_back() -> list[JobPlacement]:
    recent = list_recent_jobs(home(), include_finished=True)
    with connect(home()) as db:
        where = jobs_store.compute_of(db, [job.id for job in recent])
    found = [(job, Placement.from_dict(where.get(job.id))) for job in recent]
    return [JobPlacement(job, place) for job, place in found if place and place.notice]


def _gib(size: int | None) -> str:
    return "unlimited" if not size else f"{size / 2**30:.1f} GiB"
