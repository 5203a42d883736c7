"""The studio's entrypoint: page setup, the shared sidebar and navigation over the pages."""

import streamlit as st

from app import components
from app.navigation import all_pages

st.set_page_config(page_title="MLOps Studio", page_icon=":material/hub:", layout="wide")
navigation = st.navigation({"Life cycle": all_pages()})
components.sidebar()
navigation.run()
