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


@migrations(name="0003_runs_models")
def _runs_models(db: Database) -> None:
    db.execute(
        """
        CREATE TABLE runs (
            id INTEGER PRIMARY KEY,
            parent_id INTEGER REFERENCES runs(id) ON DELETE CASCADE,
            job_id INTEGER REFERENCES jobs(id),
            experiment TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('model', 'trial')),
            status TEXT NOT NULL CHECK (
                status IN ('running', 'done', 'failed', 'cancelled', 'pruned')),
            model TEXT NOT NULL,
            task TEXT NOT NULL,
            target TEXT NOT NULL,
            dataset_version_id INTEGER REFERENCES dataset_versions(id),
            recipe_id INTEGER REFERENCES recipes(id),
            strategy TEXT,
            metric TEXT NOT NULL,
            score REAL,
            score_std REAL,
            holdout_score REAL,
            params_json TEXT NOT NULL DEFAULT '{}',
            metrics_json TEXT NOT NULL DEFAULT '{}',
            plan_json TEXT NOT NULL DEFAULT '{}',
            environment_json TEXT NOT NULL DEFAULT '{}',
            tags_json TEXT NOT NULL DEFAULT '[]',
            notes TEXT NOT NULL DEFAULT '',
            seed INTEGER,
            fit_seconds REAL,
            duration_seconds REAL,
            size_bytes INTEGER,
            predict_ms REAL,
            artifact_path TEXT,
            artifact_sha256 TEXT,
            archived INTEGER NOT NULL DEFAULT 0,
            error TEXT,
            created_by TEXT NOT NULL,
            created_at TEXT NOT NULL,
            finished_at TEXT
        )"""
    )
    db.execute("CREATE INDEX runs_listing ON runs(kind, archived, id)")
    db.execute("CREATE INDEX runs_parent ON runs(parent_id, id)")
    db.execute("CREATE INDEX runs_job ON runs(job_id, status)")
    # plots and search details are read one run at a time; kept apart so listings stay light
    db.execute(
        """
        CREATE TABLE run_details (
            run_id INTEGER PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
            evaluation_json TEXT NOT NULL DEFAULT '{}',
            search_json TEXT NOT NULL DEFAULT '{}',
            features_json TEXT NOT NULL DEFAULT '[]'
        )"""
    )
    db.execute(
        """
        CREATE TABLE models (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            description TEXT NOT NULL DEFAULT '',
            created_by TEXT NOT NULL,
            created_at TEXT NOT NULL
        )"""
    )
    db.execute(
        """
        CREATE TABLE model_versions (
            id INTEGER PRIMARY KEY,
            model_id INTEGER NOT NULL REFERENCES models(id),
            version INTEGER NOT NULL,
            run_id INTEGER NOT NULL REFERENCES runs(id),
            artifact_path TEXT NOT NULL,
            artifact_sha256 TEXT NOT NULL,
            onnx_path TEXT,
            onnx_sha256 TEXT,
            onnx_json TEXT NOT NULL DEFAULT '{}',
            review_state TEXT NOT NULL DEFAULT 'not reviewed',
            created_by TEXT NOT NULL,
            created_at TEXT NOT NULL,
            UNIQUE (model_id, version),
            UNIQUE (model_id, run_id)
        )"""
    )
    db.execute(
        """
        CREATE TABLE model_aliases (
            model_id INTEGER NOT NULL REFERENCES models(id),
            alias TEXT NOT NULL,
            version_id INTEGER NOT NULL REFERENCES model_versions(id),
            updated_by TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (model_id, alias)
        )"""
    )


@migrations(name="0004_reviews")
def _reviews(db: Database) -> None:
    db.execute(
        """
        CREATE TABLE reviews (
            id INTEGER PRIMARY KEY,
            model_version_id INTEGER NOT NULL REFERENCES model_versions(id),
            reviewer TEXT NOT NULL,
            decision TEXT NOT NULL CHECK (decision IN ('approve', 'changes', 'reject')),
            comment TEXT NOT NULL,
            checklist_json TEXT NOT NULL DEFAULT '{}',
            evidence_json TEXT NOT NULL DEFAULT '{}',
            created_at TEXT NOT NULL
        )"""
    )
    db.execute("CREATE INDEX reviews_version ON reviews(model_version_id, id)")
    db.execute("ALTER TABLE model_versions ADD COLUMN intended_use TEXT NOT NULL DEFAULT ''")


