"""Audit: who did what, with which role, filtered by person, action, entity and time, with the
hash chain checked and a CSV export (admins and reviewers)."""

import streamlit as st

from app.people import audit_view
from app.people.signin import IDENTITY
from core.auth import Permission, local_user, roles_with
from core.auth.roles import allows

st.title("Audit")
identity = st.session_state.get(IDENTITY) or local_user()
if not allows(identity.role, Permission.AUDIT):
    st.info(f"The audit trail is for the {' and '.join(roles_with(Permission.AUDIT))} roles.")
    st.stop()
audit_view.chain_check()
audit_view.events_table(audit_view.filters())
