"""Shared UI pieces: the sidebar, the dataset and live-label pickers, and live job progress."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import streamlit as st

from app import state
from app.navigation import page
from app.people.permits import guarded
from app.text import md
from core import settings
from core.auth.jobs import job_permission
from core.data.datasets import dataset_versions, list_datasets
from core.demo import TRAFFIC_KIND, live_traffic_left
from core.jobs import cancel_job, refresh_job
from core.jobs.kinds import job_title
from core.jobs.pool import job_state, slots_problem
from core.jobs.runner import list_recent_jobs
from core.monitor import alerts
from core.store.datasets import DatasetVersion
from core.store.deployments import Deployment
from core.store.jobs import Job
from core.store.models import ModelVersion

if TYPE_CHECKING:
    import pandas as pd

JOB_REFRESH_SECONDS = 1.0
SIDEBAR_ALERTS = 3
SIDEBAR_JOBS = 5
# How often the sidebar re-reads what runs: often while a job runs; now and then otherwise, to
# show work started elsewhere (a retrain the scheduler began) and the sample traffic's minutes.
WORK_REFRESH_SECONDS = 3.0
IDLE_REFRESH_SECONDS = 30.0
WORK_READ = "sidebar.work_read"


NO_FILE = "Choose a file first: drag it onto the box above or click Browse files."


def uploaded_bytes(uploaded: Any, *, too_big: str) -> bytes | None:
    """The bytes of an uploaded file within the import cap, or None once the page has said
    why not: no file chosen yet, or ``too_big`` (formatted with the size and cap in MB)."""
    if uploaded is None:
        st.warning(NO_FILE)
        return None
    data = uploaded.getvalue()
    cap = settings.max_import_mb()
    if len(data) > cap * 1024 * 1024:
        st.error(too_big.format(size=len(data) / 1024 / 1024, cap=cap))
        return None
    return data


def home() -> Path:
    """The studio home, with this tab's signed-in person acting (every core call gets it)."""
    from app.people.signin import act_as_signed_in

    act_as_signed_in()
    return settings.studio_home()


def sidebar(current: str | None = None) -> None:
    """The Tour, open alerts, any running jobs and the studio home, on every page."""
    from app.tour import tour

    with st.sidebar:
        tour(current)
        open_alerts()
        running_work()
        st.caption("Studio home")
        # text, not st.code: a code block makes the browser load a 1.5 MB syntax highlighter
        # before it draws the first page's widgets
        st.text(str(home()))


def running_work() -> None:
    """The jobs running and waiting in the queue, and the sample traffic, kept live while the
    page stays open."""
    jobs, traffic = _work_now()
    pace = _refresh_seconds(jobs)
    # the fragment's first draw, inside this run, uses what was just read rather than reading
    # the store again; its own reruns read afresh
    st.session_state[WORK_READ] = (jobs, traffic)
    st.fragment(_running_work, run_every=pace)(pace)


def _work_now() -> tuple[list[Job], list[Job]]:
    """The running jobs, and apart from them the sample traffic (background activity the
    sample project started, not work anyone waits for)."""
    running = list_recent_jobs(home())
    traffic = [job for job in running if job.kind == TRAFFIC_KIND]
    return [job for job in running if job.kind != TRAFFIC_KIND], traffic


def _refresh_seconds(jobs: list[Job]) -> float:
    return WORK_REFRESH_SECONDS if jobs else IDLE_REFRESH_SECONDS


def _running_work(pace: float) -> None:
    jobs, traffic = st.session_state.pop(WORK_READ, None) or _work_now()
    if _refresh_seconds(jobs) != pace:
        # the last job ended or one began elsewhere: the page may show its outcome too, and
        # the sidebar takes the pace that fits
        st.rerun(scope="app")
    if problem := slots_problem():
        st.error(f"{md(problem)} Until then no queued job starts.")
    if jobs:
        st.caption(work_count(jobs))
        running = [job for job in jobs if job.status != "queued"]
        queued = sorted((job for job in jobs if job.status == "queued"), key=_place)
        for job in (running + queued)[:SIDEBAR_JOBS]:
            st.progress(job.progress, text=md(f"{job_title(job.kind)}: {job_state(job)}"))
    for job in traffic:
        st.caption(f"Sample traffic: {time_left(live_traffic_left(job))}")


