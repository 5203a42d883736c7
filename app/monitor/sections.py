"""The sections of the Monitor page: a deployment's traffic, predictions, performance and drift,
live, and its alerts: open ones to acknowledge, the log, and the rules that raise them."""

from __future__ import annotations

import time

import pandas as pd
import streamlit as st

from app import cache, components, state
from app.charts.display import show
from app.components import home, metric_rows, records_table, tab_panel
from app.monitor import charts, estimate_sections
from app.navigation import page
from app.people.permits import guarded
from app.text import md
from core import scheduler, words
from core.artifacts import ArtifactError
from core.auth import Permission
from core.monitor import alerts
from core.monitor.dashboard import (
    DriftHistory,
    FeatureRank,
    MonitorSummary,
    rank_drift,
    summarise,
)
from core.monitor.drift_windows import update_drift
from core.retrain.challenger import retrains_of
from core.serving import deployments
from core.store.deployments import Deployment
from core.store.monitoring import Alert

AlertsShown = tuple[tuple[int, bool], ...]  # (id, acknowledged) of every open alert

LIVE_REFRESH_SECONDS = 3.0
RANGES = {15: "15 min", 60: "1 h", 360: "6 h", 1440: "24 h", 10080: "7 days"}
# minutes per point on the charts: a few hundred points whatever the range
BUCKETS = {15: 1, 60: 1, 360: 1, 1440: 5, 10080: 30}
DEFAULT_RANGE = 60
ALERT_LOG_ROWS = 200
SEVERITY_ICONS = {
    "info": ":material/info:",
    "warning": ":material/warning:",
    "critical": ":material/error:",
}
# what each alert metric's threshold is measured in, beside its name in the rule form
METRIC_UNITS = {
    "error_rate": "share of requests, 0–1",
    "unseen_rate": "share of rows, 0–1",
    "drift_share": "share of features drifted, 0–1",
    "performance": "accuracy, or mean absolute error for regression",
    "estimated_performance": "estimated accuracy, or estimated MAE for regression",
    "multivariate_drift": "domain classifier ROC AUC, 0.5–1",
    "quality_failures": "failed quality tests in the newest window",
}
NO_LABELS = (
    "No labelled rows in this range yet, so no performance. True labels arrive through the "
    "service's `/feedback` endpoint (see Deploy → Snippets) or from a label file with "
    "`request_id` and `label` columns: `mlops-studio labels {id} FILE`."
)
NO_DRIFT = (
    "No drift in this range yet: each whole five-minute window with at least 30 answered rows is "
    "compared with the training rows of the version the deployment serves."
)
NO_EXPLANATION = (
    "{label} has no explanation yet, so features are ranked by drift alone. Explain it on the "
    "Review page to rank them by drift × importance (mean |SHAP|)."
)
SCHEDULER_ON = "The scheduler (pid {pid}) folds new predictions, drift and alerts every 5 s."
SCHEDULER_OFF = (
    "No scheduler runs for this studio home: while this page is open it folds new predictions, "
    "drift and alerts itself. The scheduler that `mlops-studio ui` starts (or "
    "`mlops-studio worker`) keeps monitoring going with no browser open."
)


def clock(seconds: float, pattern: str = "%H:%M:%S") -> str:
    """Epoch seconds as UTC clock time."""
    return time.strftime(pattern, time.gmtime(seconds))


def ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f} ms"


# -- choosing what to watch ------------------------------------------------------------------


def no_deployments() -> None:
    st.info(
        "Nothing has been deployed yet, so there is nothing to monitor: deploy a registered "
        "version on the Deploy page, send it some requests, and follow them here."
    )
    st.page_link(page("deploy"), label="Go to Deploy", icon=":material/rocket_launch:")


def flash() -> None:
    # always one container, so what follows keeps its place (and the live fragment its id)
    with st.container():
        if message := st.session_state.pop(state.MONITOR_FLASH, None):
            st.success(md(message))


def deployment_picker(found: list[Deployment]) -> Deployment:
    # follow the Deploy page's choice, else the newest running service
    return components.deployment_picker(
        found, key=state.MONITOR_DEPLOYMENT, follow=state.DEPLOY_PICKED
    )


def header(deployment: Deployment) -> None:
    st.caption(
        f"Serving {md(deployment.model_label)} · {md(deployment.status)} · "
        f"started {md(words.when(deployment.started_at, seconds=True))}"
    )
    pid = scheduler.running_pid(home())
    st.caption(SCHEDULER_OFF if pid is None else SCHEDULER_ON.format(pid=pid))


