"""Charts of the Deploy page: the class probabilities of one answer from the service."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

from app.charts.theme import ACCENT, TEMPLATE, plain


def probability_figure(classes: list[Any], probabilities: list[float]) -> go.Figure:
    """One bar per class: the probability the service gave it for the row tried."""
    figure = go.Figure()
    figure.add_bar(
        x=[plain(label) for label in classes],
        y=probabilities,
        marker_color=ACCENT,
        texttemplate="%{y:.1%}",
        hovertemplate="%{x}: %{y:.3f}<extra></extra>",
    )
    figure.update_xaxes(type="category", title_text="class")
    figure.update_yaxes(range=[0, 1], tickformat=".0%", title_text="probability")
    return figure.update_layout(template=TEMPLATE, title="Class probabilities", height=320)