@migrations(name="0005_deployments_predictions")
def _deployments_predictions(db: Database) -> None:
    db.execute(
        """
        CREATE TABLE deployments (
            id INTEGER PRIMARY KEY,
            model_version_id INTEGER NOT NULL REFERENCES model_versions(id),
            previous_version_id INTEGER REFERENCES model_versions(id),
            mode TEXT NOT NULL DEFAULT 'live' CHECK (mode IN ('live', 'shadow')),
            host TEXT NOT NULL,
            port INTEGER NOT NULL,
            workers INTEGER NOT NULL DEFAULT 1,
            status TEXT NOT NULL,
            desired TEXT NOT NULL DEFAULT 'running',
            foreground INTEGER NOT NULL DEFAULT 0,
            supervisor_pid INTEGER,
            server_pid INTEGER,
            api_key_hash TEXT,
            key_hint TEXT NOT NULL DEFAULT '',
            key_created_at TEXT,
            key_revoked_at TEXT,
            restarts INTEGER NOT NULL DEFAULT 0,
            last_error TEXT,
            log_path TEXT NOT NULL,
            created_by TEXT NOT NULL,
            created_at TEXT NOT NULL,
            started_at TEXT,
            stopped_at TEXT
        )"""
    )
    db.execute(
        """
        CREATE TABLE predictions (
            id INTEGER PRIMARY KEY,
            deployment_id INTEGER REFERENCES deployments(id),
            model_version_id INTEGER,
            request_id TEXT NOT NULL UNIQUE,
            created_at REAL NOT NULL,
            latency_ms REAL NOT NULL,
            status INTEGER NOT NULL DEFAULT 200,
            rows INTEGER NOT NULL DEFAULT 0,
            inputs TEXT,
            predictions TEXT,
            probabilities TEXT,
            unseen TEXT,
            error TEXT
        )"""
    )
    db.execute("CREATE INDEX predictions_deployment_time ON predictions(deployment_id, created_at)")
    db.execute("CREATE INDEX predictions_deployment_id ON predictions(deployment_id, id)")
    db.execute(
        """
        CREATE TABLE prediction_labels (
            request_id TEXT NOT NULL,
            row INTEGER NOT NULL,
            deployment_id INTEGER REFERENCES deployments(id),
            label TEXT NOT NULL,
            labelled_at REAL NOT NULL,
            PRIMARY KEY (request_id, row)
        )"""
    )
    db.execute(
        "CREATE INDEX prediction_labels_time ON prediction_labels(deployment_id, labelled_at)"
    )


