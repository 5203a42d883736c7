"""The studio's entrypoint: page setup, the shared sidebar and navigation over the pages."""

import streamlit as st

from app import components
from app.navigation import all_pages, page_name
from app.serve import warm_up_in_background

# Meeting mode (?meeting=1): one page, full width, no sidebar or menu, for a projector.
meeting = st.query_params.get("meeting") == "1"
st.set_page_config(
    page_title="MLOps Studio",
    # an emoji, drawn in the browser: a :material/ favicon is fetched from fonts.gstatic.com
    page_icon="🔁",
    layout="wide",
    initial_sidebar_state="collapsed" if meeting else "auto",
)
navigation = st.navigation({"Life cycle": all_pages()}, position="hidden" if meeting else "sidebar")
if not meeting:
    components.sidebar(page_name(navigation))
try:
    navigation.run()
finally:
    # the other pages' libraries load once this page is drawn, not before it (app/serve.py)
    warm_up_in_background()
