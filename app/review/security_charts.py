"""Charts for the Review page's Security tab, from the security report's data."""

from __future__ import annotations

import plotly.graph_objects as go

from app.charts.figures import base_figure
from core.review.security import MembershipInference, Robustness


def membership_figure(found: MembershipInference) -> go.Figure:
    """The attack's ROC curve: how many training rows it catches for each holdout row it
    wrongly calls a member; the diagonal is guessing."""
    figure = base_figure(
        f"Membership attack: advantage {found.advantage:.3f}",
        x="holdout rows called members (false-positive rate)",
        y="training rows caught (true-positive rate)",
        subtitle="The further above the diagonal, the more the model remembers its rows",
    )
    figure.add_scatter(
        x=[0, 1], y=[0, 1], mode="lines", name="guessing", line={"dash": "dot", "color": "#9aa5b1"}
    )
    figure.add_scatter(
        x=list(found.curve_fpr),
        y=list(found.curve_tpr),
        mode="lines",
        name=f"{found.signal} attack",
        hovertemplate="false-positive rate %{x:.3f}<br>true-positive rate %{y:.3f}<extra></extra>",
    )
    return figure.update_layout(xaxis_range=[0, 1], yaxis_range=[0, 1])


def robustness_figure(found: Robustness) -> go.Figure:
    """Share of decisions flipped at each perturbation scale, and of rows flipped by then."""
    figure = base_figure(
        f"Decisions flipped by small changes: {found.flipped_share:.1%} at {found.scale:g} SD",
        x="perturbation (standard deviations of each numeric input)",
        y="share",
        subtitle="Categorical inputs move to their nearest level with the same probability",
    )
    caught = [
        sum(1 for value in found.smallest if value is not None and value <= scale) / found.rows
        for scale in found.scales
    ]
    figure.add_scatter(
        x=list(found.scales),
        y=list(found.flip_rates),
        mode="lines+markers",
        name="decisions flipped by one change",
        hovertemplate="%{x:g} SD: %{y:.1%} flipped<extra></extra>",
    )
    figure.add_scatter(
        x=list(found.scales),
        y=caught,
        mode="lines+markers",
        name=f"rows flipped by one of {found.draws} changes",
        hovertemplate="%{x:g} SD: %{y:.1%} of rows<extra></extra>",
    )
    figure.add_vline(x=found.scale, line_dash="dot", line_color="#9aa5b1")
    return figure.update_layout(xaxis_type="log", yaxis_tickformat=".0%", yaxis_range=[0, 1])
