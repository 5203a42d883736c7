"""Sign-off, the champion rule and the model card, on a real store with a trained model."""

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.review.card import build_card, write_card
from core.review.gates import GateConfig
from core.review.record import Verdict, review_and_save
from core.review.signoff import (
    CHECKLIST,
    FAILING_UNNAMED,
    SignOffError,
    approval_concerns,
    record_decision,
    reviews,
    set_intended_use,
)
from core.store import audit, connect
from core.train.registry import RegistryError, find_model_version, register_run, set_alias

ALL_TICKED = dict.fromkeys(CHECKLIST, True)


@pytest.fixture(scope="module")
def trained_home(tmp_path_factory, train_frame) -> Path:
    home = tmp_path_factory.mktemp("signoff") / "studio"
    rng = np.random.default_rng(5)
    n = 600
    frame = pd.DataFrame(
        {
            "income": rng.normal(50, 10, n),
            "sex": rng.choice(["female", "male"], n),
            "age_band": rng.choice(["18-25", "26-40", "41+"], n),
            "<b>note</b>": rng.choice(["x", "y"], n),
        }
    )
    frame["default"] = ((frame["income"] + rng.normal(scale=8, size=n)) < 48).astype(int)
    outcome = train_frame(home, frame, name="loans", target="default", folds=3)
    register_run(home, outcome.best.id, name="loans", onnx=False)
    register_run(home, outcome.runs[1].id, name="loans", onnx=False)
    return home


def test_decisions_are_validated(trained_home):
    version = find_model_version(trained_home, "loans@1")
    with pytest.raises(SignOffError, match="reviewer's name"):
        record_decision(trained_home, version, reviewer=" ", decision="approve", comment="ok")
    with pytest.raises(SignOffError, match="must be one of"):
        record_decision(trained_home, version, reviewer="Ana", decision="maybe", comment="ok")
    with pytest.raises(SignOffError, match="say why you reject"):
        record_decision(trained_home, version, reviewer="Ana", decision="reject", comment="")
    with pytest.raises(SignOffError, match="tick every checklist item"):
        record_decision(trained_home, version, reviewer="Ana", decision="approve", comment="ok")
    assert reviews(trained_home, version) == []


def test_approval_is_recorded_audited_and_unlocks_champion(trained_home):
    version = find_model_version(trained_home, "loans@2")
    with pytest.raises(RegistryError, match="only an approved version"):
        set_alias(trained_home, name="loans", version=2, alias="champion")
    record_decision(
        trained_home, version, reviewer="Ana", decision="changes", comment="Check the 18-25 band"
    )
    assert find_model_version(trained_home, "loans@2").review_state == "changes requested"
    approve = dict(reviewer="Ana", decision="approve", comment="Fine now", checklist=ALL_TICKED)
    with pytest.raises(SignOffError) as refused:
        record_decision(trained_home, version, **approve)
    assert str(refused.value).startswith(
        "loans v2 has not been reviewed, so no gate was checked (run the review first), and has "
        "no intended use written"
    )
    assert "give a reason of at least 10 characters" in str(refused.value)
    with pytest.raises(SignOffError, match="at least 10 characters"):
        record_decision(trained_home, version, **approve, reason="  because ")
    review = record_decision(
        trained_home, version, **approve, reason="Pilot only: reviewed on paper last week"
    )
    assert review.checklist == ALL_TICKED
    assert review.override_reason == "Pilot only: reviewed on paper last week"
    assert review.evidence["reviewed"] is False and len(review.evidence["concerns"]) == 2
    assert find_model_version(trained_home, "loans@2").review_state == "approved"
    champion = set_alias(trained_home, name="loans", version=2, alias="champion")
    assert champion.aliases == ("champion",)
    history = reviews(trained_home, champion)
    assert [r.decision for r in history] == ["approve", "changes"]
    with connect(trained_home) as db:
        events = audit.events(db, entity_type="model_version")
    actions = [e.action for e in events]
    assert "model.review.approve" in actions and "model.review.changes" in actions
    approved = next(e for e in events if e.action == "model.review.approve")
    assert approved.details["override_reason"] == "Pilot only: reviewed on paper last week"


def test_approving_over_failing_gates_names_them_and_the_review_is_the_evidence(trained_home):
    version = find_model_version(trained_home, "loans@1")
    set_intended_use(trained_home, version, "Pre-screening of loan applications", actor="t")
    version = find_model_version(trained_home, "loans@1")
    strict = replace(GateConfig.defaults("binary"), min_metric=0.999, max_overfit_gap=None)
    failed, _ = review_and_save(trained_home, version, config=strict, source="a test", actor="t")
    assert not failed.passed
    approve = dict(reviewer="Ana", decision="approve", comment="Fine", checklist=ALL_TICKED)
    with pytest.raises(SignOffError) as refused:
        record_decision(trained_home, version, **approve)
    assert "loans v1 fails the gate Holdout ROC AUC." in str(refused.value)
    assert "intended use" not in str(refused.value)
    fine, record = review_and_save(trained_home, version, source="a test", actor="t")
    assert fine.passed, [g for g in fine.gates if g.passed is False]
    decision = record_decision(trained_home, version, **approve)  # no reason needed now
    assert decision.override_reason is None
    evidence = decision.evidence
    assert evidence["passed"] is True and evidence["review_id"] == record.id
    assert evidence["review_source"] == "a test" and evidence["concerns"] == []
    assert {gate["name"] for gate in evidence["gates"]} >= {"min_metric", "max_overfit_gap"}
    assert evidence["fairness"]  # the suggested sensitive feature (sex) was measured


def test_the_card_holds_what_the_store_knows_and_escapes_user_text(trained_home, tmp_path):
    version = find_model_version(trained_home, "loans@1")
    set_intended_use(trained_home, version, "Pre-screening <script>alert(1)</script>", actor="t")
    card = build_card(trained_home, "loans@1")
    markdown = card.to_markdown()
    assert "## Intended use" in markdown and "Pre-screening" in markdown
    assert "<script>" not in markdown
    assert "ROC AUC" in markdown and "loans v1" in markdown
    out = write_card(trained_home, "loans@1", tmp_path / "card.html")
    page = out.read_text()
    assert page.startswith("<!DOCTYPE html>") and "<script>" not in page
    assert "&lt;script&gt;" in page
    assert "Content-Security-Policy" in page
    assert "Not written yet" in build_card(trained_home, "loans@2").to_markdown()


def test_a_review_saved_before_gates_were_named_still_stops_an_approval(trained_home):
    set_intended_use(trained_home, find_model_version(trained_home, "loans@1"), "Triage", actor="t")
    version = find_model_version(trained_home, "loans@1")
    found = Verdict(reviewed=True, passed=False)  # a review job's result carried over
    assert approval_concerns(version, found)[0] == FAILING_UNNAMED
    assert approval_concerns(version, Verdict(reviewed=True, passed=True)) == []
