"""Inspecting a model by its predictions: permutation importance, PDP/ICE and what-if."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from core.review.explain.features import FeatureMap, _kind_of, feature_map
from core.review.explain.model import (
    _check_task,
    _class_index,
    _class_label,
    _class_text,
    _final_estimator,
    _positions,
    _same_label,
    sample_rows,
)
from core.review.explain.result import (
    BAD_VALUE,
    NO_ROWS,
    UNKNOWN_COLUMNS,
    UNKNOWN_FEATURE,
    ExplainError,
    json_value,
)
from core.review.explain.sampled import _predictor
from core.review.explain.shap_values import explain
from core.train.evaluate import (
    HIGHER_IS_BETTER,
    PRIMARY_METRIC,
    decision_scores,
    predictions,
    score_metric,
)

PDP_ROWS = 500
PDP_QUANTILES = (0.05, 0.95)


@dataclass(frozen=True)
class PartialDependence:
    """The average prediction (and one ICE line per sampled row) along one column's grid.

    Grid values and predictions are JSON values (a date as ISO text, a missing number as None),
    as the explain job saves them.
    """

    feature: str
    kind: str
    output: str
    target_class: Any
    grid: tuple[Any, ...]
    average: tuple[float | None, ...]
    ice: tuple[tuple[float | None, ...], ...]
    rows: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "feature": self.feature,
            "kind": self.kind,
            "output": self.output,
            "target_class": self.target_class,
            "grid": list(self.grid),
            "average": list(self.average),
            "ice": [list(line) for line in self.ice],
            "rows": self.rows,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PartialDependence:
        return cls(
            feature=str(data["feature"]),
            kind=str(data["kind"]),
            output=str(data["output"]),
            target_class=data.get("target_class"),
            grid=tuple(data["grid"]),
            average=tuple(data["average"]),
            ice=tuple(tuple(line) for line in data["ice"]),
            rows=int(data["rows"]),
        )


@dataclass(frozen=True)
class Contribution:
    """One raw column's value in the edited row and its SHAP value."""

    feature: str
    value: Any
    shap: float


@dataclass(frozen=True)
class OutOfRange:
    """A value the model never saw in training: beyond the range (low..high) or a new level."""

    feature: str
    value: Any
    low: Any
    high: Any
    reason: str


@dataclass(frozen=True)
class WhatIf:
    """The prediction and explanation of one edited row; values are JSON values."""

    prediction: Any
    probabilities: dict[str, float] | None
    explainer: str
    output: str
    target_class: Any
    base_value: float
    output_value: float
    contributions: tuple[Contribution, ...]  # largest |SHAP| first
    out_of_range: tuple[OutOfRange, ...]

    @property
    def shap(self) -> dict[str, float]:
        return {item.feature: item.shap for item in self.contributions}


# -- permutation importance ------------------------------------------------------------------


def permutation_importances(
    pipeline: Any,
    X: pd.DataFrame,
    y: pd.Series,
    *,
    task: str,
    n_repeats: int = 5,
    seed: int = 0,
    max_rows: int = 5000,
) -> list[tuple[str, float, float]]:
    """(raw column, mean drop, std) largest first: how much the task's primary metric worsens
    when the column's values are shuffled across rows (through the whole pipeline)."""
    _check_task(task)
    _final_estimator(pipeline)
    if len(X) == 0:
        raise ExplainError(NO_ROWS)
    positions = _positions(len(X), max_rows, seed)
    rows = X.iloc[positions].reset_index(drop=True)
    truth = pd.Series(np.asarray(y)[positions])
    metric = PRIMARY_METRIC[task]
    sign = 1.0 if HIGHER_IS_BETTER[metric] else -1.0
    baseline = _score(pipeline, rows, truth, task=task, metric=metric)
    rng = np.random.default_rng(seed)
    results = []
    for feature in feature_map(pipeline).raw:
        shuffled = []
        for _ in range(n_repeats):
            copy = rows.copy()
            order = rng.permutation(len(rows))
            copy[feature] = rows[feature].iloc[order].reset_index(drop=True)
            shuffled.append(copy)
        scores = _scores(pipeline, shuffled, truth, task=task, metric=metric)
        drops = sign * (baseline - np.asarray(scores))
        results.append((feature, float(np.mean(drops)), float(np.std(drops))))
    return sorted(results, key=lambda item: -item[1] if math.isfinite(item[1]) else math.inf)


def _score(pipeline: Any, rows: pd.DataFrame, truth: pd.Series, *, task: str, metric: str) -> float:
    return _scores(pipeline, [rows], truth, task=task, metric=metric)[0]


