"""Charts of the Prepare page: what a column looked like before and after cleaning."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from app.charts.theme import TEMPLATE, plain

MAX_POINTS = 100_000
TOP_LEVELS = 20


def before_after_figure(before: pd.Series, after: pd.Series, name: str) -> go.Figure:
    """Overlaid histograms for numbers, side-by-side bars of the top levels otherwise."""
    numeric = pd.api.types.is_numeric_dtype(after) and not pd.api.types.is_bool_dtype(after)
    figure = go.Figure()
    for label, series in (("before", before), ("after", after)):
        figure.add_trace(_histogram(series, label) if numeric else _bars(series, label))
    figure.update_layout(
        template=TEMPLATE,
        barmode="overlay" if numeric else "group",
        height=360,
        title={"text": f"{plain(name)}: before and after cleaning"},
    )
    return figure


def _histogram(series: pd.Series, label: str) -> go.Histogram:
    values = pd.to_numeric(series, errors="coerce").dropna()
    if len(values) > MAX_POINTS:
        values = values.sample(MAX_POINTS, random_state=0)
    return go.Histogram(x=values.to_numpy(), name=label, opacity=0.6, nbinsx=50)


def _bars(series: pd.Series, label: str) -> go.Bar:
    counts = series.astype("string").fillna("(missing)").value_counts().head(TOP_LEVELS)
    return go.Bar(x=[plain(value) for value in counts.index], y=counts.to_numpy(), name=label)
