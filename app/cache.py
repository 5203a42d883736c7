"""All Streamlit caching, in one place, wrapping pure core calls keyed by dataset version."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import pyarrow as pa
import streamlit as st

from core.data import datasets, explore
from core.data.schema import ColumnSchema, schema_from_json, schema_to_json
from core.store.datasets import DatasetVersion

if TYPE_CHECKING:
    import plotly.graph_objects as go
    from sklearn.pipeline import Pipeline

    from core.data.explore.columns import CategoryCounts, DatetimeCounts, NumericSummary
    from core.data.profile import DatasetProfile
    from core.data.quality import FeatureStrength
    from core.monitor.dashboard import DriftHistory
    from core.prep.recipe import CleaningResult
    from core.review.explain import Explanation
    from core.review.explain.inspection import WhatIf
    from core.review.explain.job import ExplanationExtras
    from core.review.explain.result import ExplanationPoints
    from core.review.review import VersionReview
    from core.review.threshold import ThresholdCurve
    from core.serving.scoring import ServedInputs
    from core.store.models import ReviewRecord
    from core.store.runs import Run
    from core.train.training import TrainingData


@dataclass(frozen=True)
class VersionKey:
    """What identifies a version's cached results: content hash and the roles in force."""

    home: str
    version_id: int
    content_hash: str
    schema_json: str

    @classmethod
    def of(cls, home: Path, version: DatasetVersion) -> VersionKey:
        schema_json = json.dumps(schema_to_json(version.schema))
        return cls(str(home), version.id, version.content_hash, schema_json)

    @property
    def schema(self) -> list[ColumnSchema]:
        return schema_from_json(json.loads(self.schema_json))


@st.cache_resource(max_entries=4, show_spinner=False)
def table(home: str, version_id: int, content_hash: str) -> pa.Table:
    """The version's Arrow table, shared between sessions (it is immutable)."""
    return datasets.load_table(Path(home), datasets.get_version(Path(home), version_id))


@st.cache_resource(max_entries=4, show_spinner=False)
def frame(home: str, version_id: int, content_hash: str) -> pd.DataFrame:
    """The version as pandas, shared between sessions: callers must never modify it."""
    return table(home, version_id, content_hash).to_pandas()


def _frame(key: VersionKey) -> pd.DataFrame:
    return frame(key.home, key.version_id, key.content_hash)


@st.cache_data(max_entries=16, show_spinner=False)
def dataset_profile(key: VersionKey, target: str | None) -> DatasetProfile:
    from core.data.profile import profile_table

    return profile_table(
        table(key.home, key.version_id, key.content_hash), schema=key.schema, target=target
    )


@st.cache_data(max_entries=64, show_spinner=False)
def column_view(
    key: VersionKey, column: str, role: str
) -> NumericSummary | DatetimeCounts | CategoryCounts:
    data = _frame(key)
    if role in ("numeric",):
        return explore.numeric_summary(data, column=column)
    if role == "datetime":
        return explore.datetime_counts(data, column=column)
    return explore.category_counts(data, column=column)


@st.cache_data(max_entries=16, show_spinner=False)
def correlations(key: VersionKey, method: str) -> explore.Correlations:
    return explore.correlations(_frame(key), schema=key.schema, method=method)  # type: ignore[arg-type]


@st.cache_data(max_entries=8, show_spinner=False)
def missing_pattern(key: VersionKey) -> explore.MissingPattern:
    return explore.missing_pattern(_frame(key))


@st.cache_data(max_entries=32, show_spinner=False)
def scatter(key: VersionKey, x: str, y: str, color: str | None) -> explore.ScatterSample:
    return explore.scatter_sample(_frame(key), x=x, y=y, color=color)


@st.cache_data(max_entries=16, show_spinner=False)
def pairs(key: VersionKey, columns: tuple[str, ...], color: str | None) -> explore.PairSample:
    return explore.pair_sample(_frame(key), columns=columns, color=color)


@st.cache_data(max_entries=64, show_spinner=False)
def target_view(key: VersionKey, target: str, feature: str) -> explore.TargetAnalysis:
    return explore.target_analysis(_frame(key), target=target, feature=feature, schema=key.schema)


@st.cache_data(max_entries=16, show_spinner=False)
def target_strength(key: VersionKey, target: str) -> list[FeatureStrength]:
    from core.data.quality import feature_target_strength

    return feature_target_strength(_frame(key), target=target, schema=key.schema)


