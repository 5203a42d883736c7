"""The audit trail as people read it: filtered events for the Audit view, and the chain check."""

from __future__ import annotations

from pathlib import Path

from core.auth.access import authorize
from core.auth.roles import Permission
from core.store import audit, connect
from core.store.audit import AuditEvent, ChainCheck


def verify_chain(home: Path) -> ChainCheck:
    """Check every event's hash and link; the problems say which events were tampered with."""
    authorize(home, Permission.AUDIT)
    with connect(home) as db:
        return audit.verify(db)


def audit_events(
    home: Path,
    *,
    actor: str | None = None,
    action: str | None = None,
    entity_type: str | None = None,
    entity_id: str | None = None,
    since: str | None = None,
    until: str | None = None,
    limit: int = 1000,
) -> list[AuditEvent]:
    """Newest first, filtered by person, action, entity and time (admins and reviewers)."""
    authorize(home, Permission.AUDIT)
    with connect(home) as db:
        return audit.events(
            db, actor=actor, action=action, entity_type=entity_type, entity_id=entity_id,
            since=since, until=until, limit=limit,
        )  # fmt: skip


def audit_filters(home: Path) -> tuple[list[str], list[str], list[str]]:
    """The people, actions and entity types found in the trail (choices for the filters)."""
    authorize(home, Permission.AUDIT)
    with connect(home) as db:
        return audit.people_and_actions(db)
