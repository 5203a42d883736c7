"""Review: one model version's gates, errors, fairness, explanations, card and sign-off."""

import streamlit as st

from app import cache, state
from app.components import home
from app.review import sections
from app.review.security import security
from app.review.threshold import decision_threshold
from core.review.record import latest_record, verdict_of

st.title("Review")
version = sections.version_picker()
if version is None:
    sections.no_versions()
    st.stop()

record = latest_record(home(), version)  # read once: the verdict and the review shown agree
review = cache.review(str(home()), record)
verdict = verdict_of(record)
sections.header(version, verdict)
if not sections.in_meeting():
    config, sensitive = sections.review_settings(version, review)
    sections.run_review(version, config, sensitive)
if review is None:
    st.info("This version has not been reviewed yet: run the review to see its gates.")
    st.stop()

# every tab is drawn, so flipping between them in a meeting costs nothing; the key keeps the one
# chosen when the page redraws (a review or explanation job ending no longer jumps to Gates)
tabs = st.tabs(
    [
        "Gates",
        "Errors",
        "Threshold",
        "Fairness",
        "Explanations",
        "Security",
        "Model card",
        "Sign-off",
    ],
    key=state.REVIEW_TAB,
    on_change="rerun",
)
with tabs[0]:
    sections.gates(review)
with tabs[1]:
    sections.errors(review)
with tabs[2]:
    decision_threshold(version)
with tabs[3]:
    sections.fairness(version, review)
with tabs[4]:
    sections.explanations(version)
with tabs[5]:
    security(version, meeting=sections.in_meeting())
with tabs[6]:
    sections.model_card(version)
with tabs[7]:
    sections.sign_off(version, verdict)
