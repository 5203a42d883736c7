"""Monitor: a deployment's traffic, latency, errors, predictions, performance and drift, live,
with its alerts to acknowledge and the rules that raise them."""

import streamlit as st

from app import state
from app.components import fold, home, tab_panel
from app.monitor import retrain_sections, sections
from app.monitor.ood_chart import ood_chart
from core.serving.deployments import list_deployments

st.title("Monitor")
found = list_deployments(home())
if not found:
    sections.no_deployments()
    st.stop()

sections.flash()
deployment = sections.deployment_picker(found)
sections.header(deployment)
minutes, paused = sections.controls()
shown_alerts = sections.open_alert_ids()
sections.open_alerts(deployment)
sections.live(deployment, minutes=minutes, paused=paused, shown_alerts=shown_alerts)
ood_chart(deployment, minutes=minutes)

retrain_sections.section(deployment, minutes=minutes)

# the log and the rules are drawn only when opened: the open alerts are already at the top
fold(
    "Alert log and rules",
    lambda: tab_panel(
        {
            "Alert log": lambda: sections.alert_log(deployment),
            "Rules": lambda: sections.rules(deployment),
        },
        key=state.MONITOR_ALERTS_TAB,
    ),
    key=state.MONITOR_ALERTS_OPEN,
)