@migrations(name="0006_monitoring")
def _monitoring(db: Database) -> None:
    db.execute(
        """
        CREATE TABLE monitor_windows (
            deployment_id INTEGER NOT NULL REFERENCES deployments(id),
            window_start REAL NOT NULL,
            requests INTEGER NOT NULL DEFAULT 0,
            rows INTEGER NOT NULL DEFAULT 0,
            errors INTEGER NOT NULL DEFAULT 0,
            latency_json TEXT NOT NULL DEFAULT '[]',
            predictions_json TEXT NOT NULL DEFAULT '{}',
            unseen_rows INTEGER NOT NULL DEFAULT 0,
            labelled INTEGER NOT NULL DEFAULT 0,
            label_score REAL NOT NULL DEFAULT 0,
            PRIMARY KEY (deployment_id, window_start)
        )"""
    )
    db.execute(
        """
        CREATE TABLE monitor_metrics (
            id INTEGER PRIMARY KEY,
            deployment_id INTEGER NOT NULL REFERENCES deployments(id),
            window_start REAL NOT NULL,
            window_end REAL NOT NULL,
            feature TEXT NOT NULL,
            metric TEXT NOT NULL,
            value REAL,
            threshold REAL,
            flagged INTEGER NOT NULL DEFAULT 0,
            details_json TEXT NOT NULL DEFAULT '{}'
        )"""
    )
    db.execute(
        "CREATE INDEX monitor_metrics_window ON monitor_metrics(deployment_id, window_start)"
    )
    db.execute(
        """
        CREATE TABLE monitor_state (
            deployment_id INTEGER PRIMARY KEY REFERENCES deployments(id),
            last_prediction_id INTEGER NOT NULL DEFAULT 0,
            last_labelled_at REAL NOT NULL DEFAULT 0,
            last_drift_end REAL NOT NULL DEFAULT 0
        )"""
    )
    db.execute(
        """
        CREATE TABLE alert_rules (
            id INTEGER PRIMARY KEY,
            deployment_id INTEGER NOT NULL REFERENCES deployments(id),
            metric TEXT NOT NULL,
            comparison TEXT NOT NULL CHECK (comparison IN ('above', 'below')),
            threshold REAL NOT NULL,
            window_minutes INTEGER NOT NULL,
            severity TEXT NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
            enabled INTEGER NOT NULL DEFAULT 1,
            created_at TEXT NOT NULL
        )"""
    )
    db.execute(
        """
        CREATE TABLE alerts (
            id INTEGER PRIMARY KEY,
            deployment_id INTEGER NOT NULL REFERENCES deployments(id),
            rule_id INTEGER REFERENCES alert_rules(id),
            metric TEXT NOT NULL,
            severity TEXT NOT NULL,
            value REAL,
            threshold REAL,
            message TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('open', 'cleared')),
            acknowledged_by TEXT,
            acknowledged_at TEXT,
            opened_at TEXT NOT NULL,
            cleared_at TEXT
        )"""
    )
    db.execute("CREATE INDEX alerts_open ON alerts(status, deployment_id)")


@migrations(name="0007_retraining")
def _retraining(db: Database) -> None:
    db.execute(
        """
        CREATE TABLE retrain_policies (
            id INTEGER PRIMARY KEY,
            deployment_id INTEGER NOT NULL REFERENCES deployments(id),
            name TEXT NOT NULL,
            enabled INTEGER NOT NULL DEFAULT 1,
            triggers_json TEXT NOT NULL DEFAULT '{}',
            action_json TEXT NOT NULL DEFAULT '{}',
            cooldown_minutes REAL NOT NULL DEFAULT 60,
            created_by TEXT NOT NULL,
            created_at TEXT NOT NULL,
            last_fired_at REAL
        )"""
    )
    db.execute(
        """
        CREATE TABLE retrain_runs (
            id INTEGER PRIMARY KEY,
            policy_id INTEGER REFERENCES retrain_policies(id),
            deployment_id INTEGER NOT NULL REFERENCES deployments(id),
            status TEXT NOT NULL,
            dry_run INTEGER NOT NULL DEFAULT 0,
            triggers_json TEXT NOT NULL DEFAULT '[]',
            job_id INTEGER REFERENCES jobs(id),
            champion_version_id INTEGER,
            challenger_version_id INTEGER,
            dataset_version_id INTEGER,
            metric TEXT,
            champion_score REAL,
            challenger_score REAL,
            decision TEXT,
            details_json TEXT NOT NULL DEFAULT '{}',
            steps_json TEXT NOT NULL DEFAULT '[]',
            error TEXT,
            created_by TEXT NOT NULL,
            created_at TEXT NOT NULL,
            finished_at TEXT
        )"""
    )
    db.execute("CREATE INDEX retrain_runs_deployment ON retrain_runs(deployment_id, id)")
    db.execute("ALTER TABLE deployments ADD COLUMN shadow_version_id INTEGER")
    db.execute(
        """
        CREATE TABLE shadow_predictions (
            id INTEGER PRIMARY KEY,
            deployment_id INTEGER NOT NULL REFERENCES deployments(id),
            model_version_id INTEGER NOT NULL,
            request_id TEXT NOT NULL,
            created_at REAL NOT NULL,
            latency_ms REAL NOT NULL,
            rows INTEGER NOT NULL,
            predictions TEXT NOT NULL,
            probabilities TEXT
        )"""
    )
    db.execute(
        "CREATE INDEX shadow_predictions_time ON shadow_predictions(deployment_id, created_at)"
    )


