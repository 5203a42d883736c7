"""Showing a figure on a page, the same way everywhere."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

# How every plotly chart is drawn: as wide as its column, without the plotly logo.
CHART: dict[str, Any] = {"width": "stretch", "config": {"displaylogo": False}}


def show(figure: go.Figure, *, key: str, where: DeltaGenerator | None = None) -> None:
    """Draw ``figure`` as wide as its column without the plotly logo, in ``where`` (a column,
    a tab, an empty slot) or else at the current place on the page."""
    if where is None:
        st.plotly_chart(figure, key=key, **CHART)
    else:
        where.plotly_chart(figure, key=key, **CHART)
