"""The sections of the Experiments page: runs table, one run's detail, comparison and registry."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import streamlit as st

from app import cache, state
from app.charts.display import show
from app.components import home, records_table
from app.people.permits import guarded
from app.text import md
from core import words
from core.auth import Permission
from core.store.models import ModelVersion
from core.store.runs import Run, RunSummary
from core.train import tracking
from core.train.evaluate import HIGHER_IS_BETTER, Evaluation

NO_ALIAS, OTHER_ALIAS = "(none)", "other…"
ALIAS_CHOICES = (NO_ALIAS, "champion", "challenger", OTHER_ALIAS)
# a new version is never reviewed yet, so registering offers no champion (core refuses it too)
REGISTER_ALIAS_CHOICES = (NO_ALIAS, "challenger", OTHER_ALIAS)
SHOWN_COLUMNS = [
    "run",
    "experiment",
    "model",
    "status",
    "CV score",
    "± std",
    "holdout score",
    "metric",
    "fit time (s)",
    "created",
    "tags",
]
TABLE_CONFIG = {
    "run": st.column_config.NumberColumn(format="%d"),
    "CV score": st.column_config.NumberColumn(format="%.4f"),
    "± std": st.column_config.NumberColumn(format="%.4f"),
    "holdout score": st.column_config.NumberColumn(format="%.4f"),
    "fit time (s)": st.column_config.NumberColumn(format="%.2f"),
    "created": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
}
METRICS_CONFIG = {
    name: st.column_config.NumberColumn(format="%.4f") for name in ("CV mean", "CV std", "holdout")
}
MISSING = "—"


def show_error(error: Exception) -> None:
    """A core refusal as a red box; its text may quote user input, so it is escaped."""
    st.error(md(str(error)))


# -- the runs table ----------------------------------------------------------------------------


def listing_frame(runs: list[RunSummary]) -> pd.DataFrame:
    """The runs table with the columns in the user's words plus what filtering needs."""
    frame = pd.DataFrame(
        {
            "run": [run.id for run in runs],
            "experiment": [run.experiment for run in runs],
            "model": [words.model(run.model) for run in runs],
            "status": [run.status for run in runs],
            "CV score": [run.score for run in runs],
            "± std": [run.score_std for run in runs],
            "holdout score": [run.holdout_score for run in runs],
            "metric": [words.metric(run.metric) for run in runs],
            "fit time (s)": [run.fit_seconds for run in runs],
            "created": pd.to_datetime([run.created_at for run in runs], utc=True, format="ISO8601"),
            "tags": [", ".join(run.tags) for run in runs],
            "model_name": [run.model for run in runs],
            "archived": [run.archived for run in runs],
            "label": [pick_label(run) for run in runs],
        }
    )
    for column in ("CV score", "± std", "holdout score", "fit time (s)"):
        frame[column] = frame[column].astype(float)
    return frame


def pick_label(run: RunSummary) -> str:
    score = f" ({run.score:.4f})" if run.score is not None and math.isfinite(run.score) else ""
    return f"#{run.id} {words.model(run.model)}{score}"


def runs_listing() -> pd.DataFrame:
    """Every model run, archived too; cached until the runs table changes."""
    fingerprint = tracking.runs_fingerprint(home())
    return cache.runs_listing(str(home()), fingerprint)


def filtered(listing: pd.DataFrame) -> pd.DataFrame:
    """Filter widgets over the listing; the runs they leave, newest first."""
    cells = st.columns([3, 3, 2, 2, 2], vertical_alignment="bottom")
    experiments = _filter(
        cells[0], "Experiment", listing["experiment"], state.EXPERIMENTS_FILTER_EXPERIMENT
    )
    models = _filter(
        cells[1], "Model", listing["model_name"], state.EXPERIMENTS_FILTER_MODEL, words.model
    )
    statuses = _filter(cells[2], "Status", listing["status"], state.EXPERIMENTS_FILTER_STATUS)
    tag_text = cells[3].text_input(
        "Tags contain", key=state.EXPERIMENTS_FILTER_TAGS, placeholder="e.g. baseline"
    )
    show_archived = cells[4].toggle("Show archived", key=state.EXPERIMENTS_SHOW_ARCHIVED)
    keep = pd.Series(True, index=listing.index)
    if experiments:
        keep &= listing["experiment"].isin(experiments)
    if models:
        keep &= listing["model_name"].isin(models)
    if statuses:
        keep &= listing["status"].isin(statuses)
    if tag_text.strip():
        keep &= listing["tags"].str.contains(tag_text.strip(), case=False, regex=False)
    if not show_archived:
        keep &= ~listing["archived"]
    return listing[keep]