@migrations(name="0008_job_worker_start")
def _job_worker_start(db: Database) -> None:
    # with the pid, when the worker started tells it from a later process given the same pid
    db.execute("ALTER TABLE jobs ADD COLUMN pid_start_ticks INTEGER")


@migrations(name="0009_review_records")
def _review_records(db: Database) -> None:
    # one saved review per row, whoever ran it (Review page, CLI, retrain): the record the card,
    # sign-off and every page read; a review job finished before this table is copied in
    db.execute(
        """
        CREATE TABLE review_records (
            id INTEGER PRIMARY KEY,
            model_version_id INTEGER NOT NULL REFERENCES model_versions(id),
            path TEXT NOT NULL,
            sha256 TEXT NOT NULL,
            passed INTEGER NOT NULL,
            failing_json TEXT NOT NULL DEFAULT '[]',
            settings_key TEXT,
            source TEXT NOT NULL,
            created_by TEXT NOT NULL,
            created_at TEXT NOT NULL
        )"""
    )
    db.execute("CREATE INDEX review_records_version ON review_records(model_version_id, id)")
    db.execute(
        """
        INSERT INTO review_records (model_version_id, path, sha256, passed, settings_key, source,
            created_by, created_at)
        SELECT CAST(substr(subject, 15) AS INTEGER), json_extract(result_json, '$.path'),
            json_extract(result_json, '$.sha256'),
            COALESCE(json_extract(result_json, '$.passed'), 0),
            json_extract(result_json, '$.key'), 'the Review page', created_by,
            COALESCE(finished_at, created_at)
        FROM jobs
        WHERE kind = 'review_model_version' AND status = 'done' AND subject LIKE 'model_version:%'
            AND json_extract(result_json, '$.path') IS NOT NULL
        ORDER BY id"""
    )
    db.execute("ALTER TABLE reviews ADD COLUMN override_reason TEXT")


@migrations(name="0010_decision_threshold")
def _decision_threshold(db: Database) -> None:
    # chosen on the holdout in Review, served with the version (NULL: the most probable class)
    db.execute("ALTER TABLE model_versions ADD COLUMN decision_threshold REAL")
    db.execute("ALTER TABLE model_versions ADD COLUMN threshold_basis TEXT NOT NULL DEFAULT ''")


_JOB_COLUMNS = (
    "id, kind, subject, params_json, dedupe_key, status, progress, message, cancel_requested, "
    "pid, error, result_json, created_by, created_at, started_at, finished_at, pid_start_ticks"
)


@migrations(name="0011_job_queue")
def _job_queue(db: Database) -> None:
    # The local pool: 'queued' now waits for a free slot; a claimed job is 'starting' until its
    # worker begins it. SQLite cannot widen a CHECK in place, so the table is rebuilt; the
    # foreign keys pointing at it (runs, retrain runs) are checked at commit, by which time
    # every job row is back under its old id.
    db.execute("PRAGMA defer_foreign_keys = ON")
    db.execute(f"CREATE TEMP TABLE jobs_before_queue AS SELECT {_JOB_COLUMNS} FROM jobs")
    db.execute("DROP TABLE jobs")
    db.execute(
        """
        CREATE TABLE jobs (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL,
            subject TEXT,
            params_json TEXT NOT NULL,
            dedupe_key TEXT,
            status TEXT NOT NULL CHECK (
                status IN ('queued', 'starting', 'running', 'done', 'failed', 'cancelled')),
            progress REAL NOT NULL DEFAULT 0,
            message TEXT NOT NULL DEFAULT '',
            cancel_requested INTEGER NOT NULL DEFAULT 0,
            pid INTEGER,
            error TEXT,
            result_json TEXT,
            created_by TEXT NOT NULL,
            created_at TEXT NOT NULL,
            started_at TEXT,
            finished_at TEXT,
            pid_start_ticks INTEGER,
            needs_slot INTEGER NOT NULL DEFAULT 1,
            claimed_at TEXT
        )"""
    )
    db.execute(f"INSERT INTO jobs ({_JOB_COLUMNS}) SELECT {_JOB_COLUMNS} FROM jobs_before_queue")
    db.execute("DROP TABLE jobs_before_queue")
    # a queued job that already had a worker spawned for it (before the pool) is starting
    db.execute(
        "UPDATE jobs SET status = 'starting', claimed_at = created_at "
        "WHERE status = 'queued' AND pid IS NOT NULL"
    )
    db.execute(
        "CREATE UNIQUE INDEX jobs_active_dedupe ON jobs(dedupe_key) "
        "WHERE status IN ('queued', 'starting', 'running') AND dedupe_key IS NOT NULL"
    )
    db.execute("CREATE INDEX jobs_kind_subject ON jobs(kind, subject, id)")
    db.execute("CREATE INDEX jobs_by_status ON jobs(status, id)")


