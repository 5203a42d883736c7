"""Retraining: the challenger learns from reference + labelled traffic, is judged against the
champion on the same fresh holdout, and is promoted only when it passes."""

from __future__ import annotations

import pytest

from core.jobs.runner import wait_for_job
from core.retrain.challenger import (
    MIN_LABELLED_ROWS,
    dry_run,
    get_retrain,
    promote,
    start_retrain,
)
from core.retrain.policies import Action, PolicyError, Triggers, add_policy
from core.review.card import build_card
from core.review.record import latest_record, latest_review, verdict
from core.review.review import review_version
from core.serving.deployments import get_deployment, version_changes
from core.train.registry import find_model_version
from core.train.tracking import get_run


def _run_to_end(home, deployment_id, **options):
    retrain = start_retrain(home, deployment_id, **options)
    job = wait_for_job(home, retrain.job_id, timeout=300)
    return get_retrain(home, retrain.id), job


def test_auto_policy_promotes_a_challenger_that_learned_the_new_concept(served, log_traffic):
    home, deployment_id, champion_id = served
    log_traffic(home, deployment_id, champion_id, 900, seed=5, concept="region")
    policy = add_policy(
        home,
        deployment_id,
        name="adapt",
        triggers=Triggers(new_labels=100),
        action=Action(
            promote="auto",
            gates={
                "metric": "roc_auc",
                "min_metric": 0.5,
                "max_overfit_gap": None,
                "min_lift_over_baseline": None,
                "max_calibration_error": None,
                "champion_tolerance": 0.0,
            },
        ),
    )
    retrain, job = _run_to_end(home, deployment_id, policy_id=policy.id)
    assert job.status == "done", job.error
    assert retrain.status == "done" and retrain.decision.startswith("Promoted"), retrain.decision
    assert retrain.challenger_score > retrain.champion_score
    comparison = retrain.details["comparison"]
    assert comparison["challenger_on_traffic"] > comparison["champion_on_traffic"] + 0.2
    steps = [step["step"] for step in retrain.steps]
    assert steps[:2] == ["triggered", "data"] and "evaluated" in steps and steps[-1] == "decided"
    # the deployment now serves the challenger, which is champion; lineage and params kept
    challenger = find_model_version(home, "loans@champion")
    assert get_deployment(home, deployment_id).model_version_id == challenger.id
    assert challenger.id == retrain.challenger_version_id
    assert version_changes(home, deployment_id)[0][1] == challenger.label  # on the timeline
    run = get_run(home, challenger.run_id)
    champion_run = get_run(home, find_model_version(home, "loans@1").run_id)
    assert run.params == champion_run.params and run.model == champion_run.model
    assert "retrain" in run.tags
    assert run.plan["holdout_rows"] == comparison["holdout_rows"]
    # the challenger's review is its saved review: the one verdict every page and the card show
    record = latest_record(home, challenger)
    assert record is not None and record.id == comparison["review_id"]
    assert record.source == f"retrain {retrain.id}" and record.passed is comparison["gates_passed"]
    assert verdict(home, challenger).sentence in build_card(home, challenger).to_markdown()


def test_a_worse_challenger_is_refused_and_the_champion_keeps_serving(served, log_traffic):
    home, deployment_id, champion_id = served
    log_traffic(home, deployment_id, champion_id, 300, seed=6, concept="noise")
    policy = add_policy(
        home,
        deployment_id,
        name="strict",
        triggers=Triggers(new_labels=10),
        action=Action(promote="auto", min_improvement=0.02),
    )
    retrain, job = _run_to_end(home, deployment_id, policy_id=policy.id)
    assert job.status == "done", job.error
    assert retrain.decision.startswith("Kept loans v1"), retrain.decision
    assert get_deployment(home, deployment_id).model_version_id == champion_id
    assert find_model_version(home, "loans@champion").id == champion_id
    # no policy gates: the challenger was judged exactly as the Review page judges by default
    challenger = find_model_version(home, "loans@challenger")
    saved, fresh = latest_review(home, challenger), review_version(home, challenger)
    assert saved is not None and saved.config == fresh.config and saved.gates == fresh.gates
    # a person can still promote it, but only with a written reason (it is not approved)
    with pytest.raises(ValueError, match="override"):
        promote(home, retrain.id, actor="ana")


def test_too_few_labels_skip_and_a_failure_leaves_the_champion(served, log_traffic):
    home, deployment_id, champion_id = served
    log_traffic(home, deployment_id, champion_id, MIN_LABELLED_ROWS - 1, seed=7, concept="same")
    retrain, job = _run_to_end(home, deployment_id)
    assert job.status == "done" and retrain.status == "skipped"
    assert "needs at least" in retrain.decision
    log_traffic(home, deployment_id, champion_id, 200, seed=8, concept="same", start=1.0)
    for parquet in (home / "artifacts" / "datasets").glob("*.parquet"):
        parquet.unlink()  # the champion's training rows are gone: the retrain cannot go on
    retrain, job = _run_to_end(home, deployment_id)
    assert retrain.status == "failed" and job.status == "failed"
    assert retrain.steps[-1]["step"] == "failed" and "keeps serving" in retrain.steps[-1]["message"]
    assert get_deployment(home, deployment_id).model_version_id == champion_id


def test_two_triggers_at_once_start_one_retrain(served, log_traffic):
    home, deployment_id, champion_id = served
    log_traffic(home, deployment_id, champion_id, 200, seed=9, concept="same")
    first = start_retrain(home, deployment_id, actor="ana")
    second = start_retrain(home, deployment_id, actor="ben")
    assert second.id == first.id
    wait_for_job(home, first.job_id, timeout=300)
    retrain = get_retrain(home, first.id)
    assert [s["step"] for s in retrain.steps].count("joined") == 1


def test_dry_run_records_what_would_happen_and_changes_nothing(served, log_traffic):
    home, deployment_id, champion_id = served
    add_policy(home, deployment_id, name="labels", triggers=Triggers(new_labels=50))
    log_traffic(home, deployment_id, champion_id, 100, seed=10, concept="same")
    retrain = dry_run(home, deployment_id, actor="ana")
    assert retrain.status == "dry run" and retrain.job_id is None
    assert retrain.triggers[0]["trigger"] == "new_labels" and retrain.triggers[0]["value"] == 100
    assert "Would retrain Logistic regression" in retrain.decision
    assert retrain.details["labelled_rows"] == 100 and retrain.details["reference_rows"] == 400
    assert get_deployment(home, deployment_id).model_version_id == champion_id


def test_policies_refuse_what_cannot_work(served, log_traffic):
    home, deployment_id, _ = served
    with pytest.raises(PolicyError, match="at least one trigger"):
        add_policy(home, deployment_id, name="none", triggers=Triggers())
    with pytest.raises(PolicyError, match="drift share"):
        add_policy(home, deployment_id, name="x", triggers=Triggers(drift_share=1.5))
    with pytest.raises(PolicyError, match="whole number"):
        add_policy(home, deployment_id, name="x", triggers=Triggers(new_labels=0))
    with pytest.raises(PolicyError, match="action must be one of"):
        add_policy(
            home,
            deployment_id,
            name="x",
            triggers=Triggers(every_hours=1),
            action=Action(promote="yolo"),
        )
