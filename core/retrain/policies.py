"""Retraining policies: when a deployment's model is retrained (triggers) and what happens to the
challenger (action), and which triggers fire now."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from core.auth import Permission
from core.auth.access import authorized_actor
from core.store import audit, connect, deployments, monitoring, required, retraining
from core.store.retraining import RetrainPolicy

PROMOTE_MODES = ("review", "shadow", "auto")
PROMOTE_LABELS = {
    "review": "Register as challenger for a person to review",
    "shadow": "Register as challenger and run it in shadow beside the champion",
    "auto": "Promote automatically when every gate passes",
}
TRIGGER_LABELS = {
    "drift_share": "Drift share above",
    "metric_drop": "Live metric drop above",
    "new_labels": "New labelled rows at least",
    "every_hours": "Every (hours)",
    "estimated_drop": "Estimated metric drop above",
}
PERFORMANCE_WINDOW_MINUTES = 24 * 60
MIN_LABELLED = 30  # fewer labelled rows than this say too little about live performance

NO_TRIGGER = (
    "A policy needs at least one trigger: a drift share, a metric drop, a number of new labelled "
    "rows or a schedule."
)
BAD_SHARE = "The drift share trigger must be above 0 and at most 1 (a share of features), not {v}."
BAD_DROP = "The metric drop trigger must be above 0 and below 1, not {v}."
BAD_LABELS = "The new-labels trigger must be a whole number of rows, at least 1, not {v}."
BAD_ESTIMATED = "The estimated-drop trigger must be above 0 and below 1, not {v}."
BAD_HOURS = "The schedule must be at least 0.01 hours (36 s) between retrains, not {v}."
BAD_PROMOTE = "The action must be one of {choices}, not {v!r}."
BAD_TRIALS = "Re-tuning needs 1 to 500 trials, not {v}."
BAD_IMPROVEMENT = "The required improvement must be between 0 and 1, not {v}."
BAD_COOLDOWN = "The cool-down must be between 0 and 10,080 minutes (a week), not {v}."
BAD_NAME = "Give the policy a name of 1-80 characters."
UNKNOWN_POLICY = "There is no retraining policy {id}."


class PolicyError(ValueError):
    """A policy that cannot work as given; the message says what to change."""


@dataclass(frozen=True)
class Triggers:
    """Each trigger is off when None."""

    drift_share: float | None = None
    metric_drop: float | None = None
    new_labels: int | None = None
    every_hours: float | None = None
    # estimated performance (CBPE/DLE, no labels needed) worse than the holdout's by this share
    estimated_drop: float | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Triggers:
        return cls(**{key: data.get(key) for key in cls.__dataclass_fields__})


@dataclass(frozen=True)
class Action:
    """Retrain with the champion's recipe and parameters (or re-tune), then review, shadow or
    promote automatically when the gates pass and the challenger beats the champion."""

    promote: str = "review"
    retune: bool = False
    strategy: str = "halving"
    trials: int = 20
    min_improvement: float = 0.0
    gates: dict[str, Any] | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Action:
        return cls(**{key: data[key] for key in cls.__dataclass_fields__ if key in data})


def check_policy(triggers: Triggers, action: Action, cooldown_minutes: float, name: str) -> None:
    """Raise PolicyError naming the first setting that cannot work."""
    if not name.strip() or len(name.strip()) > 80:
        raise PolicyError(BAD_NAME)
    if all(value is None for value in asdict(triggers).values()):
        raise PolicyError(NO_TRIGGER)
    checks = (
        (triggers.drift_share, lambda v: 0 < v <= 1, BAD_SHARE),
        (triggers.metric_drop, lambda v: 0 < v < 1, BAD_DROP),
        (triggers.new_labels, lambda v: isinstance(v, int) and v >= 1, BAD_LABELS),
        (triggers.every_hours, lambda v: v >= 0.01, BAD_HOURS),
        (triggers.estimated_drop, lambda v: 0 < v < 1, BAD_ESTIMATED),
    )
    for value, fine, message in checks:
        if value is not None and (not isinstance(value, int | float) or not fine(value)):
            raise PolicyError(message.format(v=value))
    if action.promote not in PROMOTE_MODES:
        raise PolicyError(BAD_PROMOTE.format(choices=", ".join(PROMOTE_MODES), v=action.promote))
    if action.retune and not 1 <= action.trials <= 500:
        raise PolicyError(BAD_TRIALS.format(v=action.trials))
    if not 0 <= action.min_improvement < 1:
        raise PolicyError(BAD_IMPROVEMENT.format(v=action.min_improvement))
    if not 0 <= cooldown_minutes <= 10_080:
        raise PolicyError(BAD_COOLDOWN.format(v=cooldown_minutes))


def add_policy(
    home: Path,
    deployment_id: int,
    *,
    name: str,
    triggers: Triggers,
    action: Action | None = None,
    cooldown_minutes: float = 60.0,
    actor: str = "studio",
) -> RetrainPolicy:
    """Save a new policy for a deployment (checked first); the scheduler runs it from now on."""
    actor = authorized_actor(home, Permission.POLICIES, actor)
    action = action or Action()
    check_policy(triggers, action, cooldown_minutes, name)
    with connect(home) as db:
        if deployments.get(db, deployment_id) is None:
            raise PolicyError(f"There is no deployment {deployment_id}.")
        policy_id = retraining.add_policy(
            db,
            deployment_id=deployment_id,
            name=name.strip(),
            triggers=asdict(triggers),
            action=asdict(action),
            cooldown_minutes=cooldown_minutes,
            created_by=actor,
        )
        audit.record(
            db,
            actor=actor,
            action="retrain.policy.add",
            entity_type="retrain_policy",
            entity_id=policy_id,
            details={"deployment_id": deployment_id, "triggers": asdict(triggers)},
        )
    return get_policy(home, policy_id)


def get_policy(home: Path, policy_id: int) -> RetrainPolicy:
    with connect(home) as db:
        policy = retraining.get_policy(db, policy_id)
    return required(policy, PolicyError(UNKNOWN_POLICY.format(id=policy_id)))


def policies_of(home: Path, deployment_id: int) -> list[RetrainPolicy]:
    with connect(home) as db:
        return retraining.policies(db, deployment_id=deployment_id)


def set_policy_enabled(home: Path, policy_id: int, enabled: bool, *, actor: str = "studio") -> None:
    actor = authorized_actor(home, Permission.POLICIES, actor)
    get_policy(home, policy_id)
    with connect(home) as db:
        retraining.update_policy(db, policy_id, enabled=int(enabled))
        audit.record(
            db,
            actor=actor,
            action="retrain.policy.enable" if enabled else "retrain.policy.disable",
            entity_type="retrain_policy",
            entity_id=policy_id,
            details={},
        )


# -- which triggers fire ------------------------------------------------------------------------


@dataclass(frozen=True)
class Fired:
    """One trigger that fired: its value against its threshold, in words."""

    trigger: str
    value: float
    threshold: float
    message: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def fired_triggers(
    home: Path, policy: RetrainPolicy, *, now: float | None = None, ignore_cooldown: bool = False
) -> list[Fired]:
    """The policy's triggers that fire now (none during the cool-down after the last firing)."""
    now = time.time() if now is None else now
    since = policy.last_fired_at or _epoch(policy.created_at)
    cooling = policy.last_fired_at and now - policy.last_fired_at < policy.cooldown_minutes * 60
    if cooling and not ignore_cooldown:
        return []
    triggers = Triggers.from_dict(policy.triggers)
    fired = [
        _drift(home, policy.deployment_id, triggers.drift_share, since, now),
        _metric_drop(home, policy.deployment_id, triggers.metric_drop),
        _new_labels(home, policy.deployment_id, triggers.new_labels, since),
        _schedule(triggers.every_hours, since, now),
        _estimated_drop(home, policy.deployment_id, triggers.estimated_drop, since, now),
    ]
    return [found for found in fired if found is not None]


