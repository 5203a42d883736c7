"""Retraining: policies and records round-trip, checked updates, steps, labels, shadow."""

import json

import pytest

from core.store import deployments, retraining


def _policy(db, deployment_id: int, name: str = "drift") -> int:
    return retraining.add_policy(
        db,
        deployment_id=deployment_id,
        name=name,
        triggers={"drift_share": 0.3},
        action={"promote": "manual"},
        cooldown_minutes=30,
        created_by="ana",
    )


def test_policies_round_trip_filter_and_refuse_unknown_fields(db, deployment) -> None:
    first = _policy(db, deployment.id)
    second = _policy(db, deployment.id, "weekly")
    retraining.update_policy(
        db, second, enabled=0, triggers={"schedule": "weekly"}, last_fired_at=5.0
    )
    policy = retraining.get_policy(db, second)
    assert isinstance(policy, retraining.RetrainPolicy)
    assert (policy.enabled, policy.triggers, policy.action, policy.last_fired_at) == (
        False,
        {"schedule": "weekly"},
        {"promote": "manual"},
        5.0,
    )
    assert [p.id for p in retraining.policies(db)] == [first, second]
    assert [p.id for p in retraining.policies(db, enabled_only=True)] == [first]
    assert retraining.policies(db, deployment_id=999) == []
    assert retraining.get_policy(db, 999) is None
    with pytest.raises(ValueError, match="'nope'"):
        retraining.update_policy(db, first, nope=1)


def test_retrain_runs_round_trip_steps_and_filters(db, deployment) -> None:
    run_id = retraining.add_run(
        db, deployment_id=deployment.id, triggers=[{"kind": "drift"}], created_by="ana"
    )
    retraining.add_step(db, run_id, {"step": "train", "message": "ok"})
    retraining.add_step(db, run_id, {"step": "compare", "message": "ok"})
    retraining.update_run(db, run_id, status="running", details={"rows": 10})
    run = retraining.get_run(db, run_id)
    assert isinstance(run, retraining.RetrainRun) and run.active
    assert (run.triggers, run.details, run.dry_run) == ([{"kind": "drift"}], {"rows": 10}, False)
    assert [s["step"] for s in run.steps] == ["train", "compare"]
    done = retraining.add_run(db, deployment_id=deployment.id, status="done", created_by="ana")
    assert [r.id for r in retraining.runs(db)] == [done, run_id]
    assert [r.id for r in retraining.runs(db, active=True)] == [run_id]
    assert [r.id for r in retraining.runs(db, deployment_id=999)] == []
    assert [r.id for r in retraining.runs(db, limit=1)] == [done]
    assert retraining.get_run(db, 999) is None
    with pytest.raises(ValueError, match="'steps'"):
        retraining.update_run(db, run_id, steps=[])
    with pytest.raises(ValueError, match="'nope'"):
        retraining.add_run(db, deployment_id=deployment.id, created_by="ana", nope=1)


def test_labelled_rows_labels_since_and_shadow_pairs(db, deployment, register) -> None:
    version = deployment.model_version_id
    log = [
        (
            deployment.id,
            version,
            f"r{i}",
            float(i),
            1.0,
            200,
            2,
            json.dumps([{"x": i}, {"x": -i}]),
            json.dumps([1, 0]),
            None,
            None,
            None,
        )
        for i in (1, 2)
    ]
    deployments.log_predictions(db, log)
    deployments.record_labels(db, deployment.id, [("r1", None, "1"), ("r2", 1, "0")], 50.0)
    assert retraining.labelled_rows(db, deployment.id, limit=10) == [
        (2.0, {"x": -2}, 0),
        (1.0, {"x": 1}, 1),
        (1.0, {"x": -1}, 1),
    ]
    assert retraining.labels_since(db, deployment.id, 0.0) == 3
    assert retraining.labels_since(db, deployment.id, 50.0) == 0
    shadow = register().id
    retraining.log_shadow_predictions(
        db, [(deployment.id, shadow, "r1", 1.5, 3.0, 2, json.dumps([0, 0]), None)]
    )
    ((at, request_id, served, shadowed, labels),) = retraining.shadow_pairs(
        db, deployment.id, shadow, 0.0, 10.0
    )
    assert (at, request_id, json.loads(served), json.loads(shadowed)) == (1.0, "r1", [1, 0], [0, 0])
    assert json.loads(labels) == {"0": 1, "1": 1}
