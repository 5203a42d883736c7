"""The sections of the Prepare page: steps with their effect, the feature spec, save and apply."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import streamlit as st

from app import cache, state
from app.cache import VersionKey
from app.components import follow_prepared, home, job_progress, select_version
from app.navigation import page
from app.people.permits import guarded
from app.text import md
from core.auth import Permission
from core.jobs import submit_job
from core.prep.recipe import CleaningResult, Recipe, RecipeError
from core.store.datasets import DatasetVersion
from core.store.jobs import Job

ROLE_DEFAULT_NUMERIC = ("numeric",)


def _working() -> dict[int, Any]:
    """The recipe being built for each dataset, by dataset id: switching datasets never
    carries one dataset's steps and columns over to another."""
    return st.session_state.setdefault(state.WORKING_RECIPE, {})


_KEPT_ACROSS_DATASETS = {
    state.WORKING_RECIPE,
    state.PREPARE_DATASET,
    state.PREPARE_JOB_ID,
    state.FOLLOWED_JOB,
}


def working_recipe(dataset_id: int) -> Recipe:
    """The recipe being built for ``dataset_id``; on a switch of dataset every Prepare widget
    starts again from that dataset's recipe, not from what was entered for the last one."""
    if st.session_state.get(state.PREPARE_DATASET) != dataset_id:
        for key in [k for k in st.session_state if str(k).startswith("prepare.")]:
            if key not in _KEPT_ACROSS_DATASETS:
                del st.session_state[key]
    st.session_state[state.PREPARE_DATASET] = dataset_id
    data = _working().get(dataset_id)
    return Recipe.from_json(data) if data else Recipe(name="my recipe")


def keep(recipe: Recipe) -> None:
    """Keep ``recipe`` as the working recipe of the dataset on screen."""
    _working()[st.session_state[state.PREPARE_DATASET]] = recipe.to_json()


def forget() -> None:
    _working().pop(st.session_state[state.PREPARE_DATASET], None)


def steps_key(steps: list[dict[str, Any]] | tuple[dict[str, Any], ...]) -> str:
    return json.dumps(list(steps), sort_keys=True)


def preview(key: VersionKey, recipe: Recipe) -> CleaningResult | None:
    """The cleaned preview of the whole recipe, or None (with the error shown) if a step fails."""
    try:
        return cache.cleaned(key, steps_key(recipe.cleaning))
    except RecipeError as error:
        st.error(md(str(error)))
        return None


def add_step(
    key: VersionKey, recipe: Recipe, step: dict[str, Any]
) -> tuple[Recipe, CleaningResult] | None:
    """Add a step only if it runs on the data; otherwise say why and keep the recipe as it was."""
    steps = [*recipe.cleaning, step]
    try:
        result = cache.cleaned(key, steps_key(steps))
    except RecipeError as error:
        st.error(md(str(error)))
        return None
    extended = recipe.with_steps(steps)
    keep(extended)
    return extended, result


def numeric(result: CleaningResult) -> list[str]:
    frame = result.frame
    return [
        str(c)
        for c in frame.columns
        if pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
    ]


def step_list(recipe: Recipe, result: CleaningResult | None) -> None:
    if not recipe.cleaning:
        st.caption("No cleaning steps yet: add one below. Rows and columns are kept as imported.")
        return
    accounts = {a.number: a for a in result.accounts} if result else {}
    for index, step in enumerate(recipe.cleaning):
        account = accounts.get(index + 1)
        left, right = st.columns([8, 1], vertical_alignment="center")
        text = account.description if account else step.get("step", "?")
        effect = f" — {account.note}" if account and account.note else ""
        left.markdown(f"**{index + 1}.** {md(text)}{md(effect)}")
        if right.button("Remove", key=state.STEP_REMOVE.format(index=index)):
            keep(recipe.with_steps([s for i, s in enumerate(recipe.cleaning) if i != index]))
            st.rerun()


def row_accounting(before: pd.DataFrame, result: CleaningResult) -> None:
    cells = st.columns(4)
    cells[0].metric("Rows before", f"{len(before):,}")
    after = len(result.frame)
    cells[1].metric("Rows after", f"{after:,}", delta=f"{after - len(before):,}")
    cells[2].metric("Columns before", len(before.columns))
    cells[3].metric(
        "Columns after",
        len(result.frame.columns),
        delta=len(result.frame.columns) - len(before.columns),
    )
    if result.accounts:
        table = pd.DataFrame([a.to_dict() for a in result.accounts])
        st.dataframe(
            table[["step", "description", "rows_before", "rows_dropped", "note"]].rename(
                columns={"rows_before": "rows before", "rows_dropped": "rows dropped"}
            ),
            hide_index=True,
            width="stretch",
            placeholder="-",
        )


