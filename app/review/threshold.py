"""The Review page's decision threshold: the holdout trade-off, a suggestion, and saving it."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app import cache, state
from app.charts.display import show
from app.components import home
from app.people.permits import guarded
from app.review.charts import threshold_figure
from app.text import md
from core.auth import Permission
from core.review.threshold import ThresholdCurve, ThresholdPoint, describe, set_threshold
from core.store.models import ModelVersion

HOW = {
    "f1": "Best F1 (balance precision and recall)",
    "cost": "Cheapest mistakes (say what each kind costs)",
    "typed": "A threshold I choose",
}
EXPLAIN = (
    "A binary model scores each row; the threshold decides from what score a row is called "
    "{positive}. The default, the most probable class, is 0.5 — on an imbalanced target it can "
    "call almost nothing {positive}. The threshold chosen here is kept with the version and used "
    "by the service, the playground, batch scoring and monitoring."
)


def decision_threshold(version: ModelVersion) -> None:
    """Choose a binary version's threshold on its holdout and keep it with the version."""
    try:
        curve = cache.threshold_curve(str(home()), version.id, version.artifact_sha256)
    except ValueError as error:  # not a binary model
        st.info(md(str(error)))
        return
    if not curve.points:
        st.info("The holdout has no scores to choose a threshold from.")
        return
    st.caption(md(EXPLAIN.format(positive=curve.positive)))
    st.markdown(f"**Now:** {md(describe(version))}")
    candidate = _candidate(curve, version)
    show(
        threshold_figure(curve, current=version.decision_threshold, chosen=candidate.threshold),
        key="review.threshold",
    )
    now = curve.at(version.decision_threshold or 0.5)
    st.table(_comparison(curve, now, candidate))
    _save(version, candidate)


def _candidate(curve: ThresholdCurve, version: ModelVersion) -> ThresholdPoint:
    how = st.radio(
        "How to choose", list(HOW), format_func=HOW.__getitem__, key=state.REVIEW_THRESHOLD_HOW
    )
    if how == "f1":
        return curve.best_f1()
    if how == "cost":
        left, right = st.columns(2)
        false_alarm = left.number_input(
            f"Cost of a false alarm (called {curve.positive}, was not)",
            min_value=0.01,
            value=1.0,
            key=state.REVIEW_THRESHOLD_FALSE_ALARM,
        )
        miss = right.number_input(
            f"Cost of a miss (a {curve.positive} not called)",
            min_value=0.01,
            value=5.0,
            key=state.REVIEW_THRESHOLD_MISS,
        )
        return curve.least_cost(false_alarm=float(false_alarm), miss=float(miss))
    typed = st.number_input(
        "Threshold",
        min_value=0.001,
        max_value=0.999,
        value=float(version.decision_threshold or 0.5),
        step=0.01,
        format="%.3f",
        key=state.REVIEW_THRESHOLD_VALUE,
    )
    return curve.at(float(typed))


def _comparison(curve: ThresholdCurve, now: ThresholdPoint, new: ThresholdPoint) -> pd.DataFrame:
    """What the holdout's rows get now and with the candidate, side by side, in words."""

    def column(point: ThresholdPoint) -> list[str]:
        return [
            f"{point.threshold:.3f}",
            f"{point.predicted_positive:,} of {curve.rows:,}",
            f"{point.true_positive:,} of {curve.positives:,} ({point.recall:.0%})",
            f"{point.false_positive:,}",
            f"{point.false_negative:,}",
            f"{point.precision:.3f}",
            f"{point.f1:.3f}",
        ]

    rows = [
        "threshold",
        f"called {curve.positive}",
        f"{curve.positive} caught",
        "false alarms",
        "misses",
        "precision",
        "F1",
    ]
    return pd.DataFrame({"now": column(now), "with this choice": column(new)}, index=rows)


def _save(version: ModelVersion, candidate: ThresholdPoint) -> None:
    if version.review_state == "approved":
        st.caption(
            "This version is approved with the threshold above; register its run again as a "
            "new version to serve another one."
        )
        return
    how = HOW[st.session_state.get(state.REVIEW_THRESHOLD_HOW, "f1")]
    left, right = st.columns(2)
    if left.button(
        f"Keep {candidate.threshold:.3f} with {version.label}",
        type="primary",
        key=state.REVIEW_THRESHOLD_SAVE,
        **guarded(Permission.REVIEW),
    ):
        _keep(version, candidate.threshold, how.split(" (")[0].lower() + " on the holdout")
    if version.decision_threshold is not None and right.button(
        "Back to the most probable class",
        key=state.REVIEW_THRESHOLD_CLEAR,
        **guarded(Permission.REVIEW),
    ):
        _keep(version, None, "")


def _keep(version: ModelVersion, threshold: float | None, basis: str) -> None:
    try:
        set_threshold(home(), version, threshold, basis=basis, actor="ui")
    except ValueError as error:
        st.error(md(str(error)))
        return
    st.rerun()
