"""The Review page's Security tab: membership inference, robustness, extraction exposure and
artefact integrity of one version, computed as a job."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app import state
from app.charts.display import show
from app.components import home, job_progress
from app.people.permits import guarded
from app.text import md
from core.auth import Permission
from core.review.security.report import SecurityReport, cached_security, submit_security
from core.store.models import ModelVersion

VERDICT = {True: "✅ pass", False: "❌ fail", None: "➖ not checked"}
NOT_RUN = (
    "The security review has not run for this version yet: it attacks the model's membership, "
    "perturbs holdout rows, reads what its deployments expose and checks its files."
)


def security(version: ModelVersion, *, meeting: bool) -> None:
    if not meeting:
        if st.button(
            "Run the security review",
            key=state.REVIEW_SECURITY_RUN,
            **guarded(Permission.REVIEW),
        ):
            job = submit_security(home(), version, actor="ui")
            st.session_state[state.REVIEW_SECURITY_JOB] = job.id
        if job_id := st.session_state.get(state.REVIEW_SECURITY_JOB):
            job_progress(job_id, on_done=lambda job: None)
    found = cached_security(home(), version)
    if found is None:
        st.info(NOT_RUN)
        return
    verdict(found)
    left, right = st.columns(2)
    from app.review import security_charts as charts

    show(charts.membership_figure(found.membership), key="review.security.membership", where=left)
    if found.robustness is not None:
        figure = charts.robustness_figure(found.robustness)
        show(figure, key="review.security.robustness", where=right)
        right.caption(md(found.robustness.sentence()))
    left.caption(md(found.membership.sentence()))
    exposure(found)
    integrity(found)
    for note in found.notes:
        st.caption(md(note))


def verdict(found: SecurityReport) -> None:
    columns = st.columns(4)
    shaken = found.robustness
    columns[0].metric("Membership advantage", f"{found.membership.advantage:.3f}")
    columns[1].metric("Decisions flipped", f"{shaken.flipped_share:.1%}" if shaken else "-")
    columns[2].metric("Extraction exposure", found.exposure.level)
    columns[3].metric("Artefact integrity", "intact" if found.integrity.passed else "FAILS")
    if found.passed:
        st.success("Security: no membership leak beyond the bar, and the files are intact.")
    else:
        st.error(md(f"Security: {found.membership.sentence()} {found.integrity.sentence()}"))


def exposure(found: SecurityReport) -> None:
    st.markdown("**What the deployments give away**")
    st.caption(md(found.exposure.sentence()))
    if found.exposure.deployments:
        rows = [
            {
                "deployment": f"{entry.deployment_id} at {entry.url}",
                "answers": entry.answers,
                "rate limit": entry.rate,
                "exposure": entry.level,
            }
            for entry in found.exposure.deployments
        ]
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    for advice in found.exposure.advice:
        st.warning(md(advice))


def integrity(found: SecurityReport) -> None:
    st.markdown("**Artefact integrity**")
    rows = [
        {"check": check.title, "verdict": VERDICT[check.passed], "detail": check.detail}
        for check in found.integrity.checks
    ]
    st.table(pd.DataFrame(rows).set_index("check"))
