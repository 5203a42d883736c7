"""The studio's entrypoint: page setup, the shared sidebar and navigation over the pages."""

from pathlib import Path

import streamlit as st

from app import components

PAGES = Path(__file__).resolve().parents[1] / "pages"

st.set_page_config(page_title="MLOps Studio", page_icon=":material/hub:", layout="wide")
navigation = st.navigation(
    {
        "Life cycle": [
            st.Page(
                PAGES / "explore.py", title="Explore", icon=":material/query_stats:", default=True
            ),
        ]
    }
)
components.sidebar()
navigation.run()
