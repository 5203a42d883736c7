"""The store: WAL and busy timeout, migrations once, write transactions, records round-trip."""

import sqlite3
import threading
from pathlib import Path

import pytest

from core.data.schema import ColumnSchema
from core.store import connect, writing
from core.store import records as store
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
            store.dataset_id_for_name(db, "kept?")
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
                    store.record_event(
                        db, actor=f"t{index}", action="test", entity_type="x", entity_id=n
                    )
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=add, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with connect(studio_home) as db:
        assert len(store.audit_events(db, limit=500)) == 80


def _new_version(content_hash: str) -> store.NewDatasetVersion:
    return store.NewDatasetVersion(
        content_hash=content_hash,
        artifact_path=f"datasets/{content_hash}.parquet",
        source_file_name="x.csv",
        row_count=3,
        column_count=1,
        size_bytes=10,
        schema=[ColumnSchema("a", "int64", "numeric")],
        ingest={"format": "csv"},
    )


def test_dataset_versions_number_up_and_hash_is_unique_per_dataset(studio_home: Path) -> None:
    with connect(studio_home) as db:
        dataset_id = store.dataset_id_for_name(db, "loans")
        first = store.add_dataset_version(db, dataset_id=dataset_id, new=_new_version("h1"))
        second = store.add_dataset_version(db, dataset_id=dataset_id, new=_new_version("h2"))
        with pytest.raises(sqlite3.IntegrityError):
            store.add_dataset_version(db, dataset_id=dataset_id, new=_new_version("h1"))
        versions = store.dataset_versions(db, dataset_id)
        assert [v.version for v in versions] == [1, 2]
        assert [v.id for v in versions] == [first, second]
        assert store.latest_dataset_version(db, "loans").id == second
        assert store.version_with_hash(db, dataset_id, "h1").id == first
        assert store.list_datasets(db)[0].version_count == 2
        assert store.get_dataset_version(db, first).schema[0] == ColumnSchema(
            "a", "int64", "numeric"
        )


def test_only_one_active_job_per_dedupe_key(studio_home: Path) -> None:
    with connect(studio_home) as db:
        first, created = store.insert_job(
            db, kind="k", subject="s", params={}, dedupe_key="same", created_by="t"
        )
        again, created_again = store.insert_job(
            db, kind="k", subject="s", params={}, dedupe_key="same", created_by="t"
        )
        assert created and not created_again and again.id == first.id
        store.finish_job(db, first.id, status="done", message="Done", result={"x": 1})
        fresh, created_fresh = store.insert_job(
            db, kind="k", subject="s", params={}, dedupe_key="same", created_by="t"
        )
        assert created_fresh and fresh.id != first.id
        done = store.get_job(db, first.id)
        assert done.status == "done" and done.progress == 1 and done.result == {"x": 1}
        # an ended job is never overwritten
        store.finish_job(db, first.id, status="failed", message="late")
        assert store.get_job(db, first.id).status == "done"
