"""What each kind of job needs permission for, and who a job's worker acts as."""

from __future__ import annotations

from pathlib import Path

from core.auth.identity import Identity, studio_itself
from core.auth.roles import Permission
from core.store import connect, users

# a kind not listed needs the admin's permission to change settings: nothing new is open by
# default
JOB_PERMISSIONS: dict[str, Permission] = {
    "profile_report": Permission.READ,
    "profile_dataset": Permission.READ,
    "import_upload": Permission.IMPORT,
    "import_samples": Permission.IMPORT,
    "prepare_dataset": Permission.PREPARE,
    "train": Permission.TRAIN,
    "review_model_version": Permission.REVIEW,
    "explain_model_version": Permission.EXPLAIN,
    "security_review": Permission.REVIEW,
    "mitigate": Permission.TRAIN,
    "batch_score": Permission.DEPLOY,
    "retrain": Permission.POLICIES,
    "seed_demo": Permission.SETTINGS,
    "sample_traffic": Permission.DEPLOY,
    "sleep": Permission.READ,
}


def job_permission(kind: str) -> Permission:
    return JOB_PERMISSIONS.get(kind, Permission.SETTINGS)


def job_identity(home: Path, created_by: str) -> Identity | None:
    """Who a job's worker acts as: its submitter, with their role now (the submission was
    checked); the studio itself for its own automation; None when there are no accounts."""
    with connect(home) as db:
        if not users.has_users(db):
            return None
        account = users.user_named(db, created_by)
    if account is None:
        return studio_itself(created_by)
    return Identity(name=account.name, role=account.role, source="job")
