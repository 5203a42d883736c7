"""A retrain: the champion's training rows plus the labelled traffic, the champion's recipe and
parameters (or a re-tune), the challenger judged against the champion on the same fresh
holdout, and the decision — each step recorded."""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.retrain.policies import Action, Fired, get_policy
from core.store import connect
from core.store import records as store
from core.store.connection import writing
from core.store.records import ModelVersion, RetrainRun, Run

JOB_KIND = "retrain"
MIN_LABELLED_ROWS = 30
MAX_LABELLED_ROWS = 200_000
MANUAL = "manual"
JOBLESS_GRACE_S = 30.0

NO_DEPLOYMENT = "There is no deployment {id}. `mlops-studio deployments` lists them."
TOO_FEW_LABELS = (
    "Only {count:,} labelled production rows so far; a retrain needs at least {needed} to learn "
    "anything new. Send labels to /feedback or upload a label file, then retrain."
)
MISSING_COLUMNS = (
    "The labelled traffic lacks the training column(s) {columns}, so it cannot be added to the "
    "training rows."
)
NO_CHALLENGER = "The retrain trained no usable {model} model: {error}"
NO_RETRAIN = "There is no retrain {id}."
NOTHING_TO_PROMOTE = "Retrain {id} has no challenger waiting for review ({decision})."


class RetrainError(ValueError):
    """A retrain that cannot start or go on; the message says why and what to do."""


@dataclass(frozen=True)
class FreshData:
    """The challenger's rows: training rows first, then the fresh holdout (a fixed tail)."""

    frame: pd.DataFrame
    holdout_rows: int
    reference_rows: int
    labelled_rows: int
    labelled_holdout_rows: int


# -- starting ------------------------------------------------------------------------------------


def start_retrain(
    home: Path,
    deployment_id: int,
    *,
    policy_id: int | None = None,
    fired: list[Fired] | None = None,
    actor: str = "studio",
) -> RetrainRun:
    """Record a retrain and start its job. While one runs for the deployment, that one is
    returned (the new triggers are noted on it): two triggers at once start one retrain."""
    triggers = [f.to_dict() for f in fired or []] or [_manual(actor)]
    with connect(home) as db, writing(db):
        deployment = store.get_deployment(db, deployment_id)
        if deployment is None:
            raise RetrainError(NO_DEPLOYMENT.format(id=deployment_id))
        if policy_id is not None:
            store.update_retrain_policy(db, policy_id, last_fired_at=time.time())
        running = store.retrain_runs(db, deployment_id=deployment_id, active=True, limit=1)
        if running:
            store.add_retrain_step(
                db, running[0].id, _step("joined", _joined(triggers), triggers=triggers)
            )
            return running[0]
        run_id = store.add_retrain_run(
            db,
            policy_id=policy_id,
            deployment_id=deployment_id,
            triggers=triggers,
            champion_version_id=deployment.model_version_id,
            created_by=actor,
        )
        store.add_retrain_step(db, run_id, _step("triggered", _why(triggers)))
        store.record_event(
            db,
            actor=actor,
            action="retrain.start",
            entity_type="retrain_run",
            entity_id=run_id,
            details={"deployment_id": deployment_id, "policy_id": policy_id},
        )
    return submit(home, run_id, actor=actor)


def submit(home: Path, run_id: int, *, actor: str = "studio") -> RetrainRun:
    """Start (or restart) the background job of a pending retrain."""
    from core.jobs import submit_job

    retrain = get_retrain(home, run_id)
    attempt = int(retrain.details.get("attempts", 0)) + 1
    job = submit_job(
        home,
        kind=JOB_KIND,
        params={"retrain_run_id": run_id, "actor": actor},
        subject=f"deployment:{retrain.deployment_id}",
        dedupe_key=f"retrain:{run_id}:{attempt}",
        actor=actor,
    )
    with connect(home) as db:
        details = {**retrain.details, "attempts": attempt}
        store.update_retrain_run(db, run_id, job_id=job.id, details=details)
    return get_retrain(home, run_id)