def _epoch(timestamp: str) -> float:
    return datetime.fromisoformat(timestamp).timestamp()


def _drift(
    home: Path, deployment_id: int, threshold: float | None, since: float, now: float
) -> Fired | None:
    if threshold is None:
        return None
    from core.monitor.alerts import latest_drift_share

    share = latest_drift_share(home, deployment_id, since, now)
    if share is None or share <= threshold:
        return None
    return Fired(
        "drift_share",
        share,
        threshold,
        f"{share:.0%} of the features drifted in the latest window (trigger: above "
        f"{threshold:.0%}).",
    )


def _metric_drop(home: Path, deployment_id: int, threshold: float | None) -> Fired | None:
    if threshold is None:
        return None
    from core.monitor.dashboard import summarise

    served = _served_run(home, deployment_id)
    if served is None:
        return None
    regression = served.task == "regression"
    summary = summarise(
        home,
        deployment_id,
        minutes=PERFORMANCE_WINDOW_MINUTES,
        regression=regression,
        refresh=False,
    )
    expected = served.metrics.get("holdout", {}).get("mae" if regression else "accuracy")
    if summary.performance is None or summary.labelled < MIN_LABELLED or expected is None:
        return None
    drop = summary.performance - expected if regression else expected - summary.performance
    relative = drop / abs(expected) if expected else drop
    if relative <= threshold:
        return None
    return Fired(
        "metric_drop",
        relative,
        threshold,
        f"Live {summary.performance_name} is {summary.performance:.4g} on "
        f"{summary.labelled:,} labelled rows against {expected:.4g} on the holdout, "
        f"{relative:.1%} worse (trigger: above {threshold:.0%}).",
    )


