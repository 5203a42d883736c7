"""The compute backend: settings from the environment, local fallback with a notice, and a real
two-process Dask LocalCluster that runs work, survives a killed worker and never hangs."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time

import cloudpickle
import pytest

from core.jobs.compute import (
    NO_WORKERS,
    TLS_INCOMPLETE,
    WORKER_LOST,
    ComputeError,
    ComputeSettings,
    DaskBackend,
    LocalBackend,
    Placement,
    compute_backend,
)
from core.serving.deployments import free_port

# the tasks below are defined here, and workers cannot import a test module by name
cloudpickle.register_pickle_by_value(sys.modules[__name__])


def _pid_after(item: int, *, seconds: float) -> tuple[int, int]:
    time.sleep(seconds)
    return item * item, os.getpid()


def _take_worker_down(item: int) -> int:
    os._exit(1)


def test_no_address_means_this_process_as_today() -> None:
    settings = ComputeSettings.from_environment({})
    assert settings.address is None
    with compute_backend(settings) as backend:
        assert isinstance(backend, LocalBackend)
        assert backend.map(_pid_after, [1, 2, 3], shared={"seconds": 0}) == [
            (1, os.getpid()),
            (4, os.getpid()),
            (9, os.getpid()),
        ]
        assert backend.placement() == Placement("local")
        assert backend.placement().describe() == "On this machine"


def test_either_variable_names_the_scheduler_with_tls_beside_it() -> None:
    env = {
        "MLOPS_STUDIO_DASK": "tls://10.0.0.5:8786",
        "MLOPS_STUDIO_DASK_TLS_CA": "/etc/dask/ca.pem",
        "MLOPS_STUDIO_DASK_TLS_CERT": "/etc/dask/cert.pem",
        "MLOPS_STUDIO_DASK_TLS_KEY": "/etc/dask/key.pem",
        "MLOPS_STUDIO_DASK_CONNECT_TIMEOUT": "3",
    }
    settings = ComputeSettings.from_environment(env)
    assert settings.address == "tls://10.0.0.5:8786"
    assert settings.connect_timeout == 3
    security = settings.security()
    assert security.tls_ca_file == "/etc/dask/ca.pem"
    assert security.tls_client_cert == "/etc/dask/cert.pem"
    assert security.tls_client_key == "/etc/dask/key.pem"
    assert security.require_encryption
    both = {**env, "DASK_SCHEDULER_ADDRESS": "tcp://10.0.0.6:8786"}
    assert ComputeSettings.from_environment(both).address == "tcp://10.0.0.6:8786"


def test_half_the_tls_settings_is_refused_with_what_to_set() -> None:
    settings = ComputeSettings.from_environment(
        {"DASK_SCHEDULER_ADDRESS": "tls://x:1", "MLOPS_STUDIO_DASK_TLS_CA": "/ca.pem"}
    )
    with pytest.raises(ComputeError) as raised:
        settings.security()
    assert str(raised.value) == TLS_INCOMPLETE.format(
        missing="MLOPS_STUDIO_DASK_TLS_CERT, MLOPS_STUDIO_DASK_TLS_KEY"
    )


def test_a_bad_timeout_is_refused_by_name() -> None:
    with pytest.raises(ComputeError, match="MLOPS_STUDIO_DASK_CONNECT_TIMEOUT must be"):
        ComputeSettings.from_environment({"MLOPS_STUDIO_DASK_CONNECT_TIMEOUT": "soon"})


def test_an_unreachable_scheduler_runs_here_with_a_notice_and_never_hangs() -> None:
    address = f"tcp://127.0.0.1:{free_port()}"
    started = time.monotonic()
    with compute_backend(ComputeSettings(address=address, connect_timeout=2)) as backend:
        assert isinstance(backend, LocalBackend)
        assert backend.map(_pid_after, [2], shared={"seconds": 0}) == [(4, os.getpid())]
        notice = backend.placement().notice
    assert time.monotonic() - started < 15
    assert notice is not None
    assert notice.startswith(f"The Dask cluster at {address} could not be reached")
    assert "runs on this machine instead" in notice


@pytest.mark.slow
def test_the_cluster_runs_tasks_on_both_workers_in_order(cluster_settings) -> None:
    with compute_backend(cluster_settings) as backend:
        assert isinstance(backend, DaskBackend)
        assert backend.slots == 2
        seen: list[int] = []
        answers = backend.map(
            _pid_after,
            list(range(12)),
            shared={"seconds": 0.2},
            on_done=lambda done, total: seen.append(done),
        )
        placement = backend.placement()
    assert [square for square, _ in answers] == [i * i for i in range(12)]
    assert os.getpid() not in {pid for _, pid in answers}
    assert len({pid for _, pid in answers}) == 2  # two worker processes did the work
    assert placement.on_cluster and len(placement.workers) == 2
    assert placement.describe() == f"On the Dask cluster at {cluster_settings.address}, 2 workers"
    assert seen[-1] == 12


@pytest.mark.slow
def test_a_worker_killed_mid_job_is_retried_and_the_work_completes(cluster_settings) -> None:
    with compute_backend(cluster_settings) as backend:
        assert isinstance(backend, DaskBackend)
        pids = backend.client.run(os.getpid)
        victim = next(iter(pids.values()))

        killed_at: list[float] = []

        def kill_soon() -> None:
            time.sleep(0.8)
            os.kill(victim, signal.SIGKILL)
            killed_at.append(time.monotonic())

        killer = threading.Thread(target=kill_soon)
        killer.start()
        answers = backend.map(_pid_after, list(range(16)), shared={"seconds": 0.25})
        finished_at = time.monotonic()
        killer.join()
    assert killed_at and killed_at[0] < finished_at  # the worker died while the job ran
    assert [square for square, _ in answers] == [i * i for i in range(16)]
    # what the dead worker held was computed again elsewhere
    assert victim not in {pid for _, pid in answers}


@pytest.mark.slow
def test_work_that_keeps_killing_its_worker_fails_with_a_clear_message(cluster_settings) -> None:
    started = time.monotonic()
    with compute_backend(cluster_settings) as backend, pytest.raises(ComputeError) as raised:
        backend.map(_take_worker_down, [1])
    assert str(raised.value).startswith(WORKER_LOST.split("(")[0])
    assert "start the job again" in str(raised.value)
    assert time.monotonic() - started < 120


@pytest.mark.slow
def test_a_cluster_without_workers_stops_the_job_instead_of_hanging() -> None:
    from distributed import LocalCluster

    with LocalCluster(n_workers=0, processes=True, dashboard_address=":0") as empty:
        settings = ComputeSettings(address=empty.scheduler_address, no_workers_timeout=2)
        with compute_backend(settings) as backend, pytest.raises(ComputeError) as raised:
            backend.map(_pid_after, [1], shared={"seconds": 0})
    assert str(raised.value) == NO_WORKERS.format(address=settings.address, seconds=2)
