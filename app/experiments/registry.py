"""The Registry tab of the Experiments page: registered versions, their aliases and files."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app import state
from app.components import home, records_table
from app.experiments.sections import alias_input, offer_file, show_error
from app.people.permits import guarded
from app.text import md
from core import words
from core.auth import Permission
from core.store.models import ModelVersion

REGISTRY_CONFIG = {"registered": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm")}


def section() -> None:
    """Registered models and versions; set an alias; download a version's files."""
    from core.train.registry import list_model_versions

    versions = list_model_versions(home())
    if not versions:
        st.info("No registered models yet. Pick a finished run on the Runs tab and register it.")
        return
    records_table(registry_frame(versions), column_config=REGISTRY_CONFIG)
    by_id = {version.id: version for version in versions}
    chosen = st.selectbox(
        "Model version",
        list(by_id),
        format_func=lambda key: by_id[key].label,
        key=state.EXPERIMENTS_REGISTRY_VERSION,
    )
    version = by_id[chosen]
    _alias_form(version)
    skops_cell, onnx_cell = st.columns(2)
    with skops_cell:
        offer_file(version, "skops", key=state.EXPERIMENTS_FILE_SKOPS)
    with onnx_cell:
        if version.onnx_path:
            offer_file(version, "onnx", key=state.EXPERIMENTS_FILE_ONNX)
        else:
            reason = version.onnx.get("reason") or "it was not exported"
            st.caption(f"No ONNX copy: {md(reason)}")


def registry_frame(versions: list[ModelVersion]) -> pd.DataFrame:
    from core.review.record import NOT_REVIEWED, verdicts

    found = verdicts(home())
    rows = [
        {
            "model": version.model_name,
            "version": version.version,
            "aliases": ", ".join(version.aliases),
            "source run": version.run_id,
            "review state": words.review_state(version.review_state),
            "gates": found.get(version.id, NOT_REVIEWED).summary,
            "ONNX": "yes" if version.onnx_path else "no",
            "registered": pd.Timestamp(version.created_at),
            "by": version.created_by,
        }
        for version in versions
    ]
    return pd.DataFrame(rows)


def _alias_form(version: ModelVersion) -> None:
    choice_cell, other_cell, button_cell = st.columns([2, 2, 1], vertical_alignment="bottom")
    alias = alias_input(
        choice_cell, other_cell, state.EXPERIMENTS_ALIAS, state.EXPERIMENTS_ALIAS_OTHER
    )
    reason = None
    if alias == "champion" and version.review_state != "approved":
        st.caption(
            f"{md(version.label)} is {md(version.review_state)}: only an approved version becomes "
            "champion. To override, write why (it is recorded in the audit log)."
        )
        reason = st.text_input("Override reason", key=state.EXPERIMENTS_ALIAS_REASON)
    if not button_cell.button(
        "Set alias",
        key=state.EXPERIMENTS_ALIAS_SET,
        **guarded(Permission.REGISTER, disabled=not alias),
    ):
        return
    from core.train.registry import set_alias

    try:
        updated = set_alias(
            home(),
            name=version.model_name,
            version=version.version,
            alias=alias,
            actor="ui",
            override_reason=reason,
        )
    except (ValueError, RuntimeError) as error:
        show_error(error)
        return
    st.success(f"{md(alias)} now points at {md(updated.label)}.")
