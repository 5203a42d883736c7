"""The model registry: named models, their numbered versions and aliases, reviews and decisions."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlite_utils import Database

from core.store import _rows
from core.store.connection import writing

REVIEW_STATES = {"approve": "approved", "changes": "changes requested", "reject": "rejected"}


@dataclass(frozen=True)
class ModelVersion:
    """A registered run: a numbered version of a named model, with its aliases."""

    id: int
    model_id: int
    model_name: str
    version: int
    run_id: int
    artifact_path: str
    artifact_sha256: str
    onnx_path: str | None
    onnx_sha256: str | None
    onnx: dict[str, Any]
    review_state: str
    intended_use: str
    aliases: tuple[str, ...]
    created_by: str
    created_at: str
    # a binary classifier's cut-off on the positive class's probability (None: the most
    # probable class, i.e. 0.5), and how it was chosen, in words
    decision_threshold: float | None = None
    threshold_basis: str = ""
    # the NumPy fast path's check at registration: ok, and the reason when it is not served
    fast_path: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.model_name} v{self.version}"

    def to_dict(self) -> dict[str, Any]:
        data = {name: getattr(self, name) for name in self.__dataclass_fields__}
        data["aliases"] = list(self.aliases)
        if self.decision_threshold is None:  # saved reviews of versions without one keep
            del data["decision_threshold"], data["threshold_basis"]  # their exact shape
        if not self.fast_path:
            del data["fast_path"]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelVersion:
        """The inverse of ``to_dict``; fields a record written before they existed lacks get
        their empty value."""
        values = {**_VERSION_DEFAULTS, **data}
        values = {key: values[key] for key in cls.__dataclass_fields__}
        values["aliases"] = tuple(values["aliases"] or ())
        values["onnx"] = dict(values["onnx"] or {})
        values["fast_path"] = dict(values["fast_path"] or {})
        return cls(**values)


_VERSION_DEFAULTS: dict[str, Any] = {
    "onnx_path": None,
    "onnx_sha256": None,
    "onnx": {},
    "review_state": "",
    "intended_use": "",
    "aliases": (),
    "created_by": "",
    "created_at": "",
    "decision_threshold": None,
    "threshold_basis": "",
    "fast_path": {},
}


@dataclass(frozen=True)
class NewModelVersion:
    """What registering a run stores: the run, its verified artifact and the ONNX copy if any."""

    model_name: str
    run_id: int
    artifact_path: str
    artifact_sha256: str
    onnx_path: str | None = None
    onnx_sha256: str | None = None
    onnx: dict[str, Any] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()
    fast_path: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Review:
    """One reviewer's recorded decision on a model version, with the evidence they saw."""

    id: int
    model_version_id: int
    reviewer: str
    decision: str
    comment: str
    checklist: dict[str, Any]
    evidence: dict[str, Any]
    created_at: str
    override_reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass(frozen=True)
class ReviewRecord:
    """One saved review of a version (its gates, segments and fairness in a JSON artifact),
    whichever way it was run: ``source`` says which (the Review page, the CLI, a retrain)."""

    id: int
    model_version_id: int
    path: str
    sha256: str
    passed: bool
    failing: tuple[str, ...]
    settings_key: str | None
    source: str
    created_by: str
    created_at: str


# a JOIN with a subquery: a version carries its model's name and its aliases
_VERSION_COLUMNS = """v.id, v.model_id, m.name AS model_name, v.version, v.run_id, v.artifact_path,
    v.artifact_sha256, v.onnx_path, v.onnx_sha256, v.onnx_json, v.review_state, v.intended_use,
    v.created_by, v.created_at, v.decision_threshold, v.threshold_basis, v.fast_path_json,
    (SELECT json_group_array(a.alias) FROM model_aliases a WHERE a.version_id = v.id) AS aliases"""