def _filter(cell: Any, label: str, values: pd.Series, key: str, title: Any = str) -> list[str]:
    options = sorted(values.unique().tolist())
    # a value that vanished (its last run deleted) would make the widget refuse its state
    if key in st.session_state:
        st.session_state[key] = [value for value in st.session_state[key] if value in options]
    return list(cell.multiselect(label, options, format_func=title, key=key, placeholder="All"))


def runs_table(shown: pd.DataFrame, total: int) -> None:
    archived = int(shown["archived"].sum())
    note = f", {archived:,} archived" if archived else ""
    st.caption(f"{len(shown):,} of {total:,} runs{note}. Click a column header to sort.")
    records_table(shown[SHOWN_COLUMNS], column_config=TABLE_CONFIG)


def pick_runs(listing: pd.DataFrame, shown: pd.DataFrame) -> list[int]:
    """Runs picked by id: one shows its detail, two or more are compared."""
    labels = dict(zip(listing["run"].tolist(), listing["label"].tolist(), strict=True))
    if (requested := st.session_state.pop(state.EXPERIMENTS_REQUESTED_PICK, None)) is not None:
        st.session_state[state.EXPERIMENTS_PICKED] = requested
    picked = [
        run_id for run_id in st.session_state.get(state.EXPERIMENTS_PICKED, []) if run_id in labels
    ]
    st.session_state[state.EXPERIMENTS_PICKED] = picked
    # picked runs stay choosable when a filter hides them, so the choice survives filtering
    options = list(dict.fromkeys([*shown["run"].tolist(), *picked]))
    return list(
        st.multiselect(
            "Pick runs: one to see its detail, two or more to compare them",
            options,
            format_func=lambda run_id: labels.get(run_id, f"#{run_id}"),
            key=state.EXPERIMENTS_PICKED,
            placeholder="Choose runs by id",
        )
    )


def flash() -> None:
    """The outcome of an action that reran the page (archive, delete)."""
    if message := st.session_state.pop(state.EXPERIMENTS_FLASH, None):
        st.success(message)


def _after_action(message: str, picked: list[int] | None = None) -> None:
    st.session_state[state.EXPERIMENTS_FLASH] = message
    if picked is not None:
        st.session_state[state.EXPERIMENTS_REQUESTED_PICK] = picked
    st.rerun()


# -- one run -----------------------------------------------------------------------------------


def run_detail(run_id: int) -> None:
    """Everything about one run: metrics, params, provenance, plots, search, register, manage."""
    try:
        detail = tracking.run_detail(home(), run_id)
    except (ValueError, RuntimeError) as error:
        show_error(error)
        return
    run = detail.run
    archived = " (archived)" if run.archived else ""
    st.subheader(f"Run #{run.id}: {words.model(run.model)}{archived}")
    st.markdown(
        f"Experiment **{md(run.experiment)}** · {md(words.task(run.task))} on target "
        f"**{md(run.target)}** · status **{md(run.status)}**"
    )
    if run.error:
        st.error(md(run.error))
    _tags_and_notes(run)
    left, right = st.columns(2)
    with left:
        st.markdown("**Metrics** (cross-validation mean ± std, and the holdout)")
        records_table(metrics_frame(run), column_config=METRICS_CONFIG)
        st.markdown("**Parameters**")
        _params(run)
    with right:
        st.markdown("**Provenance**")
        records_table(provenance_frame(run), height="content")
    _timings(run)
    evaluation_plots(run, detail.evaluation)
    search_charts(run, detail)
    register_form(run)
    run_file(_versions_of(run.id))
    manage(run)


def _tags_and_notes(run: Run) -> None:
    if run.tags:
        st.markdown("Tags: " + ", ".join(f"`{md(tag)}`" for tag in run.tags))
    if run.notes:
        st.caption("Notes: " + md(run.notes))