def resume_retrains(home: Path, *, most_attempts: int = 3) -> list[int]:
    """Pending or running retrains whose job is gone (a restart) start again; returns them."""
    from core.jobs.runner import refresh_job

    with connect(home) as db:
        active = store.retrain_runs(db, active=True, limit=100)
    resumed = []
    for retrain in active:
        job = refresh_job(home, retrain.job_id) if retrain.job_id else None
        if job is not None and job.active:
            continue
        if job is None and _age_seconds(retrain.created_at) < JOBLESS_GRACE_S:
            continue  # its starter is submitting the job right now
        if int(retrain.details.get("attempts", 0)) >= most_attempts:
            why = job.error if job is not None and job.error else "its job kept stopping"
            _fail(home, retrain.id, f"Gave up after {most_attempts} attempts: {why}")
            continue
        with connect(home) as db:
            store.update_retrain_run(db, retrain.id, status="pending")
            store.add_retrain_step(
                db, retrain.id, _step("resumed", "Its job had stopped; started it again.")
            )
        submit(home, retrain.id, actor="scheduler")
        resumed.append(retrain.id)
    return resumed


def _age_seconds(timestamp: str) -> float:
    return time.time() - datetime.fromisoformat(timestamp).timestamp()


def get_retrain(home: Path, run_id: int) -> RetrainRun:
    with connect(home) as db:
        found = store.get_retrain_run(db, run_id)
    if found is None:
        raise RetrainError(NO_RETRAIN.format(id=run_id))
    return found


def retrains_of(home: Path, deployment_id: int, *, limit: int = 50) -> list[RetrainRun]:
    with connect(home) as db:
        return store.retrain_runs(db, deployment_id=deployment_id, limit=limit)


def _manual(actor: str) -> dict[str, Any]:
    return {"trigger": MANUAL, "value": 1, "threshold": 1, "message": f"Started by {actor}."}


def _why(triggers: list[dict[str, Any]]) -> str:
    return " ".join(trigger["message"] for trigger in triggers)


def _joined(triggers: list[dict[str, Any]]) -> str:
    return f"Fired while this retrain was under way, so no second retrain started: {_why(triggers)}"


def _step(name: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"at": store.now(), "step": name, "message": message, **extra}


# -- dry run -------------------------------------------------------------------------------------


def dry_run(home: Path, deployment_id: int, *, actor: str = "studio") -> RetrainRun:
    """What a retrain would do now — which triggers fire, which rows it would learn from and
    what would happen to the challenger — recorded, with nothing trained or changed."""
    from core.retrain.policies import fired_triggers, policies_of

    with connect(home) as db:
        deployment = store.get_deployment(db, deployment_id)
        if deployment is None:
            raise RetrainError(NO_DEPLOYMENT.format(id=deployment_id))
        labelled = len(store.labelled_rows(db, deployment_id, limit=MAX_LABELLED_ROWS))
    champion_run = _run_of_version(home, deployment.model_version_id)
    policies = [p for p in policies_of(home, deployment_id) if p.enabled]
    # the cool-down is ignored here: the question is what fires, not whether it may run yet
    fired = [
        {**f.to_dict(), "policy": p.name}
        for p in policies
        for f in fired_triggers(home, p, ignore_cooldown=True)
    ]
    action = Action.from_dict(policies[0].action) if policies else Action()
    holdout_share = float(champion_run.plan.get("holdout", 0.2))
    labelled_holdout = max(1, math.ceil(labelled * holdout_share)) if labelled else 0
    plan = {
        "champion": deployment.model_label,
        "model": champion_run.model,
        "params": "re-tuned" if action.retune else champion_run.params,
        "reference_rows": _reference_rows(home, champion_run),
        "labelled_rows": labelled,
        "labelled_holdout_rows": labelled_holdout,
        "enough_labels": labelled >= MIN_LABELLED_ROWS,
        "action": asdict(action),
        "policies": [p.name for p in policies],
    }
    verdict = (
        TOO_FEW_LABELS.format(count=labelled, needed=MIN_LABELLED_ROWS)
        if labelled < MIN_LABELLED_ROWS
        else (
            f"Would retrain {champion_run.model} on the champion's training rows plus "
            f"{labelled - labelled_holdout:,} labelled rows, and judge it against "
            f"{deployment.model_label} on its holdout plus the newest {labelled_holdout:,} "
            "labelled rows."
        )
    )
    with connect(home) as db:
        run_id = store.add_retrain_run(
            db,
            deployment_id=deployment_id,
            status="dry run",
            dry_run=1,
            triggers=fired or [_manual(actor)],
            champion_version_id=deployment.model_version_id,
            decision=verdict,
            details=plan,
            created_by=actor,
            finished_at=store.now(),
        )
        note = "; ".join(f["message"] for f in fired) or "No policy trigger fires right now."
        store.add_retrain_step(db, run_id, _step("dry run", f"{note} {verdict}"))
    return get_retrain(home, run_id)