def _scores(
    pipeline: Any, frames: list[pd.DataFrame], truth: pd.Series, *, task: str, metric: str
) -> list[float]:
    """One predict call for all the frames, then one score each."""
    together = pd.concat(frames, ignore_index=True)
    predicted, probabilities = predictions(pipeline, together, task=task)
    ranks = None
    if probabilities is None and task != "regression":
        ranks = decision_scores(pipeline, together)
    classes = list(getattr(pipeline, "classes_", []))
    n = len(truth)
    return [
        score_metric(
            metric,
            truth,
            predicted=predicted[i * n : (i + 1) * n],
            probabilities=None if probabilities is None else probabilities[i * n : (i + 1) * n],
            classes=classes,
            task=task,
            scores=None if ranks is None else ranks[i * n : (i + 1) * n],
        )
        for i in range(len(frames))
    ]


# -- partial dependence ----------------------------------------------------------------------


def partial_dependence(
    pipeline: Any,
    X: pd.DataFrame,
    *,
    feature: str,
    task: str,
    grid_points: int = 20,
    ice_rows: int = 50,
    seed: int = 0,
    max_rows: int = PDP_ROWS,
    target_class: Any = None,
) -> PartialDependence:
    """The average prediction (and one ICE line per sampled row) as ``feature`` sweeps a grid:
    quantiles 5%..95% of a number or date, or the most frequent levels of a category."""
    _check_task(task)
    _final_estimator(pipeline)
    mapping = feature_map(pipeline)
    if feature not in X.columns:
        choices = ", ".join(mapping.raw)
        raise ExplainError(UNKNOWN_FEATURE.format(feature=feature, choices=choices))
    if len(X) == 0:
        raise ExplainError(NO_ROWS)
    rows = sample_rows(X, max_rows, seed=seed)
    class_index = _class_index(pipeline, rows, task=task, target_class=target_class)
    predict = _predictor(pipeline, task, class_index, "partial dependence")
    kind = _kind_of(X[feature], mapping)
    grid = _grid(X[feature], kind, grid_points)
    swept = pd.concat([_with_value(rows, feature, value) for value in grid], ignore_index=True)
    curves = predict(swept).reshape(len(grid), len(rows)) if grid else np.empty((0, len(rows)))
    return PartialDependence(
        feature=feature,
        kind=kind,
        output="predicted value"
        if task == "regression"
        else f"probability of class {_class_text(pipeline, class_index)}",
        target_class=_class_label(pipeline, class_index) if task != "regression" else None,
        grid=tuple(json_value(value) for value in grid),
        average=tuple(json_value(value) for value in curves.mean(axis=1)) if grid else (),
        ice=tuple(
            tuple(json_value(v) for v in curves[:, i])
            for i in _positions(len(rows), ice_rows, seed)
        ),
        rows=len(rows),
    )


def _grid(column: pd.Series, kind: str, points: int) -> list[Any]:
    if kind == "numeric":
        numbers = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        finite = numbers[np.isfinite(numbers)]
        if finite.size == 0:
            return []
        distinct = np.unique(finite)
        if distinct.size <= points:
            return [float(value) for value in distinct]
        low, high = np.quantile(finite, PDP_QUANTILES)
        return [float(value) for value in np.unique(np.linspace(low, high, points))]
    if kind == "datetime":
        moments = _as_moments(column).dropna()
        if moments.empty:
            return []
        low, high = moments.quantile(PDP_QUANTILES[0]), moments.quantile(PDP_QUANTILES[1])
        grid = pd.Series(pd.date_range(low, high, periods=points))
        if high - low >= pd.Timedelta(days=points):  # whole days read better than 07:46:06
            grid = grid.dt.floor("D")
        grid = grid.drop_duplicates()
        if pd.api.types.is_datetime64_any_dtype(column.dtype):
            return list(grid)
        return [moment.isoformat() for moment in grid]
    counts = column.dropna().value_counts()
    return sorted(counts.index[:points], key=lambda level: str(level))


