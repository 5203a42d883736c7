"""The house look of every chart (colours, plotly template) and how user text goes into one."""

from __future__ import annotations

import html

import plotly.graph_objects as go
import plotly.io as pio
from plotly.colors import qualitative

COLORWAY: list[str] = list(qualitative.Safe)
ACCENT = "#3366cc"
MUTED = "#9aa0a6"
LABEL_LIMIT = 32

TEMPLATE = go.layout.Template(pio.templates["plotly_white"])
TEMPLATE.layout.update(
    font={"family": "Inter, 'Segoe UI', Helvetica, Arial, sans-serif", "size": 13},
    colorway=COLORWAY,
    title={"x": 0.0, "xanchor": "left", "font": {"size": 17}},
    margin={"l": 70, "r": 30, "t": 80, "b": 60},
    hoverlabel={"namelength": -1},
    legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1.0},
)

# Live charts (Monitor) are redrawn every few seconds: they carry only the layout part of the
# template, because validating the whole template costs ~40 ms a figure.
LIVE_LAYOUT_KEYS = (
    "font", "colorway", "title", "margin", "hoverlabel", "legend", "paper_bgcolor",
    "plot_bgcolor", "xaxis", "yaxis",
)  # fmt: skip
LIVE_TEMPLATE = go.layout.Template(
    layout={key: TEMPLATE.layout[key] for key in LIVE_LAYOUT_KEYS}
).to_plotly_json()


def plain(text: object) -> str:
    """User text made inert for plotly's HTML-like labels: ``<``, ``>`` and ``&`` escaped."""
    return html.escape(str(text), quote=False)


def in_template(text: object) -> str:
    """Plain text that can sit inside a hovertemplate without ``%{...}`` being substituted."""
    return plain(text).replace("%{", "%&#123;")


def short(text: object, limit: int = LABEL_LIMIT) -> str:
    """A tick label: cut before escaping so an entity is never split, shown as plain text."""
    raw = str(text) or "(empty)"
    return plain(raw if len(raw) <= limit else raw[: limit - 1] + "…")


def series_color(index: int) -> str:
    """The colour of the ``index``-th series: the house colourway, wrapping round."""
    return COLORWAY[index % len(COLORWAY)]
