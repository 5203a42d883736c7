"""The prediction log writer: rows from many requests are written by one thread, one
transaction per batch, and a request is answered only once its rows are committed."""

from __future__ import annotations

import logging
import os
import queue
import sqlite3
import sys
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
# the commit that crosses the mark: a 10,000-row request's commit then waited ~100 ms for it. A
# checkpointer thread of its own, at the lowest CPU priority, does it instead after that many
# bytes (~7 ms of CPU and ~20 ms of fsync for 5 MB): the writer goes on committing meanwhile, and
# the checkpoint takes no core from the answer being sent or the next request being read.
CHECKPOINT_BYTES = 4 * 1024 * 1024
# a checkpointer starved by a busy machine: past this many bytes the writer checkpoints itself
MOST_UNCHECKED_BYTES = 16 * CHECKPOINT_BYTES
LOWEST_PRIORITY = 19  # nice value of the checkpointer thread (Linux: per thread)
log = logging.getLogger("mlops_studio.serving")
_STOP = object()


class PredictionLog:
    """A buffered, batched writer. ``append`` returns a future that completes on commit, so an
    acknowledged prediction is never lost; ``close`` writes whatever is still buffered."""

    def __init__(self, home: Path, *, max_batch_rows: int = MAX_BATCH_ROWS) -> None:
        self._home = home
        self._max_batch_rows = max_batch_rows
        self._unchecked_bytes = 0  # written since the last checkpoint began
        self._counting = threading.Lock()
        self._due = threading.Event()  # the checkpointer has work (or is told to stop)
        self._closing = False
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._write_forever, name="prediction-log")
        self._thread.daemon = True
        self._checkpointer = threading.Thread(
            target=self._checkpoint_forever, name="prediction-log-checkpoint", daemon=True
        )
        self._thread.start()
        self._checkpointer.start()

    def append(self, rows: list[tuple[Any, ...]]) -> Future[int]:
        """Queue rows (in ``deployments.PREDICTION_COLUMNS`` order); the future gives the count."""
        done: Future[int] = Future()
        self._queue.put((rows, done))
        return done

    def close(self, timeout: float = 30.0) -> None:
        """Write everything queued so far, then stop the writer."""
        self._queue.put(_STOP)
        self._thread.join(timeout)
        self._closing = True
        self._due.set()
        self._checkpointer.join(timeout)

    def _write_forever(self) -> None:
        with connection.connect(self._home) as db:
            # Several worker processes share the store: rather than SQLite's busy handler,
            # whose sleeps grow to tens of milliseconds, retry the write lock every 0.2 ms.
            connection.write_without_waiting(db)
            while True:
                batch, stopping = self._next_batch()
                if batch:
                    written = self._write(db, batch)
                    del batch  # a large request's rows are not held until the next one comes
                    self._count(db, written)
                if stopping:
                    return

    def _count(self, db: Any, written: int) -> None:
        """Count bytes written; wake the checkpointer every CHECKPOINT_BYTES, or checkpoint
        here when it has fallen far behind."""
        with self._counting:
            self._unchecked_bytes += written
            unchecked = self._unchecked_bytes
        if unchecked >= MOST_UNCHECKED_BYTES:
            self._checkpoint(db)
        elif unchecked >= CHECKPOINT_BYTES:
            self._due.set()

    def _checkpoint_forever(self) -> None:
        _lowest_priority()
        with connection.connect(self._home) as db:
            connection.write_without_waiting(db)  # it never writes; nor may it checkpoint twice
            while True:
                self._due.wait()
                self._due.clear()
                if self._closing:
                    return
                self._checkpoint(db)

    def _checkpoint(self, db: Any) -> None:
        with self._counting:
            self._unchecked_bytes = 0
        try:  # PASSIVE: copies what no reader still needs, never waits for one or a writer
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

    def _write(self, db: Any, batch: list[tuple[list[Any], Future[int]]]) -> int:
        """Commit the batch's rows and answer their futures; the bytes of text written."""
        rows = [row for item, _ in batch for row in item]
        try:
            _with_retries(lambda: deployments.log_predictions(db, rows))
        except Exception as error:  # a full disk or a locked store: no request may succeed
            log.exception("could not write %d prediction log rows", len(rows))
            for _, done in batch:
                done.set_exception(error)
            return 0
        for item, done in batch:
            done.set_result(len(item))
        return sum(len(v) for row in rows for v in row if type(v) is str)


def _lowest_priority() -> None:
    """The calling thread at the lowest CPU priority on Linux, where a thread has its own (on
    other systems the call would change the whole process: it is left as it is)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), LOWEST_PRIORITY)
    except OSError:  # not allowed here: a normal priority only costs the answers some speed
        log.debug("the checkpointer runs at normal priority", exc_info=True)


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
