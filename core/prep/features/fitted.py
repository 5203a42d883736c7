"""Reading a fitted feature pipeline: levels a new frame holds that training never saw."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from core.prep.transformers import (
    FeatureColumns,
)


def _feature_columns(pipeline: Any) -> FeatureColumns:
    """The fitted ColumnTransformer of a feature pipeline, also inside a model pipeline."""
    if isinstance(pipeline, Pipeline):
        for name, step in pipeline.steps:
            if name == "columns" and isinstance(step, FeatureColumns):
                return step
            if isinstance(step, Pipeline):
                try:
                    return _feature_columns(step)
                except LookupError:
                    continue
    raise LookupError("No fitted feature spec columns step in this pipeline.")


def count_unseen_categories(pipeline: Pipeline, frame: pd.DataFrame) -> dict[str, int]:
    """After fit: per categorical input column, how many rows of ``frame`` hold a level the
    encoder never saw in training (or, with an explicit ordinal order, is not in the order).
    A missing value counts only when imputation is off and training had no missing value."""
    counts: dict[str, int] = {}
    for _, group, names in _feature_columns(pipeline).transformers_:
        if not isinstance(group, Pipeline) or "encode" not in group.named_steps:
            continue
        present = [name for name in names if name in frame.columns]
        if not present:
            continue
        positions = [names.index(name) for name in present]
        stop = next(i for i, (step, _) in enumerate(group.steps) if step in ("rare", "encode"))
        levels = pd.DataFrame(group[:stop].transform(_with_all_columns(frame, names)))
        known = _known_levels(group)
        for name, position in zip(present, positions, strict=True):
            column = levels.iloc[:, position]
            counts[name] = int((~column.isin(known[position])).sum())
    return counts


def _known_levels(group: Pipeline) -> list[np.ndarray]:
    encoded = group.named_steps["encode"].categories_
    if "rare" not in group.named_steps:
        return encoded
    seen = group.named_steps["rare"].levels_
    return [np.concatenate([a, b]) for a, b in zip(seen, encoded, strict=True)]


def _with_all_columns(frame: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """The frame's columns in fit order; columns the frame lacks are all missing."""
    return pd.DataFrame(
        {name: frame[name] if name in frame.columns else np.nan for name in names},
        index=frame.index,
    )
