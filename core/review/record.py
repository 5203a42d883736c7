"""The review record: every review of a version saved one way, and the one verdict read from it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.artifacts import new_artifact_path, sha256_of, write_atomically
from core.auth.access import acting_name
from core.review.gates import GateConfig
from core.review.review import VersionReview, load_review, review_key, review_version
from core.store import connect, models
from core.store.models import ModelVersion, ReviewRecord
from core.words import when

REVIEW_FOLDER = "reviews"
# who ran a review, in the words the pages show ("reviewed … from the command line")
SOURCES = {"ui": "the Review page", "cli": "the command line"}


@dataclass(frozen=True)
class Verdict:
    """What the gates said about a version: the same words on every page and on the card."""

    reviewed: bool
    passed: bool
    failing: tuple[str, ...] = ()
    reviewed_at: str = ""
    source: str = ""

    @property
    def summary(self) -> str:
        """A few words for a label or a metric: ``gates pass``, ``2 gates fail``."""
        if not self.reviewed:
            return "gates not run"
        if self.passed:
            return "gates pass"
        count = len(self.failing)
        return f"{count} gate{'s' if count != 1 else ''} fail" if count else "gates fail"

    @property
    def sentence(self) -> str:
        """The verdict with the failing gates named and where and when the review ran."""
        if not self.reviewed:
            return "The review has not been run yet, so no gate was checked."
        where = f" (reviewed {when(self.reviewed_at)} from {self.source})"
        if self.passed:
            return f"Passes every gate that was checked{where}."
        named = ", ".join(self.failing) or "at least one gate"
        return f"Fails {named}{where}."


NOT_REVIEWED = Verdict(reviewed=False, passed=False)


def source_of(actor: str) -> str:
    """Where a review ran, from who ran it: the page and the CLI have names, others are theirs."""
    return SOURCES.get(actor, actor)


def review_and_save(
    home: Path,
    ref: str | ModelVersion,
    *,
    source: str,
    actor: str,
    config: GateConfig | None = None,
    sensitive: list[str] | None = None,
    progress: Any = None,
    champion: ModelVersion | None = None,
) -> tuple[VersionReview, ReviewRecord]:
    """Review a version and save it as its newest review: how the Review page, the CLI and a
    retrain all review, so the card, sign-off and every page see the same record."""
    review = review_version(
        home, ref, config=config, sensitive=sensitive, progress=progress, champion=champion
    )
    key = review_key(review.version.id, config, sensitive)
    return review, save_review(home, review, source=source, actor=actor, settings_key=key)


def save_review(
    home: Path,
    review: VersionReview,
    *,
    source: str,
    actor: str,
    settings_key: str | None = None,
) -> ReviewRecord:
    """Write the review as a JSON artifact (atomically), then its row in the store."""
    text = json.dumps(review.to_dict(), default=_plain, allow_nan=False)
    relative = new_artifact_path(REVIEW_FOLDER, ".json")
    path = write_atomically(home, relative, lambda temp: temp.write_text(text, "utf-8"))
    failing = tuple(gate.title for gate in review.gates if gate.passed is False)
    with connect(home) as db:
        return models.add_review_record(
            db,
            version_id=review.version.id,
            path=relative,
            sha256=sha256_of(path),
            passed=review.passed,
            failing=failing,
            settings_key=settings_key,
            source=source,
            created_by=acting_name(actor),
        )


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


def latest_record(
    home: Path, version: ModelVersion, *, settings_key: str | None = None
) -> ReviewRecord | None:
    with connect(home) as db:
        return models.latest_review_record(db, version.id, settings_key=settings_key)


def latest_review(
    home: Path, version: ModelVersion, *, settings_key: str | None = None
) -> VersionReview | None:
    """The version's newest saved review (with these settings when a key is given)."""
    record = latest_record(home, version, settings_key=settings_key)
    return None if record is None else load_record(home, record)


def load_record(home: Path, record: ReviewRecord) -> VersionReview:
    """A saved review, after checking its artifact's hash."""
    return load_review(home, {"path": record.path, "sha256": record.sha256})


def verdict_of(record: ReviewRecord | None) -> Verdict:
    """The one rule from a saved review to a verdict."""
    if record is None:
        return NOT_REVIEWED
    return Verdict(
        reviewed=True,
        passed=record.passed,
        failing=record.failing,
        reviewed_at=record.created_at,
        source=record.source,
    )


def verdict(home: Path, version: ModelVersion) -> Verdict:
    """A version's verdict, from its newest saved review."""
    return verdict_of(latest_record(home, version))


def verdicts(home: Path) -> dict[int, Verdict]:
    """Every reviewed version's verdict by version id; a version not in it is not reviewed."""
    with connect(home) as db:
        records = models.latest_review_records(db)
    return {version_id: verdict_of(record) for version_id, record in records.items()}