def _as_moments(column: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(column.dtype):
        return column.dt.tz_localize(None) if column.dt.tz is not None else column
    parsed = pd.to_datetime(column, errors="coerce", utc=True, format="ISO8601")
    return parsed.dt.tz_localize(None)


def _with_value(rows: pd.DataFrame, feature: str, value: Any) -> pd.DataFrame:
    copy = rows.copy()
    try:
        copy[feature] = pd.Series([value] * len(rows), dtype=rows[feature].dtype)
    except (TypeError, ValueError):
        copy[feature] = pd.Series([value] * len(rows))
    return copy


# -- what-if ---------------------------------------------------------------------------------


def what_if(
    pipeline: Any,
    row: pd.Series | dict[str, Any],
    *,
    task: str,
    background: pd.DataFrame,
    training: pd.DataFrame,
    target_class: Any = None,
) -> WhatIf:
    """Predict and explain one edited row; values outside what training saw are allowed and
    listed in ``out_of_range`` (numbers and dates beyond the training min/max, unseen levels)."""
    _check_task(task)
    _final_estimator(pipeline)
    frame = edited_row(row, training)
    predicted, probabilities = predictions(pipeline, frame, task=task)
    if task == "multiclass" and target_class is None:
        target_class = predicted[0]
    explanation = explain(
        pipeline, frame, task=task, background=background, max_rows=1, target_class=target_class
    )
    mapping = feature_map(pipeline)
    contributions = [
        Contribution(name, json_value(frame[name].iloc[0]), float(value))
        for name, value in zip(explanation.features, explanation.values[0], strict=True)
    ]
    contributions.sort(key=lambda item: -abs(item.shap))
    classes = list(getattr(pipeline, "classes_", []))
    return WhatIf(
        prediction=json_value(predicted[0]),
        probabilities=None
        if probabilities is None
        else {str(json_value(c)): float(p) for c, p in zip(classes, probabilities[0], strict=True)},
        explainer=explanation.explainer,
        output=explanation.output,
        target_class=explanation.target_class,
        base_value=explanation.base_value,
        output_value=float(explanation.outputs[0]),
        contributions=tuple(contributions),
        out_of_range=tuple(out_of_range(frame.iloc[0], training, mapping)),
    )


def edited_row(row: pd.Series | dict[str, Any], training: pd.DataFrame) -> pd.DataFrame:
    """One row in the training columns and dtypes; a column left out is missing."""
    values = dict(row.items()) if isinstance(row, pd.Series) else dict(row)
    unknown = [str(name) for name in values if name not in training.columns]
    if unknown:
        raise ExplainError(UNKNOWN_COLUMNS.format(columns=", ".join(unknown)))
    columns = {}
    for name in training.columns:
        dtype = training[name].dtype
        value = _read_value(name, values.get(name), dtype)
        try:
            columns[name] = pd.Series([value], dtype=dtype)
        except (TypeError, ValueError):
            columns[name] = pd.Series([value])
    return pd.DataFrame(columns, columns=training.columns)


def _missing(value: Any) -> bool:
    return (
        value is None
        or (isinstance(value, str) and not value.strip())
        or bool(pd.api.types.is_scalar(value) and pd.isna(value))
    )


def _read_value(name: Any, value: Any, dtype: Any) -> Any:
    if _missing(value):
        return None
    if pd.api.types.is_bool_dtype(dtype):
        text = str(value).strip().lower()
        if text in ("true", "1", "yes"):
            return True
        if text in ("false", "0", "no"):
            return False
        raise ExplainError(BAD_VALUE.format(feature=name, kind="true/false", value=value))
    if pd.api.types.is_numeric_dtype(dtype):
        number = pd.to_numeric(pd.Series([value]), errors="coerce").iloc[0]
        if pd.isna(number):
            raise ExplainError(BAD_VALUE.format(feature=name, kind="number", value=value))
        return float(number)
    if pd.api.types.is_datetime64_any_dtype(dtype):
        moment = pd.to_datetime(pd.Series([value]), errors="coerce").iloc[0]
        if pd.isna(moment):
            raise ExplainError(BAD_VALUE.format(feature=name, kind="date", value=value))
        return moment
    return value


def out_of_range(row: pd.Series, training: pd.DataFrame, mapping: FeatureMap) -> list[OutOfRange]:
    """Each used column whose value lies outside the training range or is an unseen level."""
    flagged = []
    for name in mapping.raw:
        value = row.get(name)
        if name not in training.columns or _missing(value):
            continue
        kind = _kind_of(training[name], mapping)
        found = (
            _outside_levels(name, value, training[name])
            if kind == "categorical"
            else _outside_range(name, value, training[name], kind)
        )
        if found is not None:
            flagged.append(found)
    return flagged


def _outside_range(name: str, value: Any, column: pd.Series, kind: str) -> OutOfRange | None:
    if kind == "datetime":
        seen = _as_moments(column).dropna()
        point = _as_moments(pd.Series([value])).iloc[0]
    else:
        seen = pd.to_numeric(column, errors="coerce").replace([np.inf, -np.inf], np.nan).dropna()
        point = pd.to_numeric(pd.Series([value]), errors="coerce").iloc[0]
    if seen.empty or pd.isna(point):
        return None
    low, high = seen.min(), seen.max()
    if low <= point <= high:
        return None
    reason = "below the training range" if point < low else "above the training range"
    return OutOfRange(name, json_value(value), json_value(low), json_value(high), reason)


def _outside_levels(name: str, value: Any, column: pd.Series) -> OutOfRange | None:
    levels = column.dropna().unique()
    if any(_same_label(level, value) for level in levels):
        return None
    return OutOfRange(name, json_value(value), None, None, "a level not seen in training")
