"""The Audit page's sections: the chain check, filters, the events and their CSV export."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import streamlit as st

from core.auth.trail import audit_events, audit_filters, verify_chain
from core.data.export import csv_bytes
from core.settings import studio_home
from core.store.audit import AuditEvent
from core.words import when

EVERYONE = "Everyone"
ANY = "Any"
PERSON = "audit.person"
ACTION = "audit.action"
ENTITY = "audit.entity"
DAYS = "audit.days"
VERIFY = "audit.verify"
DOWNLOAD = "audit.download"


def chain_check() -> None:
    if st.button("Check the audit trail for tampering", key=VERIFY):
        check = verify_chain(studio_home())
        if check.intact:
            st.success(f"The audit trail is intact: {check.checked:,} events checked.")
        else:
            st.error("The audit trail was tampered with:")
            for problem in check.problems:
                st.text(problem.what)


def filters() -> dict[str, str | None]:
    people, actions, entities = audit_filters(studio_home())
    person, action, entity, period = st.columns(4)
    chosen_person = person.selectbox("Person", [EVERYONE, *people], key=PERSON)
    chosen_action = action.selectbox("Action", [ANY, *actions], key=ACTION)
    chosen_entity = entity.selectbox("About", [ANY, *entities], key=ENTITY)
    days = period.selectbox(
        "Period", [1, 7, 30, 365, 0], index=2, key=DAYS,
        format_func=lambda d: "All time" if d == 0 else f"Last {d} day{'s' if d > 1 else ''}",
    )  # fmt: skip
    since = (date.today() - timedelta(days=days)).isoformat() if days else None
    return {
        "actor": None if chosen_person == EVERYONE else chosen_person,
        "action": None if chosen_action == ANY else chosen_action,
        "entity_type": None if chosen_entity == ANY else chosen_entity,
        "since": since,
    }


def frame_of(events: list[AuditEvent]) -> pd.DataFrame:
    """The events as people read them: when, who, role, what, about what, details."""
    return pd.DataFrame(
        {
            "When": [when(event.at) for event in events],
            "Who": [event.actor for event in events],
            "Role": [event.role for event in events],
            "Action": [event.action for event in events],
            "About": [f"{event.entity_type} {event.entity_id or ''}".strip() for event in events],
            "Details": [
                "; ".join(f"{key}: {value}" for key, value in event.details.items())
                for event in events
            ],
        }
    )


def events_table(chosen: dict[str, str | None]) -> None:
    events = audit_events(studio_home(), **chosen)  # type: ignore[arg-type]
    if not events:
        st.info("No events match these filters.")
        return
    frame = frame_of(events)
    st.caption(f"{len(events):,} events, newest first")
    st.dataframe(frame, hide_index=True, width="stretch")
    st.download_button(
        "Download as CSV", csv_bytes(frame), file_name="audit-trail.csv", mime="text/csv",
        key=DOWNLOAD,
    )  # fmt: skip
