"""The Monitor page's Retrain section in AppTest: dry run, policies (and their refusals), a
retrain to its decision, promotion with and without approval, shadow mode and a label file."""

from __future__ import annotations

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from app import state
from core.jobs.runner import wait_for_job
from core.retrain.challenger import retrains_of
from core.review.record import verdict
from core.serving.deployments import get_deployment
from core.store import connect, deployments
from core.store import runs as runs_store
from core.train.registry import find_model_version
from tests.pages.apptest import no_errors, open_page, texts


def monitor_page() -> AppTest:
    return open_page("monitor", timeout=120)


@pytest.fixture
def studio(served, log_traffic, monkeypatch):
    home, deployment_id, champion_id = served
    monkeypatch.setenv("MLOPS_STUDIO_HOME", str(home))
    log_traffic(home, deployment_id, champion_id, 300, seed=21, concept="region")
    return home, deployment_id, champion_id


def test_dry_run_policy_retrain_and_promotion(studio):
    home, deployment_id, champion_id = studio
    at = monitor_page()
    no_errors(at)
    assert "No retrain yet for this deployment." in texts(at, "caption")

    at.button(key=state.RETRAIN_DRY_RUN).click().run()
    no_errors(at)
    # answered under the button, and not counted as a retrain
    assert "Dry run (nothing trained or changed): Would retrain" in texts(at, "info")
    assert "No retrain yet for this deployment." in texts(at, "caption")

    # a policy with no trigger is refused with a message; a real one is listed
    open_tab(at, "Policies")
    at.checkbox(key=state.RETRAIN_POLICY_TRIGGER.format(trigger="drift_share")).uncheck()
    at.button(key=state.RETRAIN_POLICY_ADD).click().run()
    assert "needs at least one trigger" in texts(at, "error")
    at.checkbox(key=state.RETRAIN_POLICY_TRIGGER.format(trigger="new_labels")).check()
    at.number_input(key=state.RETRAIN_POLICY_VALUE.format(trigger="new_labels")).set_value(100)
    at.text_input(key=state.RETRAIN_POLICY_NAME).input("When labels pile up")
    at.button(key=state.RETRAIN_POLICY_ADD).click().run()
    no_errors(at)
    assert "Added the policy When labels pile up." in texts(at, "success")
    assert "new labelled rows at least 100" in texts(at, "markdown")

    open_tab(at, "Retrains")
    at.button(key=state.RETRAIN_NOW).click().run()
    assert "is under way" in texts(at, "info")
    retrain = retrains_of(home, deployment_id)[0]
    wait_for_job(home, retrain.job_id, timeout=300)
    at.run()
    no_errors(at)
    assert "Retrain 2" in texts(at, "markdown")  # the dry run was retrain 1
    assert any(key.startswith("retrain.comparison.") for key in _chart_keys(at))
    assert "Not worse than the champion" in _gate_table(at)["gate"].tolist()
    # one verdict per version: Monitor and Review show the challenger's saved review alike
    challenger = find_model_version(home, "loans@challenger")
    found = verdict(home, challenger)
    assert found.reviewed and found.source == f"retrain {retrain.id}"
    assert f"loans v2: {found.sentence}" in texts(at, "caption")
    review = open_page("review", timeout=120, query={"version": str(challenger.id)})
    assert not review.exception, [e.value for e in review.exception]
    assert review.metric[0].label == "Gates" and review.metric[0].value == found.summary
    assert found.sentence in texts(review, "caption")
    assert list(_gate_table(review)["gate"]) == list(_gate_table(at)["gate"])
    # the history and the steps are folded away, and drawn when opened
    assert not any("retrain" in table.value.columns for table in at.dataframe)
    shown = len(at.markdown)
    at.session_state[state.RETRAIN_HISTORY] = True
    at.session_state[state.RETRAIN_STEPS.format(retrain_id=retrain.id)] = True
    at.run()
    no_errors(at)
    history = next(t.value for t in at.dataframe if "retrain" in t.value.columns)
    assert set(history["retrain"]) == {2}  # the dry run (1) is listed with the dry runs
    recorded = next(r for r in retrains_of(home, deployment_id) if r.id == retrain.id).steps
    assert len(at.markdown) == shown + len(recorded) > shown  # one line per recorded step

    # not approved: promotion needs a reason, which goes to the audit log
    at.button(key=state.RETRAIN_PROMOTE.format(retrain_id=retrain.id)).click().run()
    assert "override" in texts(at, "error")
    at.text_input(key=state.RETRAIN_REASON.format(retrain_id=retrain.id)).input(
        "the new rule holds in every labelled batch"
    )
    at.button(key=state.RETRAIN_PROMOTE.format(retrain_id=retrain.id)).click().run()
    no_errors(at)
    assert "loans v2 is champion" in texts(at, "success")
    assert get_deployment(home, deployment_id).model_version_id != champion_id


def test_shadow_and_label_file(studio):
    home, deployment_id, champion_id = studio
    at = monitor_page()
    open_tab(at, "Shadow")
    assert state.SHADOW_VERSION not in at.session_state  # no other version yet: none offered
    assert "has no other version to run in shadow yet" in texts(at, "caption")
    del at
    from core.train.registry import register_run

    with connect(home) as db:
        runs = [run.id for run in runs_store.find(db) if run.status == "done"]
        registered = runs_store.registered_ids(db, runs)
    register_run(home, next(r for r in runs if r not in registered), name="loans", onnx=False)
    at = monitor_page()
    open_tab(at, "Shadow")
    at.button(key=state.SHADOW_START).click().run()
    no_errors(at)
    assert "now scores the traffic in shadow" in texts(at, "success")
    assert get_deployment(home, deployment_id).shadow_version_id is not None
    assert "retrain.shadow" in _chart_keys(at)
    at.button(key=state.SHADOW_STOP).click().run()
    assert get_deployment(home, deployment_id).shadow_version_id is None

    with connect(home) as db:
        request_id = deployments.predictions(db, deployment_id, limit=1)[0]["request_id"]
    labels = pd.DataFrame(
        {"request_id": [request_id, request_id, "nope"], "row": [0, 0, 0], "label": [1, 0, 1]}
    ).to_csv(index=False)
    upload = ("labels.csv", labels.encode(), "text/csv")
    open_tab(at, "Labels")
    at.file_uploader(key=state.LABELS_FILE).set_value(upload).run()
    at.button(key=state.LABELS_APPLY).click().run()
    no_errors(at)
    assert "Applied 1 labels (1 duplicate lines: the last one won)." in texts(at, "success")
    assert "never answered were skipped: nope" in texts(at, "warning")


def open_tab(at: AppTest, label: str) -> None:
    """Choose a tab of the Retrain section, as a click does (only the chosen one is drawn)."""
    at.session_state[state.RETRAIN_TAB] = label
    at.run()
    no_errors(at)


def _chart_keys(at: AppTest) -> list[str]:
    return [chart.proto.id for chart in at.get("plotly_chart")] + [
        getattr(chart, "key", "") or "" for chart in at.get("plotly_chart")
    ]


def _gate_table(at: AppTest) -> pd.DataFrame:
    return next(t.value for t in at.table if t.value.index.name == "gate").reset_index()
