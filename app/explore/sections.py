"""The sections of the Explore page, each rendering cached core results as tables and charts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
import streamlit as st

from app import cache, state
from app.cache import VersionKey
from app.charts.display import show
from app.components import after_first_paint, home, job_progress, metric_rows
from app.explore import charts, target_charts
from app.people.permits import guarded
from app.text import md
from core import words
from core.auth import Permission
from core.data import report
from core.data.datasets import DatasetError, get_version, set_column_roles
from core.data.explore import DatetimeCounts, NumericSummary
from core.data.schema import ROLES
from core.jobs import current_job, latest_finished_job, submit_job
from core.store.datasets import DatasetVersion
from core.store.jobs import Job

SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2, "info": 3}


def _chart(figure: Any, key: str) -> None:
    show(figure, key=key)


def overview(
    key: VersionKey, version: DatasetVersion, profile: Any, target: str | None = None
) -> None:
    metric_rows(
        [
            ("Rows", f"{profile.rows:,}"),
            ("Columns", f"{profile.column_count:,}"),
            ("Memory", f"{profile.memory_bytes / 1024 / 1024:,.1f} MB"),
            ("Missing cells", f"{profile.missing_pct:.1f}%"),
            ("Duplicate rows", f"{profile.duplicate_rows:,}"),
            ("Quality findings", f"{len(profile.quality):,}"),
        ]
    )
    st.caption(
        "Columns by role: "
        + ", ".join(f"{role} {count}" for role, count in profile.role_counts.items() if count)
    )
    if target is not None:
        after_first_paint(lambda: _target_balance(key, version, profile, target))
    after_first_paint(lambda: _column_grid(profile))
    _role_editor(version)


def _column_grid(profile: Any) -> None:
    st.dataframe(_column_table(profile), hide_index=True, width="stretch", placeholder="-")


def _target_balance(key: VersionKey, version: DatasetVersion, profile: Any, target: str) -> None:
    """What a model would learn to predict: the target's classes or spread, at a glance."""
    column = next((c for c in profile.columns if c.name == target), None)
    if column is None:
        return
    _chart(_column_figure(key, column.name, column.role), key=f"overview-target-{version.id}")


def _column_table(profile: Any) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "column": c.name,
                "role": c.role,
                "stored as": words.dtype(c.dtype),
                "missing %": round(c.missing_pct, 2),
                "distinct": c.distinct,
                "mean": c.mean,
                "min": _text(c.min),
                "max": _text(c.max),
            }
            for c in profile.columns
        ]
    )


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return words.moment(value) if isinstance(value, str) else str(value)


def _role_editor(version: DatasetVersion) -> None:
    with st.expander("Change a column's role"):
        st.caption("Roles decide how a column is charted, checked and later encoded for models.")
        names = [column.name for column in version.schema]
        left, middle, right = st.columns([3, 2, 1], vertical_alignment="bottom")
        column = left.selectbox("Column", names, key=state.ROLE_COLUMN)
        current = next(c.role for c in version.schema if c.name == column)
        role = middle.selectbox("Role", ROLES, index=ROLES.index(current), key=state.ROLE_VALUE)
        if right.button("Save role", key=state.ROLE_SAVE, **guarded(Permission.PREPARE)):
            try:
                set_column_roles(home(), version_id=version.id, roles={column: role}, actor="ui")
            except DatasetError as error:
                st.error(md(str(error)))
                return
            st.rerun()


def columns(key: VersionKey, version: DatasetVersion, profile: Any) -> None:
    by_name = {column.name: column for column in profile.columns}
    names = list(by_name)
    first = names.index(first_feature(profile.columns)) if names else 0
    name = st.selectbox("Column", names, index=first, key=state.EXPLORE_COLUMN)
    column = by_name[name]
    st.caption(
        f"Role: {column.role} · stored as {words.dtype(column.dtype)} · "
        f"{column.missing:,} missing · "
        f"{column.distinct:,} distinct"
    )
    _chart(_column_figure(key, name, column.role), key=f"column-{version.id}")


def first_feature(columns: Sequence[Any]) -> str | None:
    """The column to open on: the first that is neither an identifier nor the target (an ID's
    chart is one bar per row and says nothing), else the first column."""
    for column in columns:
        if column.role not in ("id", "target"):
            return str(column.name)
    return str(columns[0].name) if columns else None


def _column_figure(key: VersionKey, name: str, role: str) -> Any:
    view = cache.column_view(key, name, role)
    if isinstance(view, NumericSummary):
        return charts.histogram_box_figure(view)
    if isinstance(view, DatetimeCounts):
        return charts.datetime_counts_figure(view)
    return charts.category_bar_figure(view)


def correlations(key: VersionKey) -> None:
    methods = {
        "Pearson": "pearson",
        "Spearman": "spearman",
        "Cramér's V (categorical)": "cramers_v",
    }
    label = st.radio("Method", list(methods), horizontal=True, key=state.CORRELATION_METHOD)
    result = cache.correlations(key, methods[label])
    if len(result.columns) < 2:
        st.info("Fewer than two columns qualify for this method, so there is nothing to correlate.")
        return
    _chart(charts.correlation_heatmap_figure(result), key="correlations")
    if result.left_out:
        st.caption(f"{len(result.left_out)} columns left out (constant, empty or beyond the cap).")


