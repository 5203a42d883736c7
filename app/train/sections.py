"""The sections of the Train page: the training form, live search progress and the leaderboard."""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from app import cache, state
from app.components import home, job_progress
from app.navigation import page
from app.people.permits import guarded
from app.text import md
from core import words
from core.auth import Permission
from core.jobs.runner import current_job
from core.store.datasets import DatasetVersion
from core.store.jobs import Job
from core.train import catalog
from core.train.evaluate import HIGHER_IS_BETTER, PRIMARY_METRIC
from core.train.plan import TASKS, ValidationPlan
from core.train.training import TrainRequest, preflight
from core.train.tuning import SMART_STRATEGY, STRATEGIES

LIVE_REFRESH_SECONDS = 1.5
NO_GROUP = "(none)"


def _frame(version: DatasetVersion) -> pd.DataFrame:
    return cache.frame(str(home()), version.id, version.content_hash)


def choose_target(version: DatasetVersion, suggested: str | None) -> str:
    names = [column.name for column in version.schema]
    index = names.index(suggested) if suggested in names else len(names) - 1
    return str(
        st.selectbox("Target (the column to predict)", names, index=index, key=state.TRAIN_TARGET)
    )


def choose_task(detected: str) -> str:
    task = st.selectbox(
        "Task",
        list(TASKS),
        index=TASKS.index(detected),
        format_func=words.task,
        key=f"{state.TRAIN_TASK}.{detected}",
        help="Detected from the target's values; override it if the guess is wrong.",
    )
    st.caption(f"Detected: {words.task(detected)}")
    return str(task)


OWN_RECIPE = 0


def choose_recipe(version: DatasetVersion) -> int | None:
    from core.prep.prepare import list_recipes

    recipes = {recipe.id: recipe.label for recipe in list_recipes(home())}
    own = "this version's recipe" if version.recipe_id else "default feature spec by role"
    # 0, not None, for "no recipe of its own": a None option shows in the browser as an empty
    # "Choose an option" box (see components.column_choice); recipe ids start at 1
    chosen = st.selectbox(
        "Recipe",
        [OWN_RECIPE, *recipes],
        format_func=lambda key: f"Use {own}" if key == OWN_RECIPE else str(recipes[key]),
        key=state.TRAIN_RECIPE,
        help="The recipe's feature spec becomes the head of every model pipeline.",
    )
    return None if chosen == OWN_RECIPE else int(chosen)


def choose_models(task: str) -> tuple[str, ...]:
    compare_all = st.toggle(
        "Compare all models (ranked leaderboard)", value=True, key=state.TRAIN_COMPARE_ALL
    )
    choices = [name for name in catalog.models_for(task) if name != catalog.BASELINE]
    if compare_all:
        st.caption(
            f"{len(choices)} models plus the baseline: "
            + ", ".join(words.model(name) for name in choices)
        )
        return ()
    picked = st.multiselect(
        "Models",
        choices,
        default=choices[-1:],
        format_func=words.model,
        key=f"{state.TRAIN_MODELS}.{task}",
        help="The baseline (dummy) model is always trained for reference.",
    )
    return tuple(picked)


def choose_tuning() -> tuple[str, int | None, float | None]:
    left, middle, right = st.columns(3)
    strategy = left.selectbox(
        "Tuning",
        list(STRATEGIES),
        index=0,
        format_func=lambda key: (
            words.strategy(key) + (" (recommended)" if key == SMART_STRATEGY else "")
        ),
        key=state.TRAIN_STRATEGY,
    )
    trials = middle.number_input(
        "Budget: trials per model", 1, 500, 20, key=state.TRAIN_TRIALS, disabled=strategy == "none"
    )
    seconds = right.number_input(
        "Budget: seconds per model (0 = no limit)",
        0,
        86_400,
        0,
        key=state.TRAIN_SECONDS,
        disabled=strategy == "none",
    )
    if strategy != "none":
        st.caption(budget_note(int(trials), float(seconds) or None))
    return str(strategy), int(trials), float(seconds) or None


def budget_note(trials: int, seconds: float | None) -> str:
    """What the budget promises, in the words of what will run."""
    note = f"Each model tries at most {trials} settings"
    if seconds is None:
        return note + ", however long that takes."
    return (
        note + f" and starts no setting it cannot finish, with its final fit on all training "
        f"rows, within {seconds:,.0f} s."
    )


def choose_plan(version: DatasetVersion, target: str) -> ValidationPlan:
    with st.expander("Validation plan", expanded=False):
        left, middle, right = st.columns(3)
        folds = left.number_input("Cross-validation folds", 2, 20, 5, key=state.TRAIN_FOLDS)
        holdout = middle.slider("Holdout share", 0.05, 0.5, 0.2, 0.05, key=state.TRAIN_HOLDOUT)
        seed = right.number_input("Seed", 0, 2**31 - 1, 42, key=state.TRAIN_SEED)
        others = [c.name for c in version.schema if c.name != target]
        dates = [c.name for c in version.schema if c.role == "datetime" and c.name != target]
        left, right = st.columns(2)
        group = left.selectbox(
            "Group column (group k-fold)",
            [NO_GROUP, *others],
            key=state.TRAIN_GROUP,
            help="Rows of one group (e.g. a customer) never sit on both sides of a split.",
        )
        time_column = right.selectbox(
            "Time column (time-ordered split)",
            [NO_GROUP, *dates],
            key=state.TRAIN_TIME,
            help="The latest rows are held out and folds never train on the future.",
        )
    return ValidationPlan(
        folds=int(folds),
        holdout=float(holdout),
        group_column=None if group == NO_GROUP else group,
        time_column=None if time_column == NO_GROUP else time_column,
        seed=int(seed),
    )


