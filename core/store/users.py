"""Accounts, personal access tokens, sign-in sessions and studio-wide settings (rows only)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from core.store import _rows
from core.store.connection import writing


@dataclass(frozen=True)
class User:
    """One account: a name people sign in with, and the role it acts with."""

    id: int
    name: str
    role: str
    password_hash: str | None
    failed_sign_ins: int
    locked_until: str | None
    created_by: str
    created_at: str

    def to_dict(self) -> dict[str, Any]:
        # the password hash never leaves the store's callers
        return {
            "name": self.name,
            "role": self.role,
            "created_by": self.created_by,
            "created_at": self.created_at,
        }


@dataclass(frozen=True)
class AccessToken:
    """A personal access token (its hash only) for the CLI and automation."""

    id: int
    user_id: int
    user_name: str
    label: str
    created_at: str
    expires_at: str | None
    revoked_at: str | None
    last_used_at: str | None

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass(frozen=True)
class Session:
    """A browser sign-in: whose, and until when."""

    id: int
    user_id: int
    created_at: str
    expires_at: str
    ended_at: str | None


def _user(row: dict[str, Any]) -> User:
    return _rows.record(User, row)


def has_users(db: Database) -> bool:
    """Whether any account exists (none: the studio runs as its one local user)."""
    return _rows.first(db.query("SELECT 1 AS one FROM users LIMIT 1")) is not None


def add_user(
    db: Database, *, name: str, role: str, password_hash: str | None, created_by: str
) -> int:
    fields = {
        "name": name,
        "role": role,
        "password_hash": password_hash,
        "created_by": created_by,
        "created_at": _rows.now(),
    }
    return _rows.insert(db, "users", fields)


def user_named(db: Database, name: str) -> User | None:
    row = _rows.first(db.query("SELECT * FROM users WHERE name = ?", [name]))
    return None if row is None else _user(row)


def user_by_id(db: Database, user_id: int) -> User | None:
    row = _rows.first(db.query("SELECT * FROM users WHERE id = ?", [user_id]))
    return None if row is None else _user(row)


def all_users(db: Database) -> list[User]:
    return [_user(row) for row in db.query("SELECT * FROM users ORDER BY name")]


def count_with_role(db: Database, role: str) -> int:
    row = _rows.first(db.query("SELECT COUNT(*) AS n FROM users WHERE role = ?", [role]))
    return int(row["n"]) if row else 0


def set_role(db: Database, user_id: int, role: str) -> None:
    _rows.update(db, "users", user_id, {"role": role}, known={"role"})


def remove_user(db: Database, user_id: int) -> None:
    """Delete the account with its tokens and sessions (the audit trail keeps its name)."""
    with writing(db):
        db.execute("DELETE FROM access_tokens WHERE user_id = ?", [user_id])
        db.execute("DELETE FROM sessions WHERE user_id = ?", [user_id])
        db.execute("DELETE FROM users WHERE id = ?", [user_id])


def record_failed_sign_in(db: Database, user_id: int, *, limit: int, locked_until: str) -> int:
    """Count one more failed sign-in; at ``limit`` failures lock the account until then."""
    with writing(db):
        db.execute("UPDATE users SET failed_sign_ins = failed_sign_ins + 1 WHERE id = ?", [user_id])
        row = _rows.first(db.query("SELECT failed_sign_ins FROM users WHERE id = ?", [user_id]))
        failures = int(row["failed_sign_ins"]) if row else 0
        if failures >= limit:
            db.execute(
                "UPDATE users SET locked_until = ?, failed_sign_ins = 0 WHERE id = ?",
                [locked_until, user_id],
            )
    return failures


def clear_failed_sign_ins(db: Database, user_id: int) -> None:
    fields = {"failed_sign_ins": 0, "locked_until": None}
    _rows.update(db, "users", user_id, fields, known=fields)


# -- personal access tokens ----------------------------------------------------------------------

_TOKEN_SELECT = (
    "SELECT t.id, t.user_id, u.name AS user_name, t.label, t.created_at, t.expires_at, "
    "t.revoked_at, t.last_used_at FROM access_tokens t JOIN users u ON u.id = t.user_id"
)


def _token(row: dict[str, Any]) -> AccessToken:
    return _rows.record(AccessToken, row)


def add_token(
    db: Database, *, user_id: int, label: str, token_hash: str, expires_at: str | None
) -> int:
    fields = {
        "user_id": user_id,
        "label": label,
        "token_hash": token_hash,
        "created_at": _rows.now(),
        "expires_at": expires_at,
    }
    return _rows.insert(db, "access_tokens", fields)


def token_by_hash(db: Database, token_hash: str) -> AccessToken | None:
    row = _rows.first(db.query(f"{_TOKEN_SELECT} WHERE t.token_hash = ?", [token_hash]))
    return None if row is None else _token(row)


def token_by_id(db: Database, token_id: int) -> AccessToken | None:
    row = _rows.first(db.query(f"{_TOKEN_SELECT} WHERE t.id = ?", [token_id]))
    return None if row is None else _token(row)


def tokens_of(db: Database, user_id: int | None = None) -> list[AccessToken]:
    where, params = ("", []) if user_id is None else (" WHERE t.user_id = ?", [user_id])
    return [_token(row) for row in db.query(f"{_TOKEN_SELECT}{where} ORDER BY t.id", params)]


def revoke_token(db: Database, token_id: int) -> None:
    with writing(db):
        db.execute(
            "UPDATE access_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
            [_rows.now(), token_id],
        )


def token_used(db: Database, token_id: int) -> None:
    fields = {"last_used_at": _rows.now()}
    _rows.update(db, "access_tokens", token_id, fields, known=fields)


# -- sessions ------------------------------------------------------------------------------------


def add_session(db: Database, *, user_id: int, session_hash: str, expires_at: str) -> int:
    fields = {
        "user_id": user_id,
        "session_hash": session_hash,
        "created_at": _rows.now(),
        "expires_at": expires_at,
    }
    return _rows.insert(db, "sessions", fields)


def session_by_hash(db: Database, session_hash: str) -> Session | None:
    row = _rows.first(db.query("SELECT * FROM sessions WHERE session_hash = ?", [session_hash]))
    if row is None:
        return None
    return _rows.record(Session, row)


def end_session(db: Database, session_id: int) -> None:
    with writing(db):
        db.execute(
            "UPDATE sessions SET ended_at = ? WHERE id = ? AND ended_at IS NULL",
            [_rows.now(), session_id],
        )


# -- studio-wide settings ------------------------------------------------------------------------


def setting(db: Database, key: str, default: Any) -> Any:
    row = _rows.first(db.query("SELECT value_json FROM studio_settings WHERE key = ?", [key]))
    return default if row is None else _rows.loads(row["value_json"], default)


def set_setting(db: Database, key: str, value: Any, *, changed_by: str) -> None:
    with writing(db):
        db.execute(
            "INSERT INTO studio_settings (key, value_json, changed_by, changed_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT(key) DO UPDATE SET value_json = excluded.value_json, "
            "changed_by = excluded.changed_by, changed_at = excluded.changed_at",
            [key, _rows.dumps(value), changed_by, _rows.now()],
        )
