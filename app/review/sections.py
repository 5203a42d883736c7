"""The sections of the Review page: gates, errors, fairness, explanations, the card, sign-off."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

import pandas as pd
import streamlit as st

from app import cache, state
from app.charts.display import show
from app.components import home, job_progress, live_picker, records_table, version_labels
from app.navigation import page
from app.people.permits import guarded
from app.text import md
from core import words
from core.auth import Permission
from core.review.gates import GateConfig
from core.review.record import Verdict
from core.review.review import VersionReview, with_default_segments
from core.store.models import ModelVersion

if TYPE_CHECKING:
    from core.review.explain import Explanation

VERDICT = {True: "✅ pass", False: "❌ fail", None: "➖ not checked"}
MITIGATION_METHODS = {
    "threshold_optimizer": "Threshold optimizer (post-processing)",
    "exponentiated_gradient": "Exponentiated gradient (retrains under a constraint)",
}
CONSTRAINTS = {
    "demographic_parity": "Demographic parity (equal selection rates)",
    "equalized_odds": "Equalized odds (equal TPR and FPR)",
}


def in_meeting() -> bool:
    return st.query_params.get("meeting") == "1"


def show_error(error: Exception) -> None:
    st.error(md(str(error)))


# -- picking a version ---------------------------------------------------------------------------


def version_picker() -> ModelVersion | None:
    from core.train.registry import list_model_versions

    versions = list_model_versions(home())
    if not versions:
        return None
    by_id = {version.id: version for version in versions}
    requested = st.query_params.get("version")
    default = int(requested) if requested and requested.isdigit() else None
    labels = version_labels(versions)
    chosen = live_picker("Model version", labels, key=state.REVIEW_VERSION, default=default)
    return by_id[chosen]


def header(version: ModelVersion, verdict: Verdict) -> None:
    left, middle, right = st.columns(3)
    left.metric("Gates", verdict.summary)
    middle.metric("Review state", words.review_state(version.review_state))
    right.metric("Aliases", ", ".join(version.aliases) or "none")
    st.caption(md(verdict.sentence))
    if not in_meeting():
        st.link_button(
            "Meeting mode (full screen, for a projector)",
            f"?meeting=1&version={version.id}",
            help="Opens this version without the sidebar, for a review meeting.",
        )


# -- running the review --------------------------------------------------------------------------


def review_settings(
    version: ModelVersion, review: VersionReview | None
) -> tuple[GateConfig, list[str]]:
    """The gate thresholds and sensitive features, editable; defaults from the last review."""
    run = cache.run(str(home()), version.run_id)
    base = review.config if review else GateConfig.defaults(run.task)
    metric = words.metric(base.metric)
    columns = cache.feature_columns(str(home()), version.run_id)
    sensitive_default = (
        review.sensitive_features
        if review
        else cache.suggested_sensitive(str(home()), version.run_id)
    )
    with st.expander(
        "Review settings: gate thresholds, segments, sensitive features", expanded=review is None
    ):
        sensitive = st.multiselect(
            "Sensitive features (fairness is measured across their groups)",
            columns,
            default=[c for c in sensitive_default if c in columns],
            key=f"{state.REVIEW_SENSITIVE}.{version.id}",
        )
        segments = st.multiselect(
            "Segment columns (every segment must meet the bar)",
            columns,
            default=[
                c for c in with_default_segments(base, sensitive).segment_columns if c in columns
            ],
            key=f"{state.REVIEW_SEGMENTS}.{version.id}",
        )
        bars = _bars(base, metric, version.id)
        left, right = st.columns(2)
        strength = left.number_input(
            "Leakage: one column alone predicting the target at (0 switches off)",
            value=float(base.max_feature_strength or 0.0),
            min_value=0.0,
            max_value=1.0,
            step=0.01,
            key=f"{state.REVIEW_LEAK_STRENGTH}.{version.id}",
            help="Its values, or whether it is filled in; columns the data checks flag on "
            "Explore count too.",
        )
        too_good = right.number_input(
            f"Leakage: a holdout {metric} too good to be true at (0 switches off)",
            value=float(base.too_good_score or 0.0),
            min_value=0.0,
            max_value=1.0,
            step=0.001,
            format="%.3f",
            key=f"{state.REVIEW_TOO_GOOD}.{version.id}",
        )
    calibration = bars.pop("max_calibration_error")
    # replace(): a setting the form does not show keeps the base's value, never a stale default
    config = replace(
        base,
        **bars,
        max_calibration_error=calibration if base.max_calibration_error is not None else None,
        segment_columns=tuple(segments),
        max_feature_strength=strength or None,
        too_good_score=too_good or None,
    )
    return config, list(sensitive)


# the numeric bars, three to a row: (the GateConfig field it sets, label, step, widget key)
BARS = (
    ("min_metric", "Minimum holdout {metric}", 0.01, state.REVIEW_MIN_METRIC),
    ("max_overfit_gap", "Maximum train-vs-holdout gap", 0.01, state.REVIEW_MAX_GAP),
    ("min_lift_over_baseline", "Must beat the baseline by", 0.01, state.REVIEW_MIN_LIFT),
    ("champion_tolerance", "Tolerated loss vs champion", 0.005, state.REVIEW_TOLERANCE),
    ("max_calibration_error", "Maximum calibration error", 0.01, state.REVIEW_MAX_CALIBRATION),
    ("min_segment_metric", "Minimum {metric} on every segment", 0.01, state.REVIEW_MIN_SEGMENT),
)


def _bars(base: GateConfig, metric: str, version_id: int) -> dict[str, Any]:
    """The numeric bars as edited, by the GateConfig field each sets (None shown as 0)."""
    edited: dict[str, Any] = {}
    for row in (BARS[:3], BARS[3:]):
        for column, (name, label, step, key) in zip(st.columns(3), row, strict=True):
            edited[name] = column.number_input(
                label.format(metric=metric),
                value=float(getattr(base, name) or 0.0),
                step=step,
                key=f"{key}.{version_id}",
            )
    return edited


def run_review(version: ModelVersion, config: GateConfig, sensitive: list[str]) -> None:
    from core.review.review import submit_explanation, submit_review

    left, right = st.columns(2)
    if left.button(
        "Run the review", type="primary", key=state.REVIEW_RUN, **guarded(Permission.REVIEW)
    ):
        job = submit_review(home(), version, config=config, sensitive=sensitive, actor="ui")
        st.session_state[state.REVIEW_JOB] = job.id
    if right.button(
        "Compute explanations (SHAP)", key=state.REVIEW_EXPLAIN, **guarded(Permission.EXPLAIN)
    ):
        job = submit_explanation(home(), version, actor="ui")
        st.session_state[state.EXPLAIN_JOB] = job.id
    for key in (state.REVIEW_JOB, state.EXPLAIN_JOB):
        if job_id := st.session_state.get(key):
            job_progress(job_id, on_done=lambda job: None)


# -- gates and errors ----------------------------------------------------------------------------


def gates(review: VersionReview) -> None:
    if review.passed:
        st.success("This version passes every gate that was checked.")
    else:
        st.error("This version fails at least one gate.")
    gate_table(review)
    for note in review.notes:
        st.caption(md(note))


def gate_table(review: VersionReview) -> None:
    """Each gate with its verdict and its whole explanation: a static table whose details
    wrap, where a grid cell cut them off (Review and Monitor's retrains show the same)."""
    rows = [
        {"gate": gate.title, "verdict": VERDICT[gate.passed], "detail": gate.message}
        for gate in review.gates
    ]
    st.table(pd.DataFrame(rows).set_index("gate"))


def errors(review: VersionReview) -> None:
    from app.review.charts import segment_gap_figure

    if not review.segments:
        st.info("No segments to analyse.")
        return
    metric = words.metric(review.config.metric)
    frame = segments_frame(review, metric)
    st.caption(
        f"Each segment's {md(metric)} on the holdout "
        f"({review.holdout_rows:,} rows), weakest first; gap is against the whole holdout."
    )
    show(segment_gap_figure(review.segments[:15]), key="review.segments_chart")
    records_table(frame, key=state.REVIEW_SEGMENT_TABLE)


def segments_frame(review: VersionReview, metric: str) -> pd.DataFrame:
    """The segments with their columns in words: the gate's metric named, not "value"."""
    frame = pd.DataFrame([segment.to_dict() for segment in review.segments])
    return frame.rename(columns={"count": "rows", "value": metric, "gap": f"gap in {metric}"})


# -- fairness ------------------------------------------------------------------------------------


def fairness(version: ModelVersion, review: VersionReview) -> None:
    report = review.fairness
    if not report:
        st.info(
            "Fairness was not measured: choose sensitive features in the review settings and run "
            "the review again."
        )
        return
    from app.review.fairness_charts import disparity_figure, group_metric_figure

    for warning in report.warnings:
        st.warning(md(warning))
    features = list(report.partitions)
    left, right = st.columns(2)
    feature = left.selectbox("Groups of", features, key=state.REVIEW_FAIRNESS_FEATURE)
    metrics = list(report.groups[0].metrics) if report.groups else []
    metric = right.selectbox(
        "Metric", metrics, format_func=words.metric, key=state.REVIEW_FAIRNESS_METRIC
    )
    if metric:
        figure = group_metric_figure(report, metric=metric, feature=feature)
        show(figure, key="review.fairness_groups")
    show(disparity_figure(report), key="review.fairness_disparity")
    if not in_meeting():
        mitigation(version, review)


def mitigation(version: ModelVersion, review: VersionReview) -> None:
    from core.jobs import submit_job

    st.markdown("**Mitigate**: each method makes a new candidate run you can compare below.")
    left, middle, right = st.columns([2, 2, 1], vertical_alignment="bottom")
    method = left.selectbox(
        "Method",
        list(MITIGATION_METHODS),
        format_func=MITIGATION_METHODS.__getitem__,
        key=state.REVIEW_MITIGATION_METHOD,
    )
    constraint = middle.selectbox(
        "Constraint",
        list(CONSTRAINTS),
        format_func=CONSTRAINTS.__getitem__,
        key=state.REVIEW_MITIGATION_CONSTRAINT,
    )
    if right.button(
        "Mitigate",
        key=state.REVIEW_MITIGATE,
        **guarded(Permission.TRAIN, disabled=review.task != "binary"),
    ):
        job = submit_job(
            home(),
            kind="mitigate",
            params={
                "run_id": version.run_id,
                "sensitive_features": list(review.sensitive_features),
                "method": method,
                "constraint": constraint,
                "actor": "ui",
            },
            subject=f"run:{version.run_id}",
            dedupe_key=(
                f"mitigate:{version.run_id}:{method}:{constraint}:"
                + ",".join(sorted(review.sensitive_features))
            ),
            actor="ui",
        )
        st.session_state[state.MITIGATION_JOB] = job.id
    if review.task != "binary":
        st.caption("Mitigation works on binary classification models.")
        return
    if job_id := st.session_state.get(state.MITIGATION_JOB):
        job_progress(
            job_id,
            on_done=lambda job: st.success(
                f"Made candidate run #{job.result['run_id']} ({md(job.result['name'])})."
                if job.result
                else "Done."
            ),
        )
    trade_off(version, review, constraint)


def trade_off(version: ModelVersion, review: VersionReview, constraint: str) -> None:
    from app.review.fairness_charts import trade_off_figure
    from core.review.mitigation import CONSTRAINT_DISPARITY
    from core.review.mitigation import trade_off as candidates_of

    metric = review.config.metric
    try:
        candidates = candidates_of(
            home(),
            version.run_id,
            sensitive_features=list(review.sensitive_features),
            constraint=constraint,
            metric=metric,
        )
    except ValueError as error:
        show_error(error)
        return
    if len(candidates) < 2:
        return
    disparity = CONSTRAINT_DISPARITY[constraint]
    figure = trade_off_figure(
        candidates,
        metric_label=words.metric(metric),
        disparity_label=words.metric(disparity),
    )
    show(figure, key="review.trade_off")


# -- explanations --------------------------------------------------------------------------------


def explanations(version: ModelVersion) -> None:
    loaded = cache.explanation(str(home()), version.id)
    if loaded is None:
        st.info("Explanations are not computed yet: click *Compute explanations (SHAP)* above.")
        return
    from app.review import explain_charts as charts

    explanation, extras = loaded
    st.caption(md(f"SHAP values ({explanation.explainer} explainer) of the {explanation.output}."))
    left, right = st.columns(2)
    show(charts.importance_bar_figure(explanation.mean_abs()), key="review.shap_bar", where=left)
    explained = cache.explanation_points(str(home()), version.id)
    show(charts.beeswarm_figure(explained), key="review.shap_beeswarm", where=right)
    feature = st.selectbox("Feature", explanation.features, key=state.REVIEW_SHAP_FEATURE)
    left, right = st.columns(2)
    show(charts.dependence_figure(explained, feature), key="review.shap_dependence", where=left)
    pdp = extras.partial_dependence.get(feature)
    if pdp:
        show(charts.pdp_figure(pdp), key="review.pdp", where=right)
    if extras.permutation_importance:
        show(charts.permutation_figure(extras.permutation_importance), key="review.permutation")
    local(version, explanation)


def local(version: ModelVersion, explanation: Explanation) -> None:
    from app.review import explain_charts as charts

    st.markdown("**One row: why this prediction, and what if it changed?**")
    row_index = int(
        st.number_input(
            "Row of the explained holdout",
            0,
            len(explanation.data) - 1,
            0,
            key=state.REVIEW_ROW,
        )
    )
    row = explanation.data.iloc[[row_index]]
    edited = st.data_editor(row, hide_index=True, key=f"{state.REVIEW_WHAT_IF}.{row_index}")
    changed = not edited.astype(str).equals(row.astype(str))
    if not changed:
        values = explanation.values[row_index]
        figure = charts.waterfall_figure(
            dict(zip(explanation.features, values, strict=True)),
            explanation.base_value,
            explanation.base_value + float(values.sum()),
        )
        show(figure, key="review.waterfall")
        return
    result = cache.what_if(str(home()), version.id, edited.iloc[0].to_dict())
    for flag in result.out_of_range:
        st.warning(
            f"{md(flag.feature)} = {md(flag.value)} is outside what the model saw in "
            f"training ({md(flag.low)} to {md(flag.high)}): allowed, but trust it "
            "less."
        )
    figure = charts.waterfall_figure(result.shap, result.base_value, result.output_value)
    show(figure, key="review.what_if")
    st.caption(f"Prediction for the edited row: {md(result.prediction)}")


# -- the model card and sign-off -----------------------------------------------------------------


def model_card(version: ModelVersion) -> None:
    from core.review.card import build_card
    from core.review.signoff import set_intended_use

    if not in_meeting():
        text = st.text_area(
            "Intended use (who should use this model, for what, and for what not)",
            value=version.intended_use,
            key=f"{state.REVIEW_INTENDED_USE}.{version.id}",
        )
        if st.button("Save intended use", key=state.REVIEW_SAVE_USE, **guarded(Permission.REVIEW)):
            try:
                set_intended_use(home(), version, text, actor="ui")
            except ValueError as error:
                show_error(error)
            else:
                st.rerun()
    card = build_card(home(), version)
    left, right = st.columns(2)
    left.download_button(
        "Download the card (HTML)",
        card.to_html(),
        file_name=f"{_slug(version)}-card.html",
        mime="text/html",
        key=state.REVIEW_CARD_HTML,
    )
    right.download_button(
        "Download the card (Markdown)",
        card.to_markdown(),
        file_name=f"{_slug(version)}-card.md",
        mime="text/markdown",
        key=state.REVIEW_CARD_MD,
    )
    with st.container(border=True):
        st.markdown(card.to_markdown())


def _slug(version: ModelVersion) -> str:
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in version.model_name)
    return f"{safe}-v{version.version}"


