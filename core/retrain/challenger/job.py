"""The retrain job: rows, challenger, comparison and decision, each step recorded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.retrain.challenger.judging import _compare, _decide, _register, _train_challenger
from core.retrain.challenger.rows import _Skipped, _store_fresh_rows, fresh_data
from core.retrain.challenger.runs import (
    _fail,
    _finish,
    _Recorder,
    _run_of_version,
    _version,
    get_retrain,
)
from core.retrain.policies import Action, get_policy
from core.store import connect, retraining
from core.store.retraining import RetrainRun


def retrain_job(home: Path, params: dict[str, Any], progress: Any) -> dict[str, Any]:
    """Job: run one recorded retrain to its decision; a failure leaves the champion serving."""
    run_id = int(params["retrain_run_id"])
    actor = params.get("actor", "studio")
    retrain = get_retrain(home, run_id)
    with connect(home) as db:
        retraining.update_run(db, run_id, status="running")
    try:
        outcome = _retrain(home, retrain, actor, progress)
    except _Skipped as skipped:
        _finish(home, run_id, status="skipped", decision=str(skipped))
        return {"retrain_run_id": run_id, "status": "skipped", "decision": str(skipped)}
    except BaseException as error:
        _fail(home, run_id, str(error) or type(error).__name__)
        raise
    return {"retrain_run_id": run_id, "status": "done", **outcome}


def _retrain(home: Path, retrain: RetrainRun, actor: str, progress: Any) -> dict[str, Any]:
    action = _action_of(home, retrain)
    assert retrain.champion_version_id is not None
    champion = _version(home, retrain.champion_version_id)
    champion_run = _run_of_version(home, champion.id)
    record = _Recorder(home, retrain.id, progress)
    record(0.02, "data", f"Collecting {champion.label}'s training rows and the labelled traffic")
    fresh = fresh_data(home, retrain.deployment_id, champion_run)
    version = _store_fresh_rows(home, retrain, champion_run, fresh, actor)
    record(
        0.1,
        "data",
        f"{version.label}: {fresh.reference_rows:,} reference rows + {fresh.labelled_rows:,} "
        f"labelled rows; the fresh holdout is {fresh.holdout_rows:,} rows, "
        f"{fresh.labelled_holdout_rows:,} of them the newest labelled traffic.",
        dataset_version_id=version.id,
    )
    challenger_run = _train_challenger(
        home, retrain, champion_run, version.id, fresh, action, record
    )
    challenger = _register(home, champion, challenger_run, actor)
    record(0.8, "registered", f"Registered {challenger.label} as challenger.")
    comparison, review = _compare(home, retrain, champion, challenger, fresh, action, record, actor)
    decision = _decide(home, retrain, champion, challenger, comparison, review, action, actor)
    record(1.0, "decided", decision)
    _finish(
        home,
        retrain.id,
        status="done",
        decision=decision,
        challenger_version_id=challenger.id,
        metric=comparison["metric"],
        champion_score=comparison["champion"],
        challenger_score=comparison["challenger"],
        details={
            **retrain.details,
            "comparison": comparison,
            "gates": [g.to_dict() for g in review.gates],
        },
    )
    return {"challenger": challenger.label, "decision": decision, **comparison}


def _action_of(home: Path, retrain: RetrainRun) -> Action:
    if retrain.policy_id is None:
        return Action()
    return Action.from_dict(get_policy(home, retrain.policy_id).action)
