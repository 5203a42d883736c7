"""Which raw columns a pipeline reads and as what (text, number or date): the graph's inputs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline

from core.prep.transformers import (
    DateParts,
    FeatureColumns,
    ToFloat,
    ToLevels,
)
from core.train.onnx import compat
from core.train.onnx.runtime import _is_number_column


def _walk(model: Any) -> Iterator[Any]:
    """The model and every step nested in it, pipelines and column groups opened."""
    yield model
    if isinstance(model, Pipeline):
        for _, step in model.steps:
            yield from _walk(step)
    elif isinstance(model, ColumnTransformer):
        for _, transformer, _ in model.transformers_:
            if not isinstance(transformer, str):
                yield from _walk(transformer)


def _first_step(transformer: Any) -> Any:
    return transformer.steps[0][1] if isinstance(transformer, Pipeline) else transformer


def _feature_step(pipeline: Any) -> FeatureColumns | None:
    """The first FeatureColumns met walking the pipeline: it reads the raw columns."""
    for step in _walk(pipeline):
        if isinstance(step, FeatureColumns):
            return step
    return None


def _column_names(columns_step: ColumnTransformer, columns: Any) -> list[str]:
    """A ColumnTransformer's column selection as raw column names."""
    if isinstance(columns, str):
        return [columns]
    selected = list(np.atleast_1d(np.asarray(columns, dtype=object)))
    if all(isinstance(column, str) for column in selected):
        return [str(column) for column in selected]
    names = np.asarray(columns_step.feature_names_in_, dtype=object)
    return [str(name) for name in names[np.asarray(columns)]]


def _input_columns(pipeline: Any) -> list[str]:
    """Raw columns the pipeline reads, in fit order; without FeatureColumns, every column it
    was fitted on."""
    columns_step = _feature_step(pipeline)
    if columns_step is None:
        return [str(name) for name in getattr(pipeline, "feature_names_in_", [])]
    used: set[str] = set()
    for _, transformer, columns in columns_step.transformers_:
        if not (isinstance(transformer, str) and transformer == "drop"):
            used.update(_column_names(columns_step, columns))
    return [str(name) for name in columns_step.feature_names_in_ if str(name) in used]


def _column_kinds(columns_step: ColumnTransformer) -> dict[str, str]:
    """Each column's input kind, where the pipeline decided it in fit: ToLevels learned number
    or text levels per column, ToFloat reads numbers, DateParts dates."""
    found: dict[str, str] = {}
    for _, transformer, columns in columns_step.transformers_:
        if isinstance(transformer, str):
            continue
        names = _column_names(columns_step, columns)
        first = _first_step(transformer)
        if isinstance(first, ColumnTransformer):
            found.update(_column_kinds(first))
        elif isinstance(first, ToLevels):
            kinds = ("number" if number else "text" for number in first.number_columns_)
            found.update(zip(names, kinds, strict=True))
        elif isinstance(first, ToFloat):
            found.update(dict.fromkeys(names, "number"))
        elif isinstance(first, DateParts):
            found.update(dict.fromkeys(names, "date"))
    return found


def _input_kinds(pipeline: Any, frame: pd.DataFrame, columns: list[str]) -> list[tuple[str, str]]:
    """Each column's input kind as the pipeline reads it, else text or number as the frame
    holds it."""
    columns_step = _feature_step(pipeline)
    decided = _column_kinds(columns_step) if columns_step is not None else {}
    return [(name, decided.get(name) or _held_kind(frame[name])) for name in columns]


def _held_kind(column: pd.Series) -> str:
    return "number" if _is_number_column(column) else "text"


def _initial_types(kinds: list[tuple[str, str]]) -> list[tuple[str, Any]]:
    """The (rows, 1) graph input of each column: text as strings, numbers and dates as doubles."""
    return [
        (
            name,
            compat.string_tensor([None, 1]) if kind == "text" else compat.double_tensor([None, 1]),
        )
        for name, kind in kinds
    ]
