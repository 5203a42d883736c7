"""Monitor's out-of-distribution chart: the share of answered rows whose inputs were outside
the training ranges or unseen categories, per time bucket."""

from __future__ import annotations

from datetime import datetime

import plotly.graph_objects as go
import streamlit as st

from app.charts.display import show
from app.charts.figures import base_figure
from app.components import home
from core.serving.ood import OodSeries, ood_series
from core.store.deployments import Deployment


def ood_chart(deployment: Deployment, *, minutes: int) -> None:
    """The deployment's out-of-distribution share over the chosen range."""
    series = ood_series(home(), deployment.id, minutes=minutes)
    if not any(series.flagged):  # a chart of zeros says less than one line
        if series.rows:
            st.caption(
                "Out of distribution: no answered row in this range had an input outside "
                "the training ranges or an unseen category."
            )
        return
    show(ood_figure(series), key="monitor.ood")


def ood_figure(series: OodSeries) -> go.Figure:
    figure = base_figure(
        f"Out of distribution: {series.total_share:.1%} of rows",
        y="share of rows",
        subtitle="Inputs outside the training ranges or categories never seen in training",
    )
    figure.add_bar(
        x=[datetime.fromtimestamp(start) for start in series.starts],
        y=list(series.share),
        customdata=list(zip(series.flagged, series.rows, strict=True)),
        hovertemplate="%{y:.1%}: %{customdata[0]:,} of %{customdata[1]:,} rows<extra></extra>",
        marker_color="#b54708",
        name="out of distribution",
    )
    return figure.update_layout(yaxis_tickformat=".0%", yaxis_rangemode="tozero", height=260)
