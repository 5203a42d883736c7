"""Training end to end on a real store: runs, trials, artifacts, the registry and its refusals."""

import collections
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.data.datasets import import_dataset
from core.jobs import wait_for_job
from core.jobs.runner import refresh_job
from core.store import audit, connect, models
from core.store import runs as runs_store
from core.train import registry, tracking
from core.train.model_files import ModelFileError
from core.train.plan import PlanError, ValidationPlan
from core.train.registry import RegistryError
from core.train.training import TrainRequest, submit_training, train

ROOT = Path(__file__).resolve().parents[3]


def _credit_like(n: int = 400, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    income = rng.normal(50, 12, n)
    region = rng.choice(["north", "south", "east"], n)
    risk = -0.08 * (income - 50) + (region == "south") * 0.8 + rng.normal(size=n)
    return pd.DataFrame(
        {
            "customer_id": np.arange(n),
            "income": np.where(rng.random(n) < 0.05, np.nan, income),
            "age": rng.integers(18, 70, n),
            "region": region,
            "applied": pd.date_range("2024-01-01", periods=n, freq="D"),
            "default": np.where(risk > 0.5, "yes", "no"),
            "amount": income * 10 + rng.normal(scale=5, size=n),
        }
    )


@pytest.fixture
def version_id(studio_home: Path, tmp_path: Path) -> int:
    path = tmp_path / "credit.csv"
    _credit_like().to_csv(path, index=False)
    return import_dataset(studio_home, path=path, name="credit").version.id


def _request(version_id: int, **overrides) -> TrainRequest:
    values = {
        "version_id": version_id,
        "target": "default",
        "models": ("logistic_regression",),
        "plan": ValidationPlan(folds=3),
    }
    return TrainRequest(**{**values, **overrides})


def test_training_ranks_models_with_the_baseline_and_tracks_everything(studio_home, version_id):
    outcome = train(
        studio_home, _request(version_id, models=("logistic_regression", "decision_tree"))
    )
    assert outcome.task == "binary"
    assert {run.model for run in outcome.runs} == {"dummy", "logistic_regression", "decision_tree"}
    best = outcome.best
    assert best.model != "dummy"
    assert best.score > 0.7
    dummy = next(run for run in outcome.runs if run.model == "dummy")
    assert dummy.score == pytest.approx(0.5)
    assert set(best.metrics["cv"]) >= {"accuracy", "roc_auc", "log_loss", "brier", "f1"}
    assert best.metrics["cv"]["roc_auc"]["std"] is not None
    assert best.holdout_score == best.metrics["holdout"]["roc_auc"]
    assert best.environment["packages"]["scikit-learn"]
    assert best.seed == 42 and best.plan["folds"] == 3
    assert best.fit_seconds > 0 and best.size_bytes > 0 and best.predict_ms > 0
    detail = tracking.run_detail(studio_home, best.id)
    assert detail.evaluation is not None
    assert {"roc", "confusion_matrix"} <= set(detail.evaluation.plots.present())
    assert detail.features and len(detail.trials) == 1


def test_a_tuning_run_records_its_trials_as_child_runs(studio_home, version_id):
    request = _request(version_id, models=("decision_tree",), strategy="random", trials=6)
    outcome = train(studio_home, request)
    tree = next(run for run in outcome.runs if run.model == "decision_tree")
    detail = tracking.run_detail(studio_home, tree.id)
    assert len(detail.trials) == 6
    assert all(trial.parent_id == tree.id and trial.kind == "trial" for trial in detail.trials)
    assert detail.search["strategy"] == "random" and detail.search["trials"] == 6
    assert tree.params in [trial.params for trial in detail.trials]
    listed = tracking.list_runs(studio_home)
    assert all(run.kind == "model" for run in listed)


def test_regression_and_time_ordered_plan(studio_home, version_id):
    plan = ValidationPlan(folds=3, time_column="applied")
    outcome = train(
        studio_home, _request(version_id, target="amount", models=("ridge",), plan=plan)
    )
    assert outcome.task == "regression" and outcome.metric == "rmse"
    assert outcome.best.model == "ridge"
    assert "time-ordered" in outcome.best.plan["description"]
    assert {"mae", "rmse", "r2", "mape"} <= set(outcome.best.metrics["holdout"])


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"target": "nope"}, "not in the data"),
        ({"target": "region", "task": "regression"}, "numeric target"),
        ({"target": "age", "task": "multiclass"}, "too many for classification"),
    ],
)
def test_bad_requests_fail_before_any_run(studio_home, version_id, overrides, message):
    with pytest.raises(PlanError, match=message):
        train(studio_home, _request(version_id, **overrides))
    assert tracking.list_runs(studio_home) == []


