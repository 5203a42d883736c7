"""The Train page in AppTest: the form, clear refusals, a real training job and its leaderboard."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from app import state
from core.jobs import wait_for_job
from core.jobs.runner import current_job
from core.train import registry, tracking
from tests.pages.apptest import no_errors, open_page


def train_page() -> AppTest:
    return open_page("train")


@pytest.fixture
def loans_home(studio_home: Path, import_frame) -> Path:
    rng = np.random.default_rng(1)
    n = 300
    income = rng.normal(50, 10, n)
    frame = pd.DataFrame(
        {
            "income": income,
            "region": rng.choice(["north", "south"], n),
            "score": rng.normal(size=n),
            "target": (income + rng.normal(scale=8, size=n) > 50).astype(int),
            "spend": income * 3 + rng.normal(size=n),
        }
    )
    frame.loc[:4, "spend"] = np.nan
    import_frame(studio_home, frame, name="loans")
    return studio_home


def test_form_detects_the_task_and_suggests_the_target(loans_home: Path) -> None:
    at = train_page()
    no_errors(at)
    assert at.selectbox(key=state.TRAIN_TARGET).value == "target"
    assert any("Detected: binary" in caption.value for caption in at.caption)
    assert at.button(key=state.TRAIN_START).disabled is False


def test_a_bad_target_is_explained_and_training_is_disabled(loans_home: Path) -> None:
    at = train_page()
    at.selectbox(key=state.TRAIN_TARGET).set_value("region").run()
    task_box = next(box for box in at.selectbox if box.key.startswith(state.TRAIN_TASK))
    task_box.set_value("regression").run()
    no_errors(at)
    assert any("numeric target" in error.value for error in at.error)
    assert at.button(key=state.TRAIN_START).disabled is True


def test_missing_target_values_offer_to_drop_those_rows(loans_home: Path) -> None:
    at = train_page()
    at.selectbox(key=state.TRAIN_TARGET).set_value("spend").run()
    no_errors(at)
    assert any("missing in 5 rows" in warning.value for warning in at.warning)
    assert at.button(key=state.TRAIN_START).disabled is True
    at.checkbox(key=state.TRAIN_DROP_MISSING).check().run()
    no_errors(at)
    assert any("Detected: regression" in caption.value for caption in at.caption)
    assert at.button(key=state.TRAIN_START).disabled is False


def test_a_plan_that_cannot_split_is_explained(loans_home: Path) -> None:
    at = train_page()
    at.selectbox(key=state.TRAIN_GROUP).set_value("region").run()
    no_errors(at)
    shown = [e.value.replace("\\", "") for e in at.error]  # errors are Markdown-escaped
    assert any("group k-fold with 5 folds" in text for text in shown), shown
    assert at.button(key=state.TRAIN_START).disabled is True
    at.selectbox(key=state.TRAIN_GROUP).set_value("(none)").run()
    assert not at.error
    assert at.button(key=state.TRAIN_START).disabled is False


def test_training_runs_as_a_job_and_shows_a_leaderboard(loans_home: Path) -> None:
    at = train_page()
    at.toggle(key=state.TRAIN_COMPARE_ALL).set_value(False).run()
    models = next(m for m in at.multiselect if m.key.startswith(state.TRAIN_MODELS))
    models.set_value(["logistic_regression", "decision_tree"]).run()
    at.selectbox(key=state.TRAIN_STRATEGY).set_value("random").run()
    at.number_input(key=state.TRAIN_TRIALS).set_value(3).run()
    at.number_input(key=state.TRAIN_FOLDS).set_value(3).run()
    at.button(key=state.TRAIN_START).click().run()
    no_errors(at)
    job = current_job(loans_home, kind="train", subject="version:1")
    assert job is not None
    assert wait_for_job(loans_home, job.id, timeout=180).status == "done"
    at.run()
    no_errors(at)
    board = at.dataframe[0].value
    assert set(board["model"]) == {"Baseline (dummy)", "Logistic regression", "Decision tree"}
    assert board["rank"].tolist() == [1, 2, 3]
    runs = tracking.list_runs(loans_home)
    tree = next(run for run in runs if run.model == "decision_tree")
    assert len(tracking.run_detail(loans_home, tree.id).trials) == 3

    at.text_input(key=state.TRAIN_REGISTER_NAME).input("loan-model").run()
    at.button(key=state.TRAIN_REGISTER).click().run()
    no_errors(at)
    assert any("Registered loan-model v1" in s.value.replace("\\", "") for s in at.success)
    assert registry.find_model_version(loans_home, "loan-model").version == 1


def test_the_job_is_found_again_after_a_restart(loans_home: Path) -> None:
    from core.train.plan import ValidationPlan
    from core.train.training import TrainRequest, submit_training

    request = TrainRequest(
        version_id=1, target="target", models=("logistic_regression",), plan=ValidationPlan(folds=3)
    )
    job = submit_training(loans_home, request)
    wait_for_job(loans_home, job.id, timeout=120)
    at = train_page()
    no_errors(at)
    assert at.dataframe, "the leaderboard of the earlier job shows in a fresh session"


def _trials(home: Path, job_id: int) -> int:
    from core.store import connect
    from core.store import runs as runs_store

    with connect(home) as db:
        return len(runs_store.find(db, kind="trial", job_id=job_id))


def test_live_progress_shows_the_search_and_cancel_stops_it(loans_home: Path, wait_until) -> None:
    from core.store import connect
    from core.store import runs as runs_store
    from core.train.plan import ValidationPlan
    from core.train.training import TrainRequest, submit_training

    request = TrainRequest(
        version_id=1,
        target="target",
        models=("random_forest",),
        strategy="random",
        trials=500,
        plan=ValidationPlan(folds=3),
    )
    job = submit_training(loans_home, request)
    wait_until(lambda: _trials(loans_home, job.id) >= 2, timeout=90, every=0.3)
    at = train_page()
    no_errors(at)
    assert at.get("plotly_chart"), "the best-so-far chart shows while the search runs"
    assert any("trial" in p.text for p in at.get("progress"))
    at.button(key=state.JOB_CANCEL.format(job_id=job.id)).click().run()
    assert wait_for_job(loans_home, job.id, timeout=60).status == "cancelled"
    with connect(loans_home) as db:
        runs = runs_store.find(db, kind=None, job_id=job.id, include_archived=True)
    assert runs and all(run.status != "running" for run in runs)
