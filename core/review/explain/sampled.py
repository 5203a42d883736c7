"""Permutation SHAP over the raw columns through the whole pipeline, for any other model."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from core.review.explain.model import _class_text, sample_rows
from core.review.explain.result import NO_PROBABILITIES, ExplainError, Predict, _Explained, _Inputs

# The sampled explainer's bounds: background rows, and model evaluations (rows pushed through the
# whole pipeline) for one explanation; fewer rows are explained when a table has many columns.
SAMPLED_BACKGROUND = 50
SAMPLED_EVALUATIONS = 200_000
SAMPLED_BATCH = 20_000
PERMUTATION_PAIRS = 1


def _sampled_rows(features: list[str]) -> int:
    per_row = 2 * PERMUTATION_PAIRS * max(1, len(features) - 1) * SAMPLED_BACKGROUND
    return max(1, SAMPLED_EVALUATIONS // per_row)


def _predictor(pipeline: Pipeline, task: str, class_index: int, what: str) -> Predict:
    if task == "regression":
        return lambda frame: np.asarray(pipeline.predict(frame), dtype=np.float64).ravel()
    if not hasattr(pipeline, "predict_proba"):
        model = type(pipeline.steps[-1][1]).__name__
        raise ExplainError(NO_PROBABILITIES.format(model=model, what=what))
    return lambda frame: np.asarray(pipeline.predict_proba(frame), dtype=np.float64)[:, class_index]


def _sampled_explanation(inputs: _Inputs) -> _Explained:
    """Permutation SHAP over the raw columns, through the whole pipeline: the model is seen as
    a function of the raw columns, so the 'encoded' values are the raw-column values."""
    pipeline, rows, mapping = inputs.pipeline, inputs.rows, inputs.mapping
    class_index, task = inputs.class_index, inputs.task
    predict = _predictor(pipeline, task, class_index, "SHAP values")
    output = (
        "predicted value"
        if task == "regression"
        else f"probability of class {_class_text(pipeline, class_index)}"
    )
    reference = sample_rows(inputs.background, SAMPLED_BACKGROUND, seed=inputs.seed + 1)
    outputs = predict(rows)
    base = float(predict(reference).mean())
    features = list(mapping.raw)
    model = pipeline.steps[-1][1]
    if _constant_model(model):
        values = np.zeros((len(rows), len(features)))
    elif len(features) == 1:
        values = (outputs - base)[:, None]
    else:
        values = _permutation_values(predict, rows, reference, features, outputs, base, inputs.seed)
    note = (
        f"Approximate: permutation SHAP with {len(reference)} background rows and "
        f"{2 * PERMUTATION_PAIRS} feature orders per row."
    )
    return _Explained(
        output=output,
        base_value=base,
        encoded_features=features,
        encoded_values=values,
        outputs=outputs,
        notes=[note],
    )


def _constant_model(model: Any) -> bool:
    """A baseline that predicts the same for every row: every SHAP value is exactly 0."""
    name = type(model).__name__
    strategy = getattr(model, "strategy", None)
    return name in ("DummyClassifier", "DummyRegressor") and strategy not in (
        "stratified",
        "uniform",
    )


def _permutation_values(
    predict: Predict,
    rows: pd.DataFrame,
    reference: pd.DataFrame,
    features: list[str],
    outputs: np.ndarray,
    base: float,
    seed: int,
) -> np.ndarray:
    """Each row: feature orders (random, and each reversed); the features join the row one at
    a time, the rest coming from each background row; a feature's value is the mean change
    it makes. The changes of one order sum to f(x) - base, so the values add up exactly."""
    rng = np.random.default_rng(seed)
    p, orders, width = len(features), 2 * PERMUTATION_PAIRS, len(reference)
    values = np.zeros((len(rows), p))
    chunk = max(1, SAMPLED_BATCH // (orders * (p - 1) * width))
    for first in range(0, len(rows), chunk):
        part = rows.iloc[first : first + chunk].reset_index(drop=True)
        randoms = np.argsort(rng.random((len(part), PERMUTATION_PAIRS, p)), axis=2)
        perms = np.concatenate([randoms, randoms[:, :, ::-1]], axis=1)
        middle = _coalition_means(predict, part, reference, features, perms)
        ends = outputs[first : first + len(part), None, None] * np.ones((1, orders, 1))
        starts = np.full((len(part), orders, 1), base)
        steps = np.diff(np.concatenate([starts, middle, ends], axis=2), axis=2)
        credited = np.zeros_like(steps)
        np.put_along_axis(credited, perms, steps, axis=2)
        values[first : first + len(part)] = credited.mean(axis=1)
    return values


def _coalition_means(
    predict: Predict,
    part: pd.DataFrame,
    reference: pd.DataFrame,
    features: list[str],
    perms: np.ndarray,
) -> np.ndarray:
    """Mean prediction over the background for each row, order and coalition size 1..p-1."""
    n, orders, p = perms.shape
    width = len(reference)
    ranks = np.argsort(perms, axis=2)  # where each feature stands in each order
    sizes = np.arange(1, p)
    own = np.broadcast_to(np.arange(n)[:, None, None, None], (n, orders, p - 1, width))
    other = np.broadcast_to(n + np.arange(width), (n, orders, p - 1, width))
    columns: dict[Any, pd.Series] = {}
    for column in part.columns:
        both = pd.concat([part[column], reference[column]], ignore_index=True)
        if column in features:
            j = features.index(column)
            present = ranks[:, :, None, j] < sizes[None, None, :]
            where = np.where(present[..., None], own, other)
        else:
            where = own
        columns[column] = both.take(where.ravel()).reset_index(drop=True)
    hybrid = pd.DataFrame(columns, columns=part.columns)
    return predict(hybrid).reshape(n, orders, p - 1, width).mean(axis=3)
