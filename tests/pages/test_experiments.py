"""The Experiments page in AppTest: runs table and filters, detail, compare, archive, registry."""

import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from app import state
from app.text import md
from core import store
from core.store import connect, runs
from core.store.runs import NewRun
from core.train import registry, tracking
from core.train.environment import environment
from core.train.evaluate import Evaluation, compute_metrics, plot_data
from tests.pages.apptest import no_errors, open_page


def experiments_page() -> AppTest:
    at = open_page("experiments", timeout=60)
    no_errors(at)
    return at


def table_runs(at: AppTest) -> list[int]:
    return at.dataframe[0].value["run"].tolist()


def pick(at: AppTest, *run_ids: int) -> AppTest:
    at.multiselect(key=state.EXPERIMENTS_PICKED).set_value(list(run_ids)).run()
    no_errors(at)
    return at


def _evaluation(seed: int) -> tuple[dict, dict]:
    """Real holdout metrics and plot data (as training stores them) of a made-up model."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 2, 200)
    positive = np.clip(truth * 0.5 + rng.random(200) * 0.6, 0, 1)
    probabilities = np.column_stack([1 - positive, positive])
    predicted = (positive > 0.5).astype(int)
    given = {"predicted": predicted, "probabilities": probabilities, "classes": [0, 1]}
    metrics = compute_metrics(truth, task="binary", **given)
    evaluation = Evaluation("binary", metrics, plot_data(truth, task="binary", **given))
    return metrics, evaluation.to_dict()


def seed_run(
    home: Path, *, model: str, score: float, experiment: str = "credit", tags=(), trials: int = 0
) -> int:
    """A finished binary run written through the records layer, with trials if asked."""
    holdout, evaluation = _evaluation(seed=len(model))
    params = {"n_estimators": 200, "max_depth": 8} if model == "random_forest" else {"C": 1.0}
    new = NewRun(
        experiment=experiment,
        kind="model",
        model=model,
        task="binary",
        target="target",
        metric="roc_auc",
        params=params,
        plan={"folds": 5, "holdout": 0.2, "seed": 42, "description": "5-fold stratified CV"},
        environment=environment(),
        tags=list(tags),
        notes="seeded by the test",
        seed=42,
        strategy="random" if trials else "none",
    )
    cv = {name: {"mean": value, "std": 0.01} for name, value in holdout.items()}
    cv["roc_auc"] = {"mean": score, "std": 0.02}
    with connect(home) as db:
        run_id = runs.insert(db, new, created_by="test")
        runs.update(
            db,
            run_id,
            status="done",
            score=score,
            score_std=0.02,
            holdout_score=holdout["roc_auc"],
            metrics={"cv": cv, "holdout": holdout, "cost": {"fit_seconds": 0.4}},
            fit_seconds=0.4,
            duration_seconds=1.2,
            size_bytes=12_345,
            predict_ms=0.8,
            finished_at=store.now(),
        )
        runs.save_details(
            db,
            run_id,
            evaluation=evaluation,
            search={"strategy": new.strategy, "trials": trials, "pruned": 0, "failed": 0},
            features=["age", "income"],
        )
        _seed_trials(db, new, run_id, trials)
    return run_id


def _seed_trials(db, new: NewRun, run_id: int, count: int) -> None:
    rng = np.random.default_rng(run_id)
    trials, results = [], []
    for number in range(count):
        params = {"n_estimators": int(rng.integers(50, 400)), "max_depth": int(rng.integers(2, 12))}
        trials.append(replace(new, kind="trial", parent_id=run_id, params=params, status="done"))
        results.append(
            {
                "score": float(0.7 + rng.random() * 0.2),
                "score_std": 0.02,
                "metrics": {"number": number, "round": 0, "fold_scores": [0.8, 0.82]},
                "duration_seconds": 0.3,
                "finished_at": store.now(),
            }
        )
    if trials:
        runs.insert_trials(db, trials, results, created_by="test")


@pytest.fixture
def seeded(studio_home: Path) -> dict[str, int]:
    return {
        "forest": seed_run(studio_home, model="random_forest", score=0.83, trials=6),
        "logistic": seed_run(
            studio_home, model="logistic_regression", score=0.79, tags=["baseline"]
        ),
        "other": seed_run(studio_home, model="logistic_regression", score=0.75, experiment="churn"),
    }


@pytest.fixture(scope="module")
def trained_template(tmp_path_factory: pytest.TempPathFactory, train_frame) -> tuple[Path, int]:
    """A studio with a real finished run and model file, trained once for the module."""
    folder = tmp_path_factory.mktemp("trained")
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"age": rng.integers(18, 80, 300), "region": rng.choice(["n", "s"], 300)})
    frame["target"] = ((frame["age"] > 45) ^ (rng.random(300) < 0.1)).astype(int)
    home = folder / "studio"
    outcome = train_frame(home, frame, name="small", target="target", folds=3)
    return home, next(run.id for run in outcome.runs if run.model == "logistic_regression")


@pytest.fixture
def trained(trained_template: tuple[Path, int], studio_home: Path) -> int:
    """This test's own copy of the trained studio; returns the logistic regression run id."""
    template, run_id = trained_template
    shutil.copytree(template, studio_home)
    return run_id


