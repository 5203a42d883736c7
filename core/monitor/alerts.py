"""Alert rules over the monitor windows: sensible defaults per deployment, alerts that open
when a rule is broken and clear when it recovers, acknowledgement, and an optional webhook."""

from __future__ import annotations

import json
import logging
import math
import os
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core import words
from core.auth import Permission
from core.auth.access import authorize, authorized_actor
from core.monitor.dashboard import MonitorSummary, summarise
from core.store import audit, connect, monitoring
from core.store.monitoring import Alert, AlertRule

WEBHOOK_ENV = "MLOPS_STUDIO_ALERT_WEBHOOK"
WEBHOOK_TIMEOUT_S = 5.0
MIN_ROWS = 20  # fewer requests than this in a window say nothing about rates
MIN_LABELLED = 30
METRICS = (
    "error_rate",
    "latency_p99_ms",
    "requests_per_minute",
    "unseen_rate",
    "drift_share",
    "performance",
    "estimated_performance",
    "multivariate_drift",
    "quality_failures",
)
COMPARISONS = ("above", "below")
SEVERITIES = ("info", "warning", "critical")
UNKNOWN_METRIC = "There is no alert metric {metric!r}; choose one of {choices}."
BAD_COMPARISON = "An alert fires when the metric is 'above' or 'below' the threshold."
BAD_SEVERITY = "Severity must be one of {choices}."
BAD_WINDOW = "The window must be a whole number of minutes from 1 to 1440."
NOT_A_NUMBER = "The threshold must be a finite number."
UNKNOWN_ALERT = "There is no alert {id}."
MESSAGE = "{metric} is {value:.4g} over the last {minutes} min ({comparison} {threshold:.4g})."
log = logging.getLogger("mlops_studio.monitor")


@dataclass(frozen=True)
class RuleSpec:
    metric: str
    comparison: str
    threshold: float
    window_minutes: int
    severity: str


DEFAULT_RULES = (
    RuleSpec("error_rate", "above", 0.05, 5, "critical"),
    RuleSpec("latency_p99_ms", "above", 250.0, 5, "warning"),
    RuleSpec("drift_share", "above", 0.3, 60, "warning"),
    RuleSpec("unseen_rate", "above", 0.2, 15, "info"),
)


def check_rule(spec: RuleSpec) -> RuleSpec:
    """Refuse a rule a person could not have meant; the message says what to change."""
    if spec.metric not in METRICS:
        raise ValueError(UNKNOWN_METRIC.format(metric=spec.metric, choices=", ".join(METRICS)))
    if spec.comparison not in COMPARISONS:
        raise ValueError(BAD_COMPARISON)
    if spec.severity not in SEVERITIES:
        raise ValueError(BAD_SEVERITY.format(choices=", ".join(SEVERITIES)))
    if type(spec.window_minutes) is not int or not 1 <= spec.window_minutes <= 1440:
        raise ValueError(BAD_WINDOW)
    if not isinstance(spec.threshold, int | float) or not math.isfinite(spec.threshold):
        raise ValueError(NOT_A_NUMBER)
    return spec


def rules_of(home: Path, deployment_id: int) -> list[AlertRule]:
    """The deployment's rules; the defaults are added the first time."""
    with connect(home) as db:
        rules = monitoring.alert_rules(db, deployment_id)
        if not rules:
            for spec in DEFAULT_RULES:
                monitoring.add_alert_rule(db, deployment_id, **spec.__dict__)
            rules = monitoring.alert_rules(db, deployment_id)
    return rules


def add_rule(home: Path, deployment_id: int, spec: RuleSpec) -> AlertRule:
    authorize(home, Permission.ALERTS)
    check_rule(spec)
    rules_of(home, deployment_id)
    with connect(home) as db:
        rule_id = monitoring.add_alert_rule(db, deployment_id, **spec.__dict__)
        return next(
            rule for rule in monitoring.alert_rules(db, deployment_id) if rule.id == rule_id
        )


def set_rule_enabled(home: Path, rule_id: int, enabled: bool) -> None:
    authorize(home, Permission.ALERTS)
    with connect(home) as db:
        monitoring.update_alert_rule(db, rule_id, enabled=int(enabled))


def evaluate(home: Path, deployment_id: int) -> list[Alert]:
    """Open an alert for each broken rule without one, clear those that recovered; returns the
    alerts that changed.

    Opening and clearing an alert is the studio recording what it observed against rules an
    operator set (that needs ``ALERTS``); it decides nothing, so whoever may read the studio may
    cause it: the Monitor page re-evaluates when a viewer looks, and the scheduler acts as the
    studio itself (``studio_itself()``). Only someone signed out of a team studio is refused."""
    authorize(home, Permission.READ)
    changed: list[Alert] = []
    with connect(home) as db:
        open_by_rule = {
            alert.rule_id: alert
            for alert in monitoring.alerts(db, deployment_id=deployment_id, status="open")
        }
    summaries: dict[int, MonitorSummary] = {}
    for rule in rules_of(home, deployment_id):
        if not rule.enabled:
            continue
        if rule.window_minutes not in summaries:
            summaries[rule.window_minutes] = summarise(
                home, deployment_id, minutes=rule.window_minutes, refresh=False
            )
        value = metric_value(home, deployment_id, rule, summaries[rule.window_minutes])
        if value is None:  # too little data to tell either way: leave things as they are
            continue
        current = open_by_rule.get(rule.id)
        if _breaks(value, rule) and current is None:
            changed.append(_open(home, deployment_id, rule, value))
        elif not _breaks(value, rule) and current is not None:
            changed.append(_clear(home, current))
    for alert in changed:
        notify(alert)
    return changed