@migrations(name="0012_job_compute")
def _job_compute(db: Database) -> None:
    # where a job or run did its work: this machine or a Dask cluster, its workers, any notice
    db.execute("ALTER TABLE jobs ADD COLUMN compute_json TEXT")
    db.execute("ALTER TABLE runs ADD COLUMN compute_json TEXT")


@migrations(name="0014_security")
def _security(db: Database) -> None:
    # serving hardening a security review can require, followed live by the running service:
    # requests per second per API key (NULL: no limit) and the burst its bucket holds, the
    # decimals probabilities are rounded to (NULL: full precision) and answers with labels only
    db.execute("ALTER TABLE deployments ADD COLUMN rate_limit REAL")
    db.execute("ALTER TABLE deployments ADD COLUMN rate_burst INTEGER")
    db.execute("ALTER TABLE deployments ADD COLUMN round_decimals INTEGER")
    db.execute("ALTER TABLE deployments ADD COLUMN labels_only INTEGER NOT NULL DEFAULT 0")
    # each answered row's inputs outside the training ranges or unseen categories (JSON lists
    # per row, NULL when none) and how many rows were flagged, for Monitor's chart
    db.execute("ALTER TABLE predictions ADD COLUMN ood TEXT")
    db.execute("ALTER TABLE predictions ADD COLUMN ood_rows INTEGER NOT NULL DEFAULT 0")


@migrations(name="0015_fast_path")
def _fast_path(db: Database) -> None:
    # the NumPy fast path's check at registration (ok, reason, rows compared); '{}' for
    # versions registered before it, which are served by ONNX or the pipeline as before
    db.execute("ALTER TABLE model_versions ADD COLUMN fast_path_json TEXT NOT NULL DEFAULT '{}'")


@migrations(name="0016_users_sessions_tokens")
def _users_sessions_tokens(db: Database) -> None:
    # accounts (argon2id password hashes only), personal access tokens and sign-in sessions
    # (SHA-256 of high-entropy secrets: the secrets themselves are never stored)
    db.execute(
        """
        CREATE TABLE users (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE COLLATE NOCASE,
            role TEXT NOT NULL,
            password_hash TEXT,
            failed_sign_ins INTEGER NOT NULL DEFAULT 0,
            locked_until TEXT,
            created_by TEXT NOT NULL,
            created_at TEXT NOT NULL
        )"""
    )
    db.execute(
        """
        CREATE TABLE access_tokens (
            id INTEGER PRIMARY KEY,
            user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            label TEXT NOT NULL,
            token_hash TEXT NOT NULL UNIQUE,
            created_at TEXT NOT NULL,
            expires_at TEXT,
            revoked_at TEXT,
            last_used_at TEXT
        )"""
    )
    db.execute(
        """
        CREATE TABLE sessions (
            id INTEGER PRIMARY KEY,
            user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            session_hash TEXT NOT NULL UNIQUE,
            created_at TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            ended_at TEXT
        )"""
    )
    db.execute(
        """
        CREATE TABLE studio_settings (
            key TEXT PRIMARY KEY,
            value_json TEXT NOT NULL,
            changed_by TEXT NOT NULL,
            changed_at TEXT NOT NULL
        )"""
    )
    # the audit chain: the role each event was done with, and each row's SHA-256 over its
    # content and the hash of the row before (rows recorded before this stay unchained: NULL)
    db.execute("ALTER TABLE audit_events ADD COLUMN role TEXT NOT NULL DEFAULT ''")
    db.execute("ALTER TABLE audit_events ADD COLUMN prev_hash TEXT")
    db.execute("ALTER TABLE audit_events ADD COLUMN hash TEXT")