def _version(row: dict[str, Any]) -> ModelVersion:
    aliases = tuple(sorted(json.loads(row["aliases"] or "[]")))
    decoded = {"onnx": "{}", "fast_path": "{}"}
    return _rows.record(ModelVersion, row, decoded=decoded, aliases=aliases)


def _versions(db: Database, where: str | None, params: list[Any]) -> list[ModelVersion]:
    sql = (
        f"SELECT {_VERSION_COLUMNS} FROM model_versions v JOIN models m ON m.id = v.model_id "
        f"{f'WHERE {where}' if where else ''} ORDER BY m.name, v.version DESC"
    )
    return [_version(row) for row in db.query(sql, params)]


def versions(db: Database, model_name: str | None = None) -> list[ModelVersion]:
    """Every version (of one model, or of all), by model name and newest version first."""
    return _versions(db, *_rows.where({"m.name": model_name or None}))


def get_version(db: Database, version_id: int) -> ModelVersion | None:
    found = _versions(db, "v.id = ?", [version_id])
    return found[0] if found else None


def version_by_number(db: Database, model_name: str, version: int) -> ModelVersion | None:
    found = _versions(db, "m.name = ? AND v.version = ?", [model_name, version])
    return found[0] if found else None


def version_by_alias(db: Database, model_name: str, alias: str) -> ModelVersion | None:
    where = (
        "m.name = ? AND v.id = "
        "(SELECT version_id FROM model_aliases a WHERE a.model_id = m.id AND a.alias = ?)"
    )
    found = _versions(db, where, [model_name, alias])
    return found[0] if found else None


def names(db: Database) -> list[str]:
    return [row["name"] for row in db.table("models").rows_where(select="name", order_by="name")]


def register(db: Database, new: NewModelVersion, *, created_by: str) -> ModelVersion:
    """Add the next version of a named model (creating the model) and set its aliases, atomically.

    Registering a run that already is a version of this model returns that version.
    """
    with writing(db):
        model_id = _model_id(db, new.model_name, created_by)
        existing = _rows.first(
            db.table("model_versions").rows_where(
                "model_id = ? AND run_id = ?", [model_id, new.run_id], select="id"
            )
        )
        version_id = existing["id"] if existing else _add_version(db, model_id, new, created_by)
        for alias in new.aliases:
            set_alias(
                db, model_id=model_id, alias=alias, version_id=version_id, updated_by=created_by
            )
    found = get_version(db, version_id)
    assert found is not None
    return found


def _add_version(db: Database, model_id: int, new: NewModelVersion, created_by: str) -> int:
    # an aggregate: the next version number
    (latest,) = db.execute(
        "SELECT COALESCE(MAX(version), 0) FROM model_versions WHERE model_id = ?", [model_id]
    ).fetchone()
    return _rows.insert(
        db,
        "model_versions",
        {
            "model_id": model_id,
            "version": latest + 1,
            "run_id": new.run_id,
            "artifact_path": new.artifact_path,
            "artifact_sha256": new.artifact_sha256,
            "onnx_path": new.onnx_path,
            "onnx_sha256": new.onnx_sha256,
            "onnx_json": json.dumps(new.onnx),
            "fast_path_json": json.dumps(new.fast_path),
            "created_by": created_by,
            "created_at": _rows.now(),
        },
    )


def _model_id(db: Database, name: str, created_by: str) -> int:
    row = _rows.first(db.table("models").rows_where("name = ?", [name], select="id"))
    if row:
        return int(row["id"])
    fields = {"name": name, "created_by": created_by, "created_at": _rows.now()}
    return _rows.insert(db, "models", fields)


def set_alias(db: Database, *, model_id: int, alias: str, version_id: int, updated_by: str) -> None:
    """Point an alias at a version (an alias names one version of a model at a time)."""
    row = {
        "model_id": model_id,
        "alias": alias,
        "version_id": version_id,
        "updated_by": updated_by,
        "updated_at": _rows.now(),
    }
    with writing(db):
        db.table("model_aliases").upsert(row, pk=("model_id", "alias"))


