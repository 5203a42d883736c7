"""The studio's own local cluster (`mlops-studio cluster start`) runs its workers without Dask's
statistical profiler, whose sampling slowed each fold fit by a fifth."""

from __future__ import annotations

import sys

import cloudpickle
import pytest

from core.jobs.cluster import local_cluster

# the task below is defined here, and workers cannot import a test module by name
cloudpickle.register_pickle_by_value(sys.modules[__name__])


def _samples_stacks(dask_worker) -> bool:
    return "profile" in dask_worker.periodic_callbacks


@pytest.mark.slow
def test_the_local_clusters_workers_do_not_sample_their_stacks() -> None:
    from distributed import Client

    with (
        local_cluster(2, port=0, dashboard_port=0) as cluster,
        Client(cluster.scheduler_address, set_as_default=False) as client,
    ):
        sampling = client.run(_samples_stacks)
        default = client.run(lambda dask_worker: "heartbeat" in dask_worker.periodic_callbacks)
    assert len(sampling) == 2 and not any(sampling.values())
    assert all(default.values())  # the worker's other periodic work is as Dask has it
