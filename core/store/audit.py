"""The audit log: who did what to which entity, when and with which role, hash-chained so an
edited, inserted or deleted row is found."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from sqlite_utils import Database

from core.store import _rows
from core.store.connection import writing

# the newest event's id and hash, kept apart from the rows: deleting the last rows shows too
HEAD_KEY = "audit_chain_head"
GENESIS = ""


@dataclass(frozen=True)
class AuditEvent:
    """Who did what to which entity, and when."""

    id: int
    at: str
    actor: str
    action: str
    entity_type: str
    entity_id: str | None
    details: dict[str, Any]
    role: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass(frozen=True)
class ChainProblem:
    """One place the audit chain is broken, in words."""

    event_id: int
    what: str

    def to_dict(self) -> dict[str, Any]:
        return {"event_id": self.event_id, "what": self.what}


@dataclass(frozen=True)
class ChainCheck:
    """What checking the audit chain found: how many events, and every break."""

    checked: int
    problems: list[ChainProblem] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "intact": self.intact,
            "checked": self.checked,
            "problems": [problem.to_dict() for problem in self.problems],
        }


def _acting() -> tuple[str | None, str]:
    """The signed-in name (None: keep the caller's actor) and the role of whoever acts now."""
    from core.auth.identity import current  # the identity is set by the UI, CLI or a job

    identity = current()
    if identity is None:
        return None, ""
    return (identity.name if identity.authenticated else None), identity.role


def _no_accounts(db: Database) -> bool:
    return _rows.first(db.query("SELECT 1 AS one FROM users LIMIT 1")) is None


def row_hash(row: dict[str, Any], prev_hash: str) -> str:
    """SHA-256 over the event's content, its id and the hash of the event before it."""
    content = [
        row["id"],
        row["at"],
        row["actor"],
        row["role"],
        row["action"],
        row["entity_type"],
        row["entity_id"],
        row["details_json"],
        prev_hash,
    ]
    text = json.dumps(content, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _last_hash(db: Database) -> str:
    row = _rows.first(
        db.query("SELECT hash FROM audit_events WHERE hash IS NOT NULL ORDER BY id DESC LIMIT 1")
    )
    return row["hash"] if row else GENESIS


def record(
    db: Database,
    *,
    actor: str,
    action: str,
    entity_type: str,
    entity_id: str | int | None,
    details: dict[str, Any] | None = None,
) -> None:
    """Append to the audit log (inside the caller's write transaction when there is one); a
    signed-in person is recorded by their own name, whatever ``actor`` says, with their role."""
    signed_in, role = _acting()
    with writing(db):
        if not role and _no_accounts(db):
            role = "admin"  # no accounts: the one local user, who is admin
        prev_hash = _last_hash(db)
        row: dict[str, Any] = {
            "at": _rows.now(),
            "actor": signed_in or actor,
            "role": role,
            "action": action,
            "entity_type": entity_type,
            "entity_id": None if entity_id is None else str(entity_id),
            "details_json": json.dumps(details or {}),
            "prev_hash": prev_hash,
        }
        row["id"] = db.table("audit_events").insert(row).last_rowid
        digest = row_hash(row, prev_hash)
        db.execute("UPDATE audit_events SET hash = ? WHERE id = ?", [digest, row["id"]])
        _set_head(db, row["id"], digest)


def _set_head(db: Database, event_id: int, digest: str) -> None:
    db.execute(
        "INSERT INTO studio_settings (key, value_json, changed_by, changed_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value_json = excluded.value_json, "
        "changed_at = excluded.changed_at",
        [HEAD_KEY, json.dumps({"id": event_id, "hash": digest}), "audit", _rows.now()],
    )


def _event(row: dict[str, Any]) -> AuditEvent:
    return _rows.record(AuditEvent, row, decoded={"details": "{}"}, role=row["role"] or "")


def events(
    db: Database,
    *,
    entity_type: str | None = None,
    entity_id: str | None = None,
    limit: int = 100,
    actor: str | None = None,
    action: str | None = None,
    since: str | None = None,
    until: str | None = None,
) -> list[AuditEvent]:
    """Newest events first, optionally about one entity type and id, by one person, of one
    action, or between two times (ISO-8601, ``until`` excluded)."""
    # '' filters nothing, as before
    equal = {
        "entity_type": entity_type or None,
        "entity_id": entity_id or None,
        "actor": actor or None,
        "action": action or None,
    }
    clauses = [(sql, [value]) for sql, value in (("at >= ?", since), ("at < ?", until)) if value]
    where, params = _rows.where(equal, *clauses)
    return [
        _event(row)
        for row in db.table("audit_events").rows_where(
            where, params, order_by="id DESC", limit=limit
        )
    ]


def people_and_actions(db: Database) -> tuple[list[str], list[str], list[str]]:
    """The distinct actors, actions and entity types in the log (for filters)."""

    def distinct(column: str) -> list[str]:
        sql = f"SELECT DISTINCT {column} AS v FROM audit_events ORDER BY v"  # column from code
        return [row["v"] for row in db.query(sql) if row["v"] is not None]

    return distinct("actor"), distinct("action"), distinct("entity_type")


def verify(db: Database) -> ChainCheck:
    """Walk the chain oldest first: a changed row no longer matches its hash, a deleted one
    leaves the next row pointing at a hash that is not its predecessor's, an inserted one is
    not what the row after it points at; the stored head catches rows cut off the end."""
    problems: list[ChainProblem] = []
    prev: dict[str, Any] | None = None
    checked = 0
    for row in db.query("SELECT * FROM audit_events ORDER BY id"):
        if row["hash"] is None and prev is None:
            continue  # recorded before the chain began
        checked += 1
        problems.extend(_row_problems(row, prev))
        prev = row
    problems.extend(_head_problems(db, prev))
    return ChainCheck(checked=checked, problems=problems)


def _row_problems(row: dict[str, Any], prev: dict[str, Any] | None) -> list[ChainProblem]:
    event_id = row["id"]
    if row["hash"] is None or row["prev_hash"] is None:
        return [ChainProblem(event_id, f"Event {event_id} has no hash: it was added by hand.")]
    found = []
    if row_hash(row, row["prev_hash"]) != row["hash"]:
        found.append(ChainProblem(event_id, f"Event {event_id} was changed after it was recorded."))
    expected = GENESIS if prev is None else prev["hash"]
    if row["prev_hash"] != expected:
        found.append(ChainProblem(event_id, _gap(prev, event_id)))
    return found


def _gap(prev: dict[str, Any] | None, event_id: int) -> str:
    if prev is None:
        return f"Events before event {event_id} were deleted."
    return (
        f"Event {event_id} does not follow event {prev['id']}: an event between them was "
        f"deleted, or event {prev['id']} was inserted."
    )


def _head_problems(db: Database, last: dict[str, Any] | None) -> list[ChainProblem]:
    row = _rows.first(db.query("SELECT value_json FROM studio_settings WHERE key = ?", [HEAD_KEY]))
    head = _rows.loads(row["value_json"] if row else None, None)
    if head is None:
        return []
    if last is None or last["id"] < head["id"]:
        after = "the start" if last is None else f"event {last['id']}"
        return [ChainProblem(head["id"], f"Events after {after} were deleted.")]
    if last["id"] > head["id"] or last["hash"] != head["hash"]:
        return [ChainProblem(last["id"], f"Event {last['id']} was added outside the studio.")]
    return []
