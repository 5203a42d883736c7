"""Experiments: every tracked run in one sortable table; a run's detail, comparisons, registry."""

import streamlit as st

from app.experiments import registry, sections
from app.navigation import page

st.title("Experiments")
listing = sections.runs_listing()
if listing.empty:
    st.info("No runs yet. Train models on the Train page; every run is tracked here.")
    st.page_link(page("train"), label="Go to Train")
    st.stop()

sections.flash()
runs_tab, registry_tab = st.tabs(["Runs", "Registry"])
with runs_tab:
    shown = sections.filtered(listing)
    sections.runs_table(shown, total=len(listing))
    picked = sections.pick_runs(listing, shown)
    if len(picked) == 1:
        sections.run_detail(picked[0])
    elif len(picked) > 1:
        sections.compare(picked)
    else:
        st.caption("Pick one run to see its metrics, plots and provenance, or several to compare.")
with registry_tab:
    registry.section()
