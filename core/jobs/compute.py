"""Where heavy work runs: in this process, or on the Dask cluster named by the environment."""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

ADDRESS_VARIABLES = ("DASK_SCHEDULER_ADDRESS", "MLOPS_STUDIO_DASK")
TLS_CA = "MLOPS_STUDIO_DASK_TLS_CA"
TLS_CERT = "MLOPS_STUDIO_DASK_TLS_CERT"
TLS_KEY = "MLOPS_STUDIO_DASK_TLS_KEY"
CONNECT_TIMEOUT = "MLOPS_STUDIO_DASK_CONNECT_TIMEOUT"
NO_WORKERS_TIMEOUT = "MLOPS_STUDIO_DASK_NO_WORKERS_TIMEOUT"
DEFAULT_CONNECT_TIMEOUT_S = 10.0
DEFAULT_NO_WORKERS_TIMEOUT_S = 60.0
POLL_S = 0.5

UNREACHABLE = (
    "The Dask cluster at {address} could not be reached ({reason}), so this job runs on this "
    "machine instead. Check that the scheduler is running and the address is right."
)
WORKER_LOST = (
    "A Dask worker was lost again and again while running this job's work ({reason}), so the "
    "job stopped. Check the workers' memory and logs, then start the job again."
)
NO_WORKERS = (
    "The Dask cluster at {address} has had no workers for {seconds:.0f} s, so the job stopped. "
    "Start workers (or unset DASK_SCHEDULER_ADDRESS to run on this machine) and start it again."
)
CLUSTER_GONE = (
    "The connection to the Dask cluster at {address} was lost during the job ({reason}). "
    "Check the scheduler, then start the job again."
)
TLS_INCOMPLETE = (
    "Dask TLS needs the CA, the certificate and the key together; {missing} is not set. "
    "Set MLOPS_STUDIO_DASK_TLS_CA, _CERT and _KEY, or none of them."
)
BAD_TIMEOUT = "{name} must be a number of seconds above 0, not {value!r}."


class ComputeError(RuntimeError):
    """Work on the cluster that could not finish; the message says what happened and what to do."""


@dataclass(frozen=True)
class ComputeSettings:
    """The cluster to use (None: this process) with its TLS files and timeouts."""

    address: str | None = None
    tls_ca: str | None = None
    tls_cert: str | None = None
    tls_key: str | None = None
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT_S
    no_workers_timeout: float = DEFAULT_NO_WORKERS_TIMEOUT_S

    @classmethod
    def from_environment(cls, environ: dict[str, str] | None = None) -> ComputeSettings:
        env = dict(os.environ if environ is None else environ)
        address = next((env[name].strip() for name in ADDRESS_VARIABLES if env.get(name)), None)
        return cls(
            address=address or None,
            tls_ca=env.get(TLS_CA) or None,
            tls_cert=env.get(TLS_CERT) or None,
            tls_key=env.get(TLS_KEY) or None,
            connect_timeout=_seconds(env, CONNECT_TIMEOUT, DEFAULT_CONNECT_TIMEOUT_S),
            no_workers_timeout=_seconds(env, NO_WORKERS_TIMEOUT, DEFAULT_NO_WORKERS_TIMEOUT_S),
        )

    @property
    def uses_tls(self) -> bool:
        return any((self.tls_ca, self.tls_cert, self.tls_key))

    def security(self) -> Any:
        """Dask's Security object for tls:// (None without TLS settings)."""
        if not self.uses_tls:
            return None
        named = {TLS_CA: self.tls_ca, TLS_CERT: self.tls_cert, TLS_KEY: self.tls_key}
        missing = [name for name, value in named.items() if not value]
        if missing:
            raise ComputeError(TLS_INCOMPLETE.format(missing=", ".join(missing)))
        from distributed.security import Security

        return Security(
            tls_ca_file=self.tls_ca,
            tls_client_cert=self.tls_cert,
            tls_client_key=self.tls_key,
            require_encryption=True,
        )


