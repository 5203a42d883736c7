"""The Tour: one sentence per page, in life-cycle order, with a link to the next, in the sidebar."""

from __future__ import annotations

import streamlit as st

from app import state
from app.navigation import PAGES, page

STEPS = {
    "explore": "Look at a dataset: distributions, correlations, missing values, outliers, the "
    "target, quality checks and a full profile report.",
    "prepare": "Clean it and choose how each column becomes features; the recipe is versioned "
    "and becomes part of the model.",
    "train": "Pick models and a tuning strategy; every run and trial is tracked.",
    "experiments": "Compare runs side by side and register the best as a model version.",
    "review": "Judge a version in the review meeting: gates, fairness, explanations, the model "
    "card and a recorded sign-off.",
    "deploy": "One click turns an approved version into a live REST service with an API key.",
    "monitor": "Follow traffic, latency, drift and performance live, with alerts; policies "
    "retrain, compare and promote the next champion.",
}


def tour(current: str | None) -> None:
    """The Tour switch and, when on, where this page sits in the loop and the way on."""
    if not st.toggle("Tour", key=state.TOUR_ON, help="Walk through the life cycle, page by page."):
        return
    names = list(PAGES)
    if current not in STEPS:
        st.page_link(page(names[0]), label="Start at Explore", icon=":material/flag:")
        return
    index = names.index(current)
    st.caption(f"Step {index + 1} of {len(names)} · {PAGES[current][0]}")
    st.markdown(STEPS[current])
    if index + 1 < len(names):
        following = names[index + 1]
        title, icon = PAGES[following]
        st.page_link(page(following), label=f"Next: {title}", icon=icon)
    else:
        st.page_link(page(names[0]), label="Back to the start: Explore", icon=":material/replay:")