def controls() -> tuple[int, bool]:
    """The time range (minutes) and whether the live view is paused."""
    left, right = st.columns([4, 1], vertical_alignment="bottom")
    minutes = left.radio(
        "Time range",
        list(RANGES),
        index=list(RANGES).index(DEFAULT_RANGE),
        format_func=RANGES.__getitem__,
        horizontal=True,
        key=state.MONITOR_RANGE,
    )
    paused = right.toggle(
        "Pause", key=state.MONITOR_PAUSED, help="Stop refreshing, to read the charts as they are."
    )
    return int(minutes or DEFAULT_RANGE), bool(paused)


# -- open alerts -----------------------------------------------------------------------------


def open_alert_ids() -> AlertsShown:
    """What the sidebar and the open alerts show (ids, acknowledged): a change redraws the page."""
    return tuple((a.id, a.acknowledged_at is not None) for a in alerts.open_alerts(home()))


def open_alerts(deployment: Deployment) -> None:
    found = [a for a in alerts.open_alerts(home()) if a.deployment_id == deployment.id]
    with st.container():  # one element however many alerts: the live fragment keeps its id
        if found:
            st.subheader(f"Open alerts ({len(found)})")
        for alert in found:
            _open_alert(alert)


def _open_alert(alert: Alert) -> None:
    with st.container(border=True):
        text, button = st.columns([5, 1], vertical_alignment="center")
        text.markdown(
            f"{SEVERITY_ICONS.get(alert.severity, '')} **{md(alert.severity)}** · "
            f"{md(alert.message)}"
        )
        acknowledged = alert.acknowledged_at is not None
        since = f"Open since {md(words.when(alert.opened_at, seconds=True))}"
        if acknowledged:
            since += (
                f" · acknowledged by {md(alert.acknowledged_by)} at "
                f"{md(words.when(alert.acknowledged_at, seconds=True))}"
            )
        text.caption(since)
        if button.button(
            "Acknowledged" if acknowledged else "Acknowledge",
            key=state.MONITOR_ACKNOWLEDGE.format(alert_id=alert.id),
            **guarded(Permission.ALERTS, disabled=acknowledged),
        ):
            alerts.acknowledge(home(), alert.id, actor="ui")
            st.session_state[state.MONITOR_FLASH] = f"Acknowledged: {alert.message}"
            st.rerun()


# -- the live view ---------------------------------------------------------------------------


def live(deployment: Deployment, *, minutes: int, paused: bool, shown_alerts: AlertsShown) -> None:
    """The live section: re-reads and redraws every few seconds unless paused."""
    run_every = None if paused else LIVE_REFRESH_SECONDS
    st.fragment(_live, run_every=run_every)(deployment.id, minutes, paused, shown_alerts)


def _live(deployment_id: int, minutes: int, paused: bool, shown_alerts: AlertsShown) -> None:
    deployment = deployments.get_deployment(home(), deployment_id)
    regression = served_task(deployment.model_version_id) == "regression"
    summary = catch_up(deployment_id, minutes=minutes, regression=regression)
    if open_alert_ids() != shown_alerts:
        st.rerun(scope="app")  # the sidebar and the open alerts above must follow
        return
    every = "paused" if paused else f"refreshing every {LIVE_REFRESH_SECONDS:g} s"
    st.caption(
        f"{summary.requests:,} requests ({summary.rows:,} rows) in the last {RANGES[minutes]} · "
        f"as of {clock(summary.end)} UTC · {every}"
    )
    kpis(summary)
    # only the chosen tab is drawn, at first and on every refresh: the browser redraws half
    # the charts, and the page opens sooner
    span = (summary.start, summary.end)
    draws = {
        "Traffic": lambda: traffic(summary, regression=regression),
        "Drift": lambda: drift(deployment, drift_history(deployment_id, minutes), span=span),
        "Before labels": lambda: estimate_sections.before_labels(
            deployment, minutes=minutes, regression=regression, span=span
        ),
        "Timeline": lambda: timeline(deployment, summary),
    }
    tab_panel(draws, key=state.MONITOR_LIVE_TAB)


def catch_up(deployment_id: int, *, minutes: int, regression: bool) -> MonitorSummary:
    """Fold new log rows, compute drift and evaluate alert rules (unless the scheduler does),
    then read the range's pre-aggregated windows."""
    # folding the rows the scheduler folds at the same moment would count them twice
    refresh = scheduler.running_pid(home()) is None
    summary = summarise(
        home(),
        deployment_id,
        minutes=minutes,
        regression=regression,
        refresh=refresh,
        bucket_minutes=BUCKETS[minutes],
    )
    if refresh:
        update_drift(home(), deployment_id)
        alerts.evaluate(home(), deployment_id)
    return summary


