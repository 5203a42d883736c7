"""Separation of duties: who trained or registered a version does not approve it, and who
approved a version over its concerns does not also put it into service (an admin may turn
the rule off for the studio; that is recorded)."""

from __future__ import annotations

from pathlib import Path

from core.auth.access import acting_identity, authorize
from core.auth.identity import Identity
from core.auth.roles import NotAllowed, Permission
from core.store import audit, connect, models, runs, users, writing
from core.store.models import ModelVersion

SEPARATION_KEY = "separation_of_duties"
OWN_WORK = (
    "{name} trained or registered {label}, so someone else must approve it (separation of "
    "duties). Ask another reviewer; an admin can turn this rule off in the studio settings."
)
OWN_OVERRIDE = (
    "{name} approved {label} over its concerns, so someone else must put it into service "
    "(separation of duties). Ask an operator; an admin can turn this rule off in the studio "
    "settings."
)


def separation_of_duties(home: Path) -> bool:
    """Whether the rule is on (it is, unless an admin turned it off)."""
    with connect(home) as db:
        return bool(users.setting(db, SEPARATION_KEY, True))


def set_separation_of_duties(home: Path, on: bool, *, reason: str = "") -> None:
    """Turn the rule on or off for the whole studio (admins only; recorded with the reason)."""
    identity = authorize(home, Permission.SETTINGS)
    with connect(home) as db, writing(db):
        users.set_setting(db, SEPARATION_KEY, bool(on), changed_by=identity.name)
        audit.record(
            db, actor=identity.name, action="settings.separation_of_duties",
            entity_type="studio", entity_id=None, details={"on": bool(on), "reason": reason},
        )  # fmt: skip


def _applies(home: Path, identity: Identity) -> bool:
    # one person on their own machine has no one else to ask
    return identity.authenticated and separation_of_duties(home)


def makers_of(home: Path, version: ModelVersion) -> set[str]:
    """Who registered the version and who trained its run."""
    with connect(home) as db:
        run = runs.get(db, version.run_id) if version.run_id is not None else None
    return {version.created_by} | ({run.created_by} if run is not None else set())


def check_may_approve(home: Path, version: ModelVersion) -> None:
    """NotAllowed when the acting person trained or registered ``version``."""
    identity = acting_identity(home)
    if _applies(home, identity) and identity.name in makers_of(home, version):
        raise NotAllowed(OWN_WORK.format(name=identity.name, label=version.label))


def check_may_promote(home: Path, version: ModelVersion) -> None:
    """NotAllowed when the acting person's own approval overrode ``version``'s concerns."""
    identity = acting_identity(home)
    if not _applies(home, identity):
        return
    with connect(home) as db:
        approvals = [r for r in models.reviews_of(db, version.id) if r.decision == "approve"]
    if any(r.override_reason and r.reviewer == identity.name for r in approvals):
        raise NotAllowed(OWN_OVERRIDE.format(name=identity.name, label=version.label))
