"""The outlier filter: drop rows with IQR, z-score or isolation-forest outliers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from core.prep.steps.frames import _floats, _keep_rows
from core.prep.steps.registry import REQUIRED, Cleaned, Param, cleaning_step
from core.prep.steps.wording import _names, _rows

IQR_FACTOR = 1.5
ZSCORE_FACTOR = 3.0
CONTAMINATION = 0.01
MAX_CONTAMINATION = 0.5
FOREST_SAMPLE_ROWS = 100_000
FOREST_MIN_ROWS = 10
FOREST_TREES = 100
MAX_SEED = 2**32 - 1

FACTOR_NOT_POSITIVE = "‘factor’ must be above 0, not {value:g}; 1.5 (IQR) or 3 (z-score) is usual."
CONTAMINATION_RANGE = (
    "‘contamination’ is the share of rows expected to be outliers: above 0 and at most 0.5, not"
    " {value:g}."
)
SEED_RANGE = "‘seed’ must be a whole number from 0 to 4,294,967,295, not {value}."


def _check_outliers(params: dict[str, Any], columns: Mapping[str, str]) -> list[str]:
    problems = []
    factor, contamination, seed = params["factor"], params["contamination"], params["seed"]
    if factor is not None and factor <= 0:
        problems.append(FACTOR_NOT_POSITIVE.format(value=factor))
    if not 0 < contamination <= MAX_CONTAMINATION:
        problems.append(CONTAMINATION_RANGE.format(value=contamination))
    if not 0 <= seed <= MAX_SEED:
        problems.append(SEED_RANGE.format(value=seed))
    return problems


def _outlier_rule(method: str, factor: float | None, contamination: float) -> str:
    if method == "iqr":
        return f"beyond {_factor(method, factor):g} × IQR from the quartiles"
    if method == "zscore":
        return f"more than {_factor(method, factor):g} standard deviations from the mean"
    return f"isolation forest, {contamination * 100:g}% contamination"


def _factor(method: str, factor: float | None) -> float:
    if factor is not None:
        return float(factor)
    return IQR_FACTOR if method == "iqr" else ZSCORE_FACTOR


@cleaning_step(
    "filter_outliers",
    label="Filter outliers",
    params={
        "columns": Param("columns", REQUIRED, "numeric columns to look at", kinds=("numeric",)),
        "method": Param(
            "choice", "iqr", "how to spot outliers", ("iqr", "zscore", "isolation_forest")
        ),
        "factor": Param("number", None, "threshold (null: 1.5 for iqr, 3.0 for zscore)"),
        "contamination": Param("number", CONTAMINATION, "isolation forest: share of outliers"),
        "seed": Param("integer", 0, "isolation forest: random seed"),
    },
    describe=lambda p: (
        f"Drop rows with outliers in {_names(p['columns'])}"
        f" ({_outlier_rule(p['method'], p['factor'], p['contamination'])})"
    ),
    check=_check_outliers,
)
def _filter_outliers(
    frame: pd.DataFrame,
    *,
    columns: list[str],
    method: str,
    factor: float | None,
    contamination: float,
    seed: int,
) -> Cleaned:
    """Drop rows with an outlier in any column; missing values are kept, ±inf always counts."""
    if method == "isolation_forest":
        outlier = _forest_outliers(frame, list(columns), contamination, int(seed))
    else:
        outlier = np.zeros(len(frame), dtype=bool)
        for column in columns:
            outlier |= _column_outliers(_floats(frame[column]), method, _factor(method, factor))
    out = _keep_rows(frame, ~outlier)
    rule = _outlier_rule(method, factor, contamination)
    note = f"Dropped {_rows(int(outlier.sum()))} with outliers in {_names(columns)} ({rule})"
    return Cleaned(out, note + "; rows with missing values were kept.")


def _column_outliers(values: np.ndarray, method: str, factor: float) -> np.ndarray:
    finite = values[np.isfinite(values)]
    lower, upper = _outlier_bounds(finite, method, factor)
    return np.isinf(values) | (values < lower) | (values > upper)


def _outlier_bounds(finite: np.ndarray, method: str, factor: float) -> tuple[float, float]:
    """Bounds outside which a finite value is an outlier; no spread means no outliers."""
    if finite.size == 0:
        return -np.inf, np.inf
    with np.errstate(over="ignore", invalid="ignore"):
        if method == "iqr":
            q1, q3 = np.percentile(finite, [25, 75])
            return q1 - factor * (q3 - q1), q3 + factor * (q3 - q1)
        mean, std = finite.mean(), finite.std()
    if not std > np.finfo(float).eps * 16 * abs(mean):
        return -np.inf, np.inf
    return mean - factor * std, mean + factor * std


def _forest_outliers(
    frame: pd.DataFrame, columns: list[str], contamination: float, seed: int
) -> np.ndarray:
    """Isolation forest on complete rows (fit on a seeded sample); others are kept unless ±inf."""
    values = frame[columns].to_numpy(dtype=float, na_value=np.nan)
    outlier = np.isinf(values).any(axis=1)
    complete = np.flatnonzero(np.isfinite(values).all(axis=1))
    if complete.size < FOREST_MIN_ROWS:
        return outlier
    data = _unit_scaled(values[complete])
    outlier[complete] = _forest(data, contamination, seed).predict(data) == -1
    return outlier


def _unit_scaled(data: np.ndarray) -> np.ndarray:
    """Each column divided by its largest magnitude, so float32 inside the forest cannot overflow.

    Isolation forests split uniformly between a feature's min and max, so scaling does not change
    which rows they isolate.
    """
    scale = np.abs(data).max(axis=0)
    scale[scale == 0] = 1.0
    return data / scale


def _forest(data: np.ndarray, contamination: float, seed: int) -> Any:
    from sklearn.ensemble import IsolationForest  # import on use: sklearn is slow to import

    sample = data
    if len(data) > FOREST_SAMPLE_ROWS:
        rows = np.random.default_rng(seed).choice(len(data), FOREST_SAMPLE_ROWS, replace=False)
        sample = data[rows]
    forest = IsolationForest(
        n_estimators=FOREST_TREES, contamination=contamination, random_state=seed
    )
    return forest.fit(sample)