def drift_history(deployment_id: int, minutes: int) -> DriftHistory:
    """The range's drift windows, read only for the Drift tab (and re-read only when changed)."""
    return cache.drift_history(str(home()), deployment_id, minutes)


def served_task(version_id: int) -> str:
    version = deployments.model_version_by_id(home(), version_id)
    return str(cache.run(str(home()), version.run_id).task)


def kpis(summary: MonitorSummary) -> None:
    performance = "-" if summary.performance is None else f"{summary.performance:.3f}"
    metric_rows(
        [
            ("Requests / min", f"{summary.requests_per_minute:,.1f}"),
            ("p50 latency", ms(summary.p50_ms)),
            ("p95 latency", ms(summary.p95_ms)),
            ("p99 latency", ms(summary.p99_ms)),
            ("Error rate", f"{summary.error_rate:.1%}"),
            ("Labelled rows", f"{summary.labelled:,}"),
            (summary.performance_name.capitalize(), performance),
        ]
    )


def traffic(summary: MonitorSummary, *, regression: bool) -> None:
    left, right = st.columns(2)
    show(charts.requests_figure(summary), key="monitor.requests", where=left)
    show(charts.latency_figure(summary), key="monitor.latency", where=right)
    left, right = st.columns(2)
    show(charts.problems_figure(summary), key="monitor.problems", where=left)
    if regression:
        right.caption("The prediction mix is drawn for classifiers; this model predicts numbers.")
    else:
        show(charts.prediction_mix_figure(summary), key="monitor.predictions", where=right)
    if summary.labelled:
        show(charts.performance_figure(summary), key="monitor.performance")
    else:
        st.caption(NO_LABELS.format(id=summary.deployment_id))


# -- drift -----------------------------------------------------------------------------------


def drift(deployment: Deployment, history: DriftHistory, *, span: tuple[float, float]) -> None:
    if not history.windows:
        st.caption(NO_DRIFT)
        return
    importance, note = importance_of(deployment)
    ranks = rank_drift(history, importance)
    show(charts.drift_share_figure(history, span), key="monitor.drift_share")
    order = [rank.feature for rank in ranks]
    show(charts.drift_heatmap_figure(history, span, order), key="monitor.drift_heatmap")
    st.caption(
        "Drift score: a distance over its threshold, or for a test the threshold over its "
        "p-value, so 1 or more means drifted."
    )
    latest = history.windows[-1]
    newest = f"{clock(latest.start, '%Y-%m-%d %H:%M')}–{clock(latest.end, '%H:%M')} UTC"
    st.markdown(f"**Features ranked by drift** in the newest window ({newest})")
    records_table(drift_frame(ranks), key=state.MONITOR_DRIFT_TABLE, column_config=DRIFT_COLUMNS)
    if note:
        st.caption(note)


def importance_of(deployment: Deployment) -> tuple[dict[str, float] | None, str | None]:
    """The served version's mean |SHAP| per feature, and a note when there is none."""
    try:
        importance = cache.feature_importance(str(home()), deployment.model_version_id)
    except (ArtifactError, ValueError):
        importance = None
    if importance is None:
        return None, NO_EXPLANATION.format(label=md(deployment.model_label))
    return importance, None


DRIFT_COLUMNS = {
    "drift score": st.column_config.NumberColumn(format="%.2f", help=">= 1 means drifted"),
    "statistic": st.column_config.NumberColumn(format="%.4g"),
    "p-value": st.column_config.NumberColumn(format="%.3g"),
    "threshold": st.column_config.NumberColumn(format="%g"),
    "missing rate": st.column_config.NumberColumn(format="percent"),
    "new-category rate": st.column_config.NumberColumn(format="percent"),
    "importance": st.column_config.ProgressColumn(
        min_value=0.0, max_value=1.0, format="%.2f", help="Mean |SHAP|, relative to the top one"
    ),
    "drift × importance": st.column_config.NumberColumn(format="%.2f"),
}


def drift_frame(ranks: list[FeatureRank]) -> pd.DataFrame:
    rows = []
    for rank in ranks:
        drift = rank.drift
        row = {
            "feature": drift.feature,
            "method": words.drift_method(drift.method),
            "drift score": drift.score,
            "drifted": "yes" if drift.drifted else "no",
            "statistic": drift.statistic,
            "p-value": drift.p_value,
            "threshold": drift.threshold,
            "windows drifted": f"{rank.drifted_windows} of {rank.windows}",
            "missing rate": drift.missing_rate,
            "new-category rate": drift.new_category_rate,
        }
        if rank.importance is not None:
            row["importance"] = rank.importance
            row["drift × importance"] = rank.weighted
        rows.append(row)
    return pd.DataFrame(rows)


