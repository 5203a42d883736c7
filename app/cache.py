"""All Streamlit caching, in one place, wrapping pure core calls keyed by dataset version."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import streamlit as st

from core.data import datasets, explore
from core.data.schema import ColumnSchema, schema_from_json, schema_to_json
from core.store.records import DatasetVersion


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
def dataset_profile(key: VersionKey, target: str | None) -> Any:
    from core.data.profile import profile_table

    return profile_table(
        table(key.home, key.version_id, key.content_hash), schema=key.schema, target=target
    )


@st.cache_data(max_entries=64, show_spinner=False)
def column_view(key: VersionKey, column: str, role: str) -> Any:
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
def target_strength(key: VersionKey, target: str) -> list[Any]:
    from core.data.quality import feature_target_strength

    return feature_target_strength(_frame(key), target=target, schema=key.schema)


@st.cache_data(max_entries=4, show_spinner=False)
def report_html(path: str, sha256: str) -> str:
    return Path(path).read_text("utf-8")


@st.cache_resource(max_entries=64, show_spinner=False)
def cleaned(key: VersionKey, steps_json: str) -> Any:
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
def before_after_figure(key: VersionKey, steps_json: str, column: str) -> Any:
    """A column's distribution before and after the cleaning steps."""
    from app.prepare_charts import before_after_figure as draw

    return draw(cleaned(key, "[]").frame[column], cleaned(key, steps_json).frame[column], column)


# Experiments page ------------------------------------------------------------------------------


@st.cache_data(max_entries=4, show_spinner=False)
def runs_listing(home: str, fingerprint: tuple[Any, ...]) -> pd.DataFrame:
    """Every model run (archived too) as the runs table, rebuilt only when the runs change.

    ``fingerprint`` (``tracking.runs_fingerprint``) is only the cache key: a cheap summary of the
    runs table that changes whenever this listing would.
    """
    from app.experiments_sections import listing_frame
    from core.train.tracking import run_summaries

    return listing_frame(run_summaries(Path(home), include_archived=True))
