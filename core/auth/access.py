"""Who is acting on a studio, and the check each write action in core/ makes before it acts."""

from __future__ import annotations

from pathlib import Path

from core.auth.identity import Identity, current, local_user
from core.auth.roles import Permission, require
from core.store import connect, users

SIGNED_OUT = Identity(name="", role="", source="none")


def has_accounts(home: Path) -> bool:
    """Whether this studio has accounts (none: it runs as its one local user, as admin)."""
    with connect(home) as db:
        return users.has_users(db)


def acting_identity(home: Path) -> Identity:
    """The identity established for this context; else the local admin on a studio without
    accounts, or no one (every write refused) on a studio with them."""
    identity = current()
    if identity is not None:
        return identity
    return SIGNED_OUT if has_accounts(home) else local_user()


def authorize(home: Path, permission: Permission) -> Identity:
    """The acting identity, once it is checked to allow ``permission`` (else NotAllowed)."""
    identity = acting_identity(home)
    require(identity if identity.role else None, permission)
    return identity


def acting_name(actor: str) -> str:
    """The signed-in person's name, else ``actor`` (the local user's "ui", "cli" or a policy)."""
    identity = current()
    return identity.name if identity is not None and identity.authenticated else actor


def authorized_actor(home: Path, permission: Permission, actor: str) -> str:
    """Check the acting identity may do ``permission``; the name to record the action under."""
    authorize(home, permission)
    return acting_name(actor)


LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})
OPEN_WITHOUT_SIGN_IN = (
    "The studio would listen on {host}, where others can reach it, but it has no accounts and "
    "no single sign-on, so anyone could use it as admin. First add an admin with "
    "`mlops-studio users add NAME --role admin` (or set up single sign-on, see the README), "
    "or listen on localhost."
)


def check_exposure(home: Path, host: str, *, sso: bool) -> None:
    """Refuse to serve the UI beyond this machine until people must sign in to it."""
    if host.strip().lower() in LOOPBACK_HOSTS or host.startswith("127."):
        return
    from core.settings import database_path

    if sso or (database_path(home).exists() and has_accounts(home)):
        return
    raise ValueError(OPEN_WITHOUT_SIGN_IN.format(host=host))