def _served_run(home: Path, deployment_id: int) -> Any:
    """The training run of the version a deployment serves."""
    from core.train.registry import model_version_by_id
    from core.train.tracking import get_run

    with connect(home) as db:
        deployment = deployments.get(db, deployment_id)
    if deployment is None:
        return None
    return get_run(home, model_version_by_id(home, deployment.model_version_id).run_id)


def _new_labels(
    home: Path, deployment_id: int, threshold: int | None, since: float
) -> Fired | None:
    if threshold is None:
        return None
    with connect(home) as db:
        count = retraining.labels_since(db, deployment_id, since)
    if count < threshold:
        return None
    return Fired(
        "new_labels",
        count,
        threshold,
        f"{count:,} rows were labelled since the last retrain (trigger: {threshold:,}).",
    )


def _schedule(every_hours: float | None, since: float, now: float) -> Fired | None:
    if every_hours is None or now - since < every_hours * 3600:
        return None
    hours = (now - since) / 3600
    return Fired(
        "every_hours",
        hours,
        every_hours,
        f"{hours:.1f} h since the last retrain (schedule: every {every_hours:g} h).",
    )


def _estimated_drop(
    home: Path, deployment_id: int, threshold: float | None, since: float, now: float
) -> Fired | None:
    """The newest window's estimated accuracy (or MAE) against the holdout's, before labels."""
    if threshold is None:
        return None
    from core.monitor.alerts import ESTIMATED_MAIN
    from core.monitor.estimation.history import SCOPE

    with connect(home) as db:
        rows = [
            m
            for m in monitoring.metrics(db, deployment_id, since, now)
            if m["feature"] == SCOPE and m["metric"] in ESTIMATED_MAIN and m["value"] is not None
        ]
    if not rows or not rows[-1]["threshold"]:
        return None
    row = rows[-1]
    estimate, expected = row["value"], row["threshold"]
    regression = row["metric"] == "estimated_mae"
    drop = (estimate - expected) if regression else (expected - estimate)
    relative = drop / abs(expected)
    if relative <= threshold:
        return None
    name = "mean absolute error" if regression else "accuracy"
    return Fired(
        "estimated_drop",
        relative,
        threshold,
        f"Estimated {name} is {estimate:.4g} in the latest window against {expected:.4g} on the "
        f"holdout, {relative:.1%} worse, before any labels (trigger: above {threshold:.0%}).",
    )
