"""Shadow mode: a challenger scores the live traffic beside the served version, off the request
path, and its answers are logged for comparison; nobody receives them."""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from core.serving.scoring import ServedModel, score
from core.store import connection, retraining

MAX_BACKLOG = 8  # batches waiting for the shadow; beyond this the shadow skips traffic
log = logging.getLogger("mlops_studio.serving")


@dataclass
class ShadowRequest:
    """One answered request, as the shadow needs it: its id and checked column values."""

    request_id: str
    values: dict[str, list[Any]]
    rows: int


@dataclass
class ShadowScorer:
    """Scores answered requests with the shadow version in its own thread and logs them."""

    home: Path
    deployment_id: int | None
    model: ServedModel | None = None
    skipped: int = 0
    executor: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(1, thread_name_prefix="shadow")
    )
    _backlog: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def submit(self, requests: list[ShadowRequest]) -> None:
        """Queue answered requests for the shadow (dropped when it has fallen behind)."""
        model = self.model
        if model is None or not requests or self.deployment_id is None:
            return
        with self._lock:
            if self._backlog >= MAX_BACKLOG:
                self.skipped += len(requests)
                return
            self._backlog += 1
        self.executor.submit(self._score, model, requests)

    def _score(self, model: ServedModel, requests: list[ShadowRequest]) -> None:
        try:
            self._log(model, requests)
        except Exception:  # the shadow must never disturb the service
            log.exception("the shadow version %s could not score a batch", model.label)
        finally:
            with self._lock:
                self._backlog -= 1

    def _log(self, model: ServedModel, requests: list[ShadowRequest]) -> None:
        started = time.perf_counter()
        names = list(requests[0].values)
        values = {name: [v for request in requests for v in request.values[name]] for name in names}
        scores = score(model, values)
        latency = (time.perf_counter() - started) * 1000
        rows, start, moment = [], 0, time.time()
        for request in requests:
            end = start + request.rows
            shares = None if scores.probabilities is None else scores.probabilities[start:end]
            rows.append(
                (
                    self.deployment_id,
                    model.version_id,
                    request.request_id,
                    moment,
                    latency,
                    request.rows,
                    orjson.dumps(scores.predictions[start:end]).decode(),
                    None if shares is None else _json(shares),
                )
            )
            start = end
        with connection.connect(self.home) as db:
            retraining.log_shadow_predictions(db, rows)

    def wait(self) -> None:
        """Block until every queued batch is logged (tests, graceful stop)."""
        self.executor.submit(lambda: None).result()

    def close(self) -> None:
        self.executor.shutdown(wait=True)


def _json(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY).decode()
