"""The sample project a newcomer sees first, built through the same functions the pages use:
datasets, a recipe, a trained, reviewed and approved champion, deployed, with traffic flowing,
drift, an alert and a retraining policy."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from core.data.datasets import list_datasets
from core.samples import SAMPLE_DIR, import_samples, sample_path
from core.settings import database_path

NOT_A_STUDIO = (
    "{home} exists but holds no studio.db, so it is not a studio home; refusing to delete it. "
    "Choose another --home."
)
JOB_KIND = "seed_demo"
ACTOR = "sample project"
MODEL = "credit"
TARGET = "default"
MODELS = ("logistic_regression",)
SENSITIVE = ["sex", "age_band"]
HISTORY_MINUTES = 60  # the first half of the production batch, replayed as the last hour
LIVE_RATE = 2.0  # requests per second of live sample traffic after that
LIVE_SECONDS = 20 * 60
LABEL_DELAY = 30.0
POLICY_LABELS = 1_000
DRIFT_ALERT_SHARE = 0.2
REVIEW_NOTE = (
    "Sample project, approved so the loop can be followed end to end. The fairness review finds "
    "the bias planted in the sample labels (sex and age band): read it before any real use."
)


def seed_demo(home: Path, *, reset: bool = False) -> dict[str, Any]:
    """Import the sample datasets and start building the sample project in the background, once
    per home (a repeat run reuses it; ``reset`` starts over)."""
    if reset and home.exists():
        if not database_path(home).exists():
            raise ValueError(NOT_A_STUDIO.format(home=home))
        shutil.rmtree(home)
    import_samples(home, actor=ACTOR)
    job = _building_job(home)
    return {
        "home": str(home),
        "datasets": [summary.name for summary in list_datasets(home)],
        "job_id": job.id if job is not None else None,
    }


def _building_job(home: Path) -> Any:
    """The job building the project: the one that ran or runs, or a new one if none succeeded."""
    from core.jobs import submit_job
    from core.jobs.runner import finished_jobs

    if finished_jobs(home, kind=JOB_KIND, subject=MODEL):
        return None
    return submit_job(
        home, kind=JOB_KIND, params={}, subject=MODEL, dedupe_key=JOB_KIND, actor=ACTOR
    )


def build_project_job(home: Path, params: dict[str, Any], progress: Any) -> dict[str, Any]:
    """Job: recipe, training, registry, review and sign-off, deployment, policy, then history
    and live traffic with labels arriving later."""
    # each step reuses what an earlier, interrupted build already made
    version = _prepared_version(home, progress)
    champion = _existing_champion(home) or _champion(home, version, progress)
    deployment, api_key = _deployment(home, champion, progress)
    _policy(home, deployment.id)
    _drift_alert(home, deployment.id)
    _traffic(home, deployment, api_key, progress)
    return {"model_version": champion.label, "deployment_id": deployment.id}


def _prepared_version(home: Path, progress: Any) -> Any:
    from core.data.datasets import find_version
    from core.prep.prepare import prepare_dataset
    from core.prep.recipe import load_recipe_file

    progress(0.02, "Cleaning the credit data with the sample recipe")
    recipe = load_recipe_file(SAMPLE_DIR / "credit_recipe.json")
    source = find_version(home, f"{MODEL}@1")
    return prepare_dataset(home, version_id=source.id, recipe=recipe, actor=ACTOR).version


def _champion(home: Path, version: Any, progress: Any) -> Any:
    from core.jobs.runner import wait_for_job
    from core.review.review import submit_explanation, submit_review
    from core.review.signoff import CHECKLIST, record_decision
    from core.train.plan import ValidationPlan
    from core.train.registry import CHAMPION, register_run, set_alias
    from core.train.training import TrainRequest, train

    request = TrainRequest(
        version_id=version.id,
        target=TARGET,
        recipe_id=version.recipe_id,
        models=MODELS,
        plan=ValidationPlan(folds=3),
        experiment="credit (sample)",
        tags=("sample",),
    )

    def training(fraction: float, message: str) -> None:
        progress(0.05 + 0.4 * fraction, f"Training: {message}")

    best = train(home, request, actor=ACTOR, progress=training).best
    progress(0.46, "Registering the best model (with its ONNX copy)")
    registered = register_run(home, best.id, name=MODEL, actor=ACTOR)
    progress(0.5, "Reviewing it: gates, fairness and explanations")
    for job in (
        submit_review(home, registered, sensitive=SENSITIVE, actor=ACTOR),
        submit_explanation(home, registered, actor=ACTOR),
    ):
        wait_for_job(home, job.id, timeout=1800)
    record_decision(
        home,
        registered,
        reviewer="Sample reviewer",
        decision="approve",
        comment=REVIEW_NOTE,
        checklist=dict.fromkeys(CHECKLIST, True),
    )
    return set_alias(home, name=MODEL, version=registered.version, alias=CHAMPION, actor=ACTOR)


def _existing_champion(home: Path) -> Any:
    from core.train.registry import CHAMPION, find_model_version

    try:
        return find_model_version(home, f"{MODEL}@{CHAMPION}")
    except ValueError:
        return None


def _deployment(home: Path, champion: Any, progress: Any) -> tuple[Any, str]:
    from core.serving.deployments import deploy, list_deployments, rotate_key

    running = [d for d in list_deployments(home) if d.active and d.model_version_id == champion.id]
    if running:  # the key was shown once and is gone: a new one, as a person would get it
        return running[0], rotate_key(home, running[0].id, actor=ACTOR)
    progress(0.62, f"Deploying {champion.label}")
    return deploy(home, f"{MODEL}@champion", actor=ACTOR)


def _policy(home: Path, deployment_id: int) -> None:
    from core.retrain.policies import Action, Triggers, add_policy, policies_of
    from core.review.gates import GateConfig

    if policies_of(home, deployment_id):
        return
    gates = GateConfig.defaults("binary").to_dict()
    add_policy(
        home,
        deployment_id,
        name="Retrain when labels pile up",
        triggers=Triggers(new_labels=POLICY_LABELS, drift_share=0.5),
        action=Action(promote="review", gates=gates),
        cooldown_minutes=120,
        actor=ACTOR,
    )


def _drift_alert(home: Path, deployment_id: int) -> None:
    """The drift rule set to a quarter of the features (the sample batch drifts about that much),
    as a person would on the Monitor page: the default rule off, a stricter one on."""
    from core.monitor.alerts import RuleSpec, add_rule, rules_of, set_rule_enabled

    rules = rules_of(home, deployment_id)
    if any(r.metric == "drift_share" and r.threshold == DRIFT_ALERT_SHARE for r in rules):
        return
    for rule in rules:
        if rule.metric == "drift_share":
            set_rule_enabled(home, rule.id, False)
    add_rule(
        home, deployment_id, RuleSpec("drift_share", "above", DRIFT_ALERT_SHARE, 60, "warning")
    )


def _traffic(home: Path, deployment: Any, api_key: str, progress: Any) -> None:
    from core.monitor.simulate import labels_for, read_table_file, replay_history, simulate

    frame = read_table_file(sample_path("credit_production"))
    labels = labels_for(frame, read_table_file(sample_path("credit_production_labels")), None)
    assert labels is not None
    half = len(frame) // 2
    if not _has_traffic(home, deployment.id):
        progress(0.66, f"Replaying {half:,} production applications as the last hour's traffic")
        replay_history(
            home,
            deployment.id,
            frame.iloc[:half],
            minutes=HISTORY_MINUTES,
            labels=labels.iloc[:half],
        )

    def live(fraction: float, message: str) -> None:
        progress(0.7 + 0.3 * fraction, f"Sample traffic: {message}")

    simulate(
        deployment.url,
        api_key,
        frame.iloc[half:].reset_index(drop=True),
        rate=LIVE_RATE,
        seconds=LIVE_SECONDS,
        labels=labels.iloc[half:].reset_index(drop=True),
        label_delay=LABEL_DELAY,
        progress=live,
        deployment_id=deployment.id,
    )


def _has_traffic(home: Path, deployment_id: int) -> bool:
    from core.store import connect, monitoring

    with connect(home) as db:
        return monitoring.first_prediction_time(db, deployment_id) is not None
