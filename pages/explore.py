"""Explore: pick or import a dataset, then look at its columns, relationships and quality."""

import streamlit as st

from app import cache, state
from app.cache import VersionKey
from app.components import column_choice, dataset_picker, home, suggest_target
from app.explore import sections
from app.explore.dataset_import import import_panel
from app.text import md
from core.artifacts import ArtifactError
from core.data.datasets import DatasetError

SECTIONS = {
    "Overview": "overview",
    "Columns": "columns",
    "Correlations": "correlations",
    "Missing values": "missing",
    "Relationships": "relationships",
    "Target": "target",
    "Quality": "quality",
    "Profile report": "report",
}

st.title("Explore")
version = dataset_picker()
import_panel(expanded=version is None)
if version is None:
    st.info(
        "No datasets yet. Import a file above, or add the sample datasets to explore a "
        "credit-risk table right away."
    )
    st.stop()

st.caption(
    f"{md(version.label)} · {version.row_count:,} rows × {version.column_count} columns · "
    f"{sections.lineage(version)} · sha256 {version.content_hash[:12]}"
)
key = VersionKey.of(home(), version)
names = [column.name for column in version.schema]
targets = st.session_state.setdefault(state.TARGET_BY_VERSION, {})
chosen = targets.get(version.id, suggest_target(version))
target = column_choice(
    "Target column",
    names,
    chosen,
    none_label="(none)",
    key=f"{state.EXPLORE_TARGET}.{version.id}",
    help="What a model would predict; used for target analysis, imbalance and leakage checks.",
)
targets[version.id] = target

try:
    profile = cache.dataset_profile(key, target)
except (DatasetError, ArtifactError) as error:
    st.error(md(str(error)))
    st.stop()

section = SECTIONS[
    st.radio(
        "Section",
        list(SECTIONS),
        horizontal=True,
        key=state.EXPLORE_SECTION,
        label_visibility="collapsed",
    )
]
if section == "overview":
    sections.overview(key, version, profile, target)
elif section == "columns":
    sections.columns(key, version, profile)
elif section == "correlations":
    sections.correlations(key)
elif section == "missing":
    sections.missing_values(key)
elif section == "relationships":
    sections.relationships(key, profile, target)
elif section == "target":
    sections.target_section(key, profile, target)
elif section == "quality":
    sections.quality(profile)
else:
    sections.profile_report(version)
