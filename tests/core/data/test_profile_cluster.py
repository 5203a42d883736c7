"""A big table's profile on a real two-worker Dask cluster: a column per task, the same profile
as in one process, tasks on both workers, and a profile job that records where it ran."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from core.data import profile_files
from core.data.profile_files import profile_big_parquet, profile_parquet_by_column
from core.jobs import submit_job, wait_for_job
from core.jobs.compute import DaskBackend, Placement, compute_backend
from core.store import connect, jobs
from tests.core.jobs.test_compute_tuning import _forbid_the_store, _refused_opens


def _table(rows: int = 3000, seed: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "account_id": rng.integers(0, 40, rows),
            "age": rng.integers(18, 25, rows),
            "income": rng.choice([1000.5, 2000.0, np.nan, -0.0, 0.0], rows),
            "plan": rng.choice(["basic", "pro", None], rows),
            "region": rng.choice(["north", "south"], rows),
            "active": rng.random(rows) < 0.5,
            "score": rng.integers(0, 3, rows) / 2,
            "default": rng.integers(0, 2, rows),
        }
    )


def _profile_without_time(found) -> dict:
    data = found.to_dict() if hasattr(found, "to_dict") else dict(found)
    data.pop("seconds")
    return data


def test_a_big_table_profiled_on_the_cluster_equals_one_process(
    tmp_path: Path, cluster_settings
) -> None:
    path = tmp_path / "accounts.parquet"
    pq.write_table(pa.Table.from_pandas(_table(), preserve_index=False), path, row_group_size=500)
    here = profile_parquet_by_column(path, target="default")
    with compute_backend(cluster_settings) as backend:
        assert isinstance(backend, DaskBackend)
        found, placement = profile_big_parquet(path, target="default", backend=backend)
    assert _profile_without_time(found) == _profile_without_time(here)
    assert found.duplicate_rows > 0  # few values per column: the exact count ran too
    assert placement.on_cluster and placement.address == cluster_settings.address
    assert len(placement.workers) == 2  # both workers profiled columns


def test_a_profile_job_of_a_big_version_runs_on_workers_that_cannot_reach_the_store(
    studio_home: Path, dask_cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    from distributed import Client

    from core.data.datasets import import_dataset, profile_source

    source = studio_home.parent / "accounts.csv"
    studio_home.parent.mkdir(parents=True, exist_ok=True)
    _table().to_csv(source, index=False)
    import_dataset(studio_home, path=source, name="accounts")
    monkeypatch.setenv(profile_files.BIG_TABLE_ROWS_VARIABLE, "1000")  # and so the job's process
    here = profile_source(studio_home, "accounts", target="default")
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", dask_cluster.scheduler_address)
    with Client(dask_cluster.scheduler_address, set_as_default=False) as client:
        client.run(_forbid_the_store)
        params = {"dataset": "accounts", "target": "default"}
        submitted = submit_job(studio_home, kind="profile_dataset", params=params)
        job = wait_for_job(studio_home, submitted.id, timeout=300)
        refused = client.run(_refused_opens)
    assert job.status == "done", job.error
    assert set(refused.values()) == {0}  # no worker even tried to open a database
    with connect(studio_home) as db:
        where = Placement.from_dict(jobs.compute_of(db, [job.id])[job.id])
    assert where is not None and where.on_cluster and len(where.workers) == 2
    result = dict(job.result or {})
    assert Placement.from_dict(result.pop("compute")) == where
    assert here.pop("compute") == Placement("local").to_dict()
    result.pop("seconds"), here.pop("seconds")
    assert result == here


def test_columns_the_workers_cannot_read_are_sent_to_them(
    tmp_path: Path, cluster_settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # as workers on another machine find it: no such file there (here, another file's stamp)
    path = tmp_path / "accounts.parquet"
    pq.write_table(pa.Table.from_pandas(_table(), preserve_index=False), path, row_group_size=500)
    here = profile_parquet_by_column(path, target="default")
    real = profile_files.FileStamp.of

    def elsewhere(where):
        stamp = real(where)
        return profile_files.FileStamp(stamp.path, stamp.size + 1, stamp.modified_ns)

    monkeypatch.setattr(profile_files.FileStamp, "of", staticmethod(elsewhere))
    with compute_backend(cluster_settings) as backend:
        found, placement = profile_big_parquet(path, target="default", backend=backend)
        tasks = backend.tasks_run
    assert _profile_without_time(found) == _profile_without_time(here)
    columns = len(_table().columns)
    assert tasks == 2 * columns  # each column refused by a worker, then sent to one
    assert placement.on_cluster and len(placement.workers) == 2