def work_count(jobs: list[Job]) -> str:
    """'2 jobs running', '1 job running, 3 waiting' or '2 jobs waiting'."""
    waiting = sum(job.status == "queued" for job in jobs)
    running = len(jobs) - waiting
    if not running:
        return f"{waiting} job{'' if waiting == 1 else 's'} waiting"
    said = f"{running} job{'' if running == 1 else 's'} running"
    return f"{said}, {waiting} waiting" if waiting else said


def _place(job: Job) -> int:
    return job.queue_place or 0


def time_left(seconds: float) -> str:
    """'14 min left', or 'less than a minute left'."""
    if seconds < 60:
        return "less than a minute left"
    return f"{math.ceil(seconds / 60)} min left"


def open_alerts() -> None:
    """How many alerts are open, the newest few, and the way to the Monitor page."""
    found = alerts.open_alerts(home())
    if not found:
        return
    st.caption(f"{len(found)} open alert(s)")
    for alert in found[:SIDEBAR_ALERTS]:
        show = st.error if alert.severity == "critical" else st.warning
        show(f"Deployment {alert.deployment_id}: {md(alert.message)}")
    st.page_link(page("monitor"), label="See them on Monitor", icon=":material/monitoring:")


def select_version(version: dict[str, int]) -> None:
    """Ask the picker to show this version on the next run (e.g. one just imported)."""
    st.session_state[state.REQUESTED_VERSION] = version


def follow_prepared(version: dict[str, int]) -> None:
    """The next page that picks a dataset opens on this version, just made by Prepare (Prepare
    itself stays on the version it cleaned, so a second Apply does not clean twice)."""
    st.session_state[state.PREPARED_VERSION] = version


def dataset_picker(*, follow: bool = True) -> DatasetVersion | None:
    """Pick a dataset and one of its versions; remembers the choice across pages. ``follow``:
    open on a version Prepare has just made."""
    summaries = list_datasets(home())
    if not summaries:
        return None
    by_id = {summary.id: summary for summary in summaries}
    if follow and (prepared := st.session_state.pop(state.PREPARED_VERSION, None)):
        st.session_state[state.REQUESTED_VERSION] = prepared
    if requested := st.session_state.pop(state.REQUESTED_VERSION, None):
        # the pickers start again from the remembered version: setting their values as well
        # as their positions made Streamlit warn on every import
        st.session_state.pop(state.DATASET_PICKER, None)
        st.session_state.pop(f"{state.VERSION_PICKER}.{requested['dataset_id']}", None)
        st.session_state[state.DATASET_VERSION_ID] = requested["id"]
    remembered = st.session_state.get(state.DATASET_VERSION_ID)
    chosen_dataset = summaries[0].id
    if remembered is not None:  # a fresh tab remembers nothing: no need to read every version
        chosen_dataset = next(
            (s.id for s in summaries if remembered in _version_ids(s.id)), chosen_dataset
        )
    columns = st.columns([3, 1])
    dataset_id = columns[0].selectbox(
        "Dataset",
        options=list(by_id),
        index=list(by_id).index(chosen_dataset),
        format_func=lambda key: by_id[key].name,
        key=state.DATASET_PICKER,
    )
    versions = dataset_versions(home(), dataset_id)
    ids = [version.id for version in versions]
    version_key = f"{state.VERSION_PICKER}.{dataset_id}"
    default = ids.index(remembered) if remembered in ids else len(ids) - 1
    version_id = columns[1].selectbox(
        "Version",
        options=ids,
        index=default,
        format_func=lambda key: f"v{versions[ids.index(key)].version}",
        key=version_key,
    )
    st.session_state[state.DATASET_VERSION_ID] = version_id
    return versions[ids.index(version_id)]


