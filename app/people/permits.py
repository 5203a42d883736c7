"""What the person at the screen may press: an action their role does not allow is greyed out,
and its tooltip names the role it needs (core refuses it anyway; this only says so first)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from app.people.signin import IDENTITY
from core.auth import Identity, Permission, roles_with
from core.auth.access import acting_identity
from core.auth.roles import allows
from core.settings import studio_home


def _identity() -> Identity:
    found = st.session_state.get(IDENTITY)
    return found if isinstance(found, Identity) else acting_identity(studio_home())


def why_not(permission: Permission) -> str | None:
    """The tooltip of an action this person may not take (None when they may)."""
    identity = _identity()
    if allows(identity.role, permission):
        return None
    needed = " or ".join(roles_with(permission))
    if not identity.role:
        return f"Sign in to {permission.value}: that needs the {needed} role."
    return f"Only the {needed} role may {permission.value}; you are signed in as {identity.role}."


def guarded(
    permission: Permission, *, disabled: bool = False, help: str | None = None
) -> dict[str, Any]:
    """A button's ``disabled`` and ``help`` for an action that needs ``permission``: greyed
    out, saying which role it needs, for a person whose role does not allow it."""
    reason = why_not(permission)
    return {"disabled": disabled or reason is not None, "help": reason or help}
