"""Serving hardening a security review can require: per-key rate limits (a token bucket per API
key, shared by the service's worker processes), probabilities rounded or left out of answers."""

from __future__ import annotations

import fcntl
import hashlib
import math
import mmap
import os
import re
import struct
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from core.store.deployments import ServingSettings

MAX_DECIMALS = 6
MAX_RATE = 100_000.0
RATE_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:/\s*(s|sec|second|m|min|minute))?\s*$")
BAD_RATE = (
    "A rate limit reads like '20/s' or '600/min' (requests per second or per minute, more "
    "than 0 and at most {most:,.0f}/s), not {text!r}."
)
BAD_DECIMALS = "Rounding takes a whole number of decimals from 0 to {most}, not {value!r}."
BAD_BURST = "A burst is a whole number of requests, at least 1, not {value!r}."
TOO_MANY = "Too many requests for this API key: at most {rate} per second. Retry after {after} s."


_PROBABILITY_KEYS = ("probabilities", "classes")


class HardeningError(ValueError):
    """A rate limit, burst or rounding that cannot be used."""


def parse_rate(text: str) -> float:
    """Requests per second from '20/s', '20', '600/min'."""
    match = RATE_PATTERN.match(text or "")
    if not match:
        raise HardeningError(BAD_RATE.format(most=MAX_RATE, text=text))
    rate = float(match[1]) / (60.0 if (match[2] or "s").startswith("m") else 1.0)
    return checked_rate(rate, text=text)


def checked_rate(rate: float, *, text: str | None = None) -> float:
    if not math.isfinite(rate) or rate <= 0 or rate > MAX_RATE:
        raise HardeningError(BAD_RATE.format(most=MAX_RATE, text=text or rate))
    return float(rate)


def checked_settings(
    *,
    rate_limit: float | None = None,
    rate_burst: int | None = None,
    round_decimals: int | None = None,
    labels_only: bool = False,
) -> ServingSettings:
    """Settings with every value checked; HardeningError says which one is wrong."""
    if rate_limit is not None:
        rate_limit = checked_rate(rate_limit)
    if rate_burst is not None and (isinstance(rate_burst, bool) or int(rate_burst) < 1):
        raise HardeningError(BAD_BURST.format(value=rate_burst))
    if round_decimals is not None and not (
        isinstance(round_decimals, int) and 0 <= round_decimals <= MAX_DECIMALS
    ):
        raise HardeningError(BAD_DECIMALS.format(most=MAX_DECIMALS, value=round_decimals))
    burst = None if rate_burst is None else int(rate_burst)
    return ServingSettings(rate_limit, burst, round_decimals, bool(labels_only))


def burst_of(settings: ServingSettings) -> float:
    """How many requests a key may send at once: the burst, else one second's worth (at least 1)."""
    if settings.rate_burst is not None:
        return float(settings.rate_burst)
    return max(1.0, float(settings.rate_limit or 1.0))


BUCKET = struct.Struct("<Qdd")  # a key's 64-bit hash, its tokens, when they were counted
SLOTS = 4096  # buckets kept at once; beyond this a key takes the slot of the longest idle
PROBES = 8  # slots a key may sit in: its hash's own and the next seven


def rate_file(home: Path, deployment_id: int) -> Path:
    """Where the worker processes of a deployment's service keep their shared buckets."""
    return home / "run" / f"deployment-{deployment_id}.rate-buckets"


