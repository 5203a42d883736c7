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