def missing_values(key: VersionKey) -> None:
    pattern = cache.missing_pattern(key)
    if not any(pattern.missing_counts):
        st.success("No missing values in any column.")
        return
    _chart(charts.missing_bar_figure(pattern), key="missing-bar")
    _chart(charts.missing_matrix_figure(pattern), key="missing-matrix")


def relationships(key: VersionKey, profile: Any, target: str | None) -> None:
    numeric = [c.name for c in profile.columns if c.role == "numeric"]
    if len(numeric) < 2:
        st.info("A scatter plot needs two numeric columns; this dataset has fewer.")
        return
    left, middle, right = st.columns(3)
    x = left.selectbox("X axis", numeric, key=state.SCATTER_X)
    y = middle.selectbox("Y axis", numeric, index=1, key=state.SCATTER_Y)
    color = right.checkbox(
        "Colour by target",
        value=target is not None,
        disabled=target is None,
        key=state.SCATTER_COLOR,
    )
    sample = cache.scatter(key, x, y, target if color and target else None)
    _chart(charts.scatter_figure(sample), key="scatter")
    if sample.sampled:
        st.caption(f"Showing a random sample of {len(sample.x_values):,} of {sample.rows:,} rows.")
    chosen = st.multiselect(
        "Pair plot columns", numeric, default=numeric[:4], max_selections=6, key=state.PAIR_COLUMNS
    )
    if len(chosen) >= 2:
        pairs = cache.pairs(key, tuple(chosen), target if color and target else None)
        _chart(charts.pair_plot_figure(pairs), key="pairs")


def target_section(key: VersionKey, profile: Any, target: str | None) -> None:
    if target is None:
        st.info("Choose the target column above to see how each feature relates to it.")
        return
    strengths = cache.target_strength(key, target)
    if strengths:
        _chart(target_charts.feature_strength_figure(strengths), key="strength")
    features = [c.name for c in profile.columns if c.name != target and c.role != "id"]
    if not features:
        return
    feature = st.selectbox("Feature", features, key=state.TARGET_FEATURE)
    try:
        analysis = cache.target_view(key, target, feature)
    except ValueError as error:
        st.warning(md(str(error)))
        return
    _chart(target_charts.target_figure(analysis), key="target")


def quality(profile: Any) -> None:
    findings = sorted(profile.quality, key=lambda f: SEVERITY_ORDER.get(f.severity, 9))
    if not findings:
        st.success("No data-quality issues found.")
        return
    counts = {level: sum(f.severity == level for f in findings) for level in SEVERITY_ORDER}
    cells = st.columns(4)
    for cell, (level, count) in zip(cells, counts.items(), strict=True):
        cell.metric(level.capitalize(), count)
    from core.data.quality import CHECK_TITLES

    # a static table: each finding is a sentence the user needs whole, and a grid cell cut it
    table = pd.DataFrame(
        [
            {
                "severity": f.severity.capitalize(),
                "check": CHECK_TITLES.get(f.check, f.check),
                "column": f.column or "whole table",
                "finding": f.message,
            }
            for f in findings
        ]
    )
    st.table(table.set_index("severity"))


def profile_report(version: DatasetVersion) -> None:
    subject = report.report_subject(version.id)
    job = current_job(home(), kind=report.KIND, subject=subject)
    finished = latest_finished_job(home(), kind=report.KIND, subject=subject)
    if job and job.active:
        job_progress(job.id, on_done=_show_report)
        return
    if finished:
        _show_report(finished)
    elif job and job.status == "failed":
        st.error(md(job.error or "The report failed."))
    _report_builder(version, rebuild=finished is not None)


def _report_builder(version: DatasetVersion, *, rebuild: bool) -> None:
    default = report.default_mode(version.row_count)
    left, right = st.columns([2, 1], vertical_alignment="bottom")
    mode = left.radio(
        "Report",
        report.MODES,
        index=report.MODES.index(default),
        horizontal=True,
        key=state.REPORT_MODE,
        help="Full adds correlations, interactions and more; minimal is faster.",
    )
    label = "Rebuild the profiling report" if rebuild else "Build the profiling report"
    if right.button(label, key=state.REPORT_BUTTON):
        submit_job(
            home(),
            kind=report.KIND,
            params={"version_id": version.id, "mode": mode},
            subject=report.report_subject(version.id),
            dedupe_key=report.report_dedupe_key(version.id, mode),
            actor="ui",
        )
        st.rerun()


def _show_report(job: Job) -> None:
    result = job.result or {}
    path = report.report_path(home(), result)
    page = cache.report_html(str(path), result["sha256"])
    st.download_button(
        "Download the report (HTML)",
        page,
        file_name=f"profile-{result['version_id']}.html",
        mime="text/html",
        key=f"report-download-{job.id}",
    )
    if st.toggle("Show the report here", value=True, key=state.REPORT_SHOW):
        # The report is the studio's own sanitised file (names escaped, handlers disabled).
        st.iframe(page, height=900)


def lineage(version: DatasetVersion) -> str:
    """Where a version came from, in words: its file, or the version and recipe it was
    prepared from."""
    if version.parent_version_id is None:
        return f"from {md(version.source_file_name or 'an unnamed file')}"
    from core.prep.prepare import list_recipes

    parent = get_version(home(), version.parent_version_id)
    recipe = next((r.label for r in list_recipes(home()) if r.id == version.recipe_id), None)
    made = f"prepared from {md(parent.label)}"
    return f"{made} with recipe {md(recipe)}" if recipe else made
