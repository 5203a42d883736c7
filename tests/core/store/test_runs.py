"""Runs: round-trip into Run, checked updates, trials, details, filters, archive and delete."""

import pytest

from core.store import runs


def test_a_run_round_trips_with_its_json_fields(db, new_run) -> None:
    run_id = runs.insert(
        db,
        new_run(params={"C": 1.0}, plan={"folds": 5}, tags=["baseline"], seed=7),
        created_by="ana",
    )
    runs.update(db, run_id, status="done", score=0.8, metrics={"roc_auc": 0.8}, finished_at="t")
    run = runs.get(db, run_id)
    assert isinstance(run, runs.Run)
    assert (run.status, run.score, run.params, run.plan, run.tags, run.seed) == (
        "done",
        0.8,
        {"C": 1.0},
        {"folds": 5},
        ["baseline"],
        7,
    )
    assert run.metrics == {"roc_auc": 0.8} and run.archived is False
    assert run.to_dict()["finished_at"] == "t"
    assert runs.get(db, 999) is None


def test_update_refuses_unknown_and_fixed_fields(db, new_run) -> None:
    run_id = runs.insert(db, new_run(), created_by="ana")
    with pytest.raises(ValueError, match="'experiment'"):
        runs.update(db, run_id, experiment="renamed")
    with pytest.raises(ValueError, match="'nope'"):
        runs.update(db, run_id, status="done", nope=1)
    assert runs.get(db, run_id).status == "running"


def test_trials_are_child_runs_and_refuse_unknown_result_fields(db, new_run) -> None:
    parent = runs.insert(db, new_run(), created_by="ana")
    trials = [new_run(kind="trial", parent_id=parent, params={"C": c}) for c in (0.1, 1.0)]
    results = [{"status": "done", "score": 0.7}, {"status": "pruned", "metrics": {"x": 1}}]
    runs.insert_trials(db, trials, results, created_by="ana")
    found = runs.find(db, kind="trial", parent_id=parent)
    assert [(r.params["C"], r.status, r.score) for r in found] == [
        (1.0, "pruned", None),
        (0.1, "done", 0.7),
    ]
    assert found[0].metrics == {"x": 1}
    with pytest.raises(ValueError, match="'bogus'"):
        runs.insert_trials(db, trials[:1], [{"bogus": 1}], created_by="ana")
    assert len(runs.find(db, kind="trial")) == 2


def test_details_default_then_round_trip(db, new_run) -> None:
    run_id = runs.insert(db, new_run(), created_by="ana")
    assert runs.details(db, run_id) == {"evaluation": {}, "search": {}, "features": []}
    runs.save_details(db, run_id, evaluation={"roc": [1, 2]}, features=["a"])
    runs.save_details(db, run_id, evaluation={"roc": [3]}, search={"trials": 2}, features=["b"])
    assert runs.details(db, run_id) == {
        "evaluation": {"roc": [3]},
        "search": {"trials": 2},
        "features": ["b"],
    }


def test_find_filters_and_archiving(db, new_run) -> None:
    a = runs.insert(db, new_run(experiment="x"), created_by="ana")
    b = runs.insert(db, new_run(experiment="y", job_id=None), created_by="ana")
    trial = runs.insert(db, new_run(kind="trial", parent_id=a), created_by="ana")
    assert [r.id for r in runs.find(db)] == [b, a]
    assert [r.id for r in runs.find(db, kind=None)] == [trial, b, a]
    assert [r.id for r in runs.find(db, experiment="x")] == [a]
    assert [r.id for r in runs.find(db, limit=1)] == [b]
    before = runs.fingerprint(db)
    runs.set_archived(db, [a], True)
    assert runs.fingerprint(db) != before
    assert [r.id for r in runs.find(db)] == [b]
    assert [r.id for r in runs.find(db, include_archived=True)] == [b, a]
    assert [(s.id, s.archived) for s in runs.summaries(db)] == [(b, False), (a, True)]
    assert [s.id for s in runs.summaries(db, include_archived=False)] == [b]


def test_delete_removes_trials_and_returns_their_artifacts(db, new_run, register) -> None:
    parent = runs.insert(db, new_run(), created_by="ana")
    trial = runs.insert(db, new_run(kind="trial", parent_id=parent), created_by="ana")
    runs.update(db, parent, artifact_path="runs/p.skops")
    runs.update(db, trial, artifact_path="runs/t.skops")
    assert sorted(runs.delete(db, [parent])) == ["runs/p.skops", "runs/t.skops"]
    assert runs.find(db, kind=None) == []
    registered = register()
    assert runs.registered_ids(db, [registered.run_id, 999]) == {registered.run_id}
    assert runs.registered_ids(db, []) == set()


def test_updating_a_deleted_run_changes_nothing(db, new_run) -> None:
    run_id = runs.insert(db, new_run(), created_by="ana")
    runs.delete(db, [run_id])
    runs.update(db, run_id, status="done")
    assert runs.get(db, run_id) is None
