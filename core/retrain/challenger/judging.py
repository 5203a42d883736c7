"""Training the challenger and judging it against the champion on the same fresh holdout."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from core import words
from core.retrain.challenger.decision import _make_champion
from core.retrain.challenger.rows import FreshData
from core.retrain.challenger.runs import NO_CHALLENGER, RetrainError, _Recorder, _run_of_version
from core.retrain.policies import Action
from core.store.models import ModelVersion
from core.store.retraining import RetrainRun
from core.store.runs import Run


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
        f"re-tuning ({words.strategy(action.strategy).lower()}, {action.trials} trials)"
        if action.retune
        else f"the champion's parameters ({words.params(champion_run.params)})"
    )
    record(0.12, "train", f"Training {words.model(champion_run.model)} with {how}")
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
        model = words.model(champion_run.model)
        raise RetrainError(NO_CHALLENGER.format(model=model, error=error))
    record(0.74, "trained", f"Trained run {found[0].id}.")
    return found[0]


def _register(home: Path, champion: ModelVersion, run: Run, actor: str) -> ModelVersion:
    from core.train.registry import CHALLENGER, register_run

    return register_run(home, run.id, name=champion.model_name, aliases=(CHALLENGER,), actor=actor)


def _compare(
    home: Path,
    retrain: RetrainRun,
    champion: ModelVersion,
    challenger: ModelVersion,
    fresh: FreshData,
    action: Action,
    record: _Recorder,
    actor: str,
) -> tuple[dict[str, Any], Any]:
    """Both versions scored on the same fresh holdout (and on its labelled-traffic part), and the
    challenger reviewed and saved as its review, as the Review page would review it."""
    from core.review.record import review_and_save
    from core.train.evaluate import HIGHER_IS_BETTER, predictions
    from core.train.registry import load_model_version
    from core.train.training import run_data

    record(0.82, "evaluate", f"Scoring {champion.label} and {challenger.label} on the same holdout")
    challenger_run = _run_of_version(home, challenger.id)
    data = run_data(home, challenger_run)
    review, saved = review_and_save(
        home,
        challenger,
        config=_gate_config(action, data),
        champion=champion,
        source=f"retrain {retrain.id}",
        actor=actor,
    )
    metric = review.config.metric
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
    scores["review_id"] = saved.id
    record(
        0.92,
        "evaluated",
        f"{words.metric(metric)} on the fresh holdout: champion {scores['champion']:.4f}, "
        f"challenger "
        f"{scores['challenger']:.4f} (on the newest traffic: {scores['champion_on_traffic']:.4f} "
        f"vs {scores['challenger_on_traffic']:.4f}); gates "
        f"{'passed' if review.passed else 'failed'}.",
    )
    return scores, review


def _gate_config(action: Action, data: Any) -> Any:
    """The policy's gates, else none given: the Review page's defaults (review_version's). A
    policy's gates that name no segment columns judge the suggested ones, as Review does."""
    from core.review.gates import GateConfig
    from core.review.review import suggested_features, with_default_segments

    if not action.gates:
        return None
    return with_default_segments(GateConfig.from_dict(action.gates), suggested_features(data))


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
    failed = [gate.title for gate in review.gates if gate.passed is False]
    improvement = comparison["improvement"]
    change = f"{words.metric(comparison['metric'])} {improvement:+.4f} against {champion.label}"
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
