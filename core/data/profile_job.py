"""The profile of a dataset version as a job: a big table's columns on the Dask cluster if set."""

from __future__ import annotations

from pathlib import Path
from typing import Any

KIND = "profile_dataset"


def profile_dataset_job(home: Path, params: dict[str, Any], progress: Any) -> dict[str, Any]:
    """Job: the profile of ``params["dataset"]`` (``NAME`` or ``NAME@N``), with ``target``.

    A version of more than ``big_table_rows()`` rows is profiled a column per task, on the Dask
    cluster when one is configured (workers read the version's Parquet file, never the store);
    the job records where it ran, and a cluster that cannot be reached makes it run here with
    a notice on every progress message. The result is the profile as ``--json`` prints it.
    """
    from core.data.datasets import profile_source
    from core.jobs.compute import job_compute, with_notice

    with job_compute(home, getattr(progress, "job_id", None)) as backend:
        report = with_notice(progress, backend.placement())
        report(0.0, f"Profiling {params['dataset']}")
        found = profile_source(
            home,
            str(params["dataset"]),
            target=params.get("target"),
            backend=backend,
            progress=report,
        )
        report(1.0, f"Profiled {found['rows']:,} rows")
    return found
