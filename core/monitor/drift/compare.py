"""Comparing current data with a reference (profiled once) into a DriftReport."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from core.monitor.drift import messages
from core.monitor.drift.messages import DriftError
from core.monitor.drift.methods import (
    DRIFT_METHODS,
    SMALL_REFERENCE,
    WASSERSTEIN_MIN_STD,
    DriftMethod,
    default_method,
)
from core.monitor.drift.report import ColumnDrift, DriftReport
from core.monitor.drift.values import (
    FEW_VALUES,
    CategoryCounts,
    ColumnPair,
    ColumnValues,
    Kind,
    NumericValues,
    category_counts,
    numeric_values,
)

if TYPE_CHECKING:  # pandas is imported where a frame is read: a Parquet drift needs none
    import pandas as pd

DEFAULT_SHARE_THRESHOLD = 0.5
SKIPPED_ROLES = {"id": "an identifier", "text": "a free-text"}


@dataclass(frozen=True)
class ReferenceProfile:
    """A reference reduced once per column, to compare with many current windows cheaply."""

    rows: int
    columns: dict[str, ColumnValues] = field(repr=False)
    skipped: dict[str, str] = field(default_factory=dict)  # column -> why it is not compared
    order: tuple[str, ...] = ()  # the reference's columns, compared or not, in frame order


def profile_reference(
    frame: pd.DataFrame,
    *,
    columns: Sequence[str] | None = None,
    roles: Mapping[str, str] | None = None,
) -> ReferenceProfile:
    """Reduce each column of the reference to sorted distinct values (numbers) or counts.

    Numeric dtypes (not bool) are numeric; bool, text and category columns are categorical;
    dates are skipped. ``roles`` (a dataset schema's column roles) may say a column of numbers
    is categorical, or skip identifier and free-text columns.
    """
    if len(frame) == 0:
        raise DriftError(messages.EMPTY_REFERENCE)
    names = messages.chosen_columns(list(frame.columns), columns)
    kept: dict[str, ColumnValues] = {}
    skipped: dict[str, str] = {}
    for name in names:
        values, reason = _reference_column(name, frame[name], (roles or {}).get(name))
        if values is not None:
            kept[name] = values
        else:
            skipped[name] = reason or messages.UNSUPPORTED.format(
                column=name, dtype=frame[name].dtype
            )
    return ReferenceProfile(rows=len(frame), columns=kept, skipped=skipped, order=tuple(names))


def compute_drift(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    *,
    columns: Sequence[str] | None = None,
    roles: Mapping[str, str] | None = None,
    method: str | None = None,
    methods: Mapping[str, str] | None = None,
    threshold: float | None = None,
    thresholds: Mapping[str, float] | None = None,
    share_threshold: float = DEFAULT_SHARE_THRESHOLD,
) -> DriftReport:
    """Per-column drift of ``current`` against ``reference``, and the dataset drift share.

    ``method`` applies one registered method (see DRIFT_METHODS) to every column of a kind it
    compares; ``methods`` chooses per column. ``threshold`` replaces every method's default
    threshold; ``thresholds`` sets it per column. The dataset drifts when the share of drifted
    columns is at least ``share_threshold``. A column the current data lacks is reported in
    ``missing_columns`` and left out of the share; the others are still compared.
    """
    if len(current) == 0:
        raise DriftError(messages.EMPTY_CURRENT)
    _check_options(method, methods, threshold, thresholds, share_threshold)
    profile = profile_reference(reference, columns=columns, roles=roles)
    return compute_drift_against(
        profile,
        current,
        method=method,
        methods=methods,
        threshold=threshold,
        thresholds=thresholds,
        share_threshold=share_threshold,
    )


def compute_drift_against(
    profile: ReferenceProfile,
    current: pd.DataFrame,
    *,
    columns: Sequence[str] | None = None,
    method: str | None = None,
    methods: Mapping[str, str] | None = None,
    threshold: float | None = None,
    thresholds: Mapping[str, float] | None = None,
    share_threshold: float = DEFAULT_SHARE_THRESHOLD,
) -> DriftReport:
    """As :func:`compute_drift`, against a reference profiled once with profile_reference."""
    if len(current) == 0:
        raise DriftError(messages.EMPTY_CURRENT)
    _check_options(method, methods, threshold, thresholds, share_threshold)
    names = messages.chosen_columns(profile.order, columns)
    results: list[ColumnDrift] = []
    missing: list[str] = []
    notes: list[str] = []
    for name in names:
        if name in profile.skipped:
            notes.append(profile.skipped[name])
        elif name not in current.columns:
            missing.append(name)
            notes.append(messages.MISSING_COLUMN.format(column=name))
        else:
            chosen = _method_for(name, profile.columns[name].kind, method, methods)
            limit = (thresholds or {}).get(name, threshold)
            results.append(_column_drift(name, profile.columns[name], current[name], chosen, limit))
    notes += _method_notes(method, results)
    return _report(results, profile.rows, len(current), share_threshold, missing, notes)


def _report(
    results: list[ColumnDrift],
    rows_reference: int,
    rows_current: int,
    share_threshold: float,
    missing: list[str],
    notes: list[str],
) -> DriftReport:
    drifted = sum(result.drifted for result in results)
    share = drifted / len(results) if results else 0.0
    if not results:
        notes.append(messages.NO_COLUMNS)
    return DriftReport(
        columns=tuple(results),
        drift_share=share,
        dataset_drift=bool(results) and share >= share_threshold,
        share_threshold=share_threshold,
        rows_reference=rows_reference,
        rows_current=rows_current,
        missing_columns=tuple(missing),
        notes=tuple(notes),
    )


def _reference_column(
    name: str, series: pd.Series, role: str | None
) -> tuple[ColumnValues | None, str | None]:
    kind, reason = column_kind(name, series, role)
    if kind is None:
        return None, reason
    try:
        values = numeric_values(series) if kind == "numeric" else category_counts(series)
    except TypeError:  # unhashable cells (lists, dicts)
        return None, None
    if values.total == 0:
        return None, messages.SKIPPED_EMPTY.format(column=name)
    return values, None


def column_kind(name: str, series: pd.Series, role: str | None = None) -> tuple[Kind | None, str]:
    """``numeric`` or ``categorical``, or None and why the column is not compared."""
    import pandas as pd

    dtype = series.dtype
    if role in SKIPPED_ROLES:
        return None, messages.SKIPPED_ROLE.format(column=name, role=SKIPPED_ROLES[role])
    types = pd.api.types
    if (
        role == "datetime"
        or types.is_datetime64_any_dtype(dtype)
        or types.is_timedelta64_dtype(dtype)
    ):
        return None, messages.SKIPPED_DATES.format(column=name)
    if isinstance(dtype, pd.PeriodDtype | pd.IntervalDtype) or types.is_complex_dtype(dtype):
        return None, messages.UNSUPPORTED.format(column=name, dtype=dtype)
    if role in ("categorical", "boolean") or types.is_bool_dtype(dtype):
        return "categorical", ""
    return ("numeric", "") if types.is_numeric_dtype(dtype) else ("categorical", "")


def _current_values(reference: ColumnValues, series: pd.Series) -> tuple[ColumnValues, list[str]]:
    import pandas as pd

    if isinstance(reference, CategoryCounts):
        return category_counts(series), []
    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series):
        return numeric_values(series), []
    numbers = pd.to_numeric(series, errors="coerce")
    failed = int(numbers.isna().sum() - series.isna().sum())
    return numeric_values(numbers), [messages.NOT_NUMBERS.format(count=failed)] if failed else []


def _column_drift(
    name: str,
    reference: ColumnValues,
    series: pd.Series,
    chosen: str | None,
    threshold: float | None,
) -> ColumnDrift:
    current, notes = _current_values(reference, series)
    return compare_column(name, reference, current, len(series), chosen, threshold, notes)


def compare_column(
    name: str,
    reference: ColumnValues,
    current: ColumnValues,
    rows: int,
    chosen: str | None,
    threshold: float | None,
    notes: list[str] | None = None,
) -> ColumnDrift:
    """One column's drift from its two summaries; ``rows`` counts the current rows."""
    notes = list(notes or [])
    pair = ColumnPair(reference, current)
    spec = DRIFT_METHODS[chosen or default_method(pair)]
    limit = spec.threshold if threshold is None else float(threshold)
    if spec.test and limit >= 1:
        raise DriftError(messages.BAD_P_THRESHOLD.format(title=spec.title, value=limit))
    notes += _sample_notes(pair, spec, chosen is None)
    new_rate = _new_category_rate(pair)
    if new_rate:
        notes.append(messages.NEW_CATEGORIES.format(rate=new_rate))
    reference_missing = reference.missing / (reference.missing + reference.total)
    notes += _summary_notes(pair, spec.name)
    if current.total == 0:
        statistic, p_value, drifted = None, None, True
        notes.append(messages.ALL_MISSING.format(rate=reference_missing))
    else:
        statistic, p_value = spec.compute(pair)
        drifted = spec.drifted(statistic, p_value, limit)
        if statistic == math.inf:
            notes.append(messages.INFINITE_CHI_SQUARE)
    return ColumnDrift(
        column=name,
        kind=reference.kind,
        method=spec.name,
        statistic=statistic,
        p_value=p_value,
        threshold=limit,
        drifted=bool(drifted),
        reference_missing=reference_missing,
        current_missing=current.missing / rows,
        new_category_rate=new_rate,
        note=" ".join(notes) or None,
    )


def _summary_notes(pair: ColumnPair, method: str) -> list[str]:
    """Text read as numbers, and how far a summary of more numbers than it keeps may be off."""
    notes = []
    current = pair.current
    if isinstance(current, NumericValues) and current.not_numbers:
        notes.append(messages.NOT_NUMBERS.format(count=current.not_numbers))
    reference = pair.reference
    if not (isinstance(reference, NumericValues) and isinstance(current, NumericValues)):
        return notes
    if reference.exact and current.exact:
        return notes
    cdf = reference.misplaced / reference.total + current.misplaced / max(current.total, 1)
    shift = reference.shifted / reference.total + current.shifted / max(current.total, 1)
    if method == "wasserstein":
        what, error = "the distance", shift / max(reference.std, WASSERSTEIN_MIN_STD)
    else:
        what = "the K-S statistic" if method == "ks" else "each share of values below a point"
        error = cdf
    notes.append(messages.SUMMARISED.format(what=what, error=error))
    return notes


def _sample_notes(pair: ColumnPair, spec: DriftMethod, by_default: bool) -> list[str]:
    notes = []
    count = pair.reference.total
    if by_default and pair.reference.kind == "numeric" and pair.distinct() <= FEW_VALUES:
        notes.append(messages.FEW_DISTINCT.format(count=pair.distinct()))
    if count <= SMALL_REFERENCE and by_default:
        notes.append(
            messages.SMALL_SAMPLE.format(count=count, limit=SMALL_REFERENCE, title=spec.title)
        )
    elif count <= SMALL_REFERENCE and not spec.test:
        notes.append(messages.SMALL_SAMPLE_DISTANCE.format(count=count, title=spec.title))
    return notes


def _new_category_rate(pair: ColumnPair) -> float | None:
    if pair.reference.kind != "categorical":
        return None
    if pair.current.total == 0:
        return 0.0
    reference, current = pair.per_value()
    return float(current[reference == 0].sum() / pair.current.total)


def _method_for(
    name: str, kind: Kind, method: str | None, methods: Mapping[str, str] | None
) -> str | None:
    """The user's method for this column, or None for the default."""
    if methods and name in methods:
        spec = DRIFT_METHODS[methods[name]]
        if kind not in spec.kinds:
            choices = ", ".join(n for n, s in DRIFT_METHODS.items() if kind in s.kinds)
            kinds = " and ".join(spec.kinds)
            raise DriftError(
                messages.WRONG_KIND.format(
                    title=spec.title, kinds=kinds, column=name, kind=kind, choices=choices
                )
            )
        return spec.name
    if method is not None and kind in DRIFT_METHODS[method].kinds:
        return method
    return None


def _method_notes(method: str | None, results: list[ColumnDrift]) -> list[str]:
    if method is None:
        return []
    spec = DRIFT_METHODS[method]
    left_out = sorted({result.kind for result in results} - set(spec.kinds))
    return [messages.METHOD_NOT_FOR_KIND.format(title=spec.title, kind=kind) for kind in left_out]


def _check_options(
    method: str | None,
    methods: Mapping[str, str] | None,
    threshold: float | None,
    thresholds: Mapping[str, float] | None,
    share_threshold: float,
) -> None:
    for name in [method, *(methods or {}).values()]:
        if name is not None and name not in DRIFT_METHODS:
            raise DriftError(
                messages.UNKNOWN_METHOD.format(method=name, choices=", ".join(DRIFT_METHODS))
            )
    for value in [threshold, *(thresholds or {}).values()]:
        if value is not None and not (_is_number(value) and value > 0):
            raise DriftError(messages.BAD_THRESHOLD.format(value=value))
    if not (_is_number(share_threshold) and 0 <= share_threshold <= 1):
        raise DriftError(messages.BAD_SHARE.format(value=share_threshold))


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
