"""Team: the first admin on a new studio; then people and roles (admins), your tokens and the
separation-of-duties setting."""

import streamlit as st

from app.people import team
from app.people.signin import IDENTITY
from core.auth import Permission, local_user
from core.auth.access import has_accounts
from core.auth.roles import allows
from core.settings import studio_home

st.title("Team")
identity = st.session_state.get(IDENTITY) or local_user()
if not has_accounts(studio_home()):
    team.first_admin()
    st.stop()
if allows(identity.role, Permission.USERS):
    team.people()
if identity.authenticated:
    team.my_tokens(identity)
team.separation_setting(identity)
