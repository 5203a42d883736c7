"""Plotly figures for monitoring before labels: estimated performance with its band beside the
realized values once labels came, and the joint-drift figures against their thresholds."""

from __future__ import annotations

import plotly.graph_objects as go

from app.charts.figures import empty_figure
from app.charts.theme import ACCENT, MUTED
from app.monitor.charts import CALM, DRIFTED, numbers, time_figure, times
from core import words
from core.monitor.estimation.history import EstimateHistory

BAND = "rgba(31, 119, 180, 0.18)"
JOINT_TITLES = {
    "domain_classifier": "Domain classifier ROC AUC (0.5 = cannot tell the window from training)",
    "reconstruction_error": "PCA reconstruction error",
}


def estimated_figure(history: EstimateHistory, metric: str, span: tuple[float, float]) -> go.Figure:
    """The estimate per window with its band shaded, realized values as points, and the
    windows where the two parted marked."""
    title = f"Estimated {words.metric_in_sentence(metric)} beside realized"
    windows = [w for w in history.windows if metric in w.estimates]
    if not windows:
        return empty_figure(title, "No estimate in this time range yet", live=True)
    figure = time_figure(title, span, y=words.metric(metric))
    x = times([(w.start + w.end) / 2 for w in windows])
    estimates = [w.estimates[metric] for w in windows]
    figure.add_scatter(
        x=x, y=numbers([e.upper for e in estimates]), mode="lines", line={"width": 0},
        showlegend=False, hoverinfo="skip",
    )  # fmt: skip
    figure.add_scatter(
        x=x, y=numbers([e.lower for e in estimates]), mode="lines", line={"width": 0},
        fill="tonexty", fillcolor=BAND, name="band (±3σ of reference chunks)", hoverinfo="skip",
    )  # fmt: skip
    figure.add_scatter(
        x=x, y=numbers([e.value for e in estimates]), mode="lines+markers", name="estimated",
        line={"color": ACCENT}, hovertemplate="%{x|%H:%M}: estimated %{y:.4g}<extra></extra>",
    )  # fmt: skip
    figure.add_scatter(
        x=x, y=numbers([estimates[0].reference] * len(windows)), mode="lines",
        name="holdout", line={"color": MUTED, "dash": "dot"},
        hovertemplate="holdout %{y:.4g}<extra></extra>",
    )  # fmt: skip
    labelled = [w for w in windows if w.labelled and metric in w.realized]
    if labelled:
        figure.add_scatter(
            x=times([(w.start + w.end) / 2 for w in labelled]),
            y=numbers([w.realized[metric] for w in labelled]),
            mode="markers",
            name="realized (labelled rows)",
            marker={
                "size": 10,
                "symbol": "diamond",
                "color": [DRIFTED if w.parted(metric) else CALM for w in labelled],
            },
            customdata=[w.labelled for w in labelled],
            hovertemplate="%{x|%H:%M}: realized %{y:.4g} on %{customdata:,} labelled rows"
            "<extra></extra>",
        )
    return figure


def joint_figure(history: EstimateHistory, method: str, span: tuple[float, float]) -> go.Figure:
    title = JOINT_TITLES.get(method, method)
    windows = [w for w in history.windows if method in w.joint]
    if not windows:
        return empty_figure(title, "No joint drift computed in this time range yet", live=True)
    figure = time_figure(title, span, y="")
    found = [w.joint[method] for w in windows]
    drivers = [", ".join(list(j.features)[:3]) or "-" for j in found]
    figure.add_bar(
        x=times([w.start for w in windows]),
        y=numbers([j.value for j in found]),
        width=[(w.end - w.start) * 1000 * 0.9 for w in windows],
        offset=0,
        marker={"color": [DRIFTED if j.drifted else ACCENT for j in found]},
        customdata=drivers,
        name="value",
        hovertemplate="%{x|%H:%M}: %{y:.4g} (driven by %{customdata})<extra></extra>",
    )
    starts = times([w.start for w in windows])
    edges: list[tuple[str, list[float | None], str]] = [
        ("threshold", [j.threshold for j in found], "dash")
    ]
    if any(j.lower is not None for j in found):
        edges.append(("lower threshold", [j.lower for j in found], "dot"))
    for name, values, dash in edges:
        figure.add_scatter(
            x=starts,
            y=numbers(values),
            mode="lines",
            line={"shape": "hv", "dash": dash, "color": DRIFTED},
            name=f"{name} (from reference chunks)",
        )
    return figure
