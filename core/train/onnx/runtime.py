"""Running an ONNX copy: its session, its inputs (one per raw column) and their values."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from core.prep.transformers import epoch_days, level_text
from core.prep.transformers.inputs import _as_datetime

TASKS = ("binary", "multiclass", "regression")
# The ONNX model has one input per raw column the pipeline reads, named like the column and
# shaped (rows, 1). A column is text, number or date as the pipeline reads it: categorical
# columns whose levels were text in training are text, written as ``level_text`` writes a value
# (True -> "True", 3.0 -> "3"); the others are double, with NaN for missing. A missing text
# value travels as MISSING_TEXT, the empty string, which is also how the CSV import reads an
# empty cell; so an empty string counts as missing, where scikit-learn would keep it as a level.
# A date column (one DateParts reads) travels as epoch days: fractional days since 1970-01-01,
# read from the raw values outside the graph by DateParts's own parsing, so the graph only does
# calendar arithmetic on numbers and matches it exactly.
MISSING_TEXT = ""
INPUT_KINDS = ("text", "number", "date")
MODEL_NOTE = (
    "One input per raw column, shaped (rows, 1): text columns as strings with '' for missing, "
    "number columns as doubles with NaN for missing, date columns as doubles counting days "
    "since 1970-01-01 (fractional for the time of day; aware times in UTC), NaN for missing. "
    "Input names may be tidied (label -> label1); the metadata entry 'columns' lists each "
    "input's column, in input order, and 'date_columns' the columns that are dates. "
    "Classifiers output the label, then the class probabilities (rows, classes); regressors "
    "output the predictions (rows, 1)."
)
# skl2onnx tidies input names (spaces, brackets, names it reserves), so the raw column of each
# input, in input order, is kept in the model's metadata under this key; the date columns,
# whose inputs are doubles like numbers', under the next one.
COLUMNS_METADATA = "columns"
DATE_COLUMNS_METADATA = "date_columns"
UNKNOWN_TASK = "task must be one of {choices}, not {task!r}."
UNKNOWN_INPUT_KIND = "kind must be one of {choices}, not {kind!r}."
MISSING_COLUMN = "The ONNX model reads column {column!r}, which this table does not have."


@dataclass(frozen=True)
class OnnxInput:
    """One input of an ONNX model: its name in the graph, the raw column it reads, and how
    that column is written into it: "text", "number" or "date" (see onnx_input_values)."""

    name: str
    column: str
    kind: str


def onnx_predict(data: bytes, frame: pd.DataFrame, *, task: str) -> np.ndarray:
    """Probabilities (n, n_classes) for binary/multiclass, predictions (n,) for regression."""
    _check_task(task)
    session = onnx_session(data)
    feeds = {
        put.name: onnx_input_values(_raw_column(frame, put.column), put.kind)
        for put in onnx_inputs(session)
    }
    outputs = session.run(None, feeds)
    if task == "regression":
        return np.asarray(outputs[0], dtype=np.float64).reshape(len(frame))
    return np.asarray(outputs[1], dtype=np.float64)


def onnx_session(data: bytes, *, threads: int | None = None) -> Any:
    """An ONNX Runtime session on the CPU for a model this module wrote; load it once and run
    it for every request. ``threads`` caps its threads (a service runs one per process)."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    if threads is not None:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = threads
    # idle worker threads sleep rather than spin, so they leave the cores to training jobs
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return onnxruntime.InferenceSession(
        data, sess_options=options, providers=["CPUExecutionProvider"]
    )


def onnx_inputs(session: Any) -> list[OnnxInput]:
    """The session's inputs in order, each with its raw column and kind, from the model's
    metadata; a model without it reads each column under its input name."""
    nodes = session.get_inputs()
    metadata = session.get_modelmeta().custom_metadata_map
    listed = metadata.get(COLUMNS_METADATA)
    columns = json.loads(listed) if listed else [node.name for node in nodes]
    dates = set(json.loads(metadata.get(DATE_COLUMNS_METADATA) or "[]"))
    return [
        OnnxInput(name=node.name, column=column, kind=_input_kind(node.type, column in dates))
        for node, column in zip(nodes, columns, strict=True)
    ]


def onnx_input_values(values: pd.Series, kind: str) -> np.ndarray:
    """One raw column as its ONNX input expects it, shaped (rows, 1): text as ``level_text``
    writes it with MISSING_TEXT for missing; numbers as doubles with NaN for missing (bools
    as 0/1, text that is no number as NaN); dates as DateParts reads them, in epoch days, NaN
    for missing or unreadable."""
    if kind == "text":
        return _text_values(values).reshape(-1, 1)
    if kind == "number":
        return _number_values(values).reshape(-1, 1)
    if kind == "date":
        return epoch_days(_as_datetime(values)).reshape(-1, 1)
    raise ValueError(UNKNOWN_INPUT_KIND.format(choices=", ".join(INPUT_KINDS), kind=kind))


def _check_task(task: str) -> None:
    if task not in TASKS:
        raise ValueError(UNKNOWN_TASK.format(choices=", ".join(TASKS), task=task))


def _is_number_column(column: pd.Series) -> bool:
    dtype = column.dtype
    return pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)


def _input_kind(onnx_type: str, is_date: bool) -> str:
    if onnx_type == "tensor(string)":
        return "text"
    return "date" if is_date else "number"


def _raw_column(frame: pd.DataFrame, name: str) -> pd.Series:
    if name not in frame.columns:
        raise KeyError(MISSING_COLUMN.format(column=name))
    return frame[name]


def _number_values(column: pd.Series) -> np.ndarray:
    """Number and bool columns as they are (the common case, kept cheap for one-row calls);
    the others through pd.to_numeric."""
    if not (_is_number_column(column) or pd.api.types.is_bool_dtype(column.dtype)):
        column = pd.to_numeric(column, errors="coerce")
    if isinstance(column.dtype, np.dtype) and column.dtype.kind in "biuf":
        return column.to_numpy(dtype=np.float64)  # no pd.NA in there; na_value costs ~0.1 ms
    return column.to_numpy(dtype=np.float64, na_value=np.nan)


def _text_values(column: pd.Series) -> np.ndarray:
    """Each value as ``level_text`` writes it, MISSING_TEXT where missing; plain text columns
    without the per-value loop."""
    values = column.to_numpy(dtype=object, copy=True)
    if pd.api.types.infer_dtype(values, skipna=True) == "string":  # on the array: cheaper
        values[pd.isna(values)] = MISSING_TEXT
        return values
    texts = [MISSING_TEXT if _is_missing(value) else level_text(value) for value in column]
    return np.asarray(texts, dtype=object)


def _is_missing(value: Any) -> bool:
    missing = pd.isna(value)
    return bool(missing) if np.ndim(missing) == 0 else False