def metrics_frame(run: Run) -> pd.DataFrame:
    """One row per metric, the run's own metric first: CV mean, CV std and holdout."""
    cv, holdout = run.metrics.get("cv", {}), run.metrics.get("holdout", {})
    names = list(dict.fromkeys([run.metric, *cv, *holdout]))
    rows = [
        {
            "metric": words.metric(name) + (" (ranked by)" if name == run.metric else ""),
            "CV mean": (cv.get(name) or {}).get("mean"),
            "CV std": (cv.get(name) or {}).get("std"),
            "holdout": holdout.get(name),
            "better": "higher" if HIGHER_IS_BETTER.get(name, True) else "lower",
        }
        for name in names
        if name in cv or name in holdout
    ]
    frame = pd.DataFrame(rows, columns=["metric", "CV mean", "CV std", "holdout", "better"])
    for column in ("CV mean", "CV std", "holdout"):
        frame[column] = frame[column].astype(float)
    return frame


def _params(run: Run) -> None:
    if not run.params:
        st.caption("The model's default parameters.")
        return
    rows = [
        {"parameter": words.param(name), "value": words.value(value)}
        for name, value in sorted(run.params.items())
    ]
    records_table(rows)


def provenance_frame(run: Run) -> pd.DataFrame:
    """What the run was made from and with, as text rows (dataset, recipe, plan, packages)."""
    environment = run.environment
    rows = [
        ("dataset version", _dataset_label(run.dataset_version_id)),
        ("recipe", _recipe_label(run.recipe_id)),
        ("validation plan", run.plan.get("description") or MISSING),
        ("seed", _text(run.seed)),
        ("tuning", words.strategy(run.strategy) if run.strategy else MISSING),
        ("git commit", environment.get("git_commit") or "not a git checkout"),
        ("python", _text(environment.get("python"))),
        ("platform", _text(environment.get("platform"))),
        *[(name, _text(version)) for name, version in environment.get("packages", {}).items()],
        ("created", f"{words.when(run.created_at)} by {run.created_by}"),
    ]
    return pd.DataFrame(rows, columns=["what", "value"])


def _dataset_label(version_id: int | None) -> str:
    if version_id is None:
        return MISSING
    from core.data.datasets import get_version

    try:
        return get_version(home(), version_id).label
    except (ValueError, RuntimeError):
        return f"version id {version_id} (no longer in the store)"


def _recipe_label(recipe_id: int | None) -> str:
    if recipe_id is None:
        return "none (default feature spec by role)"
    from core.prep.prepare import list_recipes

    labels = {recipe.id: recipe.label for recipe in list_recipes(home())}
    return labels.get(recipe_id, f"recipe id {recipe_id}")


def _timings(run: Run) -> None:
    cells = st.columns(4)
    cells[0].metric("Fit time", _seconds(run.fit_seconds))
    cells[1].metric("Whole run", _seconds(run.duration_seconds))
    cells[2].metric("Model size", _size(run.size_bytes))
    latency = f"{run.predict_ms:.2f} ms" if _finite(run.predict_ms) else MISSING
    cells[3].metric("Predict one row", latency)


def evaluation_plots(run: Run, evaluation: Evaluation | None) -> None:
    from app.train.charts import evaluation_figures

    if evaluation is None or not evaluation.plots.present():
        return
    st.markdown("**Holdout evaluation**")
    figures = evaluation_figures(evaluation.plots, evaluation.task or run.task)
    if not figures:
        return
    for tab, (title, figure) in zip(st.tabs(list(figures)), figures.items(), strict=True):
        show(figure, key=f"experiments.plot.{run.id}.{title}", where=tab)


def search_charts(run: Run, detail: tracking.RunDetail) -> None:
    """How the tuning search went: best so far, parallel coordinates, score against a param."""
    from app.train.search_charts import (
        metric_vs_param_figure,
        parallel_coordinates_figure,
        search_progress_figure,
    )

    trials = [tracking.trial_row(trial) for trial in detail.trials]
    if len(trials) < 2:
        return
    search = detail.search
    strategy = words.strategy(str(search.get("strategy", run.strategy)))
    st.markdown(
        f"**Tuning search**: {md(strategy)}, {len(trials)} trials "
        f"({search.get('pruned', 0)} pruned, {search.get('failed', 0)} failed)"
    )
    higher = HIGHER_IS_BETTER.get(run.metric, True)
    figure = search_progress_figure(trials, metric=run.metric, higher_is_better=higher)
    show(figure, key=f"experiments.search.{run.id}")
    scored = [trial for trial in trials if _finite(trial["score"])]
    params = sorted({name for trial in scored for name in trial["params"]})
    if not scored or not params:
        return
    figure = parallel_coordinates_figure(scored, metric=run.metric)
    show(figure, key=f"experiments.parallel.{run.id}")
    param = st.selectbox(
        "Parameter",
        params,
        format_func=words.param,
        key=state.EXPERIMENTS_PARAM.format(run_id=run.id),
    )
    figure = metric_vs_param_figure(scored, param=param, metric=run.metric)
    show(figure, key=f"experiments.param_chart.{run.id}")