def test_an_empty_store_points_to_train(studio_home: Path) -> None:
    at = experiments_page()
    assert any("No runs yet" in info.value for info in at.info)
    assert at.get("page_link"), "a link to the Train page"


def test_the_table_lists_runs_newest_first_and_filters(seeded: dict[str, int]) -> None:
    at = experiments_page()
    assert table_runs(at) == sorted(seeded.values(), reverse=True), "trials are not listed"
    table = at.dataframe[0].value
    assert {"run", "experiment", "model", "status", "CV score", "± std", "holdout score"} <= set(
        table.columns
    )
    assert table.loc[table["run"] == seeded["forest"], "model"].item() == "Random forest"
    at.multiselect(key=state.EXPERIMENTS_FILTER_MODEL).set_value(["random_forest"]).run()
    assert table_runs(at) == [seeded["forest"]]
    at.multiselect(key=state.EXPERIMENTS_FILTER_MODEL).set_value([]).run()
    at.text_input(key=state.EXPERIMENTS_FILTER_TAGS).set_value("BASE").run()
    assert table_runs(at) == [seeded["logistic"]]
    at.text_input(key=state.EXPERIMENTS_FILTER_TAGS).set_value("").run()
    at.multiselect(key=state.EXPERIMENTS_FILTER_EXPERIMENT).set_value(["churn"]).run()
    assert table_runs(at) == [seeded["other"]]


def test_one_run_shows_metrics_provenance_plots_and_search(seeded: dict[str, int]) -> None:
    at = pick(experiments_page(), seeded["forest"])
    metrics = at.dataframe[1].value
    assert metrics["metric"].iloc[0] == "ROC AUC (ranked by)"
    assert metrics["CV mean"].iloc[0] == pytest.approx(0.83)
    assert {"Accuracy", "Log loss"} <= set(metrics["metric"])
    params = at.dataframe[2].value
    assert dict(zip(params["parameter"], params["value"], strict=True)) == {
        "maximum depth": "8",
        "trees": "200",
    }
    provenance = dict(at.dataframe[3].value.values.tolist())
    assert provenance["validation plan"] == "5-fold stratified CV" and provenance["seed"] == "42"
    assert provenance["scikit-learn"]
    charts = at.get("plotly_chart")
    assert len(charts) >= 5, "evaluation tabs plus best-so-far, parallel coordinates, param"
    param = at.selectbox(key=state.EXPERIMENTS_PARAM.format(run_id=seeded["forest"]))
    param.set_value("n_estimators").run()
    no_errors(at)


def test_two_runs_compare_side_by_side(seeded: dict[str, int]) -> None:
    at = pick(experiments_page(), seeded["forest"], seeded["logistic"])
    table = at.dataframe[1].value
    forest, logistic = (
        f"#{seeded['forest']} Random forest",
        f"#{seeded['logistic']} Logistic regression",
    )
    assert list(table.columns) == [forest, logistic]
    assert table.loc["parameter: maximum depth", forest] == "8"
    assert table.loc["parameter: maximum depth", logistic] == "—"
    assert table.loc["CV ROC AUC", forest] == "0.8300 ± 0.0200"
    assert at.get("plotly_chart"), "the comparison chart"


