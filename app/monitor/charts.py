"""Plotly figures for the Monitor page, drawn from its windows, drift history and alerts.

These are redrawn every few seconds, so they are built for speed: times and values go in as
numpy arrays (plotly validates a list of datetimes ten times slower) and the figures carry only
the layout part of the house template (``live=True``: validating the whole template costs
~40 ms a figure).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime

import numpy as np
import plotly.graph_objects as go

from app.charts.figures import base_figure, empty_figure
from app.charts.theme import ACCENT, COLORWAY, MUTED, plain
from core import words
from core.monitor.dashboard import (
    DriftHistory,
    DriftWindow,
    MonitorSummary,
    WindowStats,
    prediction_mix,
)
from core.store.monitoring import Alert

TIME = "time (UTC)"
HEIGHT = 320
TOP_CLASSES = 8
OTHER = "(other)"
HEAT_CAP = 3.0  # drift scores above this share the darkest colour; the hover shows the value
HEAT_FEATURES = 30
DRIFTED = "#b42318"
CALM = "#027a48"
SEVERITY_COLORS = {"info": MUTED, "warning": "#dc6803", "critical": DRIFTED}
# cool below a drift score of 1, warm from 1 up: the colour alone says drifted or not
HEAT_SCALE = [
    [0.0, "#f5f8fc"],
    [1 / HEAT_CAP - 0.001, "#9ecae1"],
    [1 / HEAT_CAP, "#fdd49e"],
    [1.0, DRIFTED],
]
NO_TRAFFIC = "No requests in this time range yet"
FEW_WINDOWS = 2


def moment(seconds: float) -> datetime:
    """Epoch seconds as a naive UTC datetime (plotly's date axes ignore time zones)."""
    return datetime.fromtimestamp(seconds, UTC).replace(tzinfo=None)


def epoch(stamp: str) -> float:
    """A stored ISO-8601 timestamp (UTC unless it says otherwise) as epoch seconds."""
    parsed = datetime.fromisoformat(stamp)
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()


def times(seconds: Sequence[float] | np.ndarray) -> np.ndarray:
    return (np.asarray(seconds, dtype=float) * 1000).astype("datetime64[ms]")


def numbers(values: Sequence[float | None]) -> np.ndarray:
    return np.array([np.nan if value is None else value for value in values], dtype=float)


def time_figure(title: str, span: tuple[float, float], *, y: str) -> go.Figure:
    figure = base_figure(title, y=y, height=HEIGHT, live=True)
    return figure.update_xaxes(type="date", title_text=TIME, range=list(times(span)))


def _span(summary: MonitorSummary) -> tuple[float, float]:
    return summary.start, summary.end


def _mode(windows: Sequence[WindowStats]) -> str:
    """Lines, with markers while there are too few windows for a line to show (one minute of
    traffic would otherwise draw an empty chart)."""
    return "lines" if len(windows) > FEW_WINDOWS else "lines+markers"


def _series(
    windows: Sequence[WindowStats], values: Sequence[float | None], width: float
) -> tuple[np.ndarray, np.ndarray]:
    """Times and values for a line that breaks where windows had no traffic, not bridging them."""
    starts = np.array([window.start for window in windows], dtype=float)
    ys = numbers(values)
    breaks = np.flatnonzero(np.diff(starts) > width) + 1
    return (
        times(np.insert(starts, breaks, starts[breaks - 1] + width)),
        np.insert(ys, breaks, np.nan),
    )


def _per_minute(summary: MonitorSummary) -> float:
    return summary.window_seconds / 60


def _class_label(key: str) -> str:
    """A logged prediction (JSON text) as people read it."""
    try:
        value = json.loads(key)
    except ValueError:
        return key
    return value if isinstance(value, str) else json.dumps(value)


def _marker_line(
    figure: go.Figure, text: str, *, x: np.datetime64 | None = None, y: float | None = None
) -> None:
    """A dashed line across the plot at ``x`` or ``y``, labelled (add_vline and add_hline do
    the same ten times slower)."""
    color = DRIFTED if y is not None else MUTED
    where = (
        {"x0": x, "x1": x, "xref": "x", "y0": 0, "y1": 1, "yref": "paper"}
        if x is not None
        else {"x0": 0, "x1": 1, "xref": "paper", "y0": y, "y1": y, "yref": "y"}
    )
    figure.add_shape(type="line", line={"color": color, "dash": "dash", "width": 1}, **where)
    figure.add_annotation(
        text=text,
        showarrow=False,
        x=x if x is not None else 1,
        xref="x" if x is not None else "paper",
        y=1 if x is not None else y,
        yref="paper" if x is not None else "y",
        xanchor="right",
        yanchor="bottom",
        bgcolor="rgba(255, 255, 255, 0.8)",
        font={"color": color, "size": 11},
    )


# -- traffic ---------------------------------------------------------------------------------


def requests_figure(summary: MonitorSummary) -> go.Figure:
    title = "Requests per minute"
    if not summary.windows:
        return empty_figure(title, NO_TRAFFIC, live=True)
    figure = time_figure(title, _span(summary), y="requests / min")
    minutes = _per_minute(summary)
    figure.add_bar(
        x=times([w.start for w in summary.windows]),
        y=np.array([w.requests for w in summary.windows], dtype=float) / minutes,
        width=summary.window_seconds * 1000,
        offset=0,
        marker={"color": ACCENT, "line": {"width": 0}},
        customdata=np.array([w.rows for w in summary.windows]),
        hovertemplate="%{x|%H:%M}: %{y:,.1f} requests/min, %{customdata:,} rows<extra></extra>",
    )
    return figure


def latency_figure(summary: MonitorSummary) -> go.Figure:
    title = "Latency"
    if not summary.windows:
        return empty_figure(title, NO_TRAFFIC, live=True)
    figure = time_figure(title, _span(summary), y="ms")
    for name, color in (("p50", CALM), ("p95", ACCENT), ("p99", DRIFTED)):
        values = [getattr(w, f"{name}_ms") for w in summary.windows]
        xs, ys = _series(summary.windows, values, summary.window_seconds)
        figure.add_scatter(
            x=xs,
            y=ys,
            mode=_mode(summary.windows),
            name=name,
            line={"color": color, "width": 1.5},
            hovertemplate=f"{name} %{{y:.1f}} ms<extra></extra>",
        )
    return figure.update_layout(hovermode="x unified")


def problems_figure(summary: MonitorSummary) -> go.Figure:
    """Refused or failed requests and rows with a category never seen in training: both shares,
    on one axis."""
    title = "Errors and unseen categories"
    if not summary.windows:
        return empty_figure(title, NO_TRAFFIC, live=True)
    figure = time_figure(title, _span(summary), y="share")
    xs, ys = _series(
        summary.windows, [w.error_rate for w in summary.windows], summary.window_seconds
    )
    figure.add_scatter(
        x=xs,
        y=ys,
        mode=_mode(summary.windows),
        name="error rate (of requests)",
        line={"color": DRIFTED, "width": 1.5},
        hovertemplate="%{x|%H:%M}: %{y:.1%} of requests refused or failed<extra></extra>",
    )
    answered = [w for w in summary.windows if w.rows]
    if answered:
        xs, ys = _series(answered, [w.unseen_rate for w in answered], summary.window_seconds)
        figure.add_scatter(
            x=xs,
            y=ys,
            mode=_mode(answered),
            name="unseen categories (of rows)",
            line={"color": COLORWAY[4], "width": 1.5},
            hovertemplate="%{x|%H:%M}: %{y:.1%} of rows had a category never seen in training"
            "<extra></extra>",
        )
    return figure.update_yaxes(tickformat=".0%", rangemode="tozero")


# -- predictions and performance -------------------------------------------------------------


def prediction_mix_figure(summary: MonitorSummary, *, top: int = TOP_CLASSES) -> go.Figure:
    """Each window's predictions as a stacked share per class (the rarest classes as one)."""
    title = "Predictions by class"
    answered = [w for w in summary.windows if w.predictions]
    if not answered:
        return empty_figure(title, "No answered rows in this time range yet", live=True)
    shown = list(prediction_mix(answered))[:top]
    counts = np.array([[w.predictions.get(key, 0) for key in shown] for w in answered], float)
    totals = np.array([sum(w.predictions.values()) for w in answered], dtype=float)
    labels = [plain(_class_label(key)) for key in shown]
    rest = totals - counts.sum(axis=1)
    if rest.any():
        counts = np.column_stack([counts, rest])
        labels.append(OTHER)
    figure = time_figure(title, _span(summary), y="share of predictions")
    xs = times([w.start for w in answered])
    for index, label in enumerate(labels):
        figure.add_scatter(
            x=xs,
            y=counts[:, index] / totals,
            name=label,
            mode=_mode(answered),
            stackgroup="classes",
            line={"width": 0.5, "color": COLORWAY[index % len(COLORWAY)]},
            customdata=counts[:, index],
            hovertemplate="%{y:.1%} (%{customdata:,})<extra>%{fullData.name}</extra>",
        )
    figure.update_yaxes(tickformat=".0%", range=[0, 1])
    return figure.update_layout(hovermode="x unified")


def performance_figure(summary: MonitorSummary) -> go.Figure:
    title = summary.performance_name.capitalize()
    labelled = [w for w in summary.windows if w.labelled]
    if not labelled:
        return empty_figure(title, "No labelled rows in this time range yet", live=True)
    figure = time_figure(title, _span(summary), y=summary.performance_name)
    xs, ys = _series(labelled, [w.performance for w in labelled], summary.window_seconds)
    _, counts = _series(labelled, [w.labelled for w in labelled], summary.window_seconds)
    figure.add_scatter(
        x=xs,
        y=ys,
        mode="lines+markers",
        marker={"size": 4},
        line={"color": ACCENT, "width": 1.5},
        customdata=counts,
        hovertemplate="%{x|%H:%M}: %{y:.3f} on %{customdata:,} labelled rows<extra></extra>",
    )
    return figure


# -- drift -----------------------------------------------------------------------------------


def drift_share_figure(history: DriftHistory, span: tuple[float, float]) -> go.Figure:
    title = "Dataset drift: share of drifted features"
    if not history.windows:
        return empty_figure(title, "No drift computed in this time range yet", live=True)
    figure = time_figure(title, span, y="share of features")
    figure.add_bar(
        x=times([w.start for w in history.windows]),
        y=numbers([w.drift_share for w in history.windows]),
        width=[(w.end - w.start) * 1000 * 0.9 for w in history.windows],
        offset=0,
        marker={"color": [DRIFTED if w.dataset_drift else ACCENT for w in history.windows]},
        customdata=np.array([w.rows or 0 for w in history.windows]),
        hovertemplate="%{x|%H:%M}: %{y:.0%} of features drifted (%{customdata:,} rows)"
        "<extra></extra>",
    )
    threshold = next((w.share_threshold for w in history.windows if w.share_threshold), None)
    if threshold is not None:
        _marker_line(figure, "dataset drift", y=threshold)
    return figure.update_yaxes(tickformat=".0%", range=[0, 1.05])


def drift_heatmap_figure(
    history: DriftHistory, span: tuple[float, float], order: Sequence[str] = ()
) -> go.Figure:
    """Feature x window drift scores (>= 1 drifted); ``order`` puts the ranked features on top."""
    title = "Drift by feature and window"
    if not history.windows or not history.features:
        return empty_figure(title, "No drift computed in this time range yet", live=True)
    features = list(dict.fromkeys([*order, *history.features]))[:HEAT_FEATURES]
    edges, columns = _cells(history.windows)
    scores = np.full((len(features), len(columns)), np.nan)
    methods = dict.fromkeys(features, "")
    for column, window in enumerate(columns):
        for row, name in enumerate(features):
            if window is not None and (cell := window.features.get(name)) is not None:
                scores[row, column] = cell.score
                methods[name] = cell.method
    figure = time_figure(title, span, y="")
    figure.add_heatmap(
        # cell edges, not centres: plotly cannot size a lone column from its centre alone,
        # so one window drew nothing
        x=times(edges),
        y=[f"{plain(name)} ({methods[name]})" for name in features],
        z=np.minimum(scores, HEAT_CAP),
        zmin=0,
        zmax=HEAT_CAP,
        colorscale=HEAT_SCALE,
        customdata=scores,
        colorbar={"title": {"text": "score<br>(≥ 1 drifted)"}, "thickness": 12},
        hovertemplate="%{y} at %{x|%H:%M}: drift score %{customdata:.2f}<extra></extra>",
        hoverongaps=False,
        xgap=1,
        ygap=1,
    )
    figure.update_yaxes(autorange="reversed", type="category")
    return figure.update_layout(height=max(HEIGHT, 26 * len(features) + 140))


def _cells(windows: Sequence[DriftWindow]) -> tuple[list[float], list[DriftWindow | None]]:
    """The heatmap's column edges and the window in each column; a gap between windows is a
    column of its own with no window, so each cell spans its window's own time."""
    edges = [windows[0].start]
    columns: list[DriftWindow | None] = []
    for window in windows:
        if window.start > edges[-1]:
            columns.append(None)
            edges.append(window.start)
        columns.append(window)
        edges.append(max(window.end, edges[-1]))
    return edges, columns


# -- timeline --------------------------------------------------------------------------------


def timeline_figure(
    alerts: Sequence[Alert],
    *,
    start: float,
    end: float,
    started_at: str | None,
    marks: Sequence[tuple[float, str]] = (),
) -> go.Figure:
    """Each alert from opening to clearing (still open: to now), the deployment's start and
    ``marks`` (time, text): retrains and version switches."""
    figure = time_figure("Alerts, retrains and deployment", (start, end), y="")
    shown = [
        alert
        for alert in alerts
        if epoch(alert.opened_at) <= end
        and (alert.cleared_at is None or epoch(alert.cleared_at) >= start)
    ]
    for severity, color in SEVERITY_COLORS.items():
        _alert_spans(figure, [a for a in shown if a.severity == severity], severity, color, end)
    if started_at is not None and start <= epoch(started_at) <= end:
        _marker_line(figure, "deployment started", x=times([epoch(started_at)])[0])
    for moment, text in marks:
        if start <= moment <= end:
            _marker_line(figure, text, x=times([moment])[0])
    if not shown:
        figure.add_annotation(
            text="No alerts in this time range",
            showarrow=False,
            x=0.5,
            y=0.5,
            xref="paper",
            yref="paper",
        )
        figure.update_yaxes(visible=False)
    else:
        figure.update_yaxes(type="category", autorange="reversed")
    return figure.update_layout(height=max(220, 40 * len({a.metric for a in shown}) + 160))


def _alert_spans(
    figure: go.Figure, alerts: list[Alert], severity: str, color: str, now: float
) -> None:
    if not alerts:
        return
    xs: list[float] = []
    ys: list[str | None] = []
    hover: list[str | None] = []
    for alert in alerts:
        cleared = epoch(alert.cleared_at) if alert.cleared_at else now
        label = words.metric(alert.metric)
        text = plain(alert.message) + ("" if alert.cleared_at else " (still open)")
        xs += [epoch(alert.opened_at), cleared, cleared]  # then a gap to the next alert
        ys += [label, label, None]
        hover += [text, text, None]
    figure.add_scatter(
        x=times(xs),
        y=ys,
        mode="lines+markers",
        name=severity,
        line={"color": color, "width": 10},
        marker={"color": color, "size": 12, "symbol": "line-ns"},
        customdata=hover,
        hovertemplate="%{x|%H:%M:%S} %{customdata}<extra>" + severity + "</extra>",
    )
