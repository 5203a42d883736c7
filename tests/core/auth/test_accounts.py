"""Accounts: argon2id hashes, one answer for every failed sign-in, lockout with a timed
release, the first account an admin, names kept as text, and sessions that end."""

from datetime import UTC, datetime, timedelta

import pytest

from core.auth import Identity, NotAllowed, accounts, acting_as, check_role, sessions
from core.auth.accounts import SignInFailed
from core.store import audit, connect, users, writing

PASSWORD = "correct horse battery"  # the team fixture's password


def test_passwords_are_stored_as_argon2id_hashes_only(team) -> None:
    with connect(team) as db:
        stored = [user.password_hash for user in users.all_users(db)]
        dump = "\n".join(db.conn.iterdump())
    assert stored and all(h.startswith("$argon2id$") for h in stored)
    assert PASSWORD not in dump


def test_the_first_account_must_be_an_admin(studio_home) -> None:
    with pytest.raises(ValueError, match="first account must be an admin"):
        accounts.add_user(studio_home, "vic", role="viewer", password=PASSWORD)
    assert accounts.add_user(studio_home, "ada", role="admin", password=PASSWORD).role == "admin"


def test_after_the_first_only_an_admin_adds_people(team) -> None:
    with pytest.raises(NotAllowed, match="admin"):
        accounts.add_user(team, "eve", role="viewer", password=PASSWORD)  # nobody signed in
    with acting_as(Identity("opal", "operator", "session")), pytest.raises(NotAllowed):
        accounts.add_user(team, "eve", role="viewer", password=PASSWORD)


def test_unknown_user_and_wrong_password_get_the_same_answer(team) -> None:
    with pytest.raises(SignInFailed) as unknown:
        accounts.check_password(team, "nobody", PASSWORD)
    with pytest.raises(SignInFailed) as wrong:
        accounts.check_password(team, "ada", "not the password")
    assert str(unknown.value) == str(wrong.value)
    assert accounts.check_password(team, "ada", PASSWORD).role == "admin"


def test_repeated_failures_lock_the_account_until_the_release_time(team) -> None:
    for _ in range(accounts.MAX_FAILURES):
        with pytest.raises(SignInFailed):
            accounts.check_password(team, "dan", "wrong password")
    with pytest.raises(SignInFailed):  # locked: even the right password is refused
        accounts.check_password(team, "dan", PASSWORD)
    with connect(team) as db:
        user = users.user_named(db, "dan")
        assert user is not None and user.locked_until is not None
        past = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
        with writing(db):
            db.execute("UPDATE users SET locked_until = ? WHERE id = ?", [past, user.id])
        assert audit.events(db, action="user.locked")
    assert accounts.check_password(team, "dan", PASSWORD).name == "dan"


def test_names_with_html_are_kept_as_text(team) -> None:
    name = "<b>bob</b><script>alert(1)</script>"
    with acting_as(Identity("ada", "admin", "session")):
        added = accounts.add_user(team, name, role="viewer", password=PASSWORD)
        assert added.name == name
        assert name in [account.name for account in accounts.list_users(team)]
    with pytest.raises(ValueError, match="control characters"):
        accounts.clean_name("a\nb")


def test_the_last_admin_cannot_be_removed_or_demoted(team) -> None:
    with acting_as(Identity("ada", "admin", "session")):
        with pytest.raises(ValueError, match="last admin"):
            accounts.remove_user(team, "ada")
        with pytest.raises(ValueError, match="last admin"):
            accounts.set_role(team, "ada", "viewer")
        assert accounts.set_role(team, "vic", "Reviewer").role == "reviewer"
        accounts.remove_user(team, "vic")
        with pytest.raises(KeyError):
            accounts.remove_user(team, "vic")
    with pytest.raises(ValueError, match="no role called"):
        check_role("superuser")


def test_sessions_survive_lookups_expire_and_sign_out(team) -> None:
    session_id = sessions.sign_in(team, "rui", PASSWORD)
    found = sessions.session_identity(team, session_id)
    assert found is not None and (found.name, found.role) == ("rui", "reviewer")
    assert sessions.session_identity(team, "a session id from another studio") is None
    sessions.sign_out(team, session_id)
    assert sessions.session_identity(team, session_id) is None
    short = sessions.sign_in(team, "rui", PASSWORD, hours=-1)
    assert sessions.session_identity(team, short) is None
    with pytest.raises(SignInFailed):
        sessions.sign_in(team, "rui", "wrong password")