def metric_value(
    home: Path, deployment_id: int, rule: AlertRule, summary: MonitorSummary
) -> float | None:
    """The rule's metric over its window, or None when the window holds too little to tell."""
    if rule.metric == "requests_per_minute":
        return summary.requests_per_minute
    if rule.metric == "drift_share":
        return latest_drift_share(home, deployment_id, summary.start, summary.end)
    if rule.metric in BEFORE_LABELS:
        return latest_before_labels(home, deployment_id, rule.metric, summary.start, summary.end)
    if rule.metric == "performance":
        return summary.performance if summary.labelled >= MIN_LABELLED else None
    if summary.requests < MIN_ROWS:
        return None
    if rule.metric == "error_rate":
        return summary.error_rate
    if rule.metric == "latency_p99_ms":
        return summary.p99_ms
    unseen = sum(w.unseen_rate * w.rows for w in summary.windows)
    return unseen / summary.rows if summary.rows else None


def latest_drift_share(home: Path, deployment_id: int, start: float, end: float) -> float | None:
    with connect(home) as db:
        metrics = monitoring.metrics(db, deployment_id, start, end)
    shares = [m["value"] for m in metrics if m["feature"] == "" and m["metric"] == "drift_share"]
    return shares[-1] if shares else None


# the metrics of monitoring before labels, read from the newest window that has them
BEFORE_LABELS = ("estimated_performance", "multivariate_drift", "quality_failures")
ESTIMATED_MAIN = ("estimated_accuracy", "estimated_mae")  # what "estimated performance" means


def latest_before_labels(
    home: Path, deployment_id: int, metric: str, start: float, end: float
) -> float | None:
    """Estimated accuracy (or MAE), the domain classifier's AUC, or the number of failed quality
    tests in the newest window of ``start``..``end`` that has it."""
    from core.monitor.estimation.history import SCOPE

    with connect(home) as db:
        rows = [
            m for m in monitoring.metrics(db, deployment_id, start, end) if m["feature"] == SCOPE
        ]
    if not rows:
        return None
    if metric == "quality_failures":
        tests = [m for m in rows if m["metric"].startswith("quality_")]
        if not tests:
            return None
        newest = max(m["window_start"] for m in tests)
        return float(sum(m["flagged"] for m in tests if m["window_start"] == newest))
    wanted = (
        ESTIMATED_MAIN if metric == "estimated_performance" else ("multivariate_domain_classifier",)
    )
    found = [m["value"] for m in rows if m["metric"] in wanted and m["value"] is not None]
    return found[-1] if found else None


def _breaks(value: float, rule: AlertRule) -> bool:
    return value > rule.threshold if rule.comparison == "above" else value < rule.threshold


def _open(home: Path, deployment_id: int, rule: AlertRule, value: float) -> Alert:
    message = MESSAGE.format(
        metric=words.metric(rule.metric),
        value=value,
        minutes=rule.window_minutes,
        comparison=rule.comparison,
        threshold=rule.threshold,
    )
    with connect(home) as db:
        alert_id = monitoring.open_alert(
            db,
            deployment_id=deployment_id,
            rule_id=rule.id,
            metric=rule.metric,
            severity=rule.severity,
            value=value,
            threshold=rule.threshold,
            message=message,
        )
        return _stored(db, alert_id)


def _clear(home: Path, alert: Alert) -> Alert:
    with connect(home) as db:
        monitoring.clear_alert(db, alert.id)
        return _stored(db, alert.id)


def _stored(db: Any, alert_id: int) -> Alert:
    found = monitoring.get_alert(db, alert_id)
    if found is None:
        raise ValueError(UNKNOWN_ALERT.format(id=alert_id))
    return found


def acknowledge(home: Path, alert_id: int, *, actor: str = "studio") -> None:
    actor = authorized_actor(home, Permission.ALERTS, actor)
    with connect(home) as db:
        _stored(db, alert_id)
        if monitoring.acknowledge_alert(db, alert_id, actor):
            audit.record(
                db, actor=actor, action="alert.acknowledge", entity_type="alert", entity_id=alert_id
            )


def open_alerts(home: Path) -> list[Alert]:
    """Every open alert, newest first (the sidebar shows them on every page)."""
    with connect(home) as db:
        return monitoring.alerts(db, status="open")


def alert_log(home: Path, deployment_id: int, *, limit: int = 200) -> list[Alert]:
    """A deployment's alerts, open and cleared, newest first."""
    with connect(home) as db:
        return monitoring.alerts(db, deployment_id=deployment_id, limit=limit)


def notify(alert: Alert) -> bool:
    """POST the alert as JSON to $MLOPS_STUDIO_ALERT_WEBHOOK when set; a failure is logged."""
    url = os.environ.get(WEBHOOK_ENV, "").strip()
    if not url:
        return False
    body = json.dumps({"event": f"alert.{alert.status}", **alert.to_dict()}).encode()
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_S):
            return True
    except (OSError, ValueError) as error:
        log.warning("alert webhook %s failed: %s", url, error)
        return False
