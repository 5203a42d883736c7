"""The prediction log writer: rows from many requests are written by one thread, one
transaction per batch, and a request is answered only once its rows are committed."""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
import time
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from core.store import connection, deployments

MAX_BATCH_ROWS = 20_000
LOCK_WAIT_S = 10.0
RETRY_S = 0.0002
# SQLite copies its write-ahead log into the store once 1,000 pages (~4 MB) have piled up, inside
# the commit that crosses the mark: a 10,000-row request's commit then waited ~100 ms for it. The
# writer checkpoints itself instead, after that many bytes, once the batch's requests are answered.
CHECKPOINT_BYTES = 4 * 1024 * 1024
log = logging.getLogger("mlops_studio.serving")
_STOP = object()


class PredictionLog:
    """A buffered, batched writer. ``append`` returns a future that completes on commit, so an
    acknowledged prediction is never lost; ``close`` writes whatever is still buffered."""

    def __init__(self, home: Path, *, max_batch_rows: int = MAX_BATCH_ROWS) -> None:
        self._home = home
        self._max_batch_rows = max_batch_rows
        self._unchecked_bytes = 0  # written since the writer's last checkpoint
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._write_forever, name="prediction-log")
        self._thread.daemon = True
        self._thread.start()

    def append(self, rows: list[tuple[Any, ...]]) -> Future[int]:
        """Queue rows (in ``deployments.PREDICTION_COLUMNS`` order); the future gives the count."""
        done: Future[int] = Future()
        self._queue.put((rows, done))
        return done

    def close(self, timeout: float = 30.0) -> None:
        """Write everything queued so far, then stop the writer."""
        self._queue.put(_STOP)
        self._thread.join(timeout)

    def _write_forever(self) -> None:
        with connection.connect(self._home) as db:
            # Several worker processes share the store: rather than SQLite's busy handler,
            # whose sleeps grow to tens of milliseconds, retry the write lock every 0.2 ms.
            connection.write_without_waiting(db)
            while True:
                batch, stopping = self._next_batch()
                if batch:
                    self._write(db, batch)
                    self._checkpoint_when_due(db)
                if stopping:
                    return

    def _checkpoint_when_due(self, db: Any) -> None:
        if self._unchecked_bytes < CHECKPOINT_BYTES:
            return
        self._unchecked_bytes = 0
        try:  # PASSIVE: copies what no reader still needs, never waits for one
            connection.checkpoint(db)
        except sqlite3.OperationalError:  # the store is busy: the next checkpoint catches up
            log.warning("could not checkpoint the prediction log", exc_info=True)

    def _next_batch(self) -> tuple[list[Any], bool]:
        first = self._queue.get()
        if first is _STOP:
            return [], True
        batch, rows = [first], len(first[0])
        while rows < self._max_batch_rows:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is _STOP:
                return batch, True
            batch.append(item)
            rows += len(item[0])
        return batch, False

    def _write(self, db: Any, batch: list[tuple[list[Any], Future[int]]]) -> None:
        rows = [row for item, _ in batch for row in item]
        try:
            _with_retries(lambda: deployments.log_predictions(db, rows))
        except Exception as error:  # a full disk or a locked store: no request may succeed
            log.exception("could not write %d prediction log rows", len(rows))
            for _, done in batch:
                done.set_exception(error)
            return
        for item, done in batch:
            done.set_result(len(item))
        self._unchecked_bytes += sum(len(v) for row in rows for v in row if type(v) is str)


def _with_retries(write: Any, *, seconds: float = LOCK_WAIT_S) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            write()
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) and "busy" not in str(error):
                raise
            if time.monotonic() > deadline:
                raise
            time.sleep(RETRY_S)
