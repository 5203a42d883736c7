"""Compute: where heavy work runs — this machine or a Dask cluster, its workers, its jobs."""

import streamlit as st

from app.compute import sections

st.title("Compute")
found = sections.status()
sections.scheduler(found)
sections.workers(found)
sections.jobs()