def live_picker(
    label: str, options: dict[Any, str], *, key: str, default: Any = None, help: str | None = None
) -> Any:
    """A selectbox over ``options`` (value: label) whose labels carry state that changes (a
    review state, a verdict, an alias). The browser keeps the label it was sent as the choice,
    so when the chosen option's label changes the choice is sent again with its new label;
    otherwise the picker would go on showing the old state."""
    sent_key = f"{key}.sent"
    chosen = st.session_state.get(key)
    sent = st.session_state.get(sent_key, {})
    if chosen in options and sent.get(chosen, options[chosen]) != options[chosen]:
        st.session_state[key] = chosen
    st.session_state[sent_key] = dict(options)
    values = list(options)
    first_draw = key not in st.session_state
    index = values.index(default) if first_draw and default in options else 0
    return st.selectbox(
        label, values, index=index, format_func=options.__getitem__, key=key, help=help
    )


def version_labels(versions: Iterable[ModelVersion]) -> dict[int, str]:
    """Model versions as every picker shows them: aliases, review state and the gates'
    verdict (the one verdict, read from the versions' saved reviews)."""
    from core.review.record import NOT_REVIEWED, verdicts

    found = verdicts(home())
    return {
        version.id: (
            f"{version.label}"
            + (f" [{', '.join(version.aliases)}]" if version.aliases else "")
            + f" — {version.review_state}, {found.get(version.id, NOT_REVIEWED).summary}"
        )
        for version in versions
    }


def _version_ids(dataset_id: int) -> list[int]:
    return [version.id for version in dataset_versions(home(), dataset_id)]


NO_COLUMN = ""  # import names every column, so no column is called this


def column_choice(
    label: str,
    names: list[str],
    chosen: str | None,
    *,
    none_label: str,
    key: str,
    help: str | None = None,
) -> str | None:
    """Pick one of ``names`` or none. The none option is a value of its own: Streamlit sends
    a None option to the browser as "nothing chosen", which shows an empty "Choose an
    option" box as if a required field were left blank."""
    options = [NO_COLUMN, *names]
    picked = st.selectbox(
        label,
        options,
        index=options.index(chosen) if chosen in names else 0,
        format_func=lambda name: none_label if name == NO_COLUMN else name,
        key=key,
        help=help,
    )
    return None if picked == NO_COLUMN else str(picked)


TARGET_NAMES = ("target", "label", "default", "churn", "y", "class", "price", "outcome")


def suggest_target(version: DatasetVersion) -> str | None:
    """The target chosen on Explore for this version or the one it was prepared from, else
    the target of the recipe that prepared it, a column with the target role or a
    target-like name."""
    chosen = st.session_state.get(state.TARGET_BY_VERSION, {})
    names = [column.name for column in version.schema]
    for candidate in (
        chosen.get(version.id),
        chosen.get(version.parent_version_id),
        _recipe_target(version),
    ):
        if candidate in names:
            return str(candidate)
    return next(
        (c.name for c in version.schema if c.role == "target"),
        next((name for name in names if name.lower() in TARGET_NAMES), None),
    )


def _recipe_target(version: DatasetVersion) -> str | None:
    if version.recipe_id is None:
        return None
    from core.prep.prepare import stored_recipe

    return stored_recipe(home(), version.recipe_id).target


def job_progress(job_id: int, *, on_done: Callable[[Job], object]) -> None:
    """Show a job's progress live; when it ends, show its outcome through ``on_done``."""
    job = refresh_job(home(), job_id)
    if job is None:
        return
    if job.active:
        _live_progress(job_id)
    elif job.status == "done":
        on_done(job)
    elif job.status == "failed":
        st.error(md(job.error or "The job failed."))
    else:
        st.info("The job was cancelled.")


@st.fragment(run_every=JOB_REFRESH_SECONDS)
def _live_progress(job_id: int) -> None:
    job = refresh_job(home(), job_id)
    if job is None or not job.active:
        st.rerun(scope="app")
        return
    label = md(job_state(job))  # a waiting job shows its place in the queue
    st.progress(
        job.progress, text=label if job.status == "queued" else f"{label} ({job.progress:.0%})"
    )
    if st.button(
        "Cancel",
        key=state.JOB_CANCEL.format(job_id=job_id),
        **guarded(job_permission(job.kind), disabled=job.cancel_requested),
    ):
        cancel_job(home(), job_id, actor="ui")
        st.rerun(scope="app")