def before_after(key: VersionKey, recipe: Recipe, result: CleaningResult) -> None:
    before = cache.cleaned(key, "[]").frame
    shared = [c for c in result.frame.columns if c in before.columns]
    if not shared:
        return
    numeric_first = sorted(shared, key=lambda c: c not in numeric(result))
    column = st.selectbox(
        "Compare a column before and after", numeric_first, key=state.PREVIEW_COLUMN
    )
    figure = cache.before_after_figure(key, steps_key(recipe.cleaning), column)
    st.plotly_chart(figure, key="before-after", width="stretch")


def save_and_apply(version: DatasetVersion, recipe: Recipe) -> None:
    left, middle, right = st.columns([3, 1, 1], vertical_alignment="bottom")
    name = left.text_input("Recipe name", value=recipe.name, key=state.RECIPE_NAME)
    named = Recipe(
        name.strip() or "recipe", recipe.target, recipe.cleaning, recipe.features, recipe.notes
    )
    if middle.button("Save recipe", key=state.RECIPE_SAVE, **guarded(Permission.PREPARE)):
        from core.prep.prepare import save_recipe

        stored = save_recipe(home(), named, source_version_id=version.id, actor="ui")
        keep(named)
        st.success(f"Saved {md(stored.label)}.")
    right.download_button(
        "Export JSON",
        named.dumps(),
        file_name="recipe.json",
        mime="application/json",
        key="prepare.export",
    )
    if st.button(
        f"Apply to {version.label} → new dataset version",
        type="primary",
        key=state.RECIPE_APPLY,
        **guarded(Permission.PREPARE),
    ):
        job = submit_job(
            home(),
            kind="prepare_dataset",
            actor="ui",
            params={"version_id": version.id, "recipe": named.to_json(), "actor": "ui"},
            dedupe_key=f"prepare:{version.id}:{named.content_hash}",
        )
        st.session_state[state.PREPARE_JOB_ID] = job.id
    if job_id := st.session_state.get(state.PREPARE_JOB_ID):
        job_progress(job_id, on_done=_show_prepared)


def _show_prepared(job: Job) -> None:
    result = job.result or {}
    version = result.get("version", {})
    if st.session_state.get(state.FOLLOWED_JOB) != job.id:  # once: the user may pick again
        st.session_state[state.FOLLOWED_JOB] = job.id
        follow_prepared(version)
    verb = "Already prepared: reusing" if result.get("reused") else "Created"
    st.success(
        f"{verb} {md(version.get('dataset'))} v{version.get('version')} "
        f"({version.get('rows', 0):,} rows × {version.get('columns', 0)} columns) with recipe "
        f"{md(result.get('recipe', {}).get('name'))} v{result.get('recipe', {}).get('version')}."
    )
    if st.button("Explore the new version", key=f"prepare.open.{job.id}"):
        select_version(version)
        st.switch_page(page("explore"))


def load_or_import(recipe: Recipe) -> None:
    from core.prep.prepare import list_recipes, stored_recipe

    with st.expander("Load a saved recipe or import JSON"):
        saved = list_recipes(home())
        if saved:
            labels = {r.id: r.label for r in saved}
            chosen = st.selectbox(
                "Saved recipes", list(labels), format_func=labels.__getitem__, key=state.RECIPE_LOAD
            )
            if st.button("Load", key=state.RECIPE_LOAD_BUTTON):
                keep(stored_recipe(home(), chosen))
                st.rerun()
        upload = st.file_uploader("Recipe JSON", type=["json"], key=state.RECIPE_UPLOAD)
        if upload is not None and st.button("Use this recipe", key="prepare.upload_use"):
            try:
                keep(Recipe.loads(upload.getvalue()))
            except RecipeError as error:
                st.error(md(str(error)))
                return
            st.rerun()
        started = bool(recipe.cleaning or recipe.features)
        if started and st.button("Start a new recipe", key=state.RECIPE_RESET):
            forget()
            st.rerun()
