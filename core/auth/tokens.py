"""Personal access tokens for the CLI and automation: shown once, stored hashed, revocable."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from core.auth.access import acting_identity, has_accounts
from core.auth.identity import Identity, local_user
from core.auth.roles import ADMIN, Permission, require
from core.store import audit, connect, users, writing
from core.store.users import AccessToken

TOKEN_ENV = "MLOPS_STUDIO_TOKEN"
PREFIX = "mls_"
DEFAULT_DAYS = 90
MAX_DAYS = 366

NO_ACCOUNTS = (
    "This studio has no accounts, so it needs no token. Add the first admin with "
    "`mlops-studio users add NAME --role admin` to start using tokens."
)
SIGN_IN_FIRST = f"Use a personal access token (set ${TOKEN_ENV}) to manage tokens."
TOKEN_MISSING = (
    f"This studio has accounts: set ${TOKEN_ENV} to a personal access token. Create one in the "
    "studio (your account page) or ask an admin for one."
)
TOKEN_UNKNOWN = (
    f"The token in ${TOKEN_ENV} is not one this studio issued (a token from another studio, or "
    "mistyped). Create a new one with `mlops-studio token create`."
)
TOKEN_EXPIRED = (
    f"The token in ${TOKEN_ENV} expired on {{date}}. Create a new one with "
    "`mlops-studio token create`."
)
TOKEN_REVOKED = (
    f"The token in ${TOKEN_ENV} was revoked on {{date}}. Create a new one with "
    "`mlops-studio token create`."
)
BAD_DAYS = f"A token lasts from 1 to {MAX_DAYS} days."
NO_SUCH_TOKEN = "There is no token {token_id} of yours. `mlops-studio token list` shows them."


class NotSignedIn(ValueError):
    """No identity could be established (a missing, unknown, expired or revoked token)."""


@dataclass(frozen=True)
class NewToken:
    """A token just created: ``secret`` is shown this once and never stored."""

    token: AccessToken
    secret: str

    def to_dict(self) -> dict[str, object]:
        return {**self.token.to_dict(), "token": self.secret}


def token_hash(secret: str) -> str:
    # a 256-bit random secret needs no slow hash: SHA-256 cannot be reversed or guessed
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _signed_in(home: Path) -> Identity:
    if not has_accounts(home):
        raise ValueError(NO_ACCOUNTS)
    identity = acting_identity(home)
    if not identity.authenticated:
        raise NotSignedIn(SIGN_IN_FIRST)
    return identity


def create_token(
    home: Path, label: str = "", *, days: int = DEFAULT_DAYS, user: str | None = None
) -> NewToken:
    """A new token for the signed-in person (an admin may make one for ``user``)."""
    identity = _signed_in(home)
    if not 1 <= days <= MAX_DAYS:
        raise ValueError(BAD_DAYS)
    owner = user or identity.name
    if owner != identity.name:
        require(identity, Permission.USERS)
    secret = PREFIX + secrets.token_urlsafe(32)
    expires = (datetime.now(UTC) + timedelta(days=days)).isoformat(timespec="microseconds")
    with connect(home) as db, writing(db):
        account = users.user_named(db, owner)
        if account is None:
            raise KeyError(f"There is no user called {owner!r}.")
        token_id = users.add_token(
            db, user_id=account.id, label=label.strip()[:80], token_hash=token_hash(secret),
            expires_at=expires,
        )  # fmt: skip
        audit.record(
            db, actor=identity.name, action="token.create", entity_type="user",
            entity_id=account.name, details={"token": token_id, "days": days},
        )  # fmt: skip
        token = users.token_by_id(db, token_id)
    assert token is not None
    return NewToken(token, secret)


def list_tokens(home: Path) -> list[AccessToken]:
    """The signed-in person's tokens (an admin sees everyone's); never their secrets."""
    identity = _signed_in(home)
    with connect(home) as db:
        if identity.role == ADMIN:
            return users.tokens_of(db)
        account = users.user_named(db, identity.name)
        return [] if account is None else users.tokens_of(db, account.id)


def revoke_token(home: Path, token_id: int) -> AccessToken:
    identity = _signed_in(home)
    with connect(home) as db, writing(db):
        token = users.token_by_id(db, token_id)
        if token is None or (token.user_name != identity.name and identity.role != ADMIN):
            raise KeyError(NO_SUCH_TOKEN.format(token_id=token_id))
        users.revoke_token(db, token_id)
        audit.record(
            db, actor=identity.name, action="token.revoke", entity_type="user",
            entity_id=token.user_name, details={"token": token_id},
        )  # fmt: skip
        found = users.token_by_id(db, token_id)
    assert found is not None
    return found


def _day(timestamp: str) -> str:
    return datetime.fromisoformat(timestamp).strftime("%d %b %Y")


def identity_for_token(home: Path, secret: str | None) -> Identity:
    """Whose token ``secret`` is, with their current role; NotSignedIn says why it is refused."""
    if not secret or not secret.strip():
        raise NotSignedIn(TOKEN_MISSING)
    with connect(home) as db:
        token = users.token_by_hash(db, token_hash(secret.strip()))
        if token is None:
            raise NotSignedIn(TOKEN_UNKNOWN)
        if token.revoked_at is not None:
            raise NotSignedIn(TOKEN_REVOKED.format(date=_day(token.revoked_at)))
        if token.expires_at and datetime.fromisoformat(token.expires_at) <= datetime.now(UTC):
            raise NotSignedIn(TOKEN_EXPIRED.format(date=_day(token.expires_at)))
        account = users.user_by_id(db, token.user_id)
        assert account is not None  # tokens go with their account
        users.token_used(db, token.id)
    return Identity(name=account.name, role=account.role, source="token")


def cli_identity(home: Path, secret: str | None) -> Identity:
    """Who a CLI command acts as: the local admin on a studio without accounts (its store not
    even created yet, or empty of accounts), else the owner of the token ``secret``."""
    from core.settings import database_path

    if not database_path(home).exists() or not has_accounts(home):
        return local_user()
    return identity_for_token(home, secret)