def test_missing_target_values_can_be_dropped(studio_home, tmp_path):
    frame = _credit_like()
    frame.loc[:9, "default"] = None
    path = tmp_path / "gaps.csv"
    frame.to_csv(path, index=False)
    version = import_dataset(studio_home, path=path, name="gaps").version
    with pytest.raises(PlanError, match="missing in 10 of 400 rows"):
        train(studio_home, _request(version.id))
    outcome = train(studio_home, _request(version.id, drop_missing_target=True))
    assert outcome.best.status == "done"


def test_every_feature_dropped_by_the_recipe_is_refused(studio_home, version_id):
    from core.prep.prepare import save_recipe
    from core.prep.recipe import Recipe

    features = {"columns": {"income": {"drop": True}}}
    recipe = save_recipe(studio_home, Recipe(name="nothing", target="default", features=features))
    with pytest.raises(ValueError, match="(?i)feature"):
        train(studio_home, _request(version_id, recipe_id=recipe.id))


def test_registry_round_trip_gives_identical_predictions_in_a_fresh_process(
    studio_home, version_id, tmp_path
):
    outcome = train(studio_home, _request(version_id))
    version = registry.register_run(
        studio_home, outcome.best.id, name="credit-risk", aliases=("staging",)
    )
    assert (version.model_name, version.version, version.aliases) == (
        "credit-risk",
        1,
        ("staging",),
    )
    again = registry.register_run(studio_home, outcome.best.id, name="credit-risk")
    assert again.id == version.id
    rows = _credit_like(50, seed=9).drop(columns=["default"])
    here = registry.load_model_version(studio_home, "credit-risk@staging").predict_proba(rows)
    rows_path = tmp_path / "rows.parquet"
    rows.to_parquet(rows_path)
    script = (
        "import sys, json, pandas as pd; from pathlib import Path;"
        "from core.train.registry import load_model_version;"
        "m = load_model_version(Path(sys.argv[1]), 'credit-risk@1');"
        "print(json.dumps(m.predict_proba(pd.read_parquet(sys.argv[2])).tolist()))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(studio_home), str(rows_path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
        timeout=120,
    )
    assert np.array_equal(np.array(json.loads(result.stdout)), here)


def test_aliases_move_and_unknown_refs_are_explained(studio_home, version_id):
    outcome = train(
        studio_home, _request(version_id, models=("logistic_regression", "decision_tree"))
    )
    first, second = outcome.runs[0].id, outcome.runs[1].id
    registry.register_run(studio_home, first, name="m", aliases=("staging",), onnx=False)
    registry.register_run(studio_home, second, name="m", aliases=("challenger",), onnx=False)
    moved = registry.set_alias(studio_home, name="m", version=2, alias="staging")
    assert set(moved.aliases) == {"staging", "challenger"}
    assert registry.find_model_version(studio_home, "m@staging").version == 2
    assert registry.find_model_version(studio_home, "m@1").aliases == ()
    assert registry.find_model_version(studio_home, "m").version == 2
    with pytest.raises(RegistryError, match="no model 'm@production'"):
        registry.find_model_version(studio_home, "m@production")
    with pytest.raises(RegistryError, match="cannot be an alias"):
        registry.set_alias(studio_home, name="m", version=1, alias="Not OK!")
    with pytest.raises(RegistryError, match="cannot be a model name"):
        registry.register_run(studio_home, first, name="<script>")


def test_a_tampered_model_file_is_refused(studio_home, version_id):
    outcome = train(studio_home, _request(version_id))
    version = registry.register_run(studio_home, outcome.best.id, name="credit", onnx=False)
    path = studio_home / "artifacts" / version.artifact_path
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(RuntimeError, match="changed on disk"):
        registry.load_model_version(studio_home, "credit")