class RateLimiter:
    """A token bucket per API key: each request takes a token; tokens come back at ``rate`` per
    second up to ``burst``. The buckets live in a small file every worker process of the
    service maps (``path``), locked for each update, so N workers let a key through at the
    rate, not N times it; without a path they live in this process's memory alone."""

    def __init__(
        self, rate: float, burst: float, *, path: Path | None = None, clock: Any = time.monotonic
    ) -> None:
        self.rate, self.burst, self.path, self.clock = rate, burst, path, clock
        self._lock = threading.Lock()  # a file lock does not keep this process's threads apart
        self._fd = None if path is None else _bucket_file(path)
        self._buckets = mmap.mmap(-1 if self._fd is None else self._fd, SLOTS * BUCKET.size)
        if self._fd is not None:
            weakref.finalize(self, os.close, self._fd)

    def wait(self, key: str) -> float:
        """0 when ``key`` may go now (its token taken); else the seconds until it may."""
        # CLOCK_MONOTONIC is one clock for every process of the machine, so the workers agree
        now = self.clock()
        keyed = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest()) or 1
        with self._lock, self._locked():
            offset, found = self._slot(keyed)
            tokens, at = (found[1], found[2]) if found[0] == keyed else (self.burst, now)
            tokens = min(self.burst, tokens + max(0.0, now - at) * self.rate)
            if tokens >= 1.0:
                tokens, wait = tokens - 1.0, 0.0
            else:
                wait = (1.0 - tokens) / self.rate
            BUCKET.pack_into(self._buckets, offset, keyed, tokens, now)
        return wait

    def _slot(self, keyed: int) -> tuple[int, tuple[int, float, float]]:
        """The key's bucket: where it is, else an empty slot, else the longest idle one."""
        probed = []
        for probe in range(PROBES):
            offset = ((keyed + probe) % SLOTS) * BUCKET.size
            found = BUCKET.unpack_from(self._buckets, offset)
            if found[0] in (keyed, 0):
                return offset, found
            probed.append((found[2], offset, found))
        _, offset, found = min(probed)
        return offset, found

    @contextmanager
    def _locked(self) -> Iterator[None]:
        if self._fd is None:
            yield
            return
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)


def _bucket_file(path: Path) -> int:
    """The shared buckets' file, opened (made, all slots empty, by the first process)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    if os.fstat(fd).st_size < SLOTS * BUCKET.size:
        os.ftruncate(fd, SLOTS * BUCKET.size)  # zeros: every slot empty
    return fd


def limiter_for(
    settings: ServingSettings, current: RateLimiter | None, *, path: Path | None = None
) -> RateLimiter | None:
    """The limiter for these settings: the current one while rate and burst are unchanged (so
    its buckets carry on), a new one when they change, None without a limit."""
    if settings.rate_limit is None:
        return None
    burst = burst_of(settings)
    if current is not None and (current.rate, current.burst) == (settings.rate_limit, burst):
        return current
    return RateLimiter(settings.rate_limit, burst, path=path)


def retry_after(seconds: float) -> str:
    """The Retry-After header: whole seconds (HTTP allows no fraction), at least 1."""
    return str(max(1, math.ceil(seconds)))


def too_many(settings: ServingSettings, seconds: float) -> str:
    rate = f"{settings.rate_limit:g}" if settings.rate_limit else "-"
    return TOO_MANY.format(rate=rate, after=retry_after(seconds))


def shaped(body: dict[str, Any], settings: ServingSettings) -> dict[str, Any]:
    """An answer as the deployment says to give it: without probabilities (labels only) or with
    them rounded. The log keeps the full probabilities either way."""
    if "probabilities" not in body:
        return body
    if settings.labels_only:
        return {key: value for key, value in body.items() if key not in _PROBABILITY_KEYS}
    if settings.round_decimals is not None:
        import numpy as np  # here, not at the top: the CLI's listings import this module

        shares = np.asarray(body["probabilities"], dtype=np.float64)
        return {**body, "probabilities": np.round(shares, settings.round_decimals)}
    return body


def answers_in_words(settings: ServingSettings) -> str:
    """What the answers carry, for people: the Deploy page and the security review."""
    if settings.labels_only:
        return "labels only"
    if settings.round_decimals is not None:
        return f"probabilities rounded to {settings.round_decimals} decimals"
    return "full probabilities"


def rate_in_words(settings: ServingSettings) -> str:
    if settings.rate_limit is None:
        return "no rate limit"
    return f"{settings.rate_limit:g} requests/s per key (bursts of {burst_of(settings):g})"
