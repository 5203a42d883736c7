"""The store: WAL and busy timeout, migrations once, write transactions, concurrent writers."""

import threading
from pathlib import Path

import pytest

from core.store import audit, connect, datasets, writing
from core.store.migrations import migrations


def test_new_store_uses_wal_busy_timeout_and_all_migrations(studio_home: Path) -> None:
    with connect(studio_home) as db:
        assert db.journal_mode == "wal"
        assert db.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000
        assert {"datasets", "dataset_versions", "jobs", "audit_events"} <= set(db.table_names())
        assert migrations.pending(db) == []
        applied = [m.name for m in migrations.applied(db)]
    assert applied == sorted(applied) and applied[0].startswith("0001_")
    assert (studio_home / "studio.db").exists() and (studio_home / "artifacts").is_dir()


def test_reopening_does_not_reapply_migrations(studio_home: Path) -> None:
    for _ in range(3):
        with connect(studio_home) as db:
            count = db.execute("SELECT COUNT(*) FROM _sqlite_migrations").fetchone()[0]
    assert count == len(migrations._migrations)


def test_failed_write_rolls_back_everything(studio_home: Path) -> None:
    with connect(studio_home) as db:
        with pytest.raises(RuntimeError), writing(db):
            datasets.id_for_name(db, "kept?")
            raise RuntimeError("boom")
        assert db.execute("SELECT COUNT(*) FROM datasets").fetchone()[0] == 0


def test_concurrent_writers_wait_instead_of_failing(studio_home: Path) -> None:
    with connect(studio_home):
        pass
    errors: list[Exception] = []

    def add(index: int) -> None:
        try:
            with connect(studio_home) as db:
                for n in range(20):
                    audit.record(db, actor=f"t{index}", action="test", entity_type="x", entity_id=n)
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=add, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with connect(studio_home) as db:
        assert len(audit.events(db, limit=500)) == 80
