"""The Review page in AppTest: run the review, read gates and fairness, explain, card, sign-off."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from app import state
from core.jobs import wait_for_job
from core.review.review import submit_explanation, submit_review
from core.review.signoff import CHECKLIST, reviews
from core.train.registry import find_model_version, register_run
from tests.pages.apptest import no_errors, open_page


def review_page(query: dict[str, str] | None = None) -> AppTest:
    return open_page("review", query=query)


@pytest.fixture(scope="module")
def reviewed_home(tmp_path_factory: pytest.TempPathFactory, train_frame) -> Path:
    home = tmp_path_factory.mktemp("review") / "studio"
    rng = np.random.default_rng(11)
    n = 1500
    frame = pd.DataFrame(
        {
            "income": rng.normal(50, 10, n),
            "debt": rng.normal(10, 3, n),
            "sex": rng.choice(["female", "male"], n),
            "age_band": rng.choice(["18-25", "26-40", "41+"], n),
        }
    )
    risk = -0.1 * (frame["income"] - 50) + 0.2 * (frame["debt"] - 10) + (frame["sex"] == "male")
    frame["default"] = (risk + rng.normal(size=n) > 0.5).astype(int)
    outcome = train_frame(
        home, frame, name="loans", target="default", models=("hist_gradient_boosting",), folds=3
    )
    registered = register_run(home, outcome.best.id, name="loans", onnx=False)
    for job in (submit_review(home, registered), submit_explanation(home, registered)):
        assert wait_for_job(home, job.id, timeout=240).status == "done", job
    return home


@pytest.fixture
def studio(reviewed_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MLOPS_STUDIO_HOME", str(reviewed_home))
    return reviewed_home


def test_gates_errors_fairness_and_explanations_render(studio: Path) -> None:
    at = review_page()
    no_errors(at)
    gates = at.table[0].value  # static: each gate's detail is shown whole, wrapped
    assert {"Holdout ROC AUC", "No sign of target leakage"} <= set(gates.index)
    segments = at.dataframe[0].value  # the gates are a static table now
    assert {"sex", "age_band"} <= set(segments["column"])
    assert at.selectbox(key=state.REVIEW_FAIRNESS_FEATURE).options
    assert len(at.get("plotly_chart")) >= 6
    at.selectbox(key=state.REVIEW_SHAP_FEATURE).set_value("debt").run()
    no_errors(at)


def test_the_fairness_chart_shows_the_rows_behind_each_rate(studio: Path) -> None:
    at = review_page()
    at.selectbox(key=state.REVIEW_FAIRNESS_METRIC).set_value("selection_rate").run()
    no_errors(at)
    specs = [chart.proto.spec for chart in at.get("plotly_chart")]
    (chart,) = [spec for spec in specs if "Selection rate by" in spec]
    assert "rows predicted positive" in chart and "under each group: the rows" in chart


def test_the_chosen_tab_survives_a_redraw(studio: Path) -> None:
    at = review_page()
    assert at.session_state[state.REVIEW_TAB] == "Gates"  # the tabs keep state: a widget
    at.session_state[state.REVIEW_TAB] = "Sign-off"  # a person opens the Sign-off tab
    at.run()
    assert len(at.get("plotly_chart")) >= 6  # every tab is still drawn
    at.run()  # the page redraws, as when a review or explanation job ends
    no_errors(at)
    assert at.session_state[state.REVIEW_TAB] == "Sign-off"


def test_what_if_editor_shows_the_chosen_row(studio: Path) -> None:
    at = review_page()
    at.number_input(key=state.REVIEW_ROW).set_value(3).run()
    no_errors(at)
    editor = at.dataframe(key=f"{state.REVIEW_WHAT_IF}.3")
    assert len(editor.value) == 1 and "income" in editor.value.columns


def test_sign_off_is_enforced_and_recorded(studio: Path) -> None:
    at = review_page()
    at.text_input(key=state.REVIEW_REVIEWER).input("Ana").run()
    at.text_area(key=state.REVIEW_COMMENT).input("Looks good").run()
    at.button(key=state.REVIEW_SUBMIT).click().run()
    no_errors(at)
    assert any("tick every checklist item" in e.value for e in at.error)
    for key in CHECKLIST:
        at.checkbox(key=f"{state.REVIEW_CHECK}.{key}").check()
    at.run()
    # failing gates and no intended use: the page names them before the click, and asks why
    warning = at.warning[0].value.replace("\\", "")
    assert warning.startswith(
        "loans v1 fails the gates Overfitting (train vs holdout gap), Calibration error and "
        "Security: membership inference, and has no intended use written"
    )
    at.button(key=state.REVIEW_SUBMIT).click().run()
    no_errors(at)
    assert any("give a reason of at least 10 characters" in e.value for e in at.error)
    assert find_model_version(studio, "loans@1").review_state == "not reviewed"
    at.text_input(key=state.REVIEW_APPROVE_REASON).input("Internal pilot, use agreed").run()
    at.button(key=state.REVIEW_SUBMIT).click().run()
    no_errors(at)
    approved = find_model_version(studio, "loans@1")
    assert approved.review_state == "approved"
    (decision,) = reviews(studio, approved)
    assert decision.override_reason == "Internal pilot, use agreed"
    assert decision.evidence["passed"] is False and decision.evidence["gates"]
    assert decision.evidence["failing"] == [
        "Overfitting (train vs holdout gap)",
        "Calibration error",
        "Security: membership inference",  # the overfitted boosting remembers its rows too
    ]
    history = next(d.value for d in at.dataframe if "reviewer" in d.value.columns)
    assert list(history["reason to approve anyway"]) == ["Internal pilot, use agreed"]
    # the picker was sent its new label: a browser shows the label it was last sent
    picker = at.selectbox(key=state.REVIEW_VERSION)
    assert picker.options == ["loans v1 — approved, 3 gates fail"]
    assert picker.proto.set_value and picker.proto.raw_value == picker.options[0]
    at.button(key=state.REVIEW_PROMOTE).click().run()
    no_errors(at)
    assert find_model_version(studio, "loans@1").aliases == ("champion",)
    picker = at.selectbox(key=state.REVIEW_VERSION)
    assert picker.proto.raw_value == "loans v1 [champion] — approved, 3 gates fail"


def test_meeting_mode_hides_the_editing_controls(studio: Path) -> None:
    at = review_page({"meeting": "1"})
    no_errors(at)
    keys = {widget.key for widget in at.button}
    assert state.REVIEW_RUN not in keys
    assert "Holdout ROC AUC" in set(at.table[0].value.index)


def test_the_what_if_path_flags_values_outside_training(studio: Path) -> None:
    from app import cache
    from app.review.explain_charts import waterfall_figure

    version = find_model_version(studio, "loans@1")
    row = {"income": 999.0, "debt": 10.0, "sex": "other", "age_band": "26-40"}
    result = cache.what_if(str(studio), version.id, row)
    flagged = {flag.feature for flag in result.out_of_range}
    assert {"income", "sex"} <= flagged
    figure = waterfall_figure(result.shap, result.base_value, result.output_value)
    assert figure.data


def threshold_table(at: AppTest) -> pd.DataFrame:
    return next(t.value for t in at.table if "with this choice" in t.value.columns)


def test_a_threshold_is_chosen_on_the_holdout_and_kept_with_the_version(
    tmp_path: Path, loans_studio, monkeypatch: pytest.MonkeyPatch
) -> None:
    from core.review.record import review_and_save

    home = loans_studio(tmp_path / "studio", rows=400, seed=9)
    review_and_save(home, "loans@1", source="cli", actor="test")
    monkeypatch.setenv("MLOPS_STUDIO_HOME", str(home))
    at = review_page()
    at.session_state[state.REVIEW_TAB] = "Threshold"
    at.run()
    no_errors(at)
    assert any("the most probable class (0.5)" in m.value for m in at.markdown)
    table = threshold_table(at)
    assert list(table.columns) == ["now", "with this choice"]
    assert table.loc["threshold", "now"] == "0.500"
    at.radio(key=state.REVIEW_THRESHOLD_HOW).set_value("cost").run()
    at.number_input(key=state.REVIEW_THRESHOLD_MISS).set_value(20.0).run()
    no_errors(at)
    chosen = float(threshold_table(at).loc["threshold", "with this choice"])
    assert chosen < 0.5  # a miss costing 20 false alarms calls more rows positive
    at.button(key=state.REVIEW_THRESHOLD_SAVE).click().run()
    no_errors(at)
    kept = find_model_version(home, "loans@1")
    assert kept.decision_threshold is not None and round(kept.decision_threshold, 3) == chosen
    assert kept.threshold_basis == "cheapest mistakes on the holdout"
    assert any("cheapest mistakes on the holdout" in m.value for m in at.markdown)
