"""The sections of the Deploy page: start a service, follow it, score files, read its log."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from app import cache, components, state
from app.components import (
    home,
    job_progress,
    live_picker,
    records_table,
    uploaded_bytes,
    version_labels,
)
from app.deploy.hardening import hardening, new_settings
from app.navigation import page
from app.people.permits import guarded
from app.text import md
from core import words
from core.auth import Permission
from core.demo import sample_key
from core.serving import deployments
from core.store.deployments import Deployment, ServingSettings
from core.store.jobs import Job
from core.store.models import ModelVersion

LIVE_REFRESH_SECONDS = 3.0
STARTUP_REFRESH_SECONDS = 0.5
LOG_REFRESH_SECONDS = 5.0
LOG_LINES = 200
PREDICTION_ROWS = 50
PREVIEW_ROWS = 20
MAX_WORKERS = 4
STARTING = ("starting", "restarting")
BATCH_TYPES = ["csv", "tsv", "txt", "parquet", "jsonl", "ndjson", "gz"]

KEY_ONCE = (
    "Copy the API key of deployment {id} now: it is stored hashed and never shown again. "
    "Clients send it as `Authorization: Bearer KEY` or `X-API-Key: KEY`. This browser session "
    "keeps it only to fill in the playground."
)
NOT_APPROVED = (
    "{label} is {state}: only an approved version is deployed. Approve it on the Review page, or "
    "write why it should go live anyway (the reason is recorded in the audit log)."
)
TOO_BIG = (
    "That file is {size:.0f} MB, over the {cap} MB cap. Raise the cap with "
    "MLOPS_STUDIO_MAX_IMPORT_MB or score a smaller file."
)


def show_error(error: Exception) -> None:
    st.error(md(str(error)))


def version_ref(version: ModelVersion) -> str:
    return f"{version.model_name}@{version.version}"


def key_label(deployment: Deployment) -> str:
    return "revoked" if deployment.key_revoked_at else f"…{deployment.key_hint}"


# -- on start --------------------------------------------------------------------------------


def reattach_once() -> None:
    """Restart the supervisor of any service that should run but does not (after a reboot, say);
    once per browser session, when the page first opens."""
    if not st.session_state.get(state.DEPLOY_REATTACHED):
        deployments.reattach(home())
        st.session_state[state.DEPLOY_REATTACHED] = True


def registered_versions() -> dict[int, ModelVersion]:
    from core.train.registry import list_model_versions

    return {version.id: version for version in list_model_versions(home())}


def no_versions() -> None:
    st.info(
        "No registered model versions yet: register a run on the Train or Experiments page, "
        "review it, then deploy it here."
    )
    st.page_link(page("experiments"), label="Go to Experiments")


def flash() -> None:
    if message := st.session_state.pop(state.DEPLOY_FLASH, None):
        st.success(md(message))


# -- a new deployment ------------------------------------------------------------------------


def override_reason(version: ModelVersion, *, key: str) -> str | None:
    """For a version not approved in review, a warning and the reason to override it."""
    if version.review_state == "approved":
        return None
    review_state = words.review_state(version.review_state)
    st.warning(NOT_APPROVED.format(label=md(version.label), state=md(review_state)))
    return st.text_input("Override reason", key=key)


def new_deployment(versions: dict[int, ModelVersion], *, expanded: bool) -> None:
    with st.expander("New deployment", expanded=expanded):
        ids = list(versions)
        champion = next((key for key in ids if "champion" in versions[key].aliases), ids[0])
        labels = version_labels(versions.values())
        chosen = live_picker("Model version", labels, key=state.DEPLOY_VERSION, default=champion)
        version = versions[chosen]
        reason = override_reason(version, key=state.DEPLOY_OVERRIDE)
        left, right = st.columns(2)
        port = left.number_input(
            "Port",
            min_value=1024,
            max_value=65535,
            value=None,
            step=1,
            placeholder="empty = any free port",
            key=state.DEPLOY_PORT,
        )
        workers = right.number_input(
            "Worker processes", 1, MAX_WORKERS, 1, step=1, key=state.DEPLOY_WORKERS
        )
        settings = new_settings()
        st.caption("The service listens on 127.0.0.1 and needs its API key for every request.")
        if st.button(
            "Deploy",
            type="primary",
            key=state.DEPLOY_BUTTON,
            **guarded(Permission.DEPLOY, disabled=settings is None),
        ):
            _deploy(version, port, int(workers), reason, settings)


def _deploy(
    version: ModelVersion,
    port: Any,
    workers: int,
    reason: str | None,
    settings: ServingSettings | None = None,
) -> None:
    try:
        deployment, api_key = deployments.deploy(
            home(),
            version_ref(version),
            port=None if port is None else int(port),
            workers=workers,
            actor="ui",
            override_reason=reason or None,
            wait=False,
            settings=settings,
        )
    except ValueError as error:
        show_error(error)
        return
    remember_key(deployment.id, api_key, why="deploy")
    st.session_state[state.DEPLOY_STARTING] = deployment.id
    st.session_state[state.DEPLOY_PICKED] = deployment.id


def remember_key(deployment_id: int, api_key: str, *, why: str) -> None:
    """Keep a new key for this browser session (the playground) and show it once."""
    st.session_state.setdefault(state.DEPLOY_KEYS, {})[deployment_id] = api_key
    st.session_state[state.DEPLOY_SHOWN_KEY] = {"id": deployment_id, "key": api_key, "why": why}
    st.session_state.pop(state.DEPLOY_API_KEY.format(deployment_id=deployment_id), None)


def forget_key(deployment_id: int) -> None:
    st.session_state.get(state.DEPLOY_KEYS, {}).pop(deployment_id, None)
    st.session_state.pop(state.DEPLOY_API_KEY.format(deployment_id=deployment_id), None)
    shown = st.session_state.get(state.DEPLOY_SHOWN_KEY)
    if shown and shown["id"] == deployment_id:
        st.session_state.pop(state.DEPLOY_SHOWN_KEY)


def key_notice(*, why: str, deployment_id: int | None = None) -> None:
    shown = st.session_state.get(state.DEPLOY_SHOWN_KEY)
    if not shown or shown["why"] != why:
        return
    if deployment_id is not None and shown["id"] != deployment_id:
        return
    with st.container(border=True):
        st.warning(KEY_ONCE.format(id=shown["id"]))
        st.code(shown["key"], language=None)
        if st.button("I have copied it: hide the key", key=state.DEPLOY_HIDE_KEY):
            st.session_state.pop(state.DEPLOY_SHOWN_KEY, None)
            st.rerun()


def startup_progress() -> None:
    """Follow the deployment this session started until it runs or fails, without blocking."""
    deployment_id = st.session_state.get(state.DEPLOY_STARTING)
    if deployment_id is None:
        return
    try:
        deployment = deployments.get_deployment(home(), deployment_id)
    except ValueError:
        st.session_state.pop(state.DEPLOY_STARTING)
        return
    if deployment.status in STARTING:
        _live_startup(deployment_id)
        return
    st.session_state.pop(state.DEPLOY_STARTING)
    if deployment.status == "running":
        st.success(f"{md(deployment.model_label)} is live at {md(deployment.url)}.")
        return
    st.error(f"{md(deployment.model_label)} did not start: {md(deployment.last_error or '')}")
    tail = deployments.service_log(home(), deployment, lines=20)
    st.code(tail or "(the service log is empty)", language=None)


@st.fragment(run_every=STARTUP_REFRESH_SECONDS)
def _live_startup(deployment_id: int) -> None:
    deployment = deployments.get_deployment(home(), deployment_id)
    if deployment.status not in STARTING:
        st.rerun(scope="app")
        return
    fraction, message = startup_stage(deployment, deployments.health(deployment))
    st.progress(fraction, text=md(message))


def startup_stage(deployment: Deployment, answer: dict[str, Any] | None) -> tuple[float, str]:
    """How far a starting service has come, as a fraction and a message."""
    if deployment.status == "restarting":
        return 0.3, f"Restarting the service (restart {deployment.restarts})"
    if deployment.supervisor_pid is None:
        return 0.1, "Starting the supervisor"
    if deployment.server_pid is None:
        return 0.25, "Starting the service process"
    if answer is None:
        return 0.5, f"Starting {deployment.workers} worker process(es)"
    if answer.get("status") != "ok":
        return 0.75, f"Loading {deployment.model_label}"
    return 0.95, "Answering: almost ready"


# -- the deployments -------------------------------------------------------------------------


@st.fragment(run_every=LIVE_REFRESH_SECONDS)
def deployments_table() -> None:
    found = deployments.list_deployments(home())
    records_table(listing_frame(found), key=state.DEPLOY_TABLE)


def listing_frame(found: list[Deployment]) -> pd.DataFrame:
    rows = [
        {
            "id": deployment.id,
            "model version": deployment.model_label,
            "URL": deployment.url,
            "status": deployment.status,
            "answering": "yes" if deployments.health(deployment) else "no",
            "restarts": deployment.restarts,
            "key": key_label(deployment),
            "started": words.when(deployment.started_at, seconds=True),
        }
        for deployment in reversed(found)
    ]
    return pd.DataFrame(rows)


def deployment_picker(found: list[Deployment]) -> Deployment:
    return components.deployment_picker(found, key=state.DEPLOY_PICKED)


@st.fragment(run_every=LIVE_REFRESH_SECONDS)
def live_status(deployment_id: int, shown_status: str) -> None:
    """Status and health, live; a change of status redraws the page so the buttons follow."""
    deployment = deployments.get_deployment(home(), deployment_id)
    if deployment.status != shown_status:
        st.rerun(scope="app")
        return
    answer = deployments.health(deployment)
    served = (answer or {}).get("model_version") or deployment.model_label
    # the served model's name is text of any length: a line that wraps, not a metric that cuts
    st.markdown(f"**Serving** {md(served)}")
    status, restarts, key = st.columns(3)
    status.metric("Status", deployment.status)
    restarts.metric("Restarts", deployment.restarts)
    key.metric("API key", key_label(deployment))
    engine = f" · engine {answer['engine']}" if answer and answer.get("engine") else ""
    started = words.when(deployment.started_at, seconds=True)
    st.caption(
        f"{md(deployment.url)} · {deployment.workers} worker(s){md(engine)} · "
        f"answering: {'yes' if answer else 'no'} · started {md(started)}"
    )
    if deployment.last_error and deployment.status != "running":
        st.error(md(deployment.last_error))
    elif deployment.active and answer is None:
        st.warning("The service does not answer /health right now; see its log below.")


def actions(deployment: Deployment, versions: dict[int, ModelVersion]) -> None:
    """Stop, restart, roll back, switch version, rotate or revoke the key."""
    previous = versions.get(deployment.previous_version_id or -1)
    stop, restart, roll_back = st.columns(3)
    if stop.button(
        "Stop", key=state.DEPLOY_STOP, **guarded(Permission.DEPLOY, disabled=not deployment.active)
    ):
        _act(
            lambda: deployments.undeploy(home(), deployment.id, actor="ui"),
            busy="Stopping (buffered predictions are written first)…",
            done=f"Stopped deployment {deployment.id}.",
        )
    if restart.button(
        "Restart" if deployment.active else "Start again",
        key=state.DEPLOY_RESTART,
        **guarded(Permission.DEPLOY),
    ):
        _act(
            lambda: deployments.restart(home(), deployment.id, actor="ui"),
            busy=f"Starting {deployment.model_label}…",
            done=f"Deployment {deployment.id} is running again.",
        )
    if roll_back.button(
        f"Roll back to {previous.label}" if previous else "Roll back",
        key=state.DEPLOY_ROLLBACK,
        **guarded(
            Permission.ROLL_BACK,
            disabled=previous is None,
            help=None if previous else "It has served only this version: nothing to roll back to.",
        ),
    ):
        _act(
            lambda: deployments.roll_back(home(), deployment.id, actor="ui"),
            busy="Switching back…",
            done=f"Rolled back to {previous.label if previous else 'the previous version'}.",
        )
    switch(deployment, versions)
    keys(deployment)
    hardening(deployment)


def switch(deployment: Deployment, versions: dict[int, ModelVersion]) -> None:
    others = [key for key in versions if key != deployment.model_version_id]
    with st.expander("Switch to another version (hot swap: no request fails)"):
        if not others:
            st.caption("There is no other registered version to switch to.")
            return
        labels = version_labels(versions[key] for key in others)
        chosen = live_picker("Version", labels, key=state.DEPLOY_SWITCH_VERSION)
        version = versions[chosen]
        reason = override_reason(version, key=state.DEPLOY_SWITCH_REASON)
        if st.button(
            f"Switch to {version.label}",
            key=state.DEPLOY_SWITCH,
            **guarded(Permission.SWITCH),
        ):
            ref = version_ref(version)
            _act(
                lambda: deployments.switch_version(
                    home(), deployment.id, ref, actor="ui", override_reason=reason or None
                ),
                busy=f"Loading {version.label} beside {deployment.model_label}…",
                done=f"Deployment {deployment.id} now serves {version.label}.",
            )


def keys(deployment: Deployment) -> None:
    with st.expander("API key", expanded=_showing_key(deployment.id)):
        st.caption(
            f"Current key: {md(key_label(deployment))}. Rotating issues a new key (shown once); "
            "the old one stops working within a second."
        )
        if sample := sample_key(home(), deployment):
            st.caption("The sample project's key, kept for the sample deployment alone:")
            st.code(sample, language=None)
        if st.button("Rotate the key", key=state.DEPLOY_ROTATE, **guarded(Permission.KEYS)):
            try:
                api_key = deployments.rotate_key(home(), deployment.id, actor="ui")
            except ValueError as error:
                show_error(error)
            else:
                remember_key(deployment.id, api_key, why="rotate")
                st.rerun()
        key_notice(why="rotate", deployment_id=deployment.id)
        confirmed = st.checkbox(
            "Every client using this key gets 401 until the key is rotated",
            key=state.DEPLOY_REVOKE_CONFIRM,
        )
        revoked = deployment.key_revoked_at is not None
        if st.button(
            "Revoke the key",
            key=state.DEPLOY_REVOKE,
            **guarded(Permission.KEYS, disabled=revoked or not confirmed),
        ):
            forget_key(deployment.id)
            _act(
                lambda: deployments.revoke_key(home(), deployment.id, actor="ui"),
                busy="Revoking…",
                done=f"Revoked the key of deployment {deployment.id}.",
            )


def _showing_key(deployment_id: int) -> bool:
    shown = st.session_state.get(state.DEPLOY_SHOWN_KEY)
    return bool(shown and shown["why"] == "rotate" and shown["id"] == deployment_id)


def _act(action: Callable[[], object], *, busy: str, done: str) -> None:
    try:
        with st.spinner(busy):
            action()
    except ValueError as error:
        show_error(error)
        return
    st.session_state[state.DEPLOY_FLASH] = done
    st.rerun()


# -- batch scoring ---------------------------------------------------------------------------


def batch_scoring(deployment: Deployment, version: ModelVersion) -> None:
    st.caption(
        f"Score every row of a file with {md(version.label)}, the version this deployment "
        "serves. It runs as a background job: switching pages does not stop it."
    )
    uploaded = st.file_uploader(
        "A CSV or Parquet file with the model's input columns",
        type=BATCH_TYPES,
        key=state.DEPLOY_BATCH_FILE,
    )
    if st.button(
        "Score the file",
        type="primary",
        key=state.DEPLOY_BATCH_BUTTON,
        **guarded(Permission.DEPLOY),
    ):
        _submit_batch(deployment, version, uploaded)
    if job_id := st.session_state.get(state.DEPLOY_BATCH_JOBS, {}).get(deployment.id):
        job_progress(job_id, on_done=scored_file)


def _submit_batch(deployment: Deployment, version: ModelVersion, uploaded: Any) -> None:
    from core.data.imports import save_upload
    from core.jobs import submit_job

    data = uploaded_bytes(uploaded, too_big=TOO_BIG)
    if data is None:
        return
    params = {
        "upload": save_upload(home(), data=data, file_name=uploaded.name),
        "file_name": uploaded.name,
        "model_version": version_ref(version),
        "actor": "ui",
    }
    # no dedupe key: each click is one job, and a rerun never clicks again
    job = submit_job(
        home(), kind="batch_score", params=params, subject=f"deployment:{deployment.id}", actor="ui"
    )
    st.session_state.setdefault(state.DEPLOY_BATCH_JOBS, {})[deployment.id] = job.id


def scored_file(job: Job) -> None:
    result = job.result or {}
    try:
        frame = cache.batch_output(str(home()), result["output"])
    except (KeyError, OSError):
        st.warning("The scored file is no longer in the studio home: score the file again.")
        return
    st.success(
        f"Scored {result['rows']:,} rows of {md(result['file_name'])} with "
        f"{md(result['model_version'])}."
    )
    for note in result.get("notes", []):
        st.info(md(note))
    records_table(as_text(frame.head(PREVIEW_ROWS)), key="deploy.scored")
    stem = "".join(c if c.isalnum() or c in "-_" else "-" for c in Path(result["file_name"]).stem)
    left, right = st.columns(2)
    left.download_button(
        "Download CSV",
        cache.batch_csv(str(home()), result["output"]),
        file_name=f"{stem}-scored.csv",
        mime="text/csv",
        key=state.DEPLOY_BATCH_CSV,
    )
    right.download_button(
        "Download Parquet",
        cache.batch_parquet(str(home()), result["output"]),
        file_name=f"{stem}-scored.parquet",
        mime="application/vnd.apache.parquet",
        key=state.DEPLOY_BATCH_PARQUET,
    )


# -- log -------------------------------------------------------------------------------------


@st.fragment(run_every=LOG_REFRESH_SECONDS)
def service_log(deployment_id: int) -> None:
    deployment = deployments.get_deployment(home(), deployment_id)
    if deployment.foreground:
        st.caption("This service runs in a terminal (`mlops-studio serve`): its log is there.")
    else:
        text = deployments.service_log(home(), deployment, lines=LOG_LINES)
        st.code(text or "(the service log is empty)", language=None, height=320)
    st.markdown("**Recent predictions**")
    rows = deployments.recent_predictions(home(), deployment_id, limit=PREDICTION_ROWS)
    if not rows:
        st.caption("No predictions logged yet.")
        return
    frame = predictions_frame(rows)
    records_table(frame, key=state.DEPLOY_PREDICTIONS)


def predictions_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    missing = pd.Series([None] * len(frame), index=frame.index, dtype=object)
    return pd.DataFrame(
        {
            "time (UTC)": pd.to_datetime(frame["created_at"], unit="s").dt.floor("ms"),
            "request id": frame["request_id"],
            "row": frame["row"],
            "prediction": frame.get("prediction", missing).map(_shown),
            "latency ms": frame["latency_ms"].round(1),
            "status": frame["status"],
            "label": frame.get("label", missing).map(_shown),
        }
    )


def as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Yes/no columns as their values' text: st.dataframe draws a bool column as checkboxes,
    and a prediction is a class, not a setting to tick."""
    flags = [column for column in frame.columns if pd.api.types.is_bool_dtype(frame[column])]
    return frame.astype(dict.fromkeys(flags, str)) if flags else frame


def _shown(value: Any) -> str:
    """A logged prediction or label as text; empty where there is none."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    return str(value)