def sign_off(version: ModelVersion, verdict: Verdict) -> None:
    from app.people.signin import signed_in_name
    from core.review.signoff import CHECKLIST, DECISION_LABELS, record_decision

    st.markdown("**Checklist**")
    ticks = {
        key: st.checkbox(text, key=f"{state.REVIEW_CHECK}.{key}") for key, text in CHECKLIST.items()
    }
    left, right = st.columns(2)
    signed_in = signed_in_name()
    if signed_in:  # the signed-in person signs off, by their own name
        reviewer = left.text_input("Reviewer", value=signed_in, disabled=True)
    else:
        reviewer = left.text_input("Reviewer", key=state.REVIEW_REVIEWER)
    decision = right.radio(
        "Decision",
        list(DECISION_LABELS),
        format_func=DECISION_LABELS.get,
        horizontal=True,
        key=state.REVIEW_DECISION,
    )
    comment = st.text_area("Comment", key=state.REVIEW_COMMENT)
    reason = approval_reason(version, verdict) if decision == "approve" else None
    if st.button(
        "Record the decision",
        type="primary",
        key=state.REVIEW_SUBMIT,
        **guarded(Permission.SIGN_OFF),
    ):
        try:
            record_decision(
                home(),
                version,
                reviewer=reviewer,
                decision=str(decision),
                comment=comment,
                checklist=ticks,
                reason=reason,
            )
        except ValueError as error:
            show_error(error)
        else:
            st.session_state[state.REVIEW_FLASH] = f"Recorded: {DECISION_LABELS[str(decision)]}."
            st.rerun()
    if message := st.session_state.pop(state.REVIEW_FLASH, None):
        st.success(md(message))
    decision_history(version)
    promote(version)


