"""The registry: versions number up per model, aliases move, reviews set the review state."""

import sqlite3

import pytest

from core.store import models, runs


def test_register_numbers_versions_and_reuses_a_registered_run(db, register) -> None:
    first = register(onnx={"opset": 17}, aliases=("champion",))
    second = register(aliases=("champion", "challenger"))
    assert isinstance(first, models.ModelVersion)
    assert (first.version, second.version, first.label) == (1, 2, "credit v1")
    assert first.onnx == {"opset": 17} and first.review_state == "not reviewed"
    again = models.register(
        db,
        models.NewModelVersion(
            model_name="credit",
            run_id=first.run_id,
            artifact_path="x",
            artifact_sha256="y",
        ),
        created_by="bo",
    )
    assert again.id == first.id
    # an alias names one version at a time
    assert models.get_version(db, first.id).aliases == ()
    assert models.get_version(db, second.id).aliases == ("challenger", "champion")
    assert models.get_version(db, second.id).to_dict()["aliases"] == ["challenger", "champion"]


def test_lookups_by_number_alias_and_name(db, register) -> None:
    first = register()
    other = register("fraud")
    second = register()
    model_id = first.model_id
    models.set_alias(db, model_id=model_id, alias="champion", version_id=first.id, updated_by="a")
    assert models.version_by_alias(db, "credit", "champion").id == first.id
    models.remove_alias(db, model_id=model_id, alias="champion")
    assert models.version_by_alias(db, "credit", "champion") is None
    assert models.version_by_number(db, "credit", 2).id == second.id
    assert models.version_by_number(db, "credit", 3) is None
    assert [v.id for v in models.versions(db)] == [second.id, first.id, other.id]
    assert [v.id for v in models.versions(db, "fraud")] == [other.id]
    assert models.names(db) == ["credit", "fraud"]
    assert models.get_version(db, 999) is None
    assert runs.get(db, first.run_id) is not None


def test_reviews_set_the_state_and_list_newest_first(db, register) -> None:
    version = register()
    first = models.add_review(
        db,
        version_id=version.id,
        reviewer="rae",
        decision="changes",
        comment="more data",
        checklist={"gates": True},
        evidence={"auc": 0.8},
    )
    assert isinstance(first, models.Review) and first.checklist == {"gates": True}
    assert models.get_version(db, version.id).review_state == "changes requested"
    models.add_review(
        db,
        version_id=version.id,
        reviewer="rae",
        decision="approve",
        comment="",
        checklist={},
        evidence={},
    )
    assert models.get_version(db, version.id).review_state == "approved"
    assert [r.decision for r in models.reviews_of(db, version.id)] == ["approve", "changes"]
    models.set_intended_use(db, version.id, "Loan triage")
    assert models.get_version(db, version.id).intended_use == "Loan triage"
    with pytest.raises(sqlite3.IntegrityError):
        models.add_review(
            db,
            version_id=version.id,
            reviewer="rae",
            decision="maybe",
            comment="",
            checklist={},
            evidence={},
        )
    assert len(models.reviews_of(db, version.id)) == 2


def test_review_records_keep_each_versions_newest_review(db, register) -> None:
    first, second = register(), register()

    def save(version, passed, failing=(), key=None):
        return models.add_review_record(
            db,
            version_id=version.id,
            path=f"reviews/{version.id}-{passed}.json",
            sha256="a" * 64,
            passed=passed,
            failing=failing,
            settings_key=key,
            source="the command line",
            created_by="cli",
        )

    assert models.latest_review_record(db, first.id) is None
    failed = save(first, False, ("Holdout ROC AUC",), key="strict")
    newest = save(first, True)
    save(second, False, ("Calibration error", "Target leakage"))
    assert models.latest_review_record(db, first.id) == newest
    assert models.latest_review_record(db, first.id, settings_key="strict") == failed
    assert failed.failing == ("Holdout ROC AUC",) and failed.passed is False
    latest = models.latest_review_records(db)
    assert set(latest) == {first.id, second.id}
    assert latest[first.id] == newest
    assert latest[second.id].failing == ("Calibration error", "Target leakage")


def test_reviews_run_before_the_record_existed_are_carried_over(tmp_path) -> None:
    from sqlite_utils import Database

    from core.store.migrations import migrations

    db = Database(tmp_path / "old.db")
    migrations.apply(db, stop_before="0009_review_records")
    result = '{"path": "reviews/a.json", "sha256": "%s", "passed": true, "key": "k1"}' % ("b" * 64)
    for status, subject in (("done", "model_version:7"), ("failed", "model_version:8")):
        db["jobs"].insert(
            {
                "kind": "review_model_version",
                "subject": subject,
                "params_json": "{}",
                "status": status,
                "result_json": result if status == "done" else None,
                "created_by": "ui",
                "created_at": "2026-01-02T03:04:05+00:00",
                "finished_at": "2026-01-02T03:05:00+00:00",
            }
        )
    migrations.apply(db)
    assert db["review_records"].count == 1 and models.latest_review_record(db, 8) is None
    record = models.latest_review_record(db, 7)
    assert record is not None
    assert (record.model_version_id, record.path, record.passed) == (7, "reviews/a.json", True)
    assert record.settings_key == "k1" and record.source == "the Review page"
    assert record.created_at == "2026-01-02T03:05:00+00:00"
