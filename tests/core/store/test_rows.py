"""The entity modules' shared helpers: WHERE clauses, checked updates and inserts."""

import pytest

from core.store import _rows, audit


def test_where_keeps_only_given_values_and_extra_clauses() -> None:
    assert _rows.where({"a": None}) == (None, [])
    assert _rows.where({"a": 1, "b": None, "c": "x"}) == ("a = ? AND c = ?", [1, "x"])
    assert _rows.where({"a": 0}, ("b IN (?, ?)", [2, 3])) == ("a = ? AND b IN (?, ?)", [0, 2, 3])


def test_update_refuses_unknown_fields_and_names_them(db) -> None:
    audit.record(db, actor="ana", action="a", entity_type="run", entity_id=1)
    with pytest.raises(ValueError, match="'nope'"):
        _rows.update(db, "audit_events", 1, {"actor": "bo", "nope": 1}, known={"actor"})
    assert audit.events(db)[0].actor == "ana"
    _rows.update(
        db, "audit_events", 1, {"details": {"y": 2}}, known={"details"}, json_fields={"details"}
    )
    assert audit.events(db)[0].details == {"y": 2}


def test_updating_a_missing_row_changes_nothing(db) -> None:
    _rows.update(db, "audit_events", 404, {"actor": "bo"}, known={"actor"})
    assert audit.events(db) == []
