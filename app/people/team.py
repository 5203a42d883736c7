"""The Team page's sections: the first admin, accounts and roles, your tokens, and the
separation-of-duties setting."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app.people.permits import why_not
from app.people.signin import SESSION_ID, SESSION_PARAM
from core.auth import ROLES, Identity, Permission, accounts, duties, tokens
from core.auth.roles import allows
from core.auth.sessions import sign_in
from core.settings import studio_home
from core.words import when

FIRST_NAME = "team.first.name"
FIRST_PASSWORD = "team.first.password"
FIRST_AGAIN = "team.first.again"
FIRST_SUBMIT = "team.first.submit"
ADD_NAME = "team.add.name"
ADD_ROLE = "team.add.role"
ADD_PASSWORD = "team.add.password"
ADD_SUBMIT = "team.add.submit"
ROLE_USER = "team.role.user"
ROLE_VALUE = "team.role.value"
ROLE_SUBMIT = "team.role.submit"
REMOVE_USER = "team.remove.user"
REMOVE_SUBMIT = "team.remove.submit"
TOKEN_LABEL = "team.token.label"
TOKEN_DAYS = "team.token.days"
TOKEN_SUBMIT = "team.token.submit"
TOKEN_REVOKE = "team.token.revoke.{token_id}"
SEPARATION = "team.separation"
SEPARATION_REASON = "team.separation.reason"
NEW_TOKEN = "team.new_token"
PASSWORDS_DIFFER = "The two passwords differ. Type the same password twice."


def first_admin() -> None:
    """First run: no accounts yet, the studio runs as you; create the admin to start a team."""
    st.info(
        "There are no accounts yet, so the studio runs as you, the local admin, with no "
        "sign-in. Create the first admin account to have everyone sign in (needed before the "
        "studio is served to the network)."
    )
    with st.form("first_admin"):
        name = st.text_input("Admin user name", key=FIRST_NAME)
        password = st.text_input("Password", type="password", key=FIRST_PASSWORD)
        again = st.text_input("Password again", type="password", key=FIRST_AGAIN)
        submitted = st.form_submit_button("Create the admin and sign in", key=FIRST_SUBMIT)
    if not submitted:
        return
    if password != again:
        st.error(PASSWORDS_DIFFER)
        return
    try:
        account = accounts.add_user(studio_home(), name, role="admin", password=password)
        session_id = sign_in(studio_home(), account.name, password)
    except ValueError as error:
        st.error(str(error))
        return
    st.query_params[SESSION_PARAM] = session_id
    st.session_state[SESSION_ID] = session_id
    st.rerun()


def people() -> None:
    found = accounts.list_users(studio_home())
    st.subheader("People")
    st.dataframe(
        pd.DataFrame(
            {
                "Name": [account.name for account in found],
                "Role": [account.role for account in found],
                "Added by": [account.created_by for account in found],
                "Added": [when(account.created_at) for account in found],
            }
        ),
        hide_index=True,
        width="stretch",
    )
    if (reason := why_not(Permission.USERS)) is not None:
        st.caption(reason)
        return
    names = [account.name for account in found]
    add, change, remove = st.tabs(["Add someone", "Change a role", "Remove someone"])
    with add:
        _add_form()
    with change:
        _role_form(names)
    with remove:
        _remove_form(names)


def _add_form() -> None:
    with st.form("add_user", clear_on_submit=True):
        name = st.text_input("User name", key=ADD_NAME)
        role = st.selectbox("Role", list(ROLES), key=ADD_ROLE)
        password = st.text_input("Password (tell them; they can ask you to change it)",
                                 type="password", key=ADD_PASSWORD)  # fmt: skip
        submitted = st.form_submit_button("Add", key=ADD_SUBMIT)
    if submitted:
        _act(lambda: accounts.add_user(studio_home(), name, role=role, password=password),
             f"Added {name} as {role}.")  # fmt: skip


def _role_form(names: list[str]) -> None:
    name = st.selectbox("Person", names, key=ROLE_USER)
    role = st.selectbox("New role", list(ROLES), key=ROLE_VALUE)
    if st.button("Change role", key=ROLE_SUBMIT) and name:
        _act(lambda: accounts.set_role(studio_home(), name, role), f"{name} is now {role}.")


def _remove_form(names: list[str]) -> None:
    name = st.selectbox("Person", names, key=REMOVE_USER)
    if st.button("Remove", key=REMOVE_SUBMIT) and name:
        _act(lambda: accounts.remove_user(studio_home(), name), f"Removed {name}.")


def _act(action: object, done: str) -> None:
    try:
        action()  # type: ignore[operator]
    except (ValueError, KeyError) as error:
        st.error(str(error.args[0] if isinstance(error, KeyError) else error))
        return
    st.success(done)


def my_tokens(identity: Identity) -> None:
    """Create, see and revoke your personal access tokens (for the CLI and automation)."""
    st.subheader("Your tokens")
    st.caption("For the command line and automation: `export MLOPS_STUDIO_TOKEN=<token>`.")
    new = st.session_state.pop(NEW_TOKEN, None)
    if new:
        st.success("Your new token; copy it now, it is not shown again:")
        st.code(new, language=None)
    with st.form("new_token", clear_on_submit=True):
        label = st.text_input("What it is for", key=TOKEN_LABEL)
        days = st.number_input("Valid for (days)", 1, tokens.MAX_DAYS, tokens.DEFAULT_DAYS,
                               key=TOKEN_DAYS)  # fmt: skip
        if st.form_submit_button("Create a token", key=TOKEN_SUBMIT):
            st.session_state[NEW_TOKEN] = tokens.create_token(
                studio_home(), label, days=int(days)
            ).secret
            st.rerun()
    for token in tokens.list_tokens(studio_home()):
        left, right = st.columns([4, 1])
        state = (
            f"revoked {when(token.revoked_at)}"
            if token.revoked_at
            else (f"valid until {when(token.expires_at)}" if token.expires_at else "valid")
        )
        left.text(f"{token.label or 'token'} ({token.user_name}) · {state}")
        if not token.revoked_at and right.button(
            "Revoke", key=TOKEN_REVOKE.format(token_id=token.id)
        ):
            tokens.revoke_token(studio_home(), token.id)
            st.rerun()


def separation_setting(identity: Identity) -> None:
    if not allows(identity.role, Permission.SETTINGS):
        return
    st.subheader("Separation of duties")
    on = duties.separation_of_duties(studio_home())
    st.caption(
        "When on, whoever trained or registered a version cannot approve it, and whoever "
        "approved a version over its concerns cannot deploy it. Changes are recorded."
    )
    reason = st.text_input("Why you change it", key=SEPARATION_REASON)
    wanted = st.toggle("Separation of duties", value=on, key=SEPARATION)
    if wanted != on:
        duties.set_separation_of_duties(studio_home(), wanted, reason=reason)
        st.rerun()