def _versions_of(run_id: int) -> list[ModelVersion]:
    from core.train.registry import list_model_versions

    return [version for version in list_model_versions(home()) if version.run_id == run_id]


def register_form(run: Run) -> None:
    """Register the run as the next version of a named model, optionally with an alias."""
    st.markdown("**Register as a model version**")
    if run.status != "done":
        st.caption(f"Only finished runs can be registered; this one is {md(run.status)}.")
        return
    if not run.artifact_path:
        st.caption("This run has no model file, so it cannot be registered.")
        return
    name_cell, alias_cell, other_cell, button_cell = st.columns(
        [3, 2, 2, 1], vertical_alignment="bottom"
    )
    name = name_cell.text_input(
        "Model name", key=state.EXPERIMENTS_REGISTER_NAME, placeholder="e.g. credit-risk"
    )
    alias = alias_input(
        alias_cell,
        other_cell,
        state.EXPERIMENTS_REGISTER_ALIAS,
        state.EXPERIMENTS_REGISTER_OTHER,
        choices=REGISTER_ALIAS_CHOICES,
    )
    if not button_cell.button(
        "Register",
        key=state.EXPERIMENTS_REGISTER,
        type="primary",
        **guarded(Permission.REGISTER, disabled=not name.strip()),
    ):
        return
    from core.train.registry import register_run

    try:
        with st.spinner("Verifying the model file and exporting an ONNX copy…"):
            version = register_run(
                home(), run.id, name=name, aliases=(alias,) if alias else (), actor="ui"
            )
    except (ValueError, RuntimeError) as error:
        show_error(error)
        return
    aliases = f" as {', '.join(version.aliases)}" if version.aliases else ""
    st.success(f"Registered {md(version.label)}{md(aliases)} from run #{run.id}.")
    if not version.onnx_path:
        reason = version.onnx.get("reason") or "the pipeline could not be converted"
        st.info(f"No ONNX copy: {md(reason)}. The skops file serves it.")


def alias_input(
    choice_cell: Any,
    other_cell: Any,
    choice_key: str,
    other_key: str,
    *,
    choices: tuple[str, ...] = ALIAS_CHOICES,
) -> str:
    choice = choice_cell.selectbox("Alias", choices, key=choice_key)
    other = other_cell.text_input(
        "Other alias", key=other_key, placeholder="e.g. staging", disabled=choice != OTHER_ALIAS
    )
    if choice == NO_ALIAS:
        return ""
    return str(other).strip() if choice == OTHER_ALIAS else str(choice)


def run_file(versions: list[ModelVersion]) -> None:
    if not versions:
        return
    version = versions[0]
    labels = ", ".join(v.label for v in versions)
    st.caption(f"Registered as {md(labels)}.")
    offer_file(version, "skops", key=state.EXPERIMENTS_RUN_FILE)


def offer_file(version: ModelVersion, kind: str, *, key: str) -> None:
    """A button that verifies the file's SHA-256, then offers it for download."""
    if not st.button(f"Get the {kind} file of {version.label}", key=key):
        return
    from core.train.registry import model_file

    try:
        data = model_file(home(), version, kind=kind).read_bytes()
    except (ValueError, RuntimeError) as error:
        show_error(error)
        return
    name = f"{version.model_name}-v{version.version}.{kind}".replace(" ", "_")
    st.download_button(
        f"Download {name} ({_size(len(data))}, verified)",
        data,
        file_name=name,
        mime="application/octet-stream",
        key=f"{key}.download",
        on_click="ignore",
    )