@st.cache_data(max_entries=4, show_spinner=False)
def report_html(path: str, sha256: str) -> str:
    return Path(path).read_text("utf-8")


@st.cache_resource(max_entries=64, show_spinner=False)
def cleaned(key: VersionKey, steps_json: str) -> CleaningResult:
    """The version after these cleaning steps; each prefix is cached, so adding a step is cheap."""
    from core.prep.recipe import CleaningResult, continue_cleaning

    steps = json.loads(steps_json)
    if not steps:
        return CleaningResult(frame=_frame(key))
    previous = cleaned(key, json.dumps(steps[:-1], sort_keys=True))
    return continue_cleaning(previous, steps[-1])


@st.cache_data(max_entries=64, show_spinner=False)
def cleaned_schema(key: VersionKey, steps_json: str) -> list[ColumnSchema]:
    """Column roles after the cleaning steps, inferred from the cleaned rows."""
    from core.data.schema import infer_schema

    frame = cleaned(key, steps_json).frame
    return infer_schema(pa.Table.from_pandas(frame, preserve_index=False))


@st.cache_data(max_entries=64, show_spinner=False)
def before_after_figure(key: VersionKey, steps_json: str, column: str) -> go.Figure:
    """A column's distribution before and after the cleaning steps."""
    from app.prepare.charts import before_after_figure as draw

    return draw(cleaned(key, "[]").frame[column], cleaned(key, steps_json).frame[column], column)


# Experiments page ------------------------------------------------------------------------------


@st.cache_data(max_entries=4, show_spinner=False)
def runs_listing(home: str, fingerprint: tuple[object, ...]) -> pd.DataFrame:
    """Every model run (archived too) as the runs table, rebuilt only when the runs change.

    ``fingerprint`` (``tracking.runs_fingerprint``) is only the cache key: a cheap summary of the
    runs table that changes whenever this listing would.
    """
    from app.experiments.sections import listing_frame
    from core.train.tracking import run_summaries

    return listing_frame(run_summaries(Path(home), include_archived=True))


# Review page --------------------------------------------------------------------------------


@st.cache_resource(max_entries=16, show_spinner=False)
def run(home: str, run_id: int) -> Run:
    from core.train.tracking import get_run

    return get_run(Path(home), run_id)


@st.cache_resource(max_entries=4, show_spinner=False)
def run_data(home: str, run_id: int) -> TrainingData:
    """The rows, split and feature spec of a run (immutable; shared between sessions)."""
    from core.train.training import run_data as load

    return load(Path(home), run(home, run_id))


@st.cache_data(max_entries=16, show_spinner=False)
def feature_columns(home: str, run_id: int) -> list[str]:
    return [str(c) for c in run_data(home, run_id).X_holdout.columns]


@st.cache_data(max_entries=16, show_spinner=False)
def suggested_sensitive(home: str, run_id: int) -> list[str]:
    from core.review.fairness import suggest_sensitive_features

    data = run_data(home, run_id)
    columns = set(data.X_holdout.columns)
    return [c for c in suggest_sensitive_features(data.schema) if c in columns]


@st.cache_resource(max_entries=8, show_spinner=False)
def _review_file(home: str, path: str, sha256: str) -> VersionReview:
    from core.review.review import load_review

    return load_review(Path(home), {"path": path, "sha256": sha256})


def review(home: str, record: ReviewRecord | None) -> VersionReview | None:
    """A saved review (a version's newest record, however it was run), read once per file."""
    if record is None:
        return None
    return _review_file(home, record.path, record.sha256)


@st.cache_resource(max_entries=4, show_spinner=False)
def _explanation_file(
    home: str, version_id: int, job_id: int
) -> tuple[Explanation, ExplanationExtras]:
    from core.jobs.runner import refresh_job
    from core.review.explain.job import load_explanation

    job = refresh_job(Path(home), job_id)
    assert job is not None and job.result is not None
    return load_explanation(Path(home), job.result)


def explanation(home: str, version_id: int) -> tuple[Explanation, ExplanationExtras] | None:
    """(Explanation, extras) of the newest finished explanation job, or None."""
    from core.jobs.runner import latest_finished_job

    job = latest_finished_job(
        Path(home), kind="explain_model_version", subject=f"model_version:{version_id}"
    )
    if job is None or job.result is None:
        return None
    return _explanation_file(home, version_id, job.id)


def explanation_points(home: str, version_id: int) -> ExplanationPoints:
    """The explained rows as the charts draw them (converted once per result file)."""
    loaded = explanation(home, version_id)
    assert loaded is not None
    return _explanation_points(home, version_id, id(loaded[0]), loaded[0])


