"""The audit log: events round-trip into AuditEvent, newest first, filtered by entity."""

from core.store import audit, writing


def test_events_round_trip_newest_first_and_filter(db) -> None:
    audit.record(db, actor="ana", action="a", entity_type="run", entity_id=1, details={"x": 1})
    audit.record(db, actor="bo", action="b", entity_type="run", entity_id="2")
    audit.record(db, actor="cy", action="c", entity_type="model", entity_id=None)
    events = audit.events(db)
    assert [e.action for e in events] == ["c", "b", "a"]
    first = events[-1]
    assert isinstance(first, audit.AuditEvent)
    assert (first.actor, first.entity_id, first.details) == ("ana", "1", {"x": 1})
    assert events[0].entity_id is None and events[1].details == {}
    assert [e.action for e in audit.events(db, entity_type="run")] == ["b", "a"]
    assert [e.action for e in audit.events(db, entity_type="run", entity_id="1")] == ["a"]
    assert [e.action for e in audit.events(db, entity_type="", entity_id="")] == ["c", "b", "a"]
    assert len(audit.events(db, limit=2)) == 2
    assert first.to_dict()["details"] == {"x": 1}


def test_an_event_joins_the_callers_transaction(db) -> None:
    try:
        with writing(db):
            audit.record(db, actor="ana", action="a", entity_type="run", entity_id=1)
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert audit.events(db) == []
