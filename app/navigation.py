"""The studio's pages in life-cycle order, built once so links and navigation agree."""

from __future__ import annotations

from pathlib import Path

import streamlit as st
from streamlit.navigation.page import StreamlitPage

PAGES_DIR = Path(__file__).resolve().parents[1] / "pages"
PAGES = {
    "explore": ("Explore", ":material/query_stats:"),
    "prepare": ("Prepare", ":material/tune:"),
    "train": ("Train", ":material/model_training:"),
    "experiments": ("Experiments", ":material/science:"),
    "review": ("Review", ":material/fact_check:"),
    "deploy": ("Deploy", ":material/rocket_launch:"),
    "monitor": ("Monitor", ":material/monitoring:"),
}

# the studio's own pages, after the life cycle: people and the audit trail
STUDIO_PAGES = {
    "team": ("Team", ":material/group:"),
    "audit": ("Audit", ":material/history:"),
}


def page(name: str) -> StreamlitPage:
    """The page called ``name``; the same path and title every time, so links resolve."""
    title, icon = PAGES.get(name) or STUDIO_PAGES[name]
    return st.Page(PAGES_DIR / f"{name}.py", title=title, icon=icon, default=name == "explore")


def all_pages() -> list[StreamlitPage]:
    # Compute sits beside the life cycle (not a step of it, so not in PAGES or the tour)
    compute = st.Page(PAGES_DIR / "compute.py", title="Compute", icon=":material/hub:")
    return [*(page(name) for name in PAGES), compute]


def page_name(current: StreamlitPage) -> str | None:
    """Which of PAGES ``current`` is (by its title), or None."""
    return next((name for name, (title, _) in PAGES.items() if title == current.title), None)


def studio_page_names(*, audit: bool) -> list[str]:
    """Team always (the first admin, your tokens); Audit for those who may read it."""
    return [name for name in STUDIO_PAGES if audit or name != "audit"]


def studio_pages(*, audit: bool) -> list[StreamlitPage]:
    return [page(name) for name in studio_page_names(audit=audit)]
