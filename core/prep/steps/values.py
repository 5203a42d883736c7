"""Steps that rename columns or cap their values: rename, clip and winsorize."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.types import is_integer_dtype

from core.prep.steps.frames import _floats, _with_column
from core.prep.steps.registry import REQUIRED, Cleaned, Param, cleaning_step, unknown_column
from core.prep.steps.wording import _names, _values

EMPTY_MAPPING = "rename needs at least one column to rename, as {{old name: new name}}."
EMPTY_NEW_NAME = "The new name for ‘{old}’ is empty; type a name."
RENAME_COLLISION = (
    "Renaming would leave two columns called ‘{name}’; choose a name no other column has."
)
NO_BOUNDS = "clip needs a lower bound, an upper bound or both; with neither it does nothing."
BOUNDS_ORDER = "The lower bound ({lower:g}) is above the upper bound ({upper:g}); swap them."
QUANTILE_RANGE = "‘{param}’ must be between 0 and 1, not {value:g}."
QUANTILE_ORDER = (
    "The lower quantile ({lower:g}) must be below the upper quantile ({upper:g}); swap them."
)


def _check_rename(params: dict[str, Any], columns: Mapping[str, str]) -> list[str]:
    mapping: dict[str, str] = params["mapping"]
    if not mapping:
        return [EMPTY_MAPPING]
    problems = [unknown_column(old, columns=list(columns)) for old in mapping if old not in columns]
    problems += [EMPTY_NEW_NAME.format(old=old) for old, new in mapping.items() if not new.strip()]
    names = [mapping.get(name, name) for name in columns]
    repeated = sorted({name for name in names if names.count(name) > 1})
    return problems + [RENAME_COLLISION.format(name=name) for name in repeated]


@cleaning_step(
    "rename",
    label="Rename columns",
    params={"mapping": Param("mapping", REQUIRED, "old name → new name")},
    describe=lambda p: f"Rename {_renames(p['mapping'])}",
    check=_check_rename,
)
def _rename(frame: pd.DataFrame, *, mapping: dict[str, str]) -> Cleaned:
    out = frame.copy(deep=False)
    out.columns = pd.Index([mapping.get(name, name) for name in frame.columns])
    return Cleaned(out, f"Renamed {_renames(mapping)}.")


def _renames(mapping: dict[str, str]) -> str:
    return ", ".join(f"{old} to {new}" for old, new in mapping.items()) or "nothing"


def _check_clip(params: dict[str, Any], columns: Mapping[str, str]) -> list[str]:
    lower, upper = params["lower"], params["upper"]
    if lower is None and upper is None:
        return [NO_BOUNDS]
    if lower is not None and upper is not None and lower > upper:
        return [BOUNDS_ORDER.format(lower=lower, upper=upper)]
    return []


def _range_text(lower: float | None, upper: float | None) -> str:
    if lower is None:
        return f"at most {upper:g}"
    if upper is None:
        return f"at least {lower:g}"
    return f"[{lower:g}, {upper:g}]"


@cleaning_step(
    "clip",
    label="Clip values",
    params={
        "column": Param("column", REQUIRED, "the numeric column to clip", kinds=("numeric",)),
        "lower": Param("number", None, "smallest value to keep (null: no lower bound)"),
        "upper": Param("number", None, "largest value to keep (null: no upper bound)"),
    },
    describe=lambda p: f"Clip {p['column']} to {_range_text(p['lower'], p['upper'])}",
    check=_check_clip,
)
def _clip(frame: pd.DataFrame, *, column: str, lower: float | None, upper: float | None) -> Cleaned:
    clipped = _clip_values(frame[column], lower, upper)
    changed = _changed(frame[column], clipped)
    note = f"Clipped {_values(changed)} of {column} to {_range_text(lower, upper)}."
    return Cleaned(_with_column(frame, column, clipped), note)


def _clip_values(series: pd.Series, lower: float | None, upper: float | None) -> pd.Series:
    """Integer columns stay integer when both bounds are whole numbers they can hold."""
    bounds = [bound for bound in (lower, upper) if bound is not None]
    if _numpy_int(series) and all(_fits(series, bound) for bound in bounds):
        return series.clip(lower=_whole(lower), upper=_whole(upper))
    if is_integer_dtype(series.dtype):
        series = series.astype(float)
    return series.clip(lower=lower, upper=upper)


def _fits(series: pd.Series, bound: float) -> bool:
    info = np.iinfo(series.dtype)
    return float(bound).is_integer() and info.min <= bound <= info.max


def _whole(bound: float | None) -> int | None:
    return None if bound is None else int(bound)


def _numpy_int(series: pd.Series) -> bool:
    return isinstance(series.dtype, np.dtype) and series.dtype.kind in "iu"


def _changed(before: pd.Series, after: pd.Series) -> int:
    return int((before.notna() & (before != after)).sum())


def _check_quantiles(params: dict[str, Any], columns: Mapping[str, str]) -> list[str]:
    lower, upper = params["lower_quantile"], params["upper_quantile"]
    problems = [
        QUANTILE_RANGE.format(param=name, value=params[name])
        for name in ("lower_quantile", "upper_quantile")
        if not 0 <= params[name] <= 1
    ]
    if not problems and lower >= upper:
        problems.append(QUANTILE_ORDER.format(lower=lower, upper=upper))
    return problems


@cleaning_step(
    "winsorize",
    label="Winsorize",
    params={
        "columns": Param("columns", REQUIRED, "numeric columns to cap", kinds=("numeric",)),
        "lower_quantile": Param("number", 0.01, "values below this quantile are raised to it"),
        "upper_quantile": Param("number", 0.99, "values above this quantile are lowered to it"),
    },
    describe=lambda p: (
        f"Cap {_names(p['columns'])} at their {p['lower_quantile']:g}"
        f" and {p['upper_quantile']:g} quantiles"
    ),
    check=_check_quantiles,
)
def _winsorize(
    frame: pd.DataFrame, *, columns: list[str], lower_quantile: float, upper_quantile: float
) -> Cleaned:
    """Quantiles come from finite values, so ±inf are capped too; missing values stay missing."""
    out, changed = frame.copy(deep=False), 0
    for column in columns:
        series = frame[column]
        lower, upper = _quantile_bounds(series, lower_quantile, upper_quantile)
        out[column] = _clip_values(series, lower, upper)
        changed += _changed(series, out[column])
    quantiles = f"{lower_quantile:g}–{upper_quantile:g}"
    note = f"Capped {_values(changed)} in {_names(columns)} to their {quantiles} quantiles."
    return Cleaned(out, note)


def _quantile_bounds(series: pd.Series, lower: float, upper: float) -> tuple[Any, Any]:
    """Linear quantiles of the finite values; integer columns use real values so they stay ints."""
    if _numpy_int(series) and len(series):
        low, high = np.quantile(series.to_numpy(), [lower, upper], method="nearest")
        return int(low), int(high)
    floats = _floats(series)
    finite = floats[np.isfinite(floats)]
    if not finite.size:
        return None, None
    with np.errstate(over="ignore", invalid="ignore"):
        low, high = np.quantile(finite, [lower, upper])
    return (low if np.isfinite(low) else None), (high if np.isfinite(high) else None)
