"""Charts for the Review page's error analysis, drawn from the review's segments."""

from __future__ import annotations

import html
from collections.abc import Sequence

import plotly.graph_objects as go

from app.charts.theme import TEMPLATE
from core.review.segments import Segment


def segment_gap_figure(segments: Sequence[Segment]) -> go.Figure:
    """The weakest segments as bars of their gap to the whole holdout (negative = worse)."""
    figure = go.Figure()
    if not segments:
        figure.add_annotation(text="Nothing to show yet", showarrow=False)
        return figure.update_layout(template=TEMPLATE)
    labels = [f"{s.column} = {s.segment}" for s in segments]
    gaps = [s.gap if s.gap is not None else 0.0 for s in segments]
    figure.add_bar(
        x=gaps,
        y=labels,
        orientation="h",
        marker_color=["#b42318" if gap < 0 else "#027a48" for gap in gaps],
        customdata=[[s.count, s.value] for s in segments],
        hovertemplate="%{y}<br>gap %{x:.4f}<br>value %{customdata[1]:.4f}"
        "<br>%{customdata[0]:,} rows<extra></extra>",
    )
    figure.update_yaxes(autorange="reversed", ticktext=[html.escape(t) for t in labels])
    return figure.update_layout(
        template=TEMPLATE,
        title="Weakest segments: gap to the whole holdout",
        xaxis_title="gap (negative = worse than overall)",
        height=max(300, 28 * len(segments) + 120),
    )