def test_archive_hides_a_run_until_show_archived(seeded: dict[str, int]) -> None:
    at = pick(experiments_page(), seeded["other"])
    at.button(key=state.EXPERIMENTS_ARCHIVE).click().run()
    no_errors(at)
    assert any("archived" in s.value for s in at.success)
    assert seeded["other"] not in table_runs(at)
    at.toggle(key=state.EXPERIMENTS_SHOW_ARCHIVED).set_value(True).run()
    assert seeded["other"] in table_runs(at)
    at.button(key=state.EXPERIMENTS_ARCHIVE).click().run()
    at.toggle(key=state.EXPERIMENTS_SHOW_ARCHIVED).set_value(False).run()
    assert seeded["other"] in table_runs(at)


def test_delete_needs_confirming_and_removes_the_run(seeded: dict[str, int], studio_home) -> None:
    at = pick(experiments_page(), seeded["logistic"])
    assert at.button(key=state.EXPERIMENTS_DELETE).disabled
    at.checkbox(key=state.EXPERIMENTS_DELETE_CONFIRM.format(run_id=seeded["logistic"])).check()
    at.run().button(key=state.EXPERIMENTS_DELETE).click().run()
    no_errors(at)
    assert seeded["logistic"] not in table_runs(at)
    assert at.multiselect(key=state.EXPERIMENTS_PICKED).value == []
    assert [run.id for run in tracking.list_runs(studio_home)] == [
        seeded["other"],
        seeded["forest"],
    ]


def test_register_with_an_alias_then_it_is_in_the_registry(trained: int, studio_home) -> None:
    at = pick(experiments_page(), trained)
    assert any("No registered models yet" in info.value for info in at.info)
    at.text_input(key=state.EXPERIMENTS_REGISTER_NAME).set_value("credit-risk")
    at.selectbox(key=state.EXPERIMENTS_REGISTER_ALIAS).set_value("challenger")
    at.run().button(key=state.EXPERIMENTS_REGISTER).click().run()
    no_errors(at)
    assert any("Registered credit\\-risk v1" in s.value for s in at.success)
    versions = at.dataframe[-1].value
    assert versions[["model", "version", "aliases", "source run", "gates"]].values.tolist() == [
        ["credit-risk", 1, "challenger", trained, "gates not run"]
    ]
    at.button(key=state.EXPERIMENTS_RUN_FILE).click().run()
    no_errors(at)
    (download,) = at.get("download_button")
    assert "credit-risk-v1.skops" in download.proto.label
    at.button(key=state.EXPERIMENTS_FILE_SKOPS).click().run()
    no_errors(at)
    assert at.get("download_button")


def test_a_registered_run_cannot_be_deleted(trained: int, studio_home) -> None:
    registry.register_run(studio_home, trained, name="credit-risk", onnx=False)
    at = pick(experiments_page(), trained)
    at.checkbox(key=state.EXPERIMENTS_DELETE_CONFIRM.format(run_id=trained)).check()
    at.run().button(key=state.EXPERIMENTS_DELETE).click().run()
    no_errors(at)
    assert [e.value for e in at.error] == [md(tracking.REGISTERED_RUNS.format(ids=trained))]
    assert tracking.get_run(studio_home, trained).status == "done"


def test_a_tampered_model_file_is_a_clear_error(trained: int, studio_home) -> None:
    version = registry.register_run(studio_home, trained, name="credit-risk", onnx=False)
    (studio_home / "artifacts" / version.artifact_path).write_bytes(b"not the model")
    at = pick(experiments_page(), trained)
    at.button(key=state.EXPERIMENTS_RUN_FILE).click().run()
    no_errors(at)
    assert any("changed on disk" in e.value for e in at.error)
    assert not at.get("download_button")
    at.button(key=state.EXPERIMENTS_FILE_SKOPS).click().run()
    no_errors(at)
    assert any("changed on disk" in e.value for e in at.error)
