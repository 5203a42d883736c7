"""The Retrain part of the Monitor page: retrains and their decisions, policies, shadow mode and
label files — the loop from drift and labels back to a new champion."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import streamlit as st

from app import cache, state
from app.charts.display import show
from app.components import (
    fold,
    home,
    job_progress,
    live_picker,
    records_table,
    tab_panel,
    version_labels,
)
from app.monitor import retrain_charts as charts
from app.monitor.sections import served_task
from app.navigation import page
from app.people.permits import guarded
from app.text import md
from core import words
from core.auth import Permission
from core.monitor.labels import apply_labels, read_label_file
from core.monitor.shadow import compare_shadow
from core.retrain import challenger as retraining
from core.retrain import policies
from core.serving import deployments
from core.serving.scoring import load_served_model
from core.store.deployments import Deployment
from core.store.retraining import RetrainRun
from core.train.registry import list_model_versions

TRIGGER_DEFAULTS = {
    "drift_share": 0.3,
    "metric_drop": 0.05,
    "new_labels": 500,
    "every_hours": 24.0,
    "estimated_drop": 0.05,
}
TRIGGER_HELP = {
    "drift_share": "Share of features drifted in a five-minute window (0–1).",
    "metric_drop": "Relative drop of live accuracy (or rise of MAE) against the holdout (0–1).",
    "new_labels": "Labelled rows received since the last retrain.",
    "every_hours": "Hours between retrains.",
    "estimated_drop": "Relative drop of estimated accuracy (or rise of estimated MAE) against "
    "the holdout, before any labels arrive (0–1).",
}
LABEL_FILE_HELP = (
    "A CSV, Parquet or JSON-lines file with `request_id` and `label` columns (and `row` for one "
    "row of a batch request); the request ids are those the service answered with."
)


def section(deployment: Deployment, *, minutes: int) -> None:
    st.subheader("Retrain")
    draws = {
        "Retrains": lambda: _guarded(retrains_tab, deployment),
        "Policies": lambda: _guarded(policies_tab, deployment),
        "Shadow": lambda: _guarded(shadow_tab, deployment, minutes=minutes),
        "Labels": lambda: _guarded(labels_tab, deployment),
    }
    tab_panel(draws, key=state.RETRAIN_TAB)


def _guarded(draw: Any, deployment: Deployment, **options: Any) -> None:
    """Draw a tab; a refusal shows as a message, never a traceback."""
    try:
        draw(deployment, **options)
    except ValueError as error:
        st.error(md(str(error)))


def _answer(deployment: Deployment, message: str) -> None:
    st.session_state.setdefault(state.RETRAIN_ANSWER, {})[deployment.id] = message


def _flash(message: str) -> None:
    st.session_state[state.MONITOR_FLASH] = message
    st.rerun()


# -- retrains --------------------------------------------------------------------------------


def retrains_tab(deployment: Deployment) -> None:
    st.caption(
        "A retrain trains the served model again, with its recipe and parameters, on its training "
        "rows plus the labelled traffic, and judges it against the served version on the same "
        "fresh holdout: the served version's holdout plus the newest labelled rows."
    )
    now, dry = st.columns(2)
    if now.button(
        "Retrain now", key=state.RETRAIN_NOW, type="primary", **guarded(Permission.POLICIES)
    ):
        started = retraining.start_retrain(home(), deployment.id, actor="ui")
        _answer(deployment, f"Retrain {started.id} is under way.")
    if dry.button(
        "Dry run",
        key=state.RETRAIN_DRY_RUN,
        **guarded(Permission.POLICIES, help="What a retrain would do; no change."),
    ):
        planned = retraining.dry_run(home(), deployment.id, actor="ui")
        _answer(deployment, f"Dry run (nothing trained or changed): {planned.decision}")
    # the answer to either button shows right here, under them, not at the top of the page
    if answer := st.session_state.get(state.RETRAIN_ANSWER, {}).get(deployment.id):
        st.info(md(answer))
    everything = retraining.retrains_of(home(), deployment.id)
    found = [retrain for retrain in everything if not retrain.dry_run]
    dry_runs = [retrain for retrain in everything if retrain.dry_run]
    if dry_runs:
        fold(f"Dry runs ({len(dry_runs)})", lambda: retrain_table(dry_runs), key=state.DRY_RUNS)
    if not found:
        st.caption("No retrain yet for this deployment.")
        return
    active = next((r for r in found if r.active and r.job_id is not None), None)
    if active is not None and active.job_id is not None:
        st.markdown(f"**Retrain {active.id}** · {md(_triggers(active))}")
        job_progress(active.job_id, on_done=lambda job: None)
    latest = next((r for r in found if r.status in ("done", "failed", "skipped")), None)
    if latest is not None:
        latest_retrain(deployment, latest)
    fold(f"All retrains ({len(found)})", lambda: retrain_table(found), key=state.RETRAIN_HISTORY)


def latest_retrain(deployment: Deployment, retrain: RetrainRun) -> None:
    with st.container(border=True):
        st.markdown(f"**Retrain {retrain.id}** · {md(retrain.status)} · {md(_triggers(retrain))}")
        decision = retrain.error if retrain.status == "failed" else retrain.decision
        (st.error if retrain.status == "failed" else st.info)(md(decision or "-"))
        if retrain.challenger_version_id is not None:
            champion = _label(retrain.champion_version_id)
            challenger = _label(retrain.challenger_version_id)
            figure = charts.comparison_figure(retrain, champion, challenger)
            show(figure, key=f"retrain.comparison.{retrain.id}")
            gates(retrain)
        if retraining.awaiting_decision(retrain):
            decide(deployment, retrain)
        fold(
            "Every step",
            lambda: steps(retrain),
            key=state.RETRAIN_STEPS.format(retrain_id=retrain.id),
        )


def steps(retrain: RetrainRun) -> None:
    for step in retrain.steps:
        st.markdown(f"`{md(step['at'][11:19])}` **{md(step['step'])}** · {md(step['message'])}")


def gates(retrain: RetrainRun) -> None:
    """The challenger's verdict and gates from its newest saved review: the same the Review
    page, the card and every picker show for that version."""
    from core.review.record import latest_record, verdict_of

    assert retrain.challenger_version_id is not None
    version = deployments.model_version_by_id(home(), retrain.challenger_version_id)
    record = latest_record(home(), version)
    st.caption(f"{md(version.label)}: {md(verdict_of(record).sentence)}")
    review = cache.review(str(home()), record)
    if review is None:
        return
    from app.review.sections import gate_table

    gate_table(review)


def decide(deployment: Deployment, retrain: RetrainRun) -> None:
    assert retrain.challenger_version_id is not None
    version = deployments.model_version_by_id(home(), retrain.challenger_version_id)
    approved = version.review_state == "approved"
    reason = None
    if not approved:
        st.caption(
            f"{md(version.label)} is {md(words.review_state(version.review_state))}: approve it "
            "on the Review page, "
            "or give a written reason to promote it anyway (it goes into the audit log)."
        )
        st.page_link(page("review"), label="Review the challenger", icon=":material/fact_check:")
        reason = st.text_input(
            "Reason to promote without approval",
            key=state.RETRAIN_REASON.format(retrain_id=retrain.id),
        )
    promote, keep = st.columns(2)
    if promote.button(
        f"Promote {version.label} to champion",
        key=state.RETRAIN_PROMOTE.format(retrain_id=retrain.id),
        type="primary",
        **guarded(Permission.SWITCH),
    ):
        retraining.promote(home(), retrain.id, actor="ui", override_reason=reason or None)
        _flash(f"{version.label} is champion; deployment {deployment.id} now serves it.")
    if keep.button(
        "Keep the champion",
        key=state.RETRAIN_KEEP.format(retrain_id=retrain.id),
        **guarded(Permission.SWITCH),
    ):
        retraining.keep_champion(home(), retrain.id, actor="ui")
        _flash(f"Kept {deployment.model_label}; {version.label} stays registered.")


def retrain_table(found: list[RetrainRun]) -> None:
    rows = [
        {
            "retrain": retrain.id,
            "started": words.when(retrain.created_at, seconds=True),
            "status": retrain.status,
            "why": _triggers(retrain),
            "champion": retrain.champion_score,
            "challenger": retrain.challenger_score,
            "decision": retrain.error if retrain.status == "failed" else retrain.decision,
        }
        for retrain in found
    ]
    records_table(rows, key=state.RETRAIN_TABLE)


def _triggers(retrain: RetrainRun) -> str:
    return " ".join(trigger["message"] for trigger in retrain.triggers)


def _label(version_id: int | None) -> str:
    if version_id is None:
        return "-"
    return deployments.model_version_by_id(home(), version_id).label


# -- policies --------------------------------------------------------------------------------


def policies_tab(deployment: Deployment) -> None:
    st.caption(
        "The scheduler checks each policy every few seconds, with no browser open; triggers that "
        "fire while a retrain runs join it rather than start another."
    )
    for found in policies.policies_of(home(), deployment.id):
        text, toggle = st.columns([5, 1], vertical_alignment="center")
        fires = ", ".join(
            f"{policies.TRIGGER_LABELS[name].lower()} {value:g}"
            for name, value in found.triggers.items()
            if value is not None
        )
        action = policies.PROMOTE_LABELS[found.action.get("promote", "review")]
        retune = "re-tune" if found.action.get("retune") else "same parameters"
        text.markdown(f"**{md(found.name)}** · when {md(fires)} → {md(action.lower())} "
                      f"({retune}; cool-down {found.cooldown_minutes:g} min)")  # fmt: skip
        enabled = toggle.toggle(
            "Enabled",
            value=found.enabled,
            key=state.RETRAIN_POLICY_ENABLED.format(policy_id=found.id),
        )
        if enabled != found.enabled:
            policies.set_policy_enabled(home(), found.id, enabled, actor="ui")
    add_policy_form(deployment)


def add_policy_form(deployment: Deployment) -> None:
    with st.form(state.RETRAIN_POLICY_FORM):
        st.markdown("**Add a policy**")
        name = st.text_input("Name", value="Retrain on drift", key=state.RETRAIN_POLICY_NAME)
        chosen: dict[str, float | int | None] = {}
        for trigger, column in zip(
            TRIGGER_DEFAULTS, st.columns(len(TRIGGER_DEFAULTS)), strict=True
        ):
            on = column.checkbox(
                policies.TRIGGER_LABELS[trigger],
                value=trigger == "drift_share",
                key=state.RETRAIN_POLICY_TRIGGER.format(trigger=trigger),
                help=TRIGGER_HELP[trigger],
            )
            value = column.number_input(
                "Threshold",
                value=TRIGGER_DEFAULTS[trigger],
                format="%g",
                key=state.RETRAIN_POLICY_VALUE.format(trigger=trigger),
                label_visibility="collapsed",
            )
            number = int(value) if trigger == "new_labels" else float(value)
            chosen[trigger] = number if on else None
        promote = st.radio(
            "Then",
            policies.PROMOTE_MODES,
            format_func=policies.PROMOTE_LABELS.__getitem__,
            key=state.RETRAIN_POLICY_PROMOTE,
        )
        retune, improvement, cooldown = st.columns(3)
        tune = retune.checkbox("Re-tune (successive halving)", key=state.RETRAIN_POLICY_RETUNE)
        gain = improvement.number_input(
            "Required improvement", value=0.0, format="%g", key=state.RETRAIN_POLICY_IMPROVEMENT
        )
        rest = cooldown.number_input(
            "Cool-down (minutes)", value=60.0, format="%g", key=state.RETRAIN_POLICY_COOLDOWN
        )
        submitted = st.form_submit_button(
            "Add the policy", key=state.RETRAIN_POLICY_ADD, **guarded(Permission.POLICIES)
        )
    if not submitted:
        return
    added = policies.add_policy(
        home(),
        deployment.id,
        name=str(name),
        triggers=policies.Triggers(**chosen),  # type: ignore[arg-type]
        action=policies.Action(promote=str(promote), retune=bool(tune), min_improvement=gain),
        cooldown_minutes=float(rest),
        actor="ui",
    )
    _flash(f"Added the policy {added.name}.")


# -- shadow ----------------------------------------------------------------------------------


def shadow_tab(deployment: Deployment, *, minutes: int) -> None:
    st.caption(
        "A shadow version scores every request beside the served one, after the answer is sent, "
        "and nobody receives its answers: a live comparison before a promotion."
    )
    if deployment.shadow_version_id is None:
        start_shadow(deployment)
        return
    label = _label(deployment.shadow_version_id)
    regression = served_task(deployment.model_version_id) == "regression"
    comparison = compare_shadow(
        home(), deployment.id, deployment.shadow_version_id, minutes=minutes, regression=regression
    )
    columns = st.columns(4)
    columns[0].metric("Rows compared", f"{comparison.rows:,}")
    if regression:
        difference = comparison.mean_difference
        columns[1].metric("Mean |difference|", "-" if difference is None else f"{difference:.3f}")
    else:
        share = comparison.agreement
        columns[1].metric("Same answer", "-" if share is None else f"{share:.1%}")
    for column, name, value in (
        (columns[2], f"Served {comparison.performance_name}", comparison.served_performance),
        (columns[3], f"Shadow {comparison.performance_name}", comparison.shadow_performance),
    ):
        column.metric(name, "-" if value is None else f"{value:.3f}")
    end = time.time()
    figure = charts.shadow_figure(comparison, (end - minutes * 60, end))
    show(figure, key="retrain.shadow")
    if st.button(f"Stop the shadow ({label})", key=state.SHADOW_STOP, **guarded(Permission.SHADOW)):
        deployments.stop_shadow(home(), deployment.id, actor="ui")
        _flash(f"{label} no longer scores the traffic.")


def start_shadow(deployment: Deployment) -> None:
    served = deployments.model_version_by_id(home(), deployment.model_version_id)
    others = [v for v in list_model_versions(home(), served.model_name) if v.id != served.id]
    if not others:
        st.caption(f"{md(served.model_name)} has no other version to run in shadow yet.")
        return
    by_id = {version.id: version for version in reversed(others)}
    labels = version_labels(by_id.values())
    chosen = live_picker("Version to shadow", labels, key=state.SHADOW_VERSION)
    if st.button("Start the shadow", key=state.SHADOW_START, **guarded(Permission.SHADOW)):
        deployments.start_shadow(home(), deployment.id, int(chosen), actor="ui")
        _flash(f"{by_id[int(chosen)].label} now scores the traffic in shadow.")


# -- labels ----------------------------------------------------------------------------------


def labels_tab(deployment: Deployment) -> None:
    st.caption(LABEL_FILE_HELP)
    upload = st.file_uploader(
        "Label file", type=["csv", "tsv", "parquet", "jsonl"], key=state.LABELS_FILE
    )
    if upload is None or not st.button(
        "Apply the labels", key=state.LABELS_APPLY, **guarded(Permission.LABELS)
    ):
        return
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / Path(upload.name).name
        path.write_bytes(upload.getvalue())
        frame = read_label_file(path)
    model = load_served_model(home(), deployment.model_version_id, engine="sklearn")
    classes = None if model.task == "regression" else model.classes
    report = apply_labels(home(), deployment.id, frame, classes=classes, actor="ui")
    message = f"Applied {report.applied:,} labels"
    if report.duplicates:
        message += f" ({report.duplicates:,} duplicate lines: the last one won)"
    st.success(message + ".")
    if report.unknown:
        shown = ", ".join(report.unknown[:10])
        st.warning(md(f"{len(report.unknown):,} request ids this deployment never answered were "
                      f"skipped: {shown}"))  # fmt: skip
    if report.wrong_type:
        shown = ", ".join(report.wrong_examples)
        st.warning(md(f"{report.wrong_type:,} labels are not valid for this model and were "
                      f"skipped (e.g. {shown})."))  # fmt: skip
