"""Numbered schema migrations; each runs once, in order, inside a write transaction."""

from __future__ import annotations

from sqlite_utils import Database, Migrations

migrations = Migrations("mlops_studio")


@migrations(name="0001_datasets_jobs_audit")
def _datasets_jobs_audit(db: Database) -> None:
    db.execute(
        """
        CREATE TABLE datasets (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            created_at TEXT NOT NULL
        )"""
    )
    db.execute(
        """
        CREATE TABLE dataset_versions (
            id INTEGER PRIMARY KEY,
            dataset_id INTEGER NOT NULL REFERENCES datasets(id),
            version INTEGER NOT NULL,
            content_hash TEXT NOT NULL,
            artifact_path TEXT NOT NULL,
            source_file_name TEXT,
            row_count INTEGER NOT NULL,
            column_count INTEGER NOT NULL,
            size_bytes INTEGER NOT NULL,
            schema_json TEXT NOT NULL,
            ingest_json TEXT NOT NULL,
            parent_version_id INTEGER REFERENCES dataset_versions(id),
            recipe_id INTEGER,
            created_at TEXT NOT NULL,
            UNIQUE (dataset_id, version),
            UNIQUE (dataset_id, content_hash)
        )"""
    )
    db.execute(
        """
        CREATE TABLE jobs (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL,
            subject TEXT,
            params_json TEXT NOT NULL,
            dedupe_key TEXT,
            status TEXT NOT NULL CHECK (
                status IN ('queued', 'running', 'done', 'failed', 'cancelled')),
            progress REAL NOT NULL DEFAULT 0,
            message TEXT NOT NULL DEFAULT '',
            cancel_requested INTEGER NOT NULL DEFAULT 0,
            pid INTEGER,
            error TEXT,
            result_json TEXT,
            created_by TEXT NOT NULL,
            created_at TEXT NOT NULL,
            started_at TEXT,
            finished_at TEXT
        )"""
    )
    # At most one queued or running job per dedupe key: a rerun cannot start a second copy.
    db.execute(
        "CREATE UNIQUE INDEX jobs_active_dedupe ON jobs(dedupe_key) "
        "WHERE status IN ('queued', 'running') AND dedupe_key IS NOT NULL"
    )
    db.execute("CREATE INDEX jobs_kind_subject ON jobs(kind, subject, id)")
    db.execute(
        """
        CREATE TABLE audit_events (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            entity_type TEXT NOT NULL,
            entity_id TEXT,
            details_json TEXT NOT NULL DEFAULT '{}'
        )"""
    )
    db.execute("CREATE INDEX audit_events_entity ON audit_events(entity_type, entity_id)")


@migrations(name="0002_recipes")
def _recipes(db: Database) -> None:
    db.execute(
        """
        CREATE TABLE recipes (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            version INTEGER NOT NULL,
            content_hash TEXT NOT NULL,
            recipe_json TEXT NOT NULL,
            source_version_id INTEGER REFERENCES dataset_versions(id),
            created_by TEXT NOT NULL,
            created_at TEXT NOT NULL,
            UNIQUE (name, version),
            UNIQUE (name, content_hash)
        )"""
    )