def _seconds(env: dict[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if value <= 0:
        raise ComputeError(BAD_TIMEOUT.format(name=name, value=raw))
    return value


@dataclass(frozen=True)
class Placement:
    """Where a job or run did its work: ``local`` or ``cluster``, which workers, any notice."""

    where: str = "local"
    address: str | None = None
    workers: tuple[str, ...] = ()
    notice: str | None = None

    @property
    def on_cluster(self) -> bool:
        return self.where == "cluster"

    def describe(self) -> str:
        if not self.on_cluster:
            return "On this machine"
        count = len(self.workers)
        used = f", {count} worker{'s' if count != 1 else ''}" if count else ""
        return f"On the Dask cluster at {self.address}{used}"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["workers"] = list(self.workers)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Placement | None:
        if not data:
            return None
        return cls(
            where=str(data.get("where") or "local"),
            address=data.get("address"),
            workers=tuple(data.get("workers") or ()),
            notice=data.get("notice"),
        )


Done = Callable[[int, int], None]


class ComputeBackend(Protocol):
    """Runs ``fn(item, **shared)`` for every item and returns the results in order."""

    @property
    def slots(self) -> int:
        """How many items it works on at once."""
        ...

    def map(
        self,
        fn: Callable[..., Any],
        items: Sequence[Any],
        *,
        shared: dict[str, Any] | None = None,
        on_done: Done | None = None,
    ) -> list[Any]: ...

    def placement(self, since: int = 0) -> Placement:
        """Where the work ran: all of it, or from the ``since``-th task on (see ``tasks_run``)."""
        ...

    @property
    def tasks_run(self) -> int: ...


@dataclass
class LocalBackend:
    """Today's behaviour: one item after another in this process."""

    notice: str | None = None
    slots: int = 1
    tasks_run: int = 0

    def map(
        self,
        fn: Callable[..., Any],
        items: Sequence[Any],
        *,
        shared: dict[str, Any] | None = None,
        on_done: Done | None = None,
    ) -> list[Any]:
        results = []
        for item in items:
            results.append(fn(item, **(shared or {})))
            self.tasks_run += 1
            if on_done:
                on_done(len(results), len(items))
        return results

    def placement(self, since: int = 0) -> Placement:
        return Placement(notice=self.notice)


def _on_worker(fn: Callable[..., Any], item: Any, **shared: Any) -> tuple[str, Any]:
    """Run one item on a Dask worker; the answer says which worker ran it."""
    from distributed import get_worker

    _allocate_as_glibc_would()
    return get_worker().address, fn(item, **shared)


# Dask's nanny starts each worker with MALLOC_TRIM_THRESHOLD_=65536 (to hand memory back to the
# OS at once). Setting it also stops glibc from raising its mmap threshold as a process frees
# large blocks, so every array over 128 KiB is mapped, faulted in and unmapped again: a fold fit
# of the studio's pipeline took twice its time on a worker. Each worker process therefore sets
# the limits glibc's own adjustment reaches (mmap above 32 MiB, trim above 64 MiB), once.
MMAP_THRESHOLD = 32 << 20
TRIM_THRESHOLD = 64 << 20
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt's parameter numbers (malloc.h)
_allocator_set = False


def _allocate_as_glibc_would() -> None:
    global _allocator_set
    if _allocator_set:
        return
    _allocator_set = True
    if not sys.platform.startswith("linux"):
        return
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):  # not glibc (musl has no such tuning)
        return
    mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
    mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)


