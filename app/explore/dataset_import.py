"""The import panel: upload a file or add the sample datasets, both as background jobs."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st

from app import state
from app.components import home, job_progress, select_version, uploaded_bytes
from app.people.permits import guarded
from app.text import md
from core.auth import Permission
from core.data.imports import save_upload
from core.jobs import submit_job
from core.store.jobs import Job

DELIMITERS = {"Detect": None, "Comma ,": ",", "Semicolon ;": ";", "Tab": "\t", "Pipe |": "|"}
ENCODINGS = {
    "Detect": None,
    "UTF-8": "utf-8",
    "Windows-1252 (Western European)": "cp1252",
    "Latin-1 (ISO-8859-1)": "latin-1",
    "UTF-16": "utf-16",
    "Shift-JIS (Japanese)": "cp932",
    "GB18030 (Chinese)": "gb18030",
    "Big5 (Traditional Chinese)": "big5",
    "EUC-KR (Korean)": "euc-kr",
    "Windows-1251 (Cyrillic)": "cp1251",
    "Windows-1250 (Central European)": "cp1250",
}
DECIMALS = {"Detect": None, "Point: 1,234.5": "point", "Comma: 1.234,5": "comma"}
QUOTES = {"Detect": None, "Always": "always", "Never (ordinary characters)": "never"}
FILE_TYPES = ["csv", "tsv", "txt", "parquet", "jsonl", "ndjson", "json", "gz"]
TOO_BIG = (
    "That file is {size:.0f} MB, over the {cap} MB import cap. Raise the cap with "
    "MLOPS_STUDIO_MAX_IMPORT_MB or import a smaller extract."
)


def import_panel(*, expanded: bool) -> None:
    with st.expander("Import data", expanded=expanded):
        uploaded = st.file_uploader(
            "A CSV, TSV, Parquet or JSON-lines file (gzip is fine)",
            type=FILE_TYPES,
            key=state.UPLOAD,
        )
        name = st.text_input(
            "Dataset name",
            key=state.UPLOAD_NAME,
            placeholder="Defaults to the file name; an existing name gets a new version",
        )
        delimiter_box, encoding_box, decimal_box, quotes_box = st.columns(4)
        delimiter = delimiter_box.selectbox(
            "Delimiter", list(DELIMITERS), key=state.UPLOAD_DELIMITER
        )
        encoding = encoding_box.selectbox("Encoding", list(ENCODINGS), key=state.UPLOAD_ENCODING)
        decimal = decimal_box.selectbox(
            "Decimal mark",
            list(DECIMALS),
            key=state.UPLOAD_DECIMAL,
            help="How the file writes numbers; Detect reads it from the file, as a spreadsheet "
            "would.",
        )
        quotes = quotes_box.selectbox(
            "Quote marks",
            list(QUOTES),
            key=state.UPLOAD_QUOTES,
            help="Detect: a quoted value may run over several lines, but a quote mark that "
            "never closes on its row is read as an ordinary character. Always: every quote "
            "mark encloses a value. Never: for files that use quote marks as inch marks.",
        )
        if st.button(
            "Import", type="primary", key=state.UPLOAD_BUTTON, **guarded(Permission.IMPORT)
        ):
            options = _ReadOptions(
                DELIMITERS[delimiter], ENCODINGS[encoding], DECIMALS[decimal], QUOTES[quotes]
            )
            _submit_upload(uploaded, name, options)
        if job_id := st.session_state.get(state.IMPORT_JOB_ID):
            job_progress(job_id, on_done=_show_imported)
        st.divider()
        st.caption("No file at hand? The sample credit-risk and house-price tables are built in.")
        if st.button(
            "Add the sample datasets", key=state.SAMPLES_BUTTON, **guarded(Permission.IMPORT)
        ):
            job = submit_job(
                home(),
                kind="import_samples",
                params={"actor": "ui"},
                dedupe_key="import_samples",
                actor="ui",
            )
            st.session_state[state.SAMPLES_JOB_ID] = job.id
        if job_id := st.session_state.get(state.SAMPLES_JOB_ID):
            job_progress(job_id, on_done=_show_samples_added)


@dataclass(frozen=True)
class _ReadOptions:
    """What the user chose instead of detection; None means detect."""

    delimiter: str | None
    encoding: str | None
    decimal: str | None
    quotes: str | None = None


def _submit_upload(uploaded: Any, name: str, options: _ReadOptions) -> None:
    data = uploaded_bytes(uploaded, too_big=TOO_BIG)
    if data is None:
        return
    file_name = uploaded.name
    dataset_name = name.strip() or Path(file_name).name.split(".")[0] or "dataset"
    params = {
        "upload": save_upload(home(), data=data, file_name=file_name),
        "file_name": file_name,
        "name": dataset_name,
        "delimiter": options.delimiter,
        "encoding": options.encoding,
        "decimal": options.decimal,
        "quotes": options.quotes,
        "actor": "ui",
    }
    digest = hashlib.sha256(data).hexdigest()[:16]
    chosen = f"{options.delimiter}:{options.encoding}:{options.decimal}:{options.quotes}"
    job = submit_job(
        home(),
        kind="import_upload",
        params=params,
        actor="ui",
        dedupe_key=f"import:{dataset_name}:{digest}:{chosen}",
    )
    st.session_state[state.IMPORT_JOB_ID] = job.id


def _show_imported(job: Job) -> None:
    result = job.result or {}
    version, report = result.get("version", {}), result.get("report", {})
    if version and st.session_state.get(state.SELECTED_FROM_JOB) != job.id:
        st.session_state[state.SELECTED_FROM_JOB] = job.id
        select_version(version)
        st.rerun()
    verb = "Already imported: reusing" if result.get("reused") else "Imported"
    st.success(
        f"{verb} {md(version.get('dataset'))} v{version.get('version')}: "
        f"{version.get('rows', 0):,} rows × {version.get('columns', 0)} columns."
    )
    # The report's warnings are whole sentences, skipped rows and renamed columns included.
    for warning in report.get("warnings", []):
        st.warning(md(warning))


def _show_samples_added(job: Job) -> None:
    st.success("Sample datasets are ready: pick one above.")
