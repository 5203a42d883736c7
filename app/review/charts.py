"""Charts for the Review page's error analysis and decision threshold, from the review's data."""

from __future__ import annotations

import html
from collections.abc import Sequence

import plotly.graph_objects as go

from app.charts.figures import base_figure
from app.charts.theme import COLORWAY, TEMPLATE, plain
from core.review.segments import Segment
from core.review.threshold import ThresholdCurve


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


def threshold_figure(
    curve: ThresholdCurve, *, current: float | None, chosen: float | None
) -> go.Figure:
    """Precision, recall and F1 on the holdout at every threshold, with the version's current
    cut-off and the one being considered marked."""
    points = curve.shown()
    figure = base_figure(
        "Precision, recall and F1 on the holdout by decision threshold",
        x=f"threshold: rows scoring at least this are called {plain(curve.positive)}",
        y="share",
        subtitle=f"{curve.positives:,} of {curve.rows:,} holdout rows are {plain(curve.positive)}",
    )
    xs = [p.threshold for p in points]
    called = [[p.predicted_positive, p.true_positive, p.false_positive] for p in points]
    for name, values, color in (
        ("precision", [p.precision for p in points], COLORWAY[0]),
        ("recall", [p.recall for p in points], COLORWAY[1]),
        ("F1", [p.f1 for p in points], COLORWAY[2]),
    ):
        figure.add_scatter(
            x=xs,
            y=values,
            name=name,
            mode="lines",
            line={"color": color, "width": 2},
            customdata=called,
            hovertemplate=f"{name} %{{y:.3f}} at %{{x:.3f}}: %{{customdata[0]:,}} called, "
            "%{customdata[1]:,} right, %{customdata[2]:,} false alarms<extra></extra>",
        )
    marks = {"now": current if current is not None else 0.5, "chosen": chosen}
    for text, at in marks.items():
        if at is not None:
            figure.add_vline(x=at, line={"dash": "dash" if text == "now" else "solid"})
            figure.add_annotation(x=at, y=1.04, text=text, showarrow=False, yref="y")
    return figure.update_xaxes(range=[0, 1]).update_yaxes(range=[0, 1.08], tickformat=".0%")
