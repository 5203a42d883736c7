"""Work on a Dask worker allocates as in any process: the nanny's MALLOC_TRIM_THRESHOLD_ no longer
makes every array over 128 KiB a fresh mapping (which doubled a fold fit's time)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cloudpickle
import pytest

from core.jobs.compute import DaskBackend, compute_backend

# the task below is defined here, and workers cannot import a test module by name
cloudpickle.register_pickle_by_value(sys.modules[__name__])

ARRAYS = 200


def _faults_making_arrays(item: int, *, count: int) -> tuple[int, str | None]:
    """Page faults while making and dropping ``count`` 1 MiB arrays, and the trim setting."""
    import resource

    import numpy as np

    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(count):
        block = np.ones(1 << 17)  # 1 MiB: above glibc's first mmap threshold, below 32 MiB
        del block
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
    return faults, os.environ.get("MALLOC_TRIM_THRESHOLD_")


FAULTS_HERE = f"""
import sys
sys.path.insert(0, {str(Path(__file__).resolve().parents[3])!r})
from tests.core.jobs.test_compute_allocator import _faults_making_arrays
print(_faults_making_arrays(0, count={ARRAYS})[0])
"""


@pytest.mark.slow
def test_workers_reuse_freed_memory_despite_the_nannys_trim_setting(cluster_settings) -> None:
    with compute_backend(cluster_settings) as backend:
        assert isinstance(backend, DaskBackend)
        found = backend.map(_faults_making_arrays, [1, 2, 3, 4], shared={"count": ARRAYS})
    assert {setting for _, setting in found} == {"65536"}  # the nanny set it on every worker
    # one 1 MiB array is 256 pages: mapped afresh each time, that would be 51,200 faults
    assert max(faults for faults, _ in found) < ARRAYS * 10
    # the same loop in a process started with that setting and nothing else: every array mapped
    env = {**os.environ, "MALLOC_TRIM_THRESHOLD_": "65536"}
    done = subprocess.run(
        [sys.executable, "-c", FAULTS_HERE], env=env, capture_output=True, text=True, check=True
    )
    assert int(done.stdout) > ARRAYS * 200