@dataclass
class DaskBackend:
    """Items as Dask tasks on a cluster; shared data is sent to every worker once per map."""

    client: Any
    settings: ComputeSettings
    ran_on: list[str] = field(default_factory=list)  # each task's worker, in order of maps

    @property
    def tasks_run(self) -> int:
        return len(self.ran_on)

    @property
    def slots(self) -> int:
        """How many tasks the cluster runs at once (its worker threads), at least 1."""
        workers = self._workers()
        return max(1, sum(int(w.get("nthreads", 1)) for w in workers.values()))

    def _workers(self) -> dict[str, Any]:
        try:
            info = self.client.scheduler_info(n_workers=-1)
        except TypeError:  # older distributed: no n_workers
            info = self.client.scheduler_info()
        except OSError as error:
            raise self._gone(error) from None
        workers: dict[str, Any] = info.get("workers", {})
        return workers

    def _gone(self, error: BaseException) -> ComputeError:
        reason = str(error) or type(error).__name__
        return ComputeError(CLUSTER_GONE.format(address=self.settings.address, reason=reason))

    def map(
        self,
        fn: Callable[..., Any],
        items: Sequence[Any],
        *,
        shared: dict[str, Any] | None = None,
        on_done: Done | None = None,
    ) -> list[Any]:
        if not items:
            return []
        futures: list[Any] = []
        self._await_workers()
        try:
            # sent once to every worker, not once per task
            sent = {
                name: self.client.scatter(value, broadcast=True, hash=False)
                for name, value in (shared or {}).items()
            }
            futures = self.client.map(_on_worker, [fn] * len(items), items, pure=False, **sent)
            answers = self._gather(futures, on_done)
        except OSError as error:
            raise self._gone(error) from None
        finally:
            with contextlib.suppress(Exception):
                self.client.cancel(futures)
        self.ran_on.extend(address for address, _ in answers)
        return [result for _, result in answers]

    def _gather(self, futures: list[Any], on_done: Done | None) -> list[Any]:
        from distributed.scheduler import KilledWorker

        finished = threading.Event()
        for future in futures:
            future.add_done_callback(lambda _: finished.set())
        pending = set(futures)
        alone_since: float | None = None
        while pending:
            finished.wait(POLL_S)
            finished.clear()
            for future in [f for f in pending if f.done()]:
                pending.discard(future)
                if future.status == "error":
                    try:
                        future.result()
                    except KilledWorker as error:
                        raise ComputeError(WORKER_LOST.format(reason=error)) from None
                elif future.status == "cancelled":
                    raise self._gone(RuntimeError("the scheduler dropped the work"))
                if on_done:
                    on_done(len(futures) - len(pending), len(futures))
            alone_since = self._check_workers(alone_since) if pending else None
        return list(self.client.gather(futures))

    def _await_workers(self) -> None:
        alone_since = self._check_workers(None)
        while alone_since is not None:
            time.sleep(POLL_S)
            alone_since = self._check_workers(alone_since)

    def _check_workers(self, alone_since: float | None) -> float | None:
        """Stop waiting once the cluster has had no worker for too long (never a hung job)."""
        if self._workers():
            return None
        now = time.monotonic()
        alone_since = alone_since or now
        if now - alone_since > self.settings.no_workers_timeout:
            seconds = self.settings.no_workers_timeout
            raise ComputeError(NO_WORKERS.format(address=self.settings.address, seconds=seconds))
        return alone_since

    def placement(self, since: int = 0) -> Placement:
        workers = tuple(sorted(set(self.ran_on[since:])))
        return Placement("cluster", self.settings.address, workers)


@contextlib.contextmanager
def compute_backend(settings: ComputeSettings | None = None) -> Iterator[ComputeBackend]:
    """The backend the settings (by default the environment) ask for; an unreachable cluster
    gives the local backend with a notice saying so, after at most the connect timeout."""
    settings = settings or ComputeSettings.from_environment()
    if not settings.address:
        yield LocalBackend()
        return
    client = _connect(settings)
    if isinstance(client, str):
        yield LocalBackend(notice=UNREACHABLE.format(address=settings.address, reason=client))
        return
    try:
        yield DaskBackend(client, settings)
    finally:
        with contextlib.suppress(Exception):
            client.close(timeout=settings.connect_timeout)


def _connect(settings: ComputeSettings) -> Any:
    """A connected Dask client, or the reason there is none."""
    from distributed import Client

    try:
        return Client(
            settings.address,
            security=settings.security(),
            timeout=settings.connect_timeout,
            set_as_default=False,
        )
    except (OSError, TimeoutError, ValueError) as error:
        return _reason(error, settings)


def _reason(error: BaseException, settings: ComputeSettings) -> str:
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    if "Timed out" in text or isinstance(error, TimeoutError):
        return f"no answer within {settings.connect_timeout:.0f} s"
    return text


@contextlib.contextmanager
def job_compute(home: Path, job_id: int | None) -> Iterator[ComputeBackend]:
    """The backend for one job, with where it ran (and any fallback notice) recorded on it."""
    with compute_backend() as backend:
        _record_on_job(home, job_id, backend.placement())
        try:
            yield backend
        finally:
            _record_on_job(home, job_id, backend.placement())


def _record_on_job(home: Path, job_id: int | None, placement: Placement) -> None:
    if job_id is None:
        return
    from core.store import connect
    from core.store import jobs as jobs_store

    with connect(home) as db:
        jobs_store.set_compute(db, job_id, placement.to_dict())


def with_notice(progress: Callable[[float, str], None], placement: Placement) -> Any:
    """``progress`` whose every message carries the placement's notice, so the job shows it."""
    if not placement.notice:
        return progress
    return _NoticedProgress(progress, placement.notice)


@dataclass
class _NoticedProgress:
    progress: Callable[[float, str], None]
    notice: str

    def __call__(self, fraction: float, message: str) -> None:
        self.progress(fraction, f"{message} ({self.notice})")

    def __getattr__(self, name: str) -> Any:  # job_id, home: as the wrapped progress has them
        return getattr(self.progress, name)