def missing_target_choice(version: DatasetVersion, target: str) -> bool:
    missing = int(_frame(version)[target].isna().sum())
    if not missing:
        return False
    st.warning(f"The target {md(target)} is missing in {missing:,} rows.")
    return bool(
        st.checkbox("Drop rows without a target", value=False, key=state.TRAIN_DROP_MISSING)
    )


def detected_task(version: DatasetVersion, target: str) -> str:
    from core.train.plan import detect_task

    return detect_task(_frame(version)[target])


def check(version: DatasetVersion, request: TrainRequest) -> bool:
    """Show why the request cannot run (and return False), before anything is started."""
    try:
        preflight(_frame(version), request)
    except ValueError as error:
        st.error(md(str(error)))
        return False
    return True


def start(request: TrainRequest) -> Job:
    from core.train.training import submit_training

    job = submit_training(home(), request, actor="ui")
    jobs = st.session_state.setdefault(state.TRAIN_JOB_BY_VERSION, {})
    jobs[request.version_id] = job.id
    return job


def training_job(version: DatasetVersion) -> int | None:
    """This session's training job for the version, else the newest one (after a restart)."""
    remembered = st.session_state.get(state.TRAIN_JOB_BY_VERSION, {}).get(version.id)
    if remembered:
        return int(remembered)
    job = current_job(home(), kind="train", subject=f"version:{version.id}")
    return job.id if job else None


def show_training(job_id: int) -> None:
    """Live progress with the best-so-far chart while it runs; the leaderboard when done."""
    from core.jobs import refresh_job

    job = refresh_job(home(), job_id)
    if job is not None and job.active:
        _live_search(job_id)
    job_progress(job_id, on_done=leaderboard)


@st.fragment(run_every=LIVE_REFRESH_SECONDS)
def _live_search(job_id: int) -> None:
    from core.jobs import refresh_job
    from core.train.tracking import list_trials_of_job

    job = refresh_job(home(), job_id)
    if job is None or not job.active:
        return
    trials = list_trials_of_job(home(), job_id)
    if trials:
        st.plotly_chart(best_so_far_figure(trials), key=f"train.live.{job_id}")


def best_so_far_figure(trials: list[dict[str, Any]]) -> go.Figure:
    """Every trial's CV score and the best so far, one line per model."""
    from app.train.search_charts import search_progress_figure

    metric = trials[0]["metric"]
    numbered = [{**trial, "number": index} for index, trial in enumerate(trials)]
    return search_progress_figure(
        numbered, metric=metric, higher_is_better=HIGHER_IS_BETTER[metric]
    )


def leaderboard(job: Job) -> None:
    result = job.result or {}
    metric = result.get("metric", PRIMARY_METRIC["binary"])
    label = words.metric(metric)
    rows = [
        {
            "rank": rank,
            "run": row["run_id"],
            "model": words.model(row["model"]),
            f"CV {label}": row["cv_score"],
            "± std": row["cv_std"],
            f"holdout {label}": row["holdout_score"],
            "fit seconds": row["fit_seconds"],
            "parameters": words.params(row["params"]),
        }
        for rank, row in enumerate(result.get("runs", []), start=1)
    ]
    st.success(
        f"Trained {len(rows)} model(s) for {words.task(str(result.get('task')))}, ranked by "
        f"cross-validated {label}."
    )
    score = st.column_config.NumberColumn(format="%.4f")
    st.dataframe(
        pd.DataFrame(rows),
        hide_index=True,
        key=f"train.leaderboard.{job.id}",
        placeholder="-",
        column_config={
            f"CV {label}": score,
            "± std": score,
            f"holdout {label}": score,
            "fit seconds": st.column_config.NumberColumn(format="%.2f"),
        },
    )
    for failure in result.get("failed", []):
        st.warning(f"{md(words.model(failure['model']))} failed: {md(failure['error'])}")
    if rows:
        register_best(result["best_run_id"], job.id)


def register_best(run_id: int, job_id: int) -> None:
    from core.train.registry import register_run

    left, right = st.columns([3, 1], vertical_alignment="bottom")
    name = left.text_input(
        f"Register the best run (#{run_id}) as model",
        value="",
        placeholder="e.g. credit-risk",
        key=state.TRAIN_REGISTER_NAME,
    )
    if right.button(
        "Register",
        key=state.TRAIN_REGISTER,
        **guarded(Permission.REGISTER, disabled=not name.strip()),
    ):
        try:
            version = register_run(home(), run_id, name=name, actor="ui")
        except (ValueError, RuntimeError) as error:
            st.error(md(str(error)))
            return
        st.success(f"Registered {md(version.label)} from run {run_id}.")
    st.page_link(page("experiments"), label="Open Experiments to compare every run")
