"""Serving hardening a security review can require: per-key rate limits (a token bucket per API
key, in this process), probabilities rounded or left out of answers."""

from __future__ import annotations

import math
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from core.store.deployments import ServingSettings

MAX_DECIMALS = 6
MAX_RATE = 100_000.0
MAX_KEYS = 10_000  # buckets kept at once; the oldest are forgotten beyond this
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


@dataclass
class _Bucket:
    tokens: float
    at: float


@dataclass
class RateLimiter:
    """A token bucket per API key: each request takes a token; tokens come back at ``rate`` per
    second up to ``burst``. In-process: each worker process keeps its own buckets, so a service
    with N workers lets a key through at up to N times the rate."""

    rate: float
    burst: float
    clock: Any = time.monotonic
    _buckets: dict[str, _Bucket] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def wait(self, key: str) -> float:
        """0 when ``key`` may go now (its token taken); else the seconds until it may."""
        now = self.clock()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                if len(self._buckets) >= MAX_KEYS:
                    self._buckets.pop(next(iter(self._buckets)))
                bucket = self._buckets[key] = _Bucket(self.burst, now)
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.at) * self.rate)
            bucket.at = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return 0.0
            return (1.0 - bucket.tokens) / self.rate


def limiter_for(settings: ServingSettings, current: RateLimiter | None) -> RateLimiter | None:
    """The limiter for these settings: the current one while rate and burst are unchanged (so
    its buckets carry on), a new one when they change, None without a limit."""
    if settings.rate_limit is None:
        return None
    burst = burst_of(settings)
    if current is not None and (current.rate, current.burst) == (settings.rate_limit, burst):
        return current
    return RateLimiter(settings.rate_limit, burst)


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
