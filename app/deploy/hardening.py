"""Deploy page: a deployment's hardening (rate limit per API key, rounded or labels-only
answers), chosen when deploying and changed while it runs."""

from __future__ import annotations

from typing import Any

import streamlit as st

from app import state
from app.components import home
from app.people.permits import guarded
from app.text import md
from core.auth import Permission
from core.serving import deployments
from core.serving.hardening import (
    MAX_DECIMALS,
    HardeningError,
    answers_in_words,
    checked_settings,
    parse_rate,
    rate_in_words,
)
from core.store.deployments import Deployment, ServingSettings

RATE_HELP = (
    "Requests per API key, per second ('20/s') or per minute ('600/min'); beyond it the service "
    "answers 429 with Retry-After. Each worker process keeps its own count."
)
ANSWERS = {
    "full": "Full probabilities",
    "rounded": "Probabilities rounded",
    "labels": "Labels only (no probabilities)",
}


def settings_inputs(keys: dict[str, str], current: ServingSettings) -> ServingSettings | None:
    """The rate limit and answer shape as a person sets them; None (with the reason shown)
    when a value cannot be used."""
    left, middle, right = st.columns(3)
    rate = left.text_input(
        "Rate limit per API key (empty = none)",
        value=f"{current.rate_limit:g}/s" if current.rate_limit else "",
        placeholder="e.g. 20/s",
        help=RATE_HELP,
        key=keys["rate"],
    )
    shape = middle.selectbox(
        "Answers carry",
        list(ANSWERS),
        index=list(ANSWERS).index(_shape(current)),
        format_func=ANSWERS.__getitem__,
        key=keys["labels"],
        help="Fewer digits, or none, make copying the model by querying it far costlier.",
    )
    decimals = right.number_input(
        "Decimals when rounded",
        0,
        MAX_DECIMALS,
        current.round_decimals if current.round_decimals is not None else 2,
        key=keys["round"],
        disabled=shape != "rounded",
    )
    try:
        return checked_settings(
            rate_limit=parse_rate(rate) if rate.strip() else None,
            rate_burst=current.rate_burst,
            round_decimals=int(decimals) if shape == "rounded" else None,
            labels_only=shape == "labels",
        )
    except HardeningError as error:
        st.error(md(str(error)))
        return None


def _shape(settings: ServingSettings) -> str:
    if settings.labels_only:
        return "labels"
    return "rounded" if settings.round_decimals is not None else "full"


NEW_KEYS = {
    "rate": state.DEPLOY_NEW_RATE,
    "round": state.DEPLOY_NEW_ROUND,
    "labels": state.DEPLOY_NEW_LABELS,
}


def new_settings() -> ServingSettings | None:
    """The hardening of a deployment about to start."""
    return settings_inputs(NEW_KEYS, ServingSettings())


def hardening(deployment: Deployment) -> None:
    """Change a deployment's hardening; its service follows within a second."""
    current = deployments.hardening_of(deployment)
    title = f"Hardening: {rate_in_words(current)}, {answers_in_words(current)}"
    with st.expander(title):
        keys = {
            "rate": f"{state.DEPLOY_HARDENING_RATE}.{deployment.id}",
            "round": f"{state.DEPLOY_HARDENING_ROUND}.{deployment.id}",
            "labels": f"{state.DEPLOY_HARDENING_LABELS}.{deployment.id}",
        }
        chosen = settings_inputs(keys, current)
        st.caption(
            "Every answer also says which rows were out of distribution (inputs outside the "
            "training ranges or unseen categories); Monitor charts their share."
        )
        if st.button(
            "Save the hardening",
            key=state.DEPLOY_HARDENING_SAVE,
            **guarded(Permission.DEPLOY, disabled=chosen is None),
        ):
            _save(deployment, chosen)


def _save(deployment: Deployment, chosen: Any) -> None:
    try:
        deployments.set_hardening(home(), deployment.id, chosen, actor="ui")
    except ValueError as error:
        st.error(md(str(error)))
        return
    st.session_state[state.DEPLOY_FLASH] = (
        f"Deployment {deployment.id}: {rate_in_words(chosen)}, {answers_in_words(chosen)}."
    )
    st.rerun()
