"""How well each feature alone predicts the target: ROC AUC, absolute correlation or Cramér's V,
categories through out-of-fold target encoding (Explore's target view and the leakage check)."""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from core.data.schema import ColumnSchema, Role

if TYPE_CHECKING:  # pandas is imported when a strength is measured: ~0.5 s
    import pandas as pd

StrengthMetric = Literal["roc_auc", "abs_corr", "cramers_v"]
Task = Literal["binary", "multiclass", "regression"]
MAX_CLASSES = 20
STRENGTH_SAMPLE_ROWS = 200_000
STRENGTH_SEED = 0
ENCODING_FOLDS = 5
ENCODING_SMOOTHING = 10.0
NUMERIC_BINS = 10
CATEGORY_ROLES: frozenset[str] = frozenset({"categorical", "boolean", "text"})
NOT_FEATURES: frozenset[str] = frozenset({"id", "target"})
UNKNOWN_TARGET = "The target column '{target}' is not in the frame; pick one of its columns."


@dataclass(frozen=True)
class StrengthScale:
    """How to read a strength metric: what it measures, what a feature that knows nothing
    scores (``chance``), and the ends of the scale in words."""

    measure: str
    chance: float
    ends: str


STRENGTH_SCALES: dict[str, StrengthScale] = {
    "roc_auc": StrengthScale("ROC AUC of the feature alone", 0.5, "0.5 = chance, 1 = perfect"),
    "abs_corr": StrengthScale("absolute correlation with the target", 0.0, "0 = none, 1 = perfect"),
    "cramers_v": StrengthScale("Cramér's V with the target", 0.0, "0 = none, 1 = perfect"),
}
METRIC_FOR_TASK: dict[str, StrengthMetric] = {
    "binary": "roc_auc",
    "regression": "abs_corr",
    "multiclass": "cramers_v",
}


@dataclass(frozen=True)
class FeatureStrength:
    """How well one feature alone predicts the target, and on how many rows that was measured."""

    name: str
    metric: StrengthMetric
    value: float
    rows: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def feature_target_strength(
    frame: pd.DataFrame,
    *,
    target: str,
    schema: list[ColumnSchema],
    sample_rows: int = STRENGTH_SAMPLE_ROWS,
    seed: int = STRENGTH_SEED,
) -> list[FeatureStrength]:
    """Each feature's univariate strength against the target, strongest first.

    Binary targets: ROC AUC of the feature as a score (max(auc, 1 - auc)); regression targets:
    absolute Pearson correlation; multiclass targets: bias-corrected Cramér's V with numeric
    features cut into deciles. Categorical features are scored through out-of-fold target
    encoding, so a column with a different value in every row cannot look predictive. Rows
    with a missing target are left out; more than ``sample_rows`` rows are scored on a seeded
    random sample of that size (each result's ``rows`` says how many were used).
    """
    import pandas as pd

    if target not in frame.columns:
        raise ValueError(UNKNOWN_TARGET.format(target=target))
    if frame[target].isna().any():
        frame = frame[frame[target].notna()]
    if len(frame) > sample_rows:
        frame = frame.sample(n=sample_rows, random_state=seed)
    task = task_of(pd.Series(frame[target].unique()))
    if task is None:
        return []
    labels = _target_values(frame[target], task=task)
    folds = np.random.default_rng(seed).permutation(len(frame)) % ENCODING_FOLDS
    roles = {column.name: column.role for column in schema}
    features = [
        frame.iloc[:, index]
        for index, name in enumerate(frame.columns)
        if name != target and roles.get(name) not in NOT_FEATURES
    ]

    def score(feature: pd.Series) -> FeatureStrength:
        role = roles.get(feature.name)
        return _strength(feature, role=role, labels=labels, task=task, folds=folds)

    # Threads, because the sorts and bincounts behind each score release the GIL.
    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
        strengths = list(pool.map(score, features))
    return sorted(strengths, key=lambda strength: strength.value, reverse=True)


def task_of(classes: pd.Series) -> Task | None:
    """The learning task implied by a target's distinct non-missing values."""
    import pandas as pd

    if len(classes) < 2:
        return None
    if len(classes) == 2:
        return "binary"
    numeric = pd.api.types.is_numeric_dtype(classes) and not pd.api.types.is_bool_dtype(classes)
    if not numeric:
        return "multiclass"
    values = classes.to_numpy(dtype=float)
    if len(classes) <= MAX_CLASSES and bool(np.all(np.mod(values, 1) == 0)):
        return "multiclass"
    return "regression"


def _target_values(target: pd.Series, *, task: Task) -> np.ndarray:
    if task == "regression":
        return target.to_numpy(dtype=float)
    import pandas as pd

    codes = pd.factorize(target)[0]
    return (codes == 1).astype(float) if task == "binary" else codes


def _strength(
    series: pd.Series, *, role: Role | None, labels: np.ndarray, task: Task, folds: np.ndarray
) -> FeatureStrength:
    metric = METRIC_FOR_TASK[task]
    values = _numeric_values(series, role=role)
    if task == "multiclass":
        codes = _quantile_bins(values) if values is not None else _category_codes(series)
        score = _cramers_v(codes, labels.astype(np.int64))
    else:
        if values is None:
            values = _out_of_fold_means(_category_codes(series), labels, folds=folds)
        known = np.isfinite(values)
        scorer = _roc_auc if task == "binary" else _abs_corr
        score = scorer(values[known], labels[known])
    return FeatureStrength(name=str(series.name), metric=metric, value=score, rows=len(series))