def _reference_rows(home: Path, run: Run) -> int:
    from core.train.training import run_data

    data = run_data(home, run)
    return len(data.X_train) + len(data.X_holdout)


# -- the job -------------------------------------------------------------------------------------


def retrain_job(home: Path, params: dict[str, Any], progress: Any) -> dict[str, Any]:
    """Job: run one recorded retrain to its decision; a failure leaves the champion serving."""
    run_id = int(params["retrain_run_id"])
    actor = params.get("actor", "studio")
    retrain = get_retrain(home, run_id)
    with connect(home) as db:
        store.update_retrain_run(db, run_id, status="running")
    try:
        outcome = _retrain(home, retrain, actor, progress)
    except _Skipped as skipped:
        _finish(home, run_id, status="skipped", decision=str(skipped))
        return {"retrain_run_id": run_id, "status": "skipped", "decision": str(skipped)}
    except BaseException as error:
        _fail(home, run_id, str(error) or type(error).__name__)
        raise
    return {"retrain_run_id": run_id, "status": "done", **outcome}


class _Skipped(Exception):
    """Nothing to retrain on; not a failure."""


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
    comparison, review = _compare(home, champion, challenger, fresh, action, record)
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
        details={**retrain.details, "comparison": comparison, "gates": review.gates},
    )
    return {"challenger": challenger.label, "decision": decision, **comparison}


class _Recorder:
    """Reports progress and appends each named step to the retrain's record."""

    def __init__(self, home: Path, run_id: int, progress: Any) -> None:
        self.home, self.run_id, self.progress = home, run_id, progress

    def __call__(self, fraction: float, step: str, message: str, **fields: Any) -> None:
        with connect(self.home) as db:
            store.add_retrain_step(db, self.run_id, _step(step, message))
            if fields:
                store.update_retrain_run(db, self.run_id, **fields)
        self.progress(fraction, message)


def _action_of(home: Path, retrain: RetrainRun) -> Action:
    if retrain.policy_id is None:
        return Action()
    return Action.from_dict(get_policy(home, retrain.policy_id).action)


def _version(home: Path, version_id: int) -> ModelVersion:
    from core.train.registry import model_version_by_id

    return model_version_by_id(home, version_id)


def _run_of_version(home: Path, version_id: int) -> Run:
    from core.train.tracking import get_run

    return get_run(home, _version(home, version_id).run_id)


# -- the rows ------------------------------------------------------------------------------------


def fresh_data(home: Path, deployment_id: int, champion_run: Run) -> FreshData:
    """Champion training rows + older labelled traffic, then the champion's holdout + the newest
    labelled traffic as the fresh holdout (rows neither model was trained on)."""
    from core.train.training import run_data

    with connect(home) as db:
        labelled = store.labelled_rows(db, deployment_id, limit=MAX_LABELLED_ROWS)
    if len(labelled) < MIN_LABELLED_ROWS:
        raise _Skipped(TOO_FEW_LABELS.format(count=len(labelled), needed=MIN_LABELLED_ROWS))
    reference = run_data(home, champion_run)
    target = reference.target
    labelled.reverse()  # oldest first, so the newest rows form the holdout
    traffic = _conform(pd.DataFrame([row for _, row, _ in labelled]), reference.X_train)
    traffic[target] = _conform_target(pd.Series([label for *_, label in labelled]), reference)
    share = float(champion_run.plan.get("holdout", 0.2))
    newest = max(1, math.ceil(len(traffic) * share))
    train_part = [_with_target(reference.X_train, reference.y_train, target), traffic[:-newest]]
    holdout_part = [
        _with_target(reference.X_holdout, reference.y_holdout, target),
        traffic[-newest:],
    ]
    frame = pd.concat([*train_part, *holdout_part], ignore_index=True)
    return FreshData(
        frame=frame,
        holdout_rows=len(reference.X_holdout) + newest,
        reference_rows=len(reference.X_train) + len(reference.X_holdout),
        labelled_rows=len(traffic),
        labelled_holdout_rows=newest,
    )


def _with_target(X: pd.DataFrame, y: pd.Series, target: str) -> pd.DataFrame:
    return X.assign(**{target: y.to_numpy()})


