"""Sign-off, the champion rule and the model card, on a real store with a trained model."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.review.card import build_card, write_card
from core.review.signoff import CHECKLIST, SignOffError, record_decision, reviews, set_intended_use
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
    review = record_decision(
        trained_home,
        version,
        reviewer="Ana",
        decision="approve",
        comment="Fine now",
        checklist=ALL_TICKED,
    )
    assert review.checklist == ALL_TICKED
    assert find_model_version(trained_home, "loans@2").review_state == "approved"
    champion = set_alias(trained_home, name="loans", version=2, alias="champion")
    assert champion.aliases == ("champion",)
    history = reviews(trained_home, champion)
    assert [r.decision for r in history] == ["approve", "changes"]
    with connect(trained_home) as db:
        actions = [e.action for e in audit.events(db, entity_type="model_version")]
    assert "model.review.approve" in actions and "model.review.changes" in actions


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
