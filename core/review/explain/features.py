"""The model's encoded features traced back to the raw columns they were built from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline


@dataclass(frozen=True, eq=False)
class FeatureMap:
    """How the model's encoded features come from the raw columns: ``weights[e, r]`` is the
    share of encoded feature e credited to raw column r; every row of ``weights`` sums to 1."""

    raw: list[str]
    encoded: list[str]
    weights: np.ndarray
    kinds: dict[str, str]


def feature_map(pipeline: Pipeline) -> FeatureMap:
    """One-hot levels go to their column, date parts to their date column, a missing flag to
    its column, and an interaction term (``age*income``, ``age^2``) is split evenly between the
    distinct columns it multiplies. A pipeline without a ColumnTransformer maps one to one."""
    encoded = _encoded_names(pipeline)
    columns = _column_transformer(pipeline.steps[:-1])
    if columns is None:
        return FeatureMap(encoded, encoded, np.eye(len(encoded)), {})
    parents = _parents(columns)
    if any(name not in parents for name in encoded):
        return FeatureMap(encoded, encoded, np.eye(len(encoded)), {})
    inputs = [str(name) for name in getattr(columns, "feature_names_in_", [])]
    used = {column for name in encoded for column in parents[name]}
    raw = [name for name in inputs if name in used] + sorted(used - set(inputs))
    position = {name: index for index, name in enumerate(raw)}
    weights = np.zeros((len(encoded), len(raw)))
    for row, name in enumerate(encoded):
        for column, share in parents[name].items():
            weights[row, position[column]] += share
    return FeatureMap(raw, encoded, weights, _column_kinds(columns))


def _encoded_names(pipeline: Pipeline) -> list[str]:
    if len(pipeline.steps) > 1:
        return [str(name) for name in pipeline[:-1].get_feature_names_out()]
    model = pipeline.steps[-1][1]
    names = getattr(model, "feature_names_in_", None)
    if names is None:
        return [f"x{i}" for i in range(int(model.n_features_in_))]
    return [str(name) for name in names]


def _column_transformer(steps: list[tuple[str, Any]]) -> ColumnTransformer | None:
    """The first fitted ColumnTransformer among the steps (nested pipelines included)."""
    for _, step in steps:
        if isinstance(step, ColumnTransformer) and hasattr(step, "transformers_"):
            return step
        if isinstance(step, Pipeline):
            found = _column_transformer(step.steps)
            if found is not None:
                return found
    return None


def _parents(columns: ColumnTransformer) -> dict[str, dict[str, float]]:
    """Each output name of the ColumnTransformer -> {raw column: share}."""
    names = [str(name) for name in columns.get_feature_names_out()]
    inputs = list(getattr(columns, "feature_names_in_", []))
    parents: dict[str, dict[str, float]] = {}
    for name, transformer, selected in columns.transformers_:
        block = columns.output_indices_.get(name, slice(0, 0))
        width = block.stop - block.start
        if transformer == "drop" or width == 0:
            continue
        raw = _selected_names(selected, inputs)
        for offset, shares in enumerate(_block_shares(transformer, raw, width)):
            parents[names[block.start + offset]] = shares
    return parents


def _selected_names(selected: Any, inputs: list[Any]) -> list[str]:
    if isinstance(selected, slice):
        return [str(name) for name in inputs[selected]]
    items = list(np.atleast_1d(selected))
    if items and isinstance(items[0], bool | np.bool_):
        return [str(name) for name, keep in zip(inputs, items, strict=True) if keep]
    if items and isinstance(items[0], int | np.integer):
        return [str(inputs[int(index)]) for index in items]
    return [str(item) for item in items]


def _block_shares(transformer: Any, raw: list[str], width: int) -> list[dict[str, float]]:
    """Shares for one ColumnTransformer block of ``width`` outputs built from ``raw`` columns."""
    last = transformer.steps[-1][1] if isinstance(transformer, Pipeline) else transformer
    terms = getattr(last, "terms_", None)
    if terms is not None and len(terms) == width:  # PolynomialTerms: products of columns
        return [_even({raw[index] for index in term}) for term in terms]
    categories = getattr(last, "categories_", None)
    if type(last).__name__ == "OneHotEncoder" and categories is not None:
        counts = [len(levels) for levels in categories]
        if sum(counts) == width and getattr(last, "drop_idx_", None) is None:
            return [{column: 1.0} for column, n in zip(raw, counts, strict=True) for _ in range(n)]
    if raw and width % len(raw) == 0:  # one or more outputs per column, column by column
        per_column = width // len(raw)
        return [{column: 1.0} for column in raw for _ in range(per_column)]
    return [_even(set(raw)) for _ in range(width)]


def _even(columns: set[str]) -> dict[str, float]:
    return {column: 1.0 / len(columns) for column in sorted(columns)}


def _column_kinds(columns: ColumnTransformer) -> dict[str, str]:
    """numeric, categorical or datetime for each raw column, from the steps that prepare it."""
    inputs = list(getattr(columns, "feature_names_in_", []))
    kinds: dict[str, str] = {}
    for _, transformer, selected in columns.transformers_:
        if not isinstance(transformer, Pipeline):
            continue
        steps = transformer.named_steps
        kind = (
            "datetime"
            if "parts" in steps
            else "categorical"
            if "encode" in steps
            else "numeric"
            if "as_number" in steps
            else None
        )
        if kind is not None:
            for column in _selected_names(selected, inputs):
                kinds.setdefault(column, kind)
    return kinds


def _kind_of(series: pd.Series, mapping: FeatureMap) -> str:
    known = mapping.kinds.get(str(series.name))
    if known is not None:
        return known
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        return "datetime"
    numeric = pd.api.types.is_numeric_dtype(series.dtype)
    return "numeric" if numeric and not pd.api.types.is_bool_dtype(series.dtype) else "categorical"


def _encoded(pipeline: Pipeline, rows: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    if len(pipeline.steps) == 1:
        return rows
    frame = pipeline[:-1].transform(rows)
    if not isinstance(frame, pd.DataFrame):
        frame = pd.DataFrame(np.asarray(frame, dtype=float), columns=names)
    return frame


def _explained_data(pipeline: Pipeline, rows: pd.DataFrame, mapping: FeatureMap) -> pd.DataFrame:
    """The explained rows in the explained columns: raw ones, or encoded when no raw map."""
    if set(mapping.raw) <= set(rows.columns):
        return rows[mapping.raw].reset_index(drop=True)
    return _encoded(pipeline, rows, mapping.encoded).reset_index(drop=True)