def remove_alias(db: Database, *, model_id: int, alias: str) -> None:
    with writing(db):
        db.table("model_aliases").delete_where("model_id = ? AND alias = ?", [model_id, alias])


def _review(row: dict[str, Any]) -> Review:
    return _rows.record(Review, row, decoded={"checklist": "{}", "evidence": "{}"})


def add_review(
    db: Database,
    *,
    version_id: int,
    reviewer: str,
    decision: str,
    comment: str,
    checklist: dict[str, Any],
    evidence: dict[str, Any],
    override_reason: str | None = None,
) -> Review:
    """Record a decision and set the version's review state, in one transaction."""
    with writing(db):
        review_id = _rows.insert(
            db,
            "reviews",
            {
                "model_version_id": version_id,
                "reviewer": reviewer,
                "decision": decision,
                "comment": comment,
                "checklist_json": json.dumps(checklist),
                "evidence_json": _rows.dumps(evidence),
                "override_reason": override_reason,
                "created_at": _rows.now(),
            },
        )
        _set_version(db, version_id, review_state=REVIEW_STATES[decision])
    return _review(db.table("reviews").get(review_id))


def reviews_of(db: Database, version_id: int) -> list[Review]:
    """A version's decisions, newest first."""
    rows = db.table("reviews").rows_where("model_version_id = ?", [version_id], order_by="id DESC")
    return [_review(row) for row in rows]


def set_intended_use(db: Database, version_id: int, text: str) -> None:
    _set_version(db, version_id, intended_use=text)


def set_decision_threshold(
    db: Database, version_id: int, threshold: float | None, basis: str
) -> None:
    _set_version(db, version_id, decision_threshold=threshold, threshold_basis=basis)


def _set_version(db: Database, version_id: int, **fields: Any) -> None:
    known = ("review_state", "intended_use", "decision_threshold", "threshold_basis")
    _rows.update(db, "model_versions", version_id, fields, known=known)


def _review_record(row: dict[str, Any]) -> ReviewRecord:
    failing = tuple(json.loads(row["failing_json"] or "[]"))
    return _rows.record(ReviewRecord, row, flags=("passed",), failing=failing)


def add_review_record(
    db: Database,
    *,
    version_id: int,
    path: str,
    sha256: str,
    passed: bool,
    failing: tuple[str, ...],
    settings_key: str | None,
    source: str,
    created_by: str,
) -> ReviewRecord:
    """Keep a saved review (its artifact already written) as the version's newest."""
    record_id = _rows.insert(
        db,
        "review_records",
        {
            "model_version_id": version_id,
            "path": path,
            "sha256": sha256,
            "passed": int(passed),
            "failing_json": json.dumps(list(failing)),
            "settings_key": settings_key,
            "source": source,
            "created_by": created_by,
            "created_at": _rows.now(),
        },
    )
    return _review_record(db.table("review_records").get(record_id))


def latest_review_record(
    db: Database, version_id: int, *, settings_key: str | None = None
) -> ReviewRecord | None:
    """A version's newest saved review (with these settings, when a key is given)."""
    where, params = _rows.where({"model_version_id": version_id, "settings_key": settings_key})
    rows = db.table("review_records").rows_where(where, params, order_by="id DESC", limit=1)
    found = _rows.first(rows)
    return _review_record(found) if found else None


def latest_review_records(db: Database) -> dict[int, ReviewRecord]:
    """Every version's newest saved review, by version id (one query for a whole picker)."""
    # a correlated subquery: the newest record of each version
    sql = (
        "SELECT * FROM review_records r WHERE r.id = "
        "(SELECT MAX(id) FROM review_records WHERE model_version_id = r.model_version_id)"
    )
    return {row["model_version_id"]: _review_record(row) for row in db.query(sql)}
