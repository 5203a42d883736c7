"""Roles and their permissions, and the one check every write action in core/ goes through."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.auth.identity import Identity


class Permission(StrEnum):
    """One thing a person may do in the studio, in the user's words."""

    READ = "read everything"
    DOWNLOAD_CARD = "download model cards"
    IMPORT = "import datasets"
    PREPARE = "prepare datasets"
    TRAIN = "train models"
    REGISTER = "register model versions"
    EXPLAIN = "explain models"
    REVIEW = "run reviews"
    SIGN_OFF = "sign off model versions"
    DEPLOY = "deploy and stop services"
    SWITCH = "switch a service's model version"
    ROLL_BACK = "roll back a service"
    KEYS = "rotate and revoke API keys"
    POLICIES = "change retraining policies"
    ALERTS = "acknowledge and set alerts"
    SHADOW = "start and stop shadow models"
    LABELS = "send true labels"
    USERS = "add and remove users"
    ROLES = "change users' roles"
    SETTINGS = "change studio settings"
    AUDIT = "read the audit trail"


VIEWER = "viewer"
DATA_SCIENTIST = "data scientist"
REVIEWER = "reviewer"
OPERATOR = "operator"
ADMIN = "admin"

# viewer: read everything and download cards; every other role adds its own actions to that
VIEWER_PERMISSIONS: frozenset[Permission] = frozenset({Permission.READ, Permission.DOWNLOAD_CARD})
# data scientist: import, prepare, train, register, explain, send true labels
DATA_SCIENTIST_PERMISSIONS: frozenset[Permission] = VIEWER_PERMISSIONS | {
    Permission.IMPORT,
    Permission.PREPARE,
    Permission.TRAIN,
    Permission.REGISTER,
    Permission.EXPLAIN,
    Permission.LABELS,
}
# reviewer: run reviews, sign off (and read the audit trail a review meeting checks)
REVIEWER_PERMISSIONS: frozenset[Permission] = VIEWER_PERMISSIONS | {
    Permission.REVIEW,
    Permission.SIGN_OFF,
    Permission.AUDIT,
}
# operator: deploy, switch, roll back, keys, policies, alerts, shadow, send true labels
OPERATOR_PERMISSIONS: frozenset[Permission] = VIEWER_PERMISSIONS | {
    Permission.LABELS,
    Permission.DEPLOY,
    Permission.SWITCH,
    Permission.ROLL_BACK,
    Permission.KEYS,
    Permission.POLICIES,
    Permission.ALERTS,
    Permission.SHADOW,
}
# admin: users, roles, settings, and everything the other roles may do (one person on their
# own machine is the admin, so nothing they could do before is taken away)
ADMIN_PERMISSIONS: frozenset[Permission] = frozenset(Permission)

ROLES: dict[str, frozenset[Permission]] = {
    VIEWER: VIEWER_PERMISSIONS,
    DATA_SCIENTIST: DATA_SCIENTIST_PERMISSIONS,
    REVIEWER: REVIEWER_PERMISSIONS,
    OPERATOR: OPERATOR_PERMISSIONS,
    ADMIN: ADMIN_PERMISSIONS,
}

UNKNOWN_ROLE = "There is no role called {role!r}. Choose one of: {roles}."
JOB = "job"  # the source of a job worker's identity (core.auth.jobs)
REFUSED = "{name} ({role}) may not {permission}: that needs the {needed} role."
REFUSED_SIGNED_OUT = "Sign in to {permission}: that needs the {needed} role."


class NotAllowed(PermissionError, ValueError):
    """A person tried something their role does not allow; the message names the role needed.
    (A ValueError too: every place that shows a bad input's message shows this one as well.)"""


def check_role(role: str) -> str:
    """``role`` if it is one of the studio's roles, else a ValueError listing them."""
    cleaned = role.strip().lower().replace("_", " ").replace("-", " ")
    if cleaned not in ROLES:
        raise ValueError(UNKNOWN_ROLE.format(role=role, roles=", ".join(ROLES)))
    return cleaned


def roles_with(permission: Permission) -> list[str]:
    """The roles that may do ``permission``, narrowest first (admin may do everything)."""
    return [role for role, allowed in ROLES.items() if permission in allowed]


def allows(role: str, permission: Permission) -> bool:
    return permission in ROLES.get(role, frozenset())


def require(identity: Identity | None, permission: Permission) -> None:
    """Raise NotAllowed, naming the role needed, unless ``identity``'s role allows this (a
    job's worker does every step its job needs: the job was checked when it was submitted, so
    an operator's retrain may register and review the challenger it trains)."""
    if identity is not None and (identity.source == JOB or allows(identity.role, permission)):
        return
    needed = " or ".join(roles_with(permission))
    if identity is None or not identity.role:
        raise NotAllowed(REFUSED_SIGNED_OUT.format(permission=permission.value, needed=needed))
    raise NotAllowed(
        REFUSED.format(
            name=identity.name, role=identity.role, permission=permission.value, needed=needed
        )
    )
