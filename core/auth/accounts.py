"""Accounts: adding, listing, removing and re-roling people, and signing in with a password."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from core.auth.access import authorize, has_accounts
from core.auth.identity import Identity
from core.auth.passwords import DECOY_HASH, hash_password, password_matches
from core.auth.roles import ADMIN, Permission, check_role
from core.store import audit, connect, users, writing
from core.store.users import User

MAX_NAME = 64
MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)

NAME_EMPTY = "A user name cannot be empty."
NAME_TOO_LONG = f"A user name can have at most {MAX_NAME} characters."
NAME_CONTROL = "A user name cannot contain control characters such as new lines or tabs."
NAME_TAKEN = "There is already a user called {name!r}. Choose another name."
NO_SUCH_USER = "There is no user called {name!r}. `mlops-studio users list` shows who there is."
FIRST_ADMIN = (
    "The first account must be an admin, so someone can add the others: "
    "`mlops-studio users add NAME --role admin`."
)
LAST_ADMIN = "{name!r} is the last admin; make someone else admin first."
# one answer for an unknown name, a wrong password and a locked account, so none can be told
WRONG_SIGN_IN = (
    f"Wrong user name or password. After {MAX_FAILURES} failed tries in a row an account is locked "
    f"for {int(LOCKOUT.total_seconds() // 60)} minutes."
)


class SignInFailed(ValueError):
    """A user name and password that do not open an account (which part is never said)."""


@dataclass(frozen=True)
class Account:
    """One account as people see it."""

    name: str
    role: str
    created_by: str
    created_at: str

    @classmethod
    def of(cls, user: User) -> Account:
        return cls(user.name, user.role, user.created_by, user.created_at)

    def to_dict(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def clean_name(name: str) -> str:
    """The user name as stored: trimmed; any text, HTML included, is kept (and shown) as text."""
    cleaned = unicodedata.normalize("NFC", name).strip()
    if not cleaned:
        raise ValueError(NAME_EMPTY)
    if len(cleaned) > MAX_NAME:
        raise ValueError(NAME_TOO_LONG)
    if any(unicodedata.category(char).startswith("C") for char in cleaned):
        raise ValueError(NAME_CONTROL)
    return cleaned


def _authorize_users(home: Path, permission: Permission, role: str | None = None) -> Identity:
    """Anyone may add the first account (an admin); after that it takes an admin."""
    if not has_accounts(home) and role is not None and role != ADMIN:
        raise ValueError(FIRST_ADMIN)
    return authorize(home, permission)


def add_user(home: Path, name: str, *, role: str, password: str | None) -> Account:
    """Add an account (a password for built-in sign-in; None for single sign-on only)."""
    name, role = clean_name(name), check_role(role)
    actor = _authorize_users(home, Permission.USERS, role)
    password_hash = None if password is None else hash_password(password)
    with connect(home) as db, writing(db):
        if users.user_named(db, name) is not None:
            raise ValueError(NAME_TAKEN.format(name=name))
        users.add_user(db, name=name, role=role, password_hash=password_hash, created_by=actor.name)
        audit.record(
            db, actor=actor.name, action="user.add", entity_type="user", entity_id=name,
            details={"role": role},
        )  # fmt: skip
        found = users.user_named(db, name)
    assert found is not None
    return Account.of(found)


def list_users(home: Path) -> list[Account]:
    authorize(home, Permission.READ)
    with connect(home) as db:
        return [Account.of(user) for user in users.all_users(db)]


def _existing(db: object, name: str) -> User:
    found = users.user_named(db, name)  # type: ignore[arg-type]
    if found is None:
        raise KeyError(NO_SUCH_USER.format(name=name))
    return found


def remove_user(home: Path, name: str) -> None:
    actor = authorize(home, Permission.USERS)
    with connect(home) as db, writing(db):
        user = _existing(db, name)
        if user.role == ADMIN and users.count_with_role(db, ADMIN) == 1:
            raise ValueError(LAST_ADMIN.format(name=user.name))
        users.remove_user(db, user.id)
        audit.record(
            db, actor=actor.name, action="user.remove", entity_type="user", entity_id=user.name
        )


def set_role(home: Path, name: str, role: str) -> Account:
    role = check_role(role)
    actor = authorize(home, Permission.ROLES)
    with connect(home) as db, writing(db):
        user = _existing(db, name)
        if user.role == ADMIN and role != ADMIN and users.count_with_role(db, ADMIN) == 1:
            raise ValueError(LAST_ADMIN.format(name=user.name))
        users.set_role(db, user.id, role)
        audit.record(
            db, actor=actor.name, action="user.role", entity_type="user", entity_id=user.name,
            details={"from": user.role, "to": role},
        )  # fmt: skip
        return Account.of(_existing(db, name))


def _locked(user: User, moment: datetime) -> bool:
    return user.locked_until is not None and datetime.fromisoformat(user.locked_until) > moment


def check_password(home: Path, name: str, password: str) -> Identity:
    """The account's identity if ``password`` opens it; else SignInFailed, the same answer for
    an unknown name, a wrong password or a locked account."""
    moment = datetime.now(UTC)
    with connect(home) as db:
        user = users.user_named(db, name.strip())
        stored = user.password_hash if user and user.password_hash else DECOY_HASH
        matches = password_matches(stored, password)  # always hashed: the same time either way
        if user is None or user.password_hash is None:
            raise SignInFailed(WRONG_SIGN_IN)
        if _locked(user, moment) or not matches:
            _failed(db, user, moment)
            raise SignInFailed(WRONG_SIGN_IN)
        users.clear_failed_sign_ins(db, user.id)
    return Identity(name=user.name, role=user.role, source="password")


def _failed(db: object, user: User, moment: datetime) -> None:
    if _locked(user, moment):
        return  # a locked account's release time is not pushed back by more tries
    until = (moment + LOCKOUT).isoformat(timespec="microseconds")
    failures = users.record_failed_sign_in(db, user.id, limit=MAX_FAILURES, locked_until=until)  # type: ignore[arg-type]
    action = "user.locked" if failures >= MAX_FAILURES else "user.sign_in_failed"
    audit.record(db, actor=user.name, action=action, entity_type="user", entity_id=user.name)  # type: ignore[arg-type]


def account_identity(home: Path, name: str) -> Identity | None:
    """The identity of the account called ``name`` (its current role), or None."""
    with connect(home) as db:
        user = users.user_named(db, name)
    return None if user is None else Identity(name=user.name, role=user.role, source="session")