def _conform(traffic: pd.DataFrame, like: pd.DataFrame) -> pd.DataFrame:
    """The logged inputs (JSON values) in the training columns' order and types."""
    missing = [column for column in like.columns if column not in traffic.columns]
    if missing:
        raise RetrainError(MISSING_COLUMNS.format(columns=", ".join(map(repr, missing[:10]))))
    return pd.DataFrame({column: _typed(traffic[column], like[column]) for column in like.columns})


def _typed(values: pd.Series, like: pd.Series) -> pd.Series:
    kind = like.dtype
    if pd.api.types.is_datetime64_any_dtype(kind):
        zone = getattr(kind, "tz", None)
        parsed = pd.to_datetime(values, errors="coerce", utc=True, format="mixed")
        return parsed.dt.tz_convert(zone) if zone is not None else parsed.dt.tz_localize(None)
    if pd.api.types.is_bool_dtype(kind):
        return values.astype(object).where(values.notna(), None)
    if pd.api.types.is_numeric_dtype(kind):
        return pd.to_numeric(values, errors="coerce")
    return values.astype(object).where(values.notna(), None)


def _conform_target(labels: pd.Series, reference: Any) -> pd.Series:
    if reference.task == "regression":
        return pd.to_numeric(labels, errors="coerce").astype(float)
    try:
        return labels.astype(reference.y_train.dtype)
    except (TypeError, ValueError):
        return labels


def _store_fresh_rows(
    home: Path, retrain: RetrainRun, champion_run: Run, fresh: FreshData, actor: str
) -> Any:
    """The challenger's rows as a new version of the champion's dataset, with its lineage."""
    import pyarrow as pa

    from core.data.datasets import Lineage, get_version, set_column_roles, store_table

    assert champion_run.dataset_version_id is not None
    reference = get_version(home, champion_run.dataset_version_id)
    table = pa.Table.from_pandas(fresh.frame, preserve_index=False)
    version, _ = store_table(
        home,
        name=reference.dataset_name,
        table=table,
        lineage=Lineage(
            source_file_name=f"retrain {retrain.id} of deployment {retrain.deployment_id}",
            ingest={
                "retrain_run_id": retrain.id,
                "reference_rows": fresh.reference_rows,
                "labelled_rows": fresh.labelled_rows,
                "holdout_rows": fresh.holdout_rows,
            },
            parent_version_id=reference.id,
            recipe_id=champion_run.recipe_id,
        ),
        actor=actor,
    )
    roles: dict[str, str] = {c.name: c.role for c in reference.schema}
    changed = {c.name: roles[c.name] for c in version.schema if roles.get(c.name, c.role) != c.role}
    return set_column_roles(home, version_id=version.id, roles=changed) if changed else version


# -- training and judging ------------------------------------------------------------------------


def _train_challenger(
    home: Path,
    retrain: RetrainRun,
    champion_run: Run,
    version_id: int,
    fresh: FreshData,
    action: Action,
    record: _Recorder,
) -> Run:
    from core.train.plan import ValidationPlan
    from core.train.training import TrainRequest, train

    plan = replace(ValidationPlan.from_dict(champion_run.plan), holdout_rows=fresh.holdout_rows)
    how = (
        f"re-tuning ({action.strategy}, {action.trials} trials)"
        if action.retune
        else (f"the champion's parameters {champion_run.params or '(defaults)'}")
    )
    record(0.12, "train", f"Training {champion_run.model} with {how}")
    request = TrainRequest(
        version_id=version_id,
        target=champion_run.target,
        task=champion_run.task,
        recipe_id=champion_run.recipe_id,
        models=(champion_run.model,),
        strategy=action.strategy if action.retune else "none",
        trials=action.trials if action.retune else 1,
        plan=plan,
        drop_missing_target=True,
        experiment=champion_run.experiment,
        tags=("retrain", f"retrain-{retrain.id}"),
        notes=f"Challenger of retrain {retrain.id} (deployment {retrain.deployment_id}).",
        params=None if action.retune else dict(champion_run.params or {}),
    )

    def progress(fraction: float, message: str) -> None:
        record.progress(0.12 + 0.6 * fraction, message)

    outcome = train(home, request, actor="retrain", progress=progress)
    found = [run for run in outcome.runs if run.model == champion_run.model]
    if not found:
        error = next((run.error for run in outcome.failed), "no run finished")
        raise RetrainError(NO_CHALLENGER.format(model=champion_run.model, error=error))
    record(0.74, "trained", f"Trained run {found[0].id}.")
    return found[0]


