"""The Monitor page's "Before labels" tab: estimated performance beside realized, drift across
features jointly with the features that drive it, and the data-quality tests."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app import cache, state
from app.charts.display import show
from app.components import home
from app.monitor import estimate_charts
from app.text import md
from core import words
from core.monitor.estimation.history import EstimateHistory, EstimateWindow, estimate_history
from core.serving.scoring import plain
from core.store.deployments import Deployment

NO_WINDOWS = (
    "Nothing estimated in this range yet: each whole five-minute window with at least 30 answered "
    "rows gets estimated performance, joint drift and quality tests against the served version's "
    "holdout and training rows."
)
NO_ESTIMATE = (
    "No estimated performance: the service logs no class probabilities for this model (or its "
    "holdout was too small to calibrate), so only joint drift and quality tests are shown."
)
QUALITY_COLUMNS = {
    "share": st.column_config.NumberColumn(format="percent"),
    "threshold": st.column_config.NumberColumn(format="percent"),
}


def history_of(deployment: Deployment, minutes: int, regression: bool) -> EstimateHistory:
    classes = None
    if not regression:
        pipeline = cache.pipeline(str(home()), deployment.model_version_id)
        classes = [plain(c) for c in getattr(pipeline, "classes_", [])]
    return estimate_history(home(), deployment.id, minutes=minutes, classes=classes)


def before_labels(
    deployment: Deployment, *, minutes: int, regression: bool, span: tuple[float, float]
) -> None:
    history = history_of(deployment, minutes, regression)
    if not history.windows:
        st.caption(NO_WINDOWS)
        return
    estimated(history, span)
    joint(history, span)
    quality(history)


def estimated(history: EstimateHistory, span: tuple[float, float]) -> None:
    st.markdown("**Estimated performance**")
    if not history.metrics:
        st.caption(NO_ESTIMATE)
        return
    metric = st.selectbox(
        "Metric",
        history.metrics,
        format_func=words.metric,
        key=state.MONITOR_ESTIMATE_METRIC,
    )
    show(estimate_charts.estimated_figure(history, str(metric), span), key="monitor.estimated")
    st.caption(md(history.assumption))
    st.caption(parted_text(history, str(metric)))


def parted_text(history: EstimateHistory, metric: str) -> str:
    """Where the estimate and the realized values parted, in words."""
    labelled = [w for w in history.windows if w.labelled and metric in w.realized]
    if not labelled:
        return "No labels yet in this range: the realized values appear as labels arrive."
    parted = [w for w in labelled if w.parted(metric)]
    if not parted:
        return f"Realized values of {len(labelled)} labelled window(s) all fall within the band."
    first = words.when(parted[0].start, seconds=False)
    return (
        f"Estimate and realized parted in {len(parted)} of {len(labelled)} labelled window(s), "
        f"first at {first}: there the relation between inputs and outcome may have changed "
        "(concept drift), which no label-free estimate can see."
    )


def joint(history: EstimateHistory, span: tuple[float, float]) -> None:
    st.markdown("**Drift across features jointly**")
    left, right = st.columns(2)
    show(
        estimate_charts.joint_figure(history, "domain_classifier", span),
        key="monitor.domain_classifier",
        where=left,
    )
    show(
        estimate_charts.joint_figure(history, "reconstruction_error", span),
        key="monitor.reconstruction",
        where=right,
    )
    latest = history.latest
    if latest is not None and latest.joint:
        st.dataframe(
            joint_frame(latest),
            hide_index=True,
            width="stretch",
            key=state.MONITOR_JOINT_TABLE,
        )


def joint_frame(window: EstimateWindow) -> pd.DataFrame:
    rows = []
    for method, found in window.joint.items():
        drivers = ", ".join(f"{name} ({share:.0%})" for name, share in found.features.items())
        rows.append(
            {
                "measure": words.metric(method),
                "value": round(found.value, 4),
                "threshold": f"above {found.threshold:.4f}"
                if found.lower is None
                else f"outside {found.lower:.4f} to {found.threshold:.4f}",
                "verdict": "drifted" if found.drifted else "ok",
                "driven by": drivers or "-",
            }
        )
    return pd.DataFrame(rows)


def quality(history: EstimateHistory) -> None:
    latest = history.latest
    if latest is None or not latest.quality:
        return
    failed = len(latest.failed_tests)
    st.markdown(
        f"**Data-quality tests** in the newest window: {len(latest.quality) - failed} passed, "
        f"{failed} failed"
    )
    st.dataframe(
        quality_frame(latest),
        hide_index=True,
        width="stretch",
        key=state.MONITOR_QUALITY_TABLE,
        column_config=QUALITY_COLUMNS,
    )


def quality_frame(window: EstimateWindow) -> pd.DataFrame:
    rows = [
        {
            "column": test.column,
            "test": test.test,
            "result": "pass" if test.passed else "FAIL",
            "share": test.value,
            "threshold": test.threshold,
            "detail": test.detail,
        }
        for test in sorted(window.quality, key=lambda test: test.passed)
    ]
    return pd.DataFrame(rows)