def manage(run: Run) -> None:
    """Archive or unarchive the run; delete it (registered runs are refused by core)."""
    st.markdown("**Manage**")
    archive_cell, confirm_cell, delete_cell = st.columns([1, 3, 1], vertical_alignment="bottom")
    if archive_cell.button(
        "Unarchive" if run.archived else "Archive",
        key=state.EXPERIMENTS_ARCHIVE,
        **guarded(Permission.TRAIN),
    ):
        try:
            tracking.archive_runs(home(), [run.id], archived=not run.archived, actor="ui")
        except (ValueError, RuntimeError) as error:
            show_error(error)
        else:
            done = "unarchived" if run.archived else "archived"
            _after_action(f"Run #{run.id} {done}.")
    confirm = confirm_cell.checkbox(
        "Delete this run, its trials and its model file for good",
        key=state.EXPERIMENTS_DELETE_CONFIRM.format(run_id=run.id),
    )
    running = run.status == "running"
    if delete_cell.button(
        "Delete",
        key=state.EXPERIMENTS_DELETE,
        **guarded(
            Permission.TRAIN,
            disabled=not confirm or running,
            help="A run still training can be deleted once its job ends." if running else None,
        ),
    ):
        try:
            tracking.delete_runs(home(), [run.id], actor="ui")
        except (ValueError, RuntimeError) as error:
            show_error(error)
        else:
            _after_action(f"Run #{run.id} deleted.", picked=[])


# -- comparing runs ----------------------------------------------------------------------------


def compare(run_ids: list[int]) -> None:
    """The picked runs side by side: one column per run, rows for params and metrics."""
    from app.train.search_charts import runs_comparison_figure

    try:
        rows = tracking.compare_runs(home(), run_ids)
    except (ValueError, RuntimeError) as error:
        show_error(error)
        return
    st.subheader(f"Comparing {len(rows)} runs")
    st.dataframe(comparison_frame(rows), width="stretch", height="content", placeholder="-")
    metrics = _shared_metrics(rows)
    if not metrics:
        st.caption("These runs share no holdout metric to chart.")
        return
    runs = [{"label": row["label"], "metrics": row["holdout"]} for row in rows]
    figure = runs_comparison_figure(runs, metrics=metrics)
    show(figure, key="experiments.compare_chart")


def comparison_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Text cells (runs mix numbers and words), rows: provenance, params, CV and holdout."""
    params = sorted({name for row in rows for name in row["params"]})
    metrics = list(dict.fromkeys(name for row in rows for name in [*row["cv"], *row["holdout"]]))
    table: dict[str, dict[str, str]] = {}
    for row in rows:
        column = {
            "dataset version": _dataset_label(row["dataset_version_id"]),
            "recipe": _recipe_label(row["recipe_id"]),
            "validation plan": _text(row["plan"]),
            "seed": _text(row["seed"]),
            **{f"parameter: {words.param(name)}": _param(row["params"], name) for name in params},
            **{f"CV {words.metric(name)}": _mean_std(row["cv"].get(name)) for name in metrics},
            **{f"holdout {words.metric(n)}": _number(row["holdout"].get(n)) for n in metrics},
            "fit time (s)": _number(row["cost"].get("fit_seconds"), digits=2),
            "predict one row (ms)": _number(row["cost"].get("predict_ms_single_row"), digits=2),
        }
        table[row["label"]] = column
    return pd.DataFrame(table)


def _shared_metrics(rows: list[dict[str, Any]]) -> list[str]:
    names = [name for name in rows[0]["holdout"] if all(name in row["holdout"] for row in rows)]
    return [name for name in names if all(_finite(row["holdout"][name]) for row in rows)]


# -- formatting --------------------------------------------------------------------------------


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def _number(value: Any, *, digits: int = 4) -> str:
    return f"{value:.{digits}f}" if _finite(value) else MISSING


def _mean_std(value: dict[str, Any] | None) -> str:
    if not value or not _finite(value.get("mean")):
        return MISSING
    std = value.get("std")
    return f"{value['mean']:.4f} ± {std:.4f}" if _finite(std) else f"{value['mean']:.4f}"


def _text(value: Any) -> str:
    return MISSING if value is None else str(value)


def _param(params: dict[str, Any], name: str) -> str:
    """A run's value of a hyperparameter in words; a dash when it was not searched."""
    return words.value(params[name]) if name in params else MISSING


def _seconds(value: float | None) -> str:
    return f"{value:.2f} s" if _finite(value) else MISSING


def _size(value: int | None) -> str:
    if value is None:
        return MISSING
    size = float(value)
    for unit in ("bytes", "KB", "MB"):
        if size < 1024:
            return f"{size:,.0f} {unit}" if unit == "bytes" else f"{size:,.1f} {unit}"
        size /= 1024
    return f"{size:,.1f} GB"
