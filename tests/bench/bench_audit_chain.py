"""Benchmark: what the hash-chained audit trail and the password hash cost.

Each audit event now reads the previous hash, writes its own and moves the chain head, all in
the caller's write transaction. Peer in the same run: the same event written as before the
chain (one plain sqlite-utils insert). Also timed: `audit verify` over every event, and one
argon2id password check (deliberately slow: that is what makes guessing expensive).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from core.auth.passwords import hash_password, password_matches  # noqa: E402
from core.store import audit, connect, writing  # noqa: E402


def _chained(home: Path, events: int) -> float:
    with connect(home) as db:
        started = time.perf_counter()
        for number in range(events):
            audit.record(db, actor="ana", action="run.start", entity_type="run", entity_id=number,
                         details={"n": number})  # fmt: skip
        return time.perf_counter() - started


def _plain(home: Path, events: int) -> float:
    with connect(home) as db:
        started = time.perf_counter()
        for number in range(events):
            with writing(db):
                db.table("audit_events").insert(
                    {"at": "2026-12-07T00:00:00+00:00", "actor": "ana", "action": "run.start",
                     "entity_type": "run", "entity_id": str(number),
                     "details_json": json.dumps({"n": number})}
                )  # fmt: skip
        return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=5_000)
    events = parser.parse_args().events
    with tempfile.TemporaryDirectory() as folder:
        chained = _chained(Path(folder) / "chained", events)
        plain = _plain(Path(folder) / "plain", events)
        with connect(Path(folder) / "chained") as db:
            started = time.perf_counter()
            check = audit.verify(db)
            verify = time.perf_counter() - started
    assert check.intact and check.checked == events
    stored = hash_password("correct horse battery")
    started = time.perf_counter()
    assert password_matches(stored, "correct horse battery")
    argon = time.perf_counter() - started
    print(f"{events:,} events, one write transaction each")
    print(f"chained record: {chained * 1e6 / events:,.0f} µs/event")
    print(f"plain insert (peer): {plain * 1e6 / events:,.0f} µs/event")
    print(f"audit verify: {verify:.3f} s for {events:,} events")
    print(f"argon2id password check: {argon * 1000:.0f} ms")
    print(f"ratio chained/plain: {chained / plain:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
