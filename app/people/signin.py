"""Who is using the studio in this browser tab: the local admin without accounts, else a
signed-in session (its id in the URL, so a reload keeps it), else the sign-in page.

Why the URL: Streamlit can read cookies (``st.context.cookies``) but not set them, and session
state dies with the tab's connection. The session id is a 256-bit random secret the store
keeps only as a hash; it expires after 12 hours or at sign-out, and an id from another studio
is simply unknown here."""

from __future__ import annotations

from typing import Any

import streamlit as st

from app.text import md
from core.auth import Identity, local_user, set_current
from core.auth.access import has_accounts
from core.auth.accounts import SignInFailed
from core.auth.sessions import session_identity, sign_in, sign_out
from core.auth.sso import (
    DEFAULT_PROVIDER,
    ROLES_SECTION,
    provider_label,
    sso_identity,
    sso_providers,
    sso_settings,
)
from core.settings import studio_home

SESSION_PARAM = "session"
IDENTITY = "people.identity"
SESSION_ID = "people.session_id"
NAME = "signin.name"
PASSWORD = "signin.password"
SUBMIT = "signin.submit"
SSO_BUTTON = "signin.sso"
SSO_SIGN_OUT = "signin.sso_sign_out"
SIGN_OUT = "signin.sign_out"
ENDED = "Your session has ended (it expired, or you signed out). Sign in again."


def signed_in() -> Identity:
    """Who is using the studio now; draws the sign-in page and stops the run when no one is."""
    home = studio_home()
    providers = sso_providers(home)
    if not providers and not has_accounts(home):
        return _remember(local_user(), None)
    if providers and (claims := _sso_user()) is not None:
        return _remember(_provider_identity(claims, home), None)
    session_id = st.query_params.get(SESSION_PARAM) or st.session_state.get(SESSION_ID)
    identity = session_identity(home, session_id)
    if identity is None:
        _forget()
        sign_in_page(ended=bool(session_id), providers=providers)
        st.stop()
    if st.query_params.get(SESSION_PARAM) != session_id:
        st.query_params[SESSION_PARAM] = str(session_id)  # page links drop it; reloads need it
    return _remember(identity, session_id)


def _remember(identity: Identity, session_id: str | None) -> Identity:
    st.session_state[IDENTITY] = identity
    st.session_state[SESSION_ID] = session_id
    set_current(identity)
    return identity


def _forget() -> None:
    st.session_state.pop(IDENTITY, None)
    st.session_state.pop(SESSION_ID, None)
    st.query_params.pop(SESSION_PARAM, None)
    set_current(None)


def act_as_signed_in() -> None:
    """Act as this tab's person in the current run (a fragment's rerun skips the entrypoint)."""
    set_current(st.session_state.get(IDENTITY))


def signed_in_name() -> str | None:
    """The signed-in person's name (None for the local user, who types a reviewer's name)."""
    identity = st.session_state.get(IDENTITY)
    return identity.name if identity is not None and identity.authenticated else None


def _sso_user() -> dict[str, Any] | None:
    user = st.user
    return user.to_dict() if user.is_logged_in else None


def _mapping(home: Any) -> dict[str, Any]:
    mapping: dict[str, Any] = sso_settings(home).get(ROLES_SECTION, {})
    return mapping


def _provider_identity(claims: dict[str, Any], home: Any) -> Identity:
    """The studio identity of the provider's user; a user the studio refuses (no mapped role,
    or a mapping naming no role) sees why and may sign out of the provider, nothing else."""
    try:
        return sso_identity(claims, _mapping(home))
    except ValueError as error:
        _forget()
        st.title("Sign in to MLOps Studio")
        st.error(str(error))
        if st.button("Sign out of single sign-on", key=SSO_SIGN_OUT):
            st.logout()
        st.stop()
        raise  # st.stop() does not return; this keeps the type checker sure of it


def sign_in_page(*, ended: bool, providers: list[str]) -> None:
    st.title("Sign in to MLOps Studio")
    if ended:
        st.info(ENDED)
    for name in providers:
        label = f"Sign in with {provider_label(name)}"
        if st.button(label, key=f"{SSO_BUTTON}.{name}", type="primary"):
            st.login(None if name == DEFAULT_PROVIDER else name)
    if providers and not has_accounts(studio_home()):
        return  # single sign-on only: no password form that no account could pass
    with st.form("signin"):
        name = st.text_input("User name", key=NAME)
        password = st.text_input("Password", type="password", key=PASSWORD)
        submitted = st.form_submit_button("Sign in", key=SUBMIT)
    if submitted:
        try:
            session_id = sign_in(studio_home(), name, password)
        except SignInFailed as error:
            st.error(str(error))
            return
        st.query_params[SESSION_PARAM] = session_id
        st.session_state[SESSION_ID] = session_id
        st.rerun()


def account_box(identity: Identity) -> None:
    """In the sidebar: who is signed in, with which role, and signing out."""
    if not identity.authenticated:
        return
    st.caption(f"Signed in as **{md(identity.name)}** · {identity.role}")
    if st.button("Sign out", key=SIGN_OUT):
        sign_out(studio_home(), st.session_state.get(SESSION_ID))
        _forget()
        if identity.source == "sso":
            st.logout()
        st.rerun()