def _register(home: Path, champion: ModelVersion, run: Run, actor: str) -> ModelVersion:
    from core.train.registry import CHALLENGER, register_run

    return register_run(home, run.id, name=champion.model_name, aliases=(CHALLENGER,), actor=actor)


def _compare(
    home: Path,
    champion: ModelVersion,
    challenger: ModelVersion,
    fresh: FreshData,
    action: Action,
    record: _Recorder,
) -> tuple[dict[str, Any], Any]:
    """Both versions scored on the same fresh holdout (and on its labelled-traffic part), and the
    challenger's gates."""
    from core.review.gates import GateConfig
    from core.review.review import review_version
    from core.train.evaluate import HIGHER_IS_BETTER, predictions
    from core.train.registry import load_model_version
    from core.train.training import run_data

    record(0.82, "evaluate", f"Scoring {champion.label} and {challenger.label} on the same holdout")
    challenger_run = _run_of_version(home, challenger.id)
    data = run_data(home, challenger_run)
    # the policy's gates, else the default performance gates (fairness is the reviewer's call)
    config = GateConfig.from_dict(action.gates) if action.gates else GateConfig.defaults(data.task)
    review = review_version(home, challenger, config=config, champion=champion)
    metric = review.config["metric"]
    newest = slice(len(data.X_holdout) - fresh.labelled_holdout_rows, None)
    scores: dict[str, Any] = {"metric": metric, "holdout_rows": len(data.X_holdout)}
    for name, version in (("champion", champion), ("challenger", challenger)):
        pipeline = load_model_version(home, version)
        predicted, shares = predictions(pipeline, data.X_holdout, task=data.task)
        classes = list(getattr(pipeline, "classes_", []))
        scores[name] = _score(metric, data, predicted, shares, classes, slice(None))
        scores[f"{name}_on_traffic"] = _score(metric, data, predicted, shares, classes, newest)
    change = scores["challenger"] - scores["champion"]
    scores["improvement"] = change if HIGHER_IS_BETTER[metric] else -change
    scores["gates_passed"] = review.passed
    record(
        0.92,
        "evaluated",
        f"{metric} on the fresh holdout: champion {scores['champion']:.4f}, challenger "
        f"{scores['challenger']:.4f} (on the newest traffic: {scores['champion_on_traffic']:.4f} "
        f"vs {scores['challenger_on_traffic']:.4f}); gates "
        f"{'passed' if review.passed else 'failed'}.",
    )
    return scores, review


def _score(
    metric: str,
    data: Any,
    predicted: np.ndarray,
    shares: np.ndarray | None,
    classes: list[Any],
    rows: slice,
) -> float | None:
    from core.train.evaluate import score_metric

    truth = data.y_holdout.iloc[rows]
    try:
        value = score_metric(
            metric,
            truth,
            predicted=predicted[rows],
            probabilities=None if shares is None else shares[rows],
            classes=classes,
            task=data.task,
        )
    except ValueError:  # e.g. one class only among the newest rows
        return None
    return None if value is None or not np.isfinite(value) else float(value)


def _decide(
    home: Path,
    retrain: RetrainRun,
    champion: ModelVersion,
    challenger: ModelVersion,
    comparison: dict[str, Any],
    review: Any,
    action: Action,
    actor: str,
) -> str:
    """Keep the champion, leave the challenger for review (or in shadow), or promote it.

    Failed gates keep the champion. Automatic promotion also needs the challenger to be better
    (by at least the required improvement); a person reviewing sees the change either way, so a
    challenger within the champion gate's tolerance waits for them unless a required
    improvement is set and missed."""
    failed = [gate["title"] for gate in review.gates if gate["passed"] is False]
    improvement = comparison["improvement"]
    change = f"{comparison['metric']} {improvement:+.4f} against {champion.label}"
    if failed:
        return f"Kept {champion.label}: {challenger.label} failed the gate(s) {', '.join(failed)}."
    short = improvement < action.min_improvement
    if short and (action.min_improvement > 0 or action.promote == "auto"):
        return (
            f"Kept {champion.label}: {challenger.label} changes {comparison['metric']} by "
            f"{improvement:+.4f}, short of the required {action.min_improvement:+.4f}."
        )
    if action.promote == "auto":
        if improvement <= 0:
            return f"Kept {champion.label}: {challenger.label} is no better ({change})."
        reason = (
            f"Automatic promotion by retrain {retrain.id}: every gate passed and "
            f"{comparison['metric']} improved by {improvement:+.4f} on the fresh holdout."
        )
        _make_champion(
            home, retrain.deployment_id, challenger, f"policy {retrain.policy_id}", reason
        )
        return f"Promoted {challenger.label} to champion and switched the deployment to it."
    if action.promote == "shadow":
        from core.serving.deployments import start_shadow

        start_shadow(home, retrain.deployment_id, challenger.id, actor=actor)
        return f"{challenger.label} passed ({change}); it runs in shadow for review."
    return f"{challenger.label} passed every gate ({change}) and waits for review."


