"""The studio's entrypoint: page setup, the shared sidebar and navigation over the pages."""

import streamlit as st

from app import components
from app.navigation import all_pages, page_name, studio_pages
from app.people.signin import account_box, signed_in
from app.serve import warm_up_in_background
from core.auth import NotAllowed, Permission
from core.auth.roles import allows

# Meeting mode (?meeting=1): one page, full width, no sidebar or menu, for a projector.
meeting = st.query_params.get("meeting") == "1"
st.set_page_config(
    page_title="MLOps Studio",
    # an emoji, drawn in the browser: a :material/ favicon is fetched from fonts.gstatic.com
    page_icon="🔁",
    layout="wide",
    initial_sidebar_state="collapsed" if meeting else "auto",
)
identity = signed_in()  # the sign-in page, and stop, when a team studio has no one signed in
sections = {
    "Life cycle": all_pages(),
    "Studio": studio_pages(audit=allows(identity.role, Permission.AUDIT)),
}
navigation = st.navigation(sections, position="hidden" if meeting else "sidebar")
if not meeting:
    components.sidebar(page_name(navigation))
    with st.sidebar:
        account_box(identity)
try:
    navigation.run()
    components.draw_what_waited()  # a tab's first run: its charts and grids follow at once
except NotAllowed as refused:  # any page's write that this person's role does not allow
    st.error(str(refused))
finally:
    # the other pages' libraries load once this page is drawn, not before it (app/serve.py)
    warm_up_in_background()