def _numeric_values(series: pd.Series, *, role: Role | None) -> np.ndarray | None:
    """Numbers to rank or correlate, or None when the feature is to be treated as categories."""
    import pandas as pd

    if role in CATEGORY_ROLES or pd.api.types.is_bool_dtype(series):
        return None
    if pd.api.types.is_datetime64_any_dtype(series):
        return (series - series.min()).dt.total_seconds().to_numpy(dtype=float)
    if pd.api.types.is_numeric_dtype(series):
        return series.to_numpy(dtype=float, na_value=np.nan)
    return None


def _category_codes(series: pd.Series) -> np.ndarray:
    # Missing gets its own code: whether a value is missing can itself predict the target.
    import pandas as pd

    try:
        codes = pd.factorize(series, use_na_sentinel=False)[0]
    except TypeError:  # unhashable cells such as lists
        codes = pd.factorize(series.astype(str), use_na_sentinel=False)[0]
    return codes.astype(np.int64, copy=False)


def _out_of_fold_means(codes: np.ndarray, labels: np.ndarray, *, folds: np.ndarray) -> np.ndarray:
    """Target-mean encoding where each row's value is learned without that row's fold."""
    levels = int(codes.max()) + 1 if len(codes) else 1
    cells = folds * levels + codes
    size = ENCODING_FOLDS * levels
    fold_sums = np.bincount(cells, weights=labels, minlength=size).reshape(ENCODING_FOLDS, -1)
    fold_counts = np.bincount(cells, minlength=size).reshape(ENCODING_FOLDS, -1)
    # Out of fold = all rows minus the row's own fold, for every level at once.
    sums = fold_sums.sum(axis=0) - fold_sums
    counts = fold_counts.sum(axis=0) - fold_counts
    rows_out = counts.sum(axis=1, keepdims=True)
    prior = np.divide(
        sums.sum(axis=1, keepdims=True),
        rows_out,
        where=rows_out > 0,
        out=np.zeros_like(rows_out, dtype=float),
    )
    smoothed = (sums + prior * ENCODING_SMOOTHING) / (counts + ENCODING_SMOOTHING)
    return smoothed[folds, codes]


def _roc_auc(scores: np.ndarray, positive: np.ndarray) -> float:
    """Mann-Whitney ROC AUC, tied scores counting one half, folded to at least 0.5."""
    positives = float(positive.sum())
    negatives = len(positive) - positives
    if positives == 0 or negatives == 0:
        return 0.5
    order = np.argsort(scores)
    ordered = scores[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    tied_positives = np.add.reduceat(positive[order], starts)
    tied_negatives = np.diff(np.r_[starts, len(scores)]) - tied_positives
    negatives_below = np.cumsum(tied_negatives) - tied_negatives
    wins = float((tied_positives * (negatives_below + 0.5 * tied_negatives)).sum())
    auc = wins / (positives * negatives)
    return max(auc, 1.0 - auc)


def _abs_corr(values: np.ndarray, labels: np.ndarray) -> float:
    if len(values) < 3:
        return 0.0
    x = values - values.mean()
    y = labels - labels.mean()
    spread = math.sqrt(float((x * x).sum()) * float((y * y).sum()))
    return float(min(1.0, abs(float((x * y).sum())) / spread)) if spread > 0 else 0.0


def _quantile_bins(values: np.ndarray) -> np.ndarray:
    known = np.isfinite(values)
    if not known.any():
        return np.zeros(len(values), np.int64)
    inner = np.linspace(0.0, 1.0, NUMERIC_BINS + 1)[1:-1]
    edges = np.unique(np.quantile(values[known], inner))
    codes = np.searchsorted(edges, values, side="right").astype(np.int64)
    codes[~known] = len(edges) + 1
    return codes


def _cramers_v(codes: np.ndarray, classes: np.ndarray) -> float:
    """Bias-corrected Cramér's V (Bergsma 2013), so many-level features are not inflated."""
    n = len(codes)
    if n < 2:
        return 0.0
    width = int(classes.max()) + 1
    cells = np.bincount(codes * width + classes, minlength=(int(codes.max()) + 1) * width)
    table = cells.reshape(-1, width).astype(float)
    table = table[table.sum(axis=1) > 0][:, table.sum(axis=0) > 0]
    rows, cols = table.shape
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / n
    chi2 = float(((table - expected) ** 2 / expected).sum())
    phi2 = max(0.0, chi2 / n - (rows - 1) * (cols - 1) / (n - 1))
    rows_corrected = rows - (rows - 1) ** 2 / (n - 1)
    cols_corrected = cols - (cols - 1) ** 2 / (n - 1)
    denominator = min(rows_corrected - 1, cols_corrected - 1)
    return float(min(1.0, math.sqrt(phi2 / denominator))) if denominator > 0 else 0.0
