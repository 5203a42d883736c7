"""Plotly figures for the Retrain section: champion against challenger on the same holdout, and
a shadow version's answers against the served ones over time."""

from __future__ import annotations

import plotly.graph_objects as go

from app.charts.figures import base_figure, empty_figure
from app.charts.theme import ACCENT, MUTED, plain
from app.monitor.charts import numbers, time_figure, times
from core import words
from core.monitor.shadow import ShadowComparison
from core.store.retraining import RetrainRun

CHAMPION_COLOR = MUTED
CHALLENGER_COLOR = ACCENT


def comparison_figure(retrain: RetrainRun, champion: str, challenger: str) -> go.Figure:
    """The retrain's metric for both versions on the whole fresh holdout and on its newest
    labelled traffic."""
    comparison = retrain.details.get("comparison") or {}
    name = comparison.get("metric", retrain.metric)
    metric = plain(words.metric(name)) if name else "Score"
    title = f"{metric} on the same fresh holdout"
    if not comparison:
        return empty_figure(title, "This retrain has no comparison", live=True)
    parts = ["whole fresh holdout", "newest labelled traffic"]
    figure = base_figure(title, y=metric, height=300, live=True)
    for name, label, color in (
        ("champion", champion, CHAMPION_COLOR),
        ("challenger", challenger, CHALLENGER_COLOR),
    ):
        values = [comparison.get(name), comparison.get(f"{name}_on_traffic")]
        figure.add_bar(
            x=parts,
            y=numbers(values),
            name=f"{name}: {label}",
            marker={"color": color},
            text=["-" if v is None else f"{v:.3f}" for v in values],
            textposition="outside",
            hovertemplate="%{x}: %{y:.4f}<extra>" + name + "</extra>",
        )
    return figure.update_layout(barmode="group")


def shadow_figure(comparison: ShadowComparison, span: tuple[float, float]) -> go.Figure:
    """Agreement (or the mean gap for numbers) per bucket, and each version's performance on the
    labelled rows of the same requests."""
    title = "Served version against the shadow, on the same requests"
    if not comparison.buckets:
        return empty_figure(
            title, "The shadow has scored no requests in this time range yet", live=True
        )
    regression = comparison.mean_difference is not None or comparison.agreement is None
    figure = time_figure(title, span, y="mean |difference|" if regression else "share")
    buckets = comparison.buckets
    xs = times([b.start for b in buckets])
    agreement = [b.mean_difference if regression else b.agreement for b in buckets]
    figure.add_scatter(
        x=xs,
        y=numbers(agreement),
        mode="lines+markers",
        name="mean |difference|" if regression else "same answer",
        line={"color": MUTED, "dash": "dot"},
        hovertemplate="%{x|%H:%M}: %{y:.3f}<extra></extra>",
    )
    labelled = [b for b in buckets if b.labelled]
    for name, values, color in (
        ("served", [b.served_performance for b in labelled], CHAMPION_COLOR),
        ("shadow", [b.shadow_performance for b in labelled], CHALLENGER_COLOR),
    ):
        figure.add_scatter(
            x=times([b.start for b in labelled]),
            y=numbers(values),
            mode="lines+markers",
            name=f"{name} {comparison.performance_name}",
            line={"color": color},
            hovertemplate="%{x|%H:%M}: %{y:.3f}<extra>" + name + "</extra>",
        )
    if not regression:
        figure.update_yaxes(range=[0, 1.05], tickformat=".0%")
    return figure.update_layout(hovermode="x unified")