# -- timeline --------------------------------------------------------------------------------


def timeline(deployment: Deployment, summary: MonitorSummary) -> None:
    found = alerts.alert_log(home(), deployment.id, limit=ALERT_LOG_ROWS)
    marks = [
        (charts.epoch(retrain.finished_at or retrain.created_at), f"retrain {retrain.id}")
        for retrain in retrains_of(home(), deployment.id, limit=20)
        if not retrain.dry_run
    ] + [
        (charts.epoch(at), f"now serves {label}")
        for at, label in deployments.version_changes(home(), deployment.id)
    ]
    figure = charts.timeline_figure(
        found,
        start=summary.start,
        end=summary.end,
        started_at=deployment.started_at,
        marks=marks,
    )
    show(figure, key="monitor.timeline")


# -- alert log and rules ---------------------------------------------------------------------


def alert_log(deployment: Deployment) -> None:
    found = alerts.alert_log(home(), deployment.id, limit=ALERT_LOG_ROWS)
    if not found:
        st.caption("No alert has fired for this deployment.")
        return
    rows = [
        {
            "opened": words.when(alert.opened_at, seconds=True),
            "cleared": words.when(alert.cleared_at, seconds=True) if alert.cleared_at else "",
            "severity": alert.severity,
            "metric": words.metric(alert.metric),
            "value": alert.value,
            "threshold": alert.threshold,
            "message": alert.message,
            "acknowledged by": alert.acknowledged_by or "",
        }
        for alert in found
    ]
    records_table(rows, key=state.MONITOR_ALERT_LOG)


def rules(deployment: Deployment) -> None:
    st.caption(
        "An alert opens when a rule's metric crosses its threshold over its window and clears "
        f"when it recovers; each change is also POSTed to ${alerts.WEBHOOK_ENV} when set."
    )
    for rule in alerts.rules_of(home(), deployment.id):
        text, toggle = st.columns([5, 1], vertical_alignment="center")
        text.markdown(
            f"{SEVERITY_ICONS.get(rule.severity, '')} **{md(words.metric(rule.metric))}** "
            f"{rule.comparison} "
            f"{rule.threshold:g} over {rule.window_minutes} min · {rule.severity}"
        )
        enabled = toggle.toggle(
            "Enabled", value=rule.enabled, key=state.MONITOR_RULE_ENABLED.format(rule_id=rule.id)
        )
        if enabled != rule.enabled:
            alerts.set_rule_enabled(home(), rule.id, enabled)
    add_rule_form(deployment)


def rule_metric(name: str) -> str:
    """An alert metric in the rule form: its name and what its threshold is measured in."""
    unit = METRIC_UNITS.get(name)
    return words.metric(name) + (f" ({unit})" if unit else "")


def add_rule_form(deployment: Deployment) -> None:
    with st.form(state.MONITOR_RULE_FORM):
        st.markdown("**Add a rule**")
        metric, comparison, threshold, window, severity = st.columns(5)
        chosen = metric.selectbox(
            "Metric",
            alerts.METRICS,
            format_func=rule_metric,
            key=state.MONITOR_RULE_METRIC,
        )
        above = comparison.selectbox(
            "Fires when", alerts.COMPARISONS, key=state.MONITOR_RULE_COMPARISON
        )
        limit = threshold.number_input(
            "Threshold", value=0.1, step=0.01, format="%g", key=state.MONITOR_RULE_THRESHOLD
        )
        minutes = window.number_input(
            "Window (minutes)", value=15, step=1, key=state.MONITOR_RULE_WINDOW
        )
        level = severity.selectbox(
            "Severity", alerts.SEVERITIES, index=1, key=state.MONITOR_RULE_SEVERITY
        )
        submitted = st.form_submit_button(
            "Add the rule", key=state.MONITOR_RULE_ADD, **guarded(Permission.ALERTS)
        )
    if not submitted:
        return
    spec = alerts.RuleSpec(str(chosen), str(above), float(limit), int(minutes), str(level))
    try:
        alerts.add_rule(home(), deployment.id, spec)
    except ValueError as error:
        st.error(md(str(error)))
        return
    st.session_state[state.MONITOR_FLASH] = (
        f"Added: {words.metric(spec.metric)} {spec.comparison} {spec.threshold:g} over "
        f"{spec.window_minutes} min ({spec.severity})."
    )
    st.rerun()