def approval_reason(version: ModelVersion, verdict: Verdict) -> str | None:
    """Before approving what the review does not back, name it and ask why (it is recorded)."""
    from core.review.signoff import approval_concerns, approval_warning

    concerns = approval_concerns(version, verdict)
    if not concerns:
        return None
    st.warning(md(approval_warning(version, concerns)))
    return st.text_input("Reason to approve anyway", key=state.REVIEW_APPROVE_REASON)


def decision_history(version: ModelVersion) -> None:
    from core.review.signoff import DECISION_LABELS, reviews

    rows = [
        {
            "when": words.when(review.created_at),
            "reviewer": review.reviewer,
            "decision": DECISION_LABELS.get(review.decision, review.decision),
            "comment": review.comment,
            "reason to approve anyway": review.override_reason or "",
        }
        for review in reviews(home(), version)
    ]
    if rows:
        records_table(rows, key=state.REVIEW_HISTORY)


def promote(version: ModelVersion) -> None:
    from core.train.registry import CHAMPION, set_alias

    if CHAMPION in version.aliases:
        st.caption(f"{md(version.label)} is the champion.")
        return
    reason = None
    if version.review_state != "approved":
        st.caption(
            f"Only an approved version becomes champion; {md(version.label)} is "
            f"{md(words.review_state(version.review_state))}. To override, write why (it is "
            "recorded)."
        )
        reason = st.text_input("Override reason", key=state.REVIEW_OVERRIDE)
    if st.button("Make champion", key=state.REVIEW_PROMOTE, **guarded(Permission.REGISTER)):
        try:
            set_alias(
                home(),
                name=version.model_name,
                version=version.version,
                alias=CHAMPION,
                actor="ui",
                override_reason=reason,
            )
        except ValueError as error:
            show_error(error)
        else:
            st.rerun()


def no_versions() -> None:
    st.info("No registered model versions yet. Register a run on the Train or Experiments page.")
    st.page_link(page("experiments"), label="Go to Experiments")
