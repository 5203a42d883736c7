"""A real Dask LocalCluster with two worker processes, shared by the compute tests."""

from __future__ import annotations

import dask
import pytest


@pytest.fixture(scope="session")
def dask_cluster():
    """Two worker processes of one thread each; a task that kills its worker is retried once."""
    from distributed import LocalCluster

    with (
        dask.config.set({"distributed.scheduler.allowed-failures": 1}),
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            host="127.0.0.1",
        ) as cluster,
    ):
        yield cluster


@pytest.fixture
def cluster_settings(dask_cluster):
    from core.jobs.compute import ComputeSettings

    return ComputeSettings(address=dask_cluster.scheduler_address, connect_timeout=10)
