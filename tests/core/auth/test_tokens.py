"""Personal access tokens: shown once, stored hashed, refused when unknown, expired or
revoked, each with a message that says what to do."""

from datetime import UTC, datetime, timedelta

import pytest

from core.auth import Identity, acting_as, tokens
from core.auth.tokens import NotSignedIn
from core.store import connect, writing


def test_a_token_is_shown_once_and_stored_as_its_hash(team) -> None:
    with acting_as(Identity("dan", "data scientist", "session")):
        new = tokens.create_token(team, "laptop")
    with connect(team) as db:
        dump = "\n".join(db.conn.iterdump())
    assert new.secret.startswith(tokens.PREFIX) and new.secret not in dump
    assert tokens.token_hash(new.secret) in dump
    identity = tokens.identity_for_token(team, new.secret)
    assert (identity.name, identity.role, identity.source) == ("dan", "data scientist", "token")


def test_missing_unknown_expired_and_revoked_tokens_are_refused(team) -> None:
    with pytest.raises(NotSignedIn, match="MLOPS_STUDIO_TOKEN"):
        tokens.identity_for_token(team, None)
    with pytest.raises(NotSignedIn, match="not one this studio issued"):
        tokens.identity_for_token(team, "mls_from_another_studio")
    with acting_as(Identity("dan", "data scientist", "session")):
        old = tokens.create_token(team)
        gone = tokens.create_token(team)
        tokens.revoke_token(team, gone.token.id)
        assert {t.id for t in tokens.list_tokens(team)} == {old.token.id, gone.token.id}
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    with connect(team) as db, writing(db):
        db.execute("UPDATE access_tokens SET expires_at = ? WHERE id = ?", [past, old.token.id])
    with pytest.raises(NotSignedIn, match="expired"):
        tokens.identity_for_token(team, old.secret)
    with pytest.raises(NotSignedIn, match="revoked"):
        tokens.identity_for_token(team, gone.secret)


def test_people_revoke_only_their_own_tokens_unless_admin(team) -> None:
    with acting_as(Identity("dan", "data scientist", "session")):
        mine = tokens.create_token(team)
    with acting_as(Identity("vic", "viewer", "session")), pytest.raises(KeyError):
        tokens.revoke_token(team, mine.token.id)
    with acting_as(Identity("ada", "admin", "session")):
        assert tokens.revoke_token(team, mine.token.id).revoked_at is not None


def test_a_studio_without_accounts_needs_no_token(studio_home) -> None:
    with pytest.raises(ValueError, match="no accounts"):
        tokens.create_token(studio_home)