@st.cache_resource(max_entries=4, show_spinner=False)
def _explanation_points(
    home: str, version_id: int, key: int, _explanation: Explanation
) -> ExplanationPoints:
    return _explanation.points()


@st.cache_resource(max_entries=4, show_spinner=False)
def pipeline(home: str, version_id: int) -> Pipeline:
    from core.store import connect, models
    from core.train.registry import load_model_version

    with connect(Path(home)) as db:
        found = models.get_version(db, version_id)
    assert found is not None
    return load_model_version(Path(home), found)


def what_if(home: str, version_id: int, row: dict[str, object]) -> WhatIf:
    """The prediction and SHAP of an edited row (fast: the explainer state is cached)."""
    from core.review.explain import what_if as compute

    model = pipeline(home, version_id)
    found = _version_run(home, version_id)
    data = run_data(home, found)
    return compute(
        model,
        row,
        task=data.task,
        background=data.X_train.iloc[:200],
        training=data.X_train,
    )


def _version_run(home: str, version_id: int) -> int:
    from core.store import connect, models

    with connect(Path(home)) as db:
        found = models.get_version(db, version_id)
    assert found is not None
    return found.run_id


# Deploy page --------------------------------------------------------------------------------


@st.cache_data(max_entries=16, show_spinner=False)
def served_inputs(home: str, version_id: int) -> ServedInputs:
    """What a version's service takes and answers (inputs with levels, task, classes), as its
    /metadata says; read without the service, so no API key is needed to build a form."""
    from core.serving.scoring import load_served_model, served_inputs_of

    return served_inputs_of(load_served_model(Path(home), version_id, engine="sklearn"))


@st.cache_resource(max_entries=4, show_spinner=False)
def batch_output(home: str, output: str) -> pd.DataFrame:
    """A finished batch-scoring job's rows (the file is immutable): callers must not modify it."""
    from core.artifacts import resolve

    return pd.read_parquet(resolve(Path(home), output))


@st.cache_data(max_entries=4, show_spinner=False)
def batch_csv(home: str, output: str) -> bytes:
    """The scored rows as spreadsheet-safe CSV, for the download button."""
    from core.data.export import csv_bytes

    return csv_bytes(batch_output(home, output))


@st.cache_data(max_entries=4, show_spinner=False)
def batch_parquet(home: str, output: str) -> bytes:
    from core.artifacts import resolve

    return resolve(Path(home), output).read_bytes()


# Monitor page -------------------------------------------------------------------------------


def drift_history(home: str, deployment_id: int, minutes: int) -> DriftHistory:
    """The drift windows of the last ``minutes``, re-read only when a new window is stored or
    the range's start passes a window's end (both at most once per window length)."""
    from core.monitor.dashboard import drift_updated
    from core.monitor.drift_windows import DRIFT_WINDOW_SECONDS

    start = time.time() - minutes * 60
    updated = drift_updated(Path(home), deployment_id)
    return _drift_history(home, deployment_id, minutes, updated, start // DRIFT_WINDOW_SECONDS)


@st.cache_resource(max_entries=16, show_spinner=False)
def _drift_history(
    home: str, deployment_id: int, minutes: int, updated: float, block: float
) -> DriftHistory:
    """Shared between sessions: a DriftHistory is immutable."""
    from core.monitor.dashboard import drift_metrics

    return drift_metrics(Path(home), deployment_id, minutes=minutes)


def feature_importance(home: str, version_id: int) -> dict[str, float] | None:
    """Mean |SHAP| per raw feature from the version's newest explanation, or None without one."""
    loaded = explanation(home, version_id)
    if loaded is None:
        return None
    return _importance(home, version_id, id(loaded[0]), loaded[0])


@st.cache_data(max_entries=8, show_spinner=False)
def _importance(
    home: str, version_id: int, key: int, _explanation: Explanation
) -> dict[str, float]:
    return dict(_explanation.mean_abs())


@st.cache_data(max_entries=8, show_spinner="Scoring the holdout at every threshold…")
def threshold_curve(home: str, version_id: int, artifact_sha256: str) -> ThresholdCurve:
    """A binary version's holdout trade-off (keyed by its file's hash: a version never changes)."""
    from core.review.threshold import holdout_curve
    from core.train.registry import model_version_by_id

    return holdout_curve(Path(home), model_version_by_id(Path(home), version_id))