def _finish(home: Path, run_id: int, **fields: Any) -> None:
    with connect(home) as db:
        store.update_retrain_run(db, run_id, finished_at=store.now(), **fields)
        store.record_event(
            db,
            actor="retrain",
            action=f"retrain.{fields.get('status', 'done')}",
            entity_type="retrain_run",
            entity_id=run_id,
            details={"decision": fields.get("decision")},
        )


def _fail(home: Path, run_id: int, error: str) -> None:
    with connect(home) as db:
        store.add_retrain_step(db, run_id, _step("failed", f"{error} The champion keeps serving."))
    _finish(home, run_id, status="failed", error=error, decision="Kept the champion (failed).")


# -- after the decision --------------------------------------------------------------------------


def promote(
    home: Path, run_id: int, *, actor: str = "studio", override_reason: str | None = None
) -> RetrainRun:
    """Make a retrain's challenger the champion and serve it (approved, or with a reason)."""
    retrain = get_retrain(home, run_id)
    if retrain.challenger_version_id is None or retrain.status != "done":
        raise RetrainError(NOTHING_TO_PROMOTE.format(id=run_id, decision=retrain.decision))
    challenger = _version(home, retrain.challenger_version_id)
    _make_champion(home, retrain.deployment_id, challenger, actor, override_reason)
    message = f"{actor} promoted {challenger.label} to champion."
    decision = f"Promoted {challenger.label} ({actor})."
    return _close(home, retrain, "promoted", message, decision, actor=actor)


def awaiting_decision(retrain: RetrainRun) -> bool:
    """Whether a person still has to promote the retrain's challenger or keep the champion."""
    promoted = (retrain.decision or "").startswith("Promoted")
    closed = promoted or bool(retrain.details.get("closed_by"))
    return retrain.status == "done" and retrain.challenger_version_id is not None and not closed


def _make_champion(
    home: Path, deployment_id: int, challenger: ModelVersion, actor: str, reason: str | None
) -> None:
    """Champion alias first (it checks approval or the reason), then the hot swap."""
    from core.serving.deployments import get_deployment, stop_shadow, switch_version
    from core.train.registry import CHAMPION, set_alias

    set_alias(
        home,
        name=challenger.model_name,
        version=challenger.version,
        alias=CHAMPION,
        actor=actor,
        override_reason=reason,
    )
    deployment = get_deployment(home, deployment_id)
    if deployment.shadow_version_id is not None:
        stop_shadow(home, deployment_id, actor=actor)
    if deployment.model_version_id != challenger.id:
        switch_version(home, deployment_id, challenger.id, actor=actor, override_reason=reason)


def keep_champion(home: Path, run_id: int, *, actor: str = "studio") -> RetrainRun:
    """Turn a retrain's challenger down: its shadow stops and the champion stays."""
    from core.serving.deployments import get_deployment, stop_shadow

    retrain = get_retrain(home, run_id)
    deployment = get_deployment(home, retrain.deployment_id)
    if (
        retrain.challenger_version_id is not None
        and deployment.shadow_version_id == retrain.challenger_version_id
    ):
        stop_shadow(home, retrain.deployment_id, actor=actor)
    message = f"{actor} kept the champion."
    return _close(home, retrain, "kept", message, f"Kept the champion ({actor}).", actor=actor)


def _close(
    home: Path, retrain: RetrainRun, step: str, message: str, decision: str, *, actor: str
) -> RetrainRun:
    """Record a person's decision on a retrain's challenger; nobody is asked again."""
    with connect(home) as db:
        store.add_retrain_step(db, retrain.id, _step(step, message))
        details = {**retrain.details, "closed_by": actor}
        store.update_retrain_run(db, retrain.id, decision=decision, details=details)
    return get_retrain(home, retrain.id)