def tab_panel(draws: dict[str, Callable[[], None]], *, key: str) -> None:
    """Tabs that draw only the chosen one: the others cost nothing until a person opens them,
    and the choice survives reruns (a finished job no longer jumps back to the first tab)."""
    tabs = st.tabs(list(draws), key=key, on_change="rerun")
    for tab, draw in zip(tabs, draws.values(), strict=True):
        if tab.open:
            with tab:
                draw()


def fold(label: str, draw: Callable[[], None], *, key: str) -> None:
    """A collapsed expander whose content is drawn only once a person opens it."""
    area = st.expander(label, key=key, on_change="rerun")
    if area.open:
        with area:
            draw()


# A tab's first run draws the page's title and controls, and leaves its charts and grids to a
# run the browser asks for once it has drawn them: their JavaScript (plotly.js alone is 4.7 MB)
# would otherwise be fetched and parsed together with the controls' and hold the first widget
# back for seconds on a loaded machine (tests/bench/bench_first_open.py).
PAINTED = "page.painted"
WAITING = "page.waiting"
FOLLOW = "page.follow"
FOLLOW_SECONDS = 0.1  # the browser's timer: it fires once the first paint's work is done


def after_first_paint(draw: Callable[[], None]) -> None:
    """Draw ``draw`` now, or on a tab's first run keep its place and draw it in the next run."""
    if st.session_state.get(PAINTED):
        draw()
        return
    st.session_state[WAITING] = True
    st.empty()


def draw_what_waited() -> None:
    """At the end of a tab's first run: have the browser, once it has drawn this run, ask for
    the run that draws what waited."""
    if st.session_state.get(PAINTED):
        return
    st.session_state[PAINTED] = True
    if st.session_state.pop(WAITING, False):
        st.session_state[FOLLOW] = "drawn"
        st.fragment(_follow, run_every=FOLLOW_SECONDS)()


def _follow() -> None:
    """Inside the first run: nothing to draw. On the browser's first tick: the whole page."""
    step = st.session_state.pop(FOLLOW, None)
    if step == "drawn":
        st.session_state[FOLLOW] = "due"
    elif step == "due":
        st.rerun(scope="app")  # this full run registers no timer, so the browser's stops


METRICS_PER_ROW = 4  # at 1400 px with the sidebar open, a fifth cut values short ("12.3 m…")


def metric_rows(figures: list[tuple[str, str]]) -> None:
    """Key figures as st.metric cells, at most METRICS_PER_ROW to a row: a metric's value
    never wraps, so too many side by side hid their units and names."""
    for start in range(0, len(figures), METRICS_PER_ROW):
        row = figures[start : start + METRICS_PER_ROW]
        for cell, (name, value) in zip(st.columns(METRICS_PER_ROW), row, strict=False):
            cell.metric(name, value)


def records_table(
    rows: pd.DataFrame | list[dict[str, Any]], *, key: str | None = None, **options: Any
) -> None:
    """A read-only table the studio's way: no index, full width, "-" where a value is missing
    (``options`` as st.dataframe takes them)."""
    import pandas as pd  # not at import: the entrypoint's first paint needs no data library

    shown = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(rows)
    st.dataframe(shown, hide_index=True, width="stretch", placeholder="-", key=key, **options)


def deployment_picker(
    found: list[Deployment], *, key: str, follow: str | None = None
) -> Deployment:
    """Pick one of ``found``, newest first. Until one is picked under ``key``: the one picked
    under ``follow`` (another page's choice), else the newest running, else the newest."""
    by_id = {deployment.id: deployment for deployment in reversed(found)}
    if st.session_state.get(key) not in by_id:
        active = [number for number, deployment in by_id.items() if deployment.active]
        picked = st.session_state.get(follow) if follow else None
        st.session_state[key] = picked if picked in by_id else (active or list(by_id))[0]
    chosen = st.selectbox(
        "Deployment",
        list(by_id),
        # the widget keeps its choice as label text: a label that changed with the status or the
        # version would lose the choice
        format_func=lambda number: f"#{number} at {by_id[number].url}",
        key=key,
    )
    return by_id[chosen]