def test_untrusted_types_in_a_model_file_are_refused():
    import skops.io as sio

    from core.train.model_files import load_model_bytes

    data = sio.dumps({"model": collections.Counter(a=1)})
    with pytest.raises(ModelFileError, match="does not trust"):
        load_model_bytes(data, what="a test file")


def test_unfinished_and_trial_runs_cannot_be_registered(studio_home, version_id):
    outcome = train(studio_home, _request(version_id, models=("decision_tree",), strategy="grid"))
    tree = next(run for run in outcome.runs if run.model == "decision_tree")
    trial = tracking.run_detail(studio_home, tree.id).trials[0]
    with pytest.raises(RegistryError, match="tuning trial"):
        registry.register_run(studio_home, trial.id, name="x")
    with pytest.raises(RegistryError, match="no run 999"):
        registry.register_run(studio_home, 999, name="x")


def test_delete_refuses_registered_runs_and_archive_hides(studio_home, version_id):
    outcome = train(
        studio_home, _request(version_id, models=("logistic_regression", "decision_tree"))
    )
    kept, other = outcome.runs[0].id, outcome.runs[1].id
    registry.register_run(studio_home, kept, name="keep", onnx=False)
    with pytest.raises(tracking.RunError, match="registered"):
        tracking.delete_runs(studio_home, [kept])
    tracking.archive_runs(studio_home, [other])
    assert other not in {run.id for run in tracking.list_runs(studio_home)}
    assert other in {run.id for run in tracking.list_runs(studio_home, include_archived=True)}
    path = studio_home / "artifacts" / tracking.get_run(studio_home, other).artifact_path
    assert tracking.delete_runs(studio_home, [other]) == 1
    assert not path.exists()


def _trials(home, job_id):
    with connect(home) as db:
        return runs_store.find(db, kind="trial", job_id=job_id)


def test_training_job_killed_midway_leaves_no_running_run_and_nothing_registered(
    studio_home, version_id, wait_until
):
    request = _request(version_id, models=("random_forest",), strategy="random", trials=200)
    job = submit_training(studio_home, request)
    wait_until(lambda: _trials(studio_home, job.id), timeout=60, every=0.2)
    job = refresh_job(studio_home, job.id)
    assert job is not None and job.pid
    os.kill(job.pid, signal.SIGKILL)
    ended = wait_for_job(studio_home, job.id, timeout=30)
    assert ended.status == "failed"
    with connect(studio_home) as db:
        runs = runs_store.find(db, kind=None, job_id=job.id, include_archived=True)
        assert models.versions(db) == []
    assert runs and not [run for run in runs if run.status == "running"]
    parent = next(run for run in runs if run.kind == "model")
    assert parent.status == "failed" and parent.error


def test_the_same_request_from_two_tabs_shares_one_job(studio_home, version_id):
    request = _request(version_id)
    first = submit_training(studio_home, request)
    second = submit_training(studio_home, request)
    assert first.id == second.id
    other = submit_training(studio_home, _request(version_id, models=("decision_tree",)))
    assert other.id != first.id
    assert wait_for_job(studio_home, first.id, timeout=120).status == "done"
    assert wait_for_job(studio_home, other.id, timeout=120).status == "done"


def test_only_an_approved_version_becomes_champion_unless_overridden(studio_home, version_id):
    outcome = train(studio_home, _request(version_id))
    with pytest.raises(RegistryError, match="cannot be registered as champion"):
        registry.register_run(studio_home, outcome.best.id, name="m", aliases=("champion",))
    registry.register_run(studio_home, outcome.best.id, name="m", onnx=False)
    with pytest.raises(RegistryError, match="only an approved version can become champion"):
        registry.set_alias(studio_home, name="m", version=1, alias="champion")
    with pytest.raises(RegistryError, match="at least 10 characters"):
        registry.set_alias(studio_home, name="m", version=1, alias="champion", override_reason="x")
    reason = "Hotfix for the outage; review follows on Monday"
    moved = registry.set_alias(
        studio_home, name="m", version=1, alias="champion", override_reason=reason
    )
    assert moved.aliases == ("champion",)
    with connect(studio_home) as db:
        events = audit.events(db, entity_type="model_version", entity_id=str(moved.id))
    assert any(event.details.get("override_reason") == reason for event in events)
