"""The audit chain: each event carries the signed-in name and role, and verify finds an
edited, a deleted and an inserted row, and says where."""

import pytest

from core.auth import Identity, NotAllowed, acting_as
from core.auth.trail import audit_events, verify_chain
from core.store import audit, connect, writing


def _record(home, count: int = 4) -> None:
    with connect(home) as db:
        for number in range(count):
            audit.record(db, actor="cli", action=f"a{number}", entity_type="run", entity_id=number)


def test_events_carry_the_signed_in_identity_and_role(team) -> None:
    with acting_as(Identity("dan", "data scientist", "token")), connect(team) as db:
        audit.record(db, actor="cli", action="run.train", entity_type="run", entity_id=1)
        event = audit.events(db, action="run.train")[0]
    assert (event.actor, event.role) == ("dan", "data scientist")


def test_a_studio_without_accounts_records_the_local_admin(studio_home) -> None:
    _record(studio_home, 1)
    with connect(studio_home) as db:
        event = audit.events(db)[0]
    assert (event.actor, event.role) == ("cli", "admin")


def test_an_untouched_chain_verifies(studio_home) -> None:
    _record(studio_home)
    check = verify_chain(studio_home)
    assert check.intact and check.checked == 4


def _tamper(home, sql: str, params: list) -> list[str]:
    with connect(home) as db, writing(db):
        db.execute(sql, params)
    check = verify_chain(home)
    assert not check.intact
    return [problem.what for problem in check.problems]


def test_verify_finds_an_edited_row(studio_home) -> None:
    _record(studio_home)
    found = _tamper(studio_home, "UPDATE audit_events SET actor = ? WHERE id = 2", ["mallory"])
    assert found == ["Event 2 was changed after it was recorded."]


def test_verify_finds_a_deleted_row(studio_home) -> None:
    _record(studio_home)
    found = _tamper(studio_home, "DELETE FROM audit_events WHERE id = 2", [])
    assert found == [
        "Event 3 does not follow event 1: an event between them was deleted, "
        "or event 1 was inserted."
    ]
    found = _tamper(studio_home, "DELETE FROM audit_events WHERE id = 4", [])
    assert "Events after event 3 were deleted." in found


def test_verify_finds_an_inserted_row(studio_home) -> None:
    _record(studio_home)
    with connect(studio_home) as db:
        first = db.execute("SELECT * FROM audit_events WHERE id = 1").fetchone()
    columns = "id, at, actor, action, entity_type, entity_id, details_json, role"
    # a copy of event 1 slipped in at the end, hashed as the studio would
    with connect(studio_home) as db, writing(db):
        db.execute(
            f"INSERT INTO audit_events ({columns}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [10, *first[1:8]],
        )
    found = [p.what for p in verify_chain(studio_home).problems]
    assert "Event 10 has no hash: it was added by hand." in found
    # and one hashed and linked properly still shows: the stored head does not point at it
    with connect(studio_home) as db, writing(db):
        last = next(db.query("SELECT * FROM audit_events WHERE id = 4"))
        added = next(db.query("SELECT * FROM audit_events WHERE id = 10"))
        added["role"] = added["role"] or ""
        digest = audit.row_hash(added, last["hash"])
        db.execute(
            "UPDATE audit_events SET prev_hash = ?, hash = ? WHERE id = 10", [last["hash"], digest]
        )
    found = [p.what for p in verify_chain(studio_home).problems]
    assert found == ["Event 10 was added outside the studio."]


def test_only_admins_and_reviewers_read_the_trail(team, as_role) -> None:
    for role in ("admin", "reviewer"):
        with as_role(role):
            assert audit_events(team, actor="ada")
    for role in ("viewer", "data scientist", "operator"):
        with as_role(role), pytest.raises(NotAllowed, match="reviewer or admin"):
            verify_chain(team)
