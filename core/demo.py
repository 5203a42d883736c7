"""The sample project a newcomer sees first, built through the same functions the pages use:
datasets, a recipe, a trained, reviewed and approved champion, deployed, with traffic flowing,
drift, an alert and a retraining policy."""

from __future__ import annotations

import json
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.data.datasets import list_datasets
from core.samples import SAMPLE_DIR, import_samples, sample_path
from core.settings import database_path
from core.store.deployments import Deployment
from core.store.jobs import Job

NOT_A_STUDIO = (
    "{home} exists but holds no studio.db, so it is not a studio home; refusing to delete it. "
    "Choose another --home."
)
JOB_KIND = "seed_demo"
TRAFFIC_KIND = "sample_traffic"
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
# The sample deployment's key, kept (readable by its owner only) so the Deploy page can fill in
# the sample's playground: a key the seeding job made and showed to nobody is otherwise lost.
SAMPLE_KEY_FILE = "sample/deployment_key.json"
KEY_REPLACED = (
    "The sample deployment's key was rotated or revoked, so the sample traffic stopped (what it "
    "sent stays on Monitor). To send more, run `mlops-studio simulate` with the new key."
)
KEY_CHECK_SECONDS = 5.0
REVIEW_NOTE = (
    "Sample project, approved so the loop can be followed end to end. The fairness review finds "
    "the bias planted in the sample labels (sex and age band): read it before any real use."
)
INTENDED_USE = (
    "A sample for following the studio's loop end to end, on synthetic credit data; not for "
    "decisions about real applicants."
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
    """Job: recipe, training, registry, review and sign-off, deployment, policy and the last
    hour's traffic; then it starts the live traffic (a job of its own) and ends."""
    # each step reuses what an earlier, interrupted build already made
    version = _prepared_version(home, progress)
    champion = _existing_champion(home) or _champion(home, version, progress)
    deployment = _deployment(home, champion, progress)
    _policy(home, deployment.id)
    _drift_alert(home, deployment.id)
    _history(home, deployment, progress)
    traffic = start_live_traffic(home, deployment.id)
    return {
        "model_version": champion.label,
        "deployment_id": deployment.id,
        "traffic_job_id": traffic.id,
    }


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
    from core.review.signoff import CHECKLIST, record_decision, set_intended_use
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
    set_intended_use(home, registered, INTENDED_USE, actor=ACTOR)
    record_decision(
        home,
        registered,
        reviewer="Sample reviewer",
        decision="approve",
        comment=REVIEW_NOTE,
        checklist=dict.fromkeys(CHECKLIST, True),
        reason=REVIEW_NOTE,  # recorded only if the review leaves something to override
    )
    return set_alias(home, name=MODEL, version=registered.version, alias=CHAMPION, actor=ACTOR)


def _existing_champion(home: Path) -> Any:
    from core.train.registry import CHAMPION, find_model_version

    try:
        return find_model_version(home, f"{MODEL}@{CHAMPION}")
    except ValueError:
        return None


def _deployment(home: Path, champion: Any, progress: Any) -> Deployment:
    from core.serving.deployments import deploy, list_deployments, rotate_key

    running = [d for d in list_deployments(home) if d.active and d.model_version_id == champion.id]
    if running:
        if sample_key(home, running[0]) is None:  # lost: a new one, as a person would get it
            keep_sample_key(home, running[0].id, rotate_key(home, running[0].id, actor=ACTOR))
        return running[0]
    progress(0.62, f"Deploying {champion.label}")
    deployment, api_key = deploy(home, f"{MODEL}@champion", actor=ACTOR)
    keep_sample_key(home, deployment.id, api_key)
    return deployment


def keep_sample_key(home: Path, deployment_id: int, api_key: str) -> None:
    """Keep the key the sample deployment was given, for the sample alone (see SAMPLE_KEY_FILE)."""
    from core.artifacts import write_atomically

    text = json.dumps({"deployment_id": deployment_id, "api_key": api_key})
    # written through a temp file, which is made readable by its owner only
    write_atomically(home, SAMPLE_KEY_FILE, lambda temp: temp.write_text(text))


def sample_key(home: Path, deployment: Deployment) -> str | None:
    """The sample deployment's API key while it still opens ``deployment``; None for any other
    deployment, or once the key was rotated or revoked."""
    from core.artifacts import resolve
    from core.serving.keys import key_matches

    try:
        kept = json.loads(resolve(home, SAMPLE_KEY_FILE).read_text())
    except (OSError, ValueError):
        return None
    if kept.get("deployment_id") != deployment.id or deployment.api_key_hash is None:
        return None
    api_key = str(kept.get("api_key", ""))
    return api_key if key_matches(api_key, deployment.api_key_hash) else None


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


def _production_batch() -> tuple[Any, Any]:
    """The drifted production batch and its labels, row by row."""
    from core.monitor.simulate import labels_for, read_table_file

    frame = read_table_file(sample_path("credit_production"))
    labels = labels_for(frame, read_table_file(sample_path("credit_production_labels")), None)
    assert labels is not None
    return frame, labels


def _history(home: Path, deployment: Deployment, progress: Any) -> None:
    """The first half of the production batch, replayed as the last hour's traffic."""
    from core.monitor.simulate import replay_history

    if _has_traffic(home, deployment.id):
        return
    frame, labels = _production_batch()
    half = len(frame) // 2
    progress(0.7, f"Replaying {half:,} production applications as the last hour's traffic")
    replay_history(
        home, deployment.id, frame.iloc[:half], minutes=HISTORY_MINUTES, labels=labels.iloc[:half]
    )


def start_live_traffic(home: Path, deployment_id: int, *, seconds: float = LIVE_SECONDS) -> Job:
    """Start sending the second half of the production batch to the sample deployment, in the
    background for ``seconds`` (the one already sending, if any)."""
    from core.jobs import submit_job

    params = {"deployment_id": deployment_id, "seconds": seconds}
    return submit_job(
        home, kind=TRAFFIC_KIND, params=params, subject=MODEL, dedupe_key=TRAFFIC_KIND, actor=ACTOR
    )


def live_traffic_job(home: Path, params: dict[str, Any], progress: Any) -> dict[str, Any]:
    """Job: the second half of the production batch sent live at LIVE_RATE requests a second,
    each true label sent back LABEL_DELAY seconds later."""
    from core.monitor.simulate import simulate
    from core.serving.deployments import get_deployment

    deployment = get_deployment(home, int(params["deployment_id"]))
    api_key = sample_key(home, deployment)
    if api_key is None:
        raise ValueError(KEY_REPLACED)
    progress = _stopping_once_the_key_changes(home, deployment.id, progress)
    frame, labels = _production_batch()
    half = len(frame) // 2
    result = simulate(
        deployment.url,
        api_key,
        frame.iloc[half:].reset_index(drop=True),
        rate=LIVE_RATE,
        seconds=float(params["seconds"]),
        labels=labels.iloc[half:].reset_index(drop=True),
        label_delay=LABEL_DELAY,
        progress=progress,
        deployment_id=deployment.id,
    )
    return result.to_dict()


def _stopping_once_the_key_changes(home: Path, deployment_id: int, progress: Any) -> Any:
    """``progress``, which also ends the traffic once the sample's key stops working: every
    request after would be refused, and show on Monitor as errors."""
    from core.serving.deployments import get_deployment

    checked = time.monotonic()

    def report(fraction: float, message: str) -> None:
        nonlocal checked
        progress(fraction, message)
        if time.monotonic() - checked >= KEY_CHECK_SECONDS:
            checked = time.monotonic()
            if sample_key(home, get_deployment(home, deployment_id)) is None:
                raise ValueError(KEY_REPLACED)

    return report


def live_traffic_left(job: Job, *, now: datetime | None = None) -> float:
    """Seconds the sample traffic job ``job`` has left to run (all of them until it starts)."""
    seconds = float(job.params.get("seconds", LIVE_SECONDS))
    if job.started_at is None:
        return seconds
    elapsed = ((now or datetime.now(UTC)) - datetime.fromisoformat(job.started_at)).total_seconds()
    return max(0.0, seconds - elapsed)


def _has_traffic(home: Path, deployment_id: int) -> bool:
    from core.store import connect, monitoring

    with connect(home) as db:
        return monitoring.first_prediction_time(db, deployment_id) is not None
