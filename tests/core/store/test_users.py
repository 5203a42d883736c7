"""Accounts, access tokens, sessions and studio settings, on a real store file."""

from core.store import users


def _add(db, name: str, role: str = "viewer") -> int:
    return users.add_user(db, name=name, role=role, password_hash="$argon2id$x", created_by="ana")


def test_accounts_are_found_by_name_and_id_and_their_role_changes(db) -> None:
    assert not users.has_users(db)
    ada, bob = _add(db, "ada", "admin"), _add(db, "bob")
    assert users.has_users(db)
    found = users.user_named(db, "ada")
    assert isinstance(found, users.User) and found.id == ada and found.role == "admin"
    assert users.user_by_id(db, bob) == users.user_named(db, "bob")
    assert users.user_named(db, "nobody") is None and users.user_by_id(db, 999) is None
    assert [user.name for user in users.all_users(db)] == ["ada", "bob"]
    assert "password_hash" not in found.to_dict()
    users.set_role(db, bob, "admin")
    assert users.count_with_role(db, "admin") == 2 and users.count_with_role(db, "viewer") == 0


def test_failed_sign_ins_lock_at_the_limit_and_clear(db) -> None:
    ada = _add(db, "ada")
    assert users.record_failed_sign_in(db, ada, limit=3, locked_until="2030-01-01") == 1
    assert users.record_failed_sign_in(db, ada, limit=3, locked_until="2030-01-01") == 2
    assert users.user_by_id(db, ada).locked_until is None
    assert users.record_failed_sign_in(db, ada, limit=3, locked_until="2030-01-01") == 3
    locked = users.user_by_id(db, ada)
    assert locked.locked_until == "2030-01-01" and locked.failed_sign_ins == 0
    users.clear_failed_sign_ins(db, ada)
    cleared = users.user_by_id(db, ada)
    assert cleared.locked_until is None and cleared.failed_sign_ins == 0


def test_tokens_carry_their_owner_are_revoked_once_and_record_their_use(db) -> None:
    ada, bob = _add(db, "ada"), _add(db, "bob")
    first = users.add_token(db, user_id=ada, label="ci", token_hash="h1", expires_at=None)
    users.add_token(db, user_id=bob, label="cron", token_hash="h2", expires_at="2030-01-01")
    token = users.token_by_hash(db, "h1")
    assert isinstance(token, users.AccessToken) and token.user_name == "ada" and token.id == first
    assert users.token_by_id(db, first) == token and users.token_by_hash(db, "nope") is None
    assert [t.label for t in users.tokens_of(db)] == ["ci", "cron"]
    assert [t.label for t in users.tokens_of(db, bob)] == ["cron"]
    users.token_used(db, first)
    assert users.token_by_id(db, first).last_used_at is not None
    users.revoke_token(db, first)
    revoked_at = users.token_by_id(db, first).revoked_at
    users.revoke_token(db, first)  # a second revocation keeps the first time
    assert revoked_at is not None and users.token_by_id(db, first).revoked_at == revoked_at


def test_sessions_end_once(db) -> None:
    ada = _add(db, "ada")
    session_id = users.add_session(db, user_id=ada, session_hash="s1", expires_at="2030-01-01")
    session = users.session_by_hash(db, "s1")
    assert isinstance(session, users.Session) and session.id == session_id
    assert session.ended_at is None and users.session_by_hash(db, "nope") is None
    users.end_session(db, session_id)
    ended = users.session_by_hash(db, "s1").ended_at
    users.end_session(db, session_id)
    assert ended is not None and users.session_by_hash(db, "s1").ended_at == ended


def test_removing_an_account_takes_its_tokens_and_sessions(db) -> None:
    ada, bob = _add(db, "ada"), _add(db, "bob")
    users.add_token(db, user_id=ada, label="ci", token_hash="h1", expires_at=None)
    users.add_session(db, user_id=ada, session_hash="s1", expires_at="2030-01-01")
    users.add_token(db, user_id=bob, label="cron", token_hash="h2", expires_at=None)
    users.remove_user(db, ada)
    assert users.user_by_id(db, ada) is None
    assert users.token_by_hash(db, "h1") is None and users.session_by_hash(db, "s1") is None
    assert [t.label for t in users.tokens_of(db)] == ["cron"]


def test_settings_default_until_set_and_keep_json_values(db) -> None:
    assert users.setting(db, "sign_in", {"required": False}) == {"required": False}
    users.set_setting(db, "sign_in", {"required": True, "minutes": 30}, changed_by="ana")
    users.set_setting(db, "sign_in", {"required": True, "minutes": 60}, changed_by="bob")
    assert users.setting(db, "sign_in", None) == {"required": True, "minutes": 60}
