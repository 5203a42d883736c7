"""Opening the store: a connection per unit of work, WAL, busy timeout, migrations once."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlite_utils import Database

from core.settings import artifacts_dir, database_path

BUSY_TIMEOUT_MS = 10_000
_migrated: set[Path] = set()
_migrate_lock = threading.Lock()


def _open(path: Path) -> Database:
    # check_same_thread stays on: a connection must never cross a thread.
    # No sqlite-utils plugins: the store's connection runs only the studio's code, and finding
    # plugins scans every installed package's entry points (~50 ms of each command).
    db = Database(path, execute_plugins=False)
    db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    db.execute("PRAGMA foreign_keys = ON")
    db.execute("PRAGMA synchronous = NORMAL")
    return db


def _ensure_migrated(db: Database, path: Path) -> None:
    from core.store.migrations import migrations

    with _migrate_lock:
        if path in _migrated:
            return
        if db.journal_mode != "wal":
            db.enable_wal()
        with writing(db):
            migrations.apply(db)
        _migrated.add(path)


@contextmanager
def connect(home: Path) -> Iterator[Database]:
    """Open the store under ``home`` (creating it and applying migrations) for one unit of work."""
    home.mkdir(parents=True, exist_ok=True)
    artifacts_dir(home).mkdir(exist_ok=True)
    path = database_path(home).resolve()
    db = _open(path)
    try:
        _ensure_migrated(db, path)
        yield db
    finally:
        db.close()


@contextmanager
def writing(db: Database) -> Iterator[Database]:
    """A write transaction that takes the write lock up front (``BEGIN IMMEDIATE``)."""
    if db.conn.in_transaction:
        with db.atomic():
            yield db
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.rollback()
        raise
    db.execute("COMMIT")


def write_without_waiting(db: Database) -> None:
    """Make this connection a busy writer's: a locked store fails at once (the caller retries
    on its own, faster clock) and nothing is checkpointed inside its commits (it calls
    :func:`checkpoint` when it has answered whoever waited)."""
    db.execute("PRAGMA busy_timeout = 0")
    db.execute("PRAGMA wal_autocheckpoint = 0")


def checkpoint(db: Database) -> None:
    """Copy the write-ahead log into the store as far as no reader still needs it; never waits
    for a reader (PASSIVE). Raises sqlite3.OperationalError when the store is busy."""
    db.execute("PRAGMA wal_checkpoint(PASSIVE)")
