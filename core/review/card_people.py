"""The model card's people: who trained, registered, reviewed, approved and deployed a version,
each with the role they acted with, from the audit trail."""

from __future__ import annotations

from pathlib import Path

from core import words
from core.store import audit, connect
from core.store.audit import AuditEvent
from core.store.models import ModelVersion

# audit actions in the card's words
WHAT = {
    "run.start": "trained it",
    "run.finish": "trained it",
    "model.register": "registered it",
    "model.review.approve": "approved it",
    "model.review.changes": "asked for changes",
    "model.review.reject": "rejected it",
    "model.intended_use": "wrote its intended use",
    "model.threshold": "set its decision threshold",
    "model.alias": "moved an alias to it",
    "deployment.create": "deployed it",
    "deployment.switch": "switched a service to it",
    "deployment.rollback": "rolled a service back to it",
}
SCAN = 2000  # the newest events looked through for a version's deployments


def people_rows(home: Path, version: ModelVersion) -> list[tuple[str, str, str]]:
    """(when, who (role), what) for each recorded step of the version's life, oldest first."""
    with connect(home) as db:
        found = audit.events(db, entity_type="model_version", entity_id=str(version.id))
        found += audit.events(db, entity_type="run", entity_id=str(version.run_id))
        found += [
            event
            for event in audit.events(db, entity_type="deployment", limit=SCAN)
            if event.details.get("version") == version.label
        ]
    return [_row(event) for event in sorted(found, key=lambda e: e.id) if event.action in WHAT]


def _row(event: AuditEvent) -> tuple[str, str, str]:
    who = f"{event.actor} ({event.role})" if event.role else event.actor
    return words.when(event.at), who, WHAT[event.action]
