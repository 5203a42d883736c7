"""Separation of duties on a real trained version: its maker cannot approve it, an approver
cannot put their own override into service, several reviewers sign off one version, and an
admin can turn the rule off (recorded)."""

import numpy as np
import pandas as pd
import pytest

from core.auth import Identity, NotAllowed, acting_as
from core.auth.accounts import add_user
from core.auth.duties import check_may_promote, separation_of_duties, set_separation_of_duties
from core.review.signoff import CHECKLIST, record_decision, reviews
from core.serving.deployments import deploy
from core.store import audit, connect
from core.train.registry import find_model_version, register_run

ADA = Identity("ada", "admin", "session")
ROOT = Identity("root", "admin", "session")
REASON = "Reviewed in the meeting of 7 December; gates to be run next sprint."


def _approve(home, version, who: Identity):
    with acting_as(who):
        return record_decision(
            home, version, reviewer="typed name", decision="approve", comment="fine",
            checklist=dict.fromkeys(CHECKLIST, True), reason=REASON,
        )  # fmt: skip


@pytest.fixture
def made_by_ada(team, train_frame):
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"income": rng.normal(50, 10, 300), "region": rng.choice(["n", "s"], 300)})
    frame["default"] = (frame["income"] < 50).astype(int)
    with acting_as(ADA):
        add_user(team, "root", role="admin", password="correct horse battery")
        outcome = train_frame(team, frame, name="loans", target="default", folds=2)
        register_run(team, outcome.best.id, name="loans", onnx=False)
    return team, find_model_version(team, "loans@1")


def test_the_maker_cannot_approve_and_others_can(made_by_ada, as_role) -> None:
    home, version = made_by_ada
    assert version.created_by == "ada"
    with pytest.raises(NotAllowed, match="ada trained or registered loans"):
        _approve(home, version, ADA)
    first = _approve(home, version, ROOT)
    with as_role("reviewer"):
        second = record_decision(
            home, version, reviewer="", decision="changes", comment="needs fairness check"
        )
    assert {(r.reviewer, r.decision) for r in reviews(home, version)} == {
        ("root", "approve"), ("rui", "changes"),
    }  # fmt: skip
    assert first.override_reason == REASON and second.reviewer == "rui"


def test_an_approver_cannot_put_their_own_override_into_service(made_by_ada, as_role) -> None:
    home, version = made_by_ada
    _approve(home, version, ROOT)
    with acting_as(ROOT), pytest.raises(NotAllowed, match="root approved loans"):
        deploy(home, "loans@1", override_reason=REASON)
    with as_role("operator"):
        check_may_promote(home, find_model_version(home, "loans@1"))


def test_an_admin_can_turn_the_rule_off_and_it_is_recorded(made_by_ada, as_role) -> None:
    home, version = made_by_ada
    with as_role("reviewer"), pytest.raises(NotAllowed, match="admin"):
        set_separation_of_duties(home, False)
    with acting_as(ADA):
        set_separation_of_duties(home, False, reason="a team of one this quarter")
    assert not separation_of_duties(home)
    assert _approve(home, version, ADA).reviewer == "ada"
    with connect(home) as db:
        event = audit.events(db, action="settings.separation_of_duties")[0]
    assert (event.actor, event.role, event.details["on"]) == ("ada", "admin", False)


def test_the_model_card_names_who_did_what_with_their_roles(made_by_ada) -> None:
    from core.review.card import build_card

    home, version = made_by_ada
    _approve(home, version, ROOT)
    with acting_as(ROOT):
        card = build_card(home, version)
    done = [(who, what) for _, who, what in card.people]
    assert ("ada (admin)", "trained it") in done
    assert ("ada (admin)", "registered it") in done
    assert done[-1] == ("root (admin)", "approved it")
    assert "## Who did what" in card.to_markdown() and "root (admin)" in card.to_html()
