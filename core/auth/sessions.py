"""Browser sign-in sessions: a random id (kept hashed), an expiry, and signing out."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path

from core.auth.accounts import check_password
from core.auth.identity import Identity
from core.store import audit, connect, users, writing

SESSION_HOURS = 12


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


def sign_in(home: Path, name: str, password: str, *, hours: float = SESSION_HOURS) -> str:
    """Check the password and start a session; returns its id (SignInFailed otherwise)."""
    identity = check_password(home, name, password)
    session_id = secrets.token_urlsafe(32)
    expires = (datetime.now(UTC) + timedelta(hours=hours)).isoformat(timespec="microseconds")
    with connect(home) as db, writing(db):
        user = users.user_named(db, identity.name)
        assert user is not None
        users.add_session(db, user_id=user.id, session_hash=_hash(session_id), expires_at=expires)
        audit.record(
            db, actor=user.name, action="user.sign_in", entity_type="user", entity_id=user.name
        )
    return session_id


def session_identity(home: Path, session_id: str | None) -> Identity | None:
    """Whose live session ``session_id`` is (their current role), or None: unknown (another
    studio's), ended or expired."""
    if not session_id:
        return None
    with connect(home) as db:
        session = users.session_by_hash(db, _hash(session_id))
        if session is None or session.ended_at is not None:
            return None
        if datetime.fromisoformat(session.expires_at) <= datetime.now(UTC):
            return None
        user = users.user_by_id(db, session.user_id)
    return None if user is None else Identity(name=user.name, role=user.role, source="session")


def sign_out(home: Path, session_id: str | None) -> None:
    """End the session (nothing happens for one already ended or unknown)."""
    if not session_id:
        return
    with connect(home) as db, writing(db):
        session = users.session_by_hash(db, _hash(session_id))
        if session is None or session.ended_at is not None:
            return
        users.end_session(db, session.id)
        user = users.user_by_id(db, session.user_id)
        name = user.name if user else ""
        audit.record(db, actor=name, action="user.sign_out", entity_type="user", entity_id=name)
