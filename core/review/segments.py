"""Error analysis: how a model performs on each segment of the holdout, weakest segments first."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from core.train.evaluate import HIGHER_IS_BETTER, score_metric

MAX_LEVELS = 12
NUMERIC_BINS = 4
OTHER = "(other)"
MISSING = "(missing)"


@dataclass(frozen=True)
class Segment:
    """One slice of the holdout: which column and value, how many rows and how well it did."""

    column: str
    segment: str
    count: int
    value: float | None
    accuracy: float | None
    gap: float | None  # value minus the overall value, in the "better" direction

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Segment:
        return cls(**{key: data[key] for key in cls.__dataclass_fields__})


def segment_labels(values: pd.Series) -> pd.Series:
    """Text labels: levels (rarest grouped as '(other)') or quantile ranges for numbers."""
    numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    if numeric and values.nunique() > NUMERIC_BINS * 2:
        return _numeric_bins(values)
    text = values.astype("string").fillna(MISSING)
    top = text.value_counts().index[:MAX_LEVELS]
    return text.where(text.isin(top), OTHER).astype(str)


def _numeric_bins(values: pd.Series) -> pd.Series:
    numbers = pd.to_numeric(values, errors="coerce").astype(float)
    edges = np.unique(np.nanquantile(numbers, np.linspace(0, 1, NUMERIC_BINS + 1)))
    if len(edges) < 3:
        return numbers.map(lambda v: MISSING if np.isnan(v) else f"{v:g}")
    codes = np.clip(np.searchsorted(edges, numbers, side="right") - 1, 0, len(edges) - 2)
    names = [f"{edges[i]:.4g} to {edges[i + 1]:.4g}" for i in range(len(edges) - 1)]
    labels = pd.Series([names[c] for c in codes], index=values.index)
    return labels.where(numbers.notna(), MISSING)


def segment_performance(
    X: pd.DataFrame,
    y_true: pd.Series,
    *,
    predicted: np.ndarray,
    probabilities: np.ndarray | None,
    classes: list[Any],
    task: str,
    metric: str,
    columns: list[str] | None = None,
    min_rows: int = 1,
) -> list[Segment]:
    """Every segment of the chosen columns (all columns by default), weakest first."""
    truth = pd.Series(np.asarray(y_true), index=X.index)
    overall = _score(metric, truth, predicted, probabilities, classes, task)
    segments: list[Segment] = []
    for column in columns or list(X.columns):
        if column not in X.columns:
            continue
        labels = segment_labels(X[column])
        for label, positions in _groups(labels):
            if len(positions) < min_rows:
                continue
            probs = probabilities[positions] if probabilities is not None else None
            part = truth.iloc[positions]
            value = _score(metric, part, predicted[positions], probs, classes, task)
            accuracy = None
            if task != "regression":
                accuracy = float(np.mean(np.asarray(truth.iloc[positions]) == predicted[positions]))
            gap = None if value is None or overall is None else _gap(value, overall, metric)
            segments.append(Segment(str(column), label, len(positions), value, accuracy, gap))
    return sorted(segments, key=lambda s: (s.gap is None, s.gap if s.gap is not None else 0.0))


def _groups(labels: pd.Series) -> list[tuple[str, np.ndarray]]:
    codes, names = pd.factorize(labels, sort=True)
    return [(str(name), np.flatnonzero(codes == index)) for index, name in enumerate(names)]


def _gap(value: float, overall: float, metric: str) -> float:
    return value - overall if HIGHER_IS_BETTER[metric] else overall - value


def _score(
    metric: str,
    truth: pd.Series,
    predicted: np.ndarray,
    probabilities: np.ndarray | None,
    classes: list[Any],
    task: str,
) -> float | None:
    value = score_metric(
        metric,
        truth,
        predicted=predicted,
        probabilities=probabilities,
        classes=classes,
        task=task,
    )
    return None if value is None or not np.isfinite(value) else float(value)


def calibration_error(
    y_true: pd.Series, probabilities: np.ndarray, classes: list[Any], *, bins: int = 10
) -> float:
    """Expected calibration error of the top-label confidence, over equal-width bins."""
    confidence = probabilities.max(axis=1)
    chosen = np.asarray(classes, dtype=object)[probabilities.argmax(axis=1)]
    correct = np.asarray(y_true, dtype=object) == chosen
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.searchsorted(edges, confidence, side="right") - 1, 0, bins - 1)
    error = 0.0
    for index in range(bins):
        inside = which == index
        if inside.any():
            error += inside.mean() * abs(correct[inside].mean() - confidence[inside].mean())
    return float(error)
