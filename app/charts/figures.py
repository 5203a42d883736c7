"""The two figures every chart starts from: an empty themed figure, and one saying why empty."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

from app.charts.theme import LIVE_TEMPLATE, TEMPLATE

NOTHING = "Nothing to show yet"
HEIGHT = 440
EMPTY_HEIGHT = 260
# Live charts sit in a grid of small panels: less room above and below than the template's.
LIVE_MARGIN = {"t": 60, "b": 50}


def base_figure(
    title: str,
    *,
    x: str | None = None,
    y: str | None = None,
    subtitle: str = "",
    height: int = HEIGHT,
    live: bool = False,
) -> go.Figure:
    """A figure in the house template with a title; axis titles only where given.

    ``live`` is for charts redrawn every few seconds: the layout-only template (fast to build)
    and the tighter margins of the Monitor page's panels.
    """
    layout: dict[str, Any] = {
        "template": LIVE_TEMPLATE if live else TEMPLATE,
        "title": {"text": title, "subtitle": {"text": subtitle}},
        "height": height,
    }
    if live:
        layout["margin"] = LIVE_MARGIN
    if x is not None:
        layout["xaxis"] = {"title": {"text": x}}
    if y is not None:
        layout["yaxis"] = {"title": {"text": y}}
    return go.Figure(layout=layout)


def empty_figure(title: str, message: str = NOTHING, *, live: bool = False) -> go.Figure:
    """A short figure with no axes that says why there is nothing to draw."""
    figure = base_figure(title, height=EMPTY_HEIGHT, live=live)
    figure.add_annotation(text=message, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
    return figure.update_xaxes(visible=False).update_yaxes(visible=False)
