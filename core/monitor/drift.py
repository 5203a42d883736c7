"""Data drift: how far each column of a current window has moved from a training reference.

Every column is reduced once to its distinct values and their counts (numbers sorted), so each
method below is a few vectorised numpy operations on those, and a reference reduced once
(:func:`profile_reference`) can be compared with many small live windows cheaply.

The default method per column follows Evidently's rules, so verdicts compare like for like:
with at most 1,000 reference values, a test (Kolmogorov–Smirnov for numbers; chi-square, or a
Z-test for two values, for categories) with drift when p < 0.05; above that, a distance
(Wasserstein normed by the reference's standard deviation for numbers, Jensen–Shannon for
categories) with drift when the distance >= 0.1. Numeric columns with at most five distinct
values are compared as categories.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd
from scipy import special, stats

Kind = Literal["numeric", "categorical"]
KINDS: tuple[Kind, ...] = ("numeric", "categorical")

SMALL_REFERENCE = 1000  # at most this many reference values: tests (p-values), not distances
FEW_VALUES = 5  # numeric columns with at most this many distinct values compare as categories
BINARY_VALUES = 2  # ... and with at most two, on small samples, by a Z-test of proportions
BINNED_VALUES = 20  # PSI and Jensen–Shannon bin numbers (Sturges) above this many distinct values
EXACT_KS_VALUES = 10_000  # scipy's ks_2samp(method="auto") is exact up to this sample size
WASSERSTEIN_MIN_STD = 0.001  # Evidently's floor, so a constant reference still gives a distance
PSI_FLOOR = 0.0001  # PSI's stand-in for an empty bin (a smaller one when the data need it)
DEFAULT_SHARE_THRESHOLD = 0.5
SKIPPED_ROLES = {"id": "an identifier", "text": "a free-text"}

EMPTY_CURRENT = (
    "The current data has no rows, so there is nothing to compare with the reference. Pass a "
    "window that holds at least one row."
)
EMPTY_REFERENCE = (
    "The reference data has no rows. Drift is measured against a reference such as the "
    "training data; pass one that holds rows."
)
UNKNOWN_COLUMN = "The reference has no column {column!r}. Its columns are: {columns}."
MISSING_COLUMN = (
    "The current data has no column {column!r}, which the reference has: its drift is not "
    "computed and it is left out of the drift share. Check that the current data is complete."
)
UNKNOWN_METHOD = "There is no drift method called {method!r}. Choose from: {choices}."
WRONG_KIND = "{title} compares {kinds} columns, but {column!r} is {kind}. Choose from: {choices}."
BAD_THRESHOLD = "A drift threshold must be a positive number, not {value!r}."
BAD_P_THRESHOLD = "{title} gives a p-value, so its threshold must be between 0 and 1, not {value}."
BAD_SHARE = "The dataset drift share threshold must be between 0 and 1, not {value!r}."
METHOD_NOT_FOR_KIND = "{title} does not apply to {kind} columns; they use their default method."
NO_COLUMNS = "No column could be compared, so the drift share is 0."
SKIPPED_DATES = "{column!r} holds dates or times; drift is not computed for them."
SKIPPED_ROLE = "{column!r} is {role} column; drift is not computed for it."
SKIPPED_EMPTY = "{column!r} has no values in the reference; its drift is not computed."
UNSUPPORTED = "{column!r} holds values that cannot be compared ({dtype}); drift is not computed."
SMALL_SAMPLE = (
    "The reference has only {count:,} values (at most {limit:,}), so the {title}, which suits "
    "small samples, is used rather than a distance."
)
SMALL_SAMPLE_DISTANCE = (
    "The reference has only {count:,} values; {title} is noisy on so few (the default there is "
    "a test: ks or chisquare)."
)
FEW_DISTINCT = "Only {count} distinct numbers, so they are compared as categories."
ALL_MISSING = (
    "Every current value is missing ({rate:.0%} of the reference is), so the column counts as "
    "drifted."
)
NOT_NUMBERS = "{count:,} current values are not numbers; they count as missing."
NEW_CATEGORIES = "{rate:.1%} of current values are categories the reference never had."
INFINITE_CHI_SQUARE = "The reference never had some current categories: chi-square is infinite."


class DriftError(ValueError):
    """The message is a complete user-facing sentence: what was wrong and what to do."""


# -- columns as distinct values and counts -----------------------------------------------------


@dataclass(frozen=True)
class NumericValues:
    """A numeric column's finite values as sorted distinct values, their counts and a few facts."""

    kind: ClassVar[Kind] = "numeric"
    values: np.ndarray = field(repr=False)
    counts: np.ndarray = field(repr=False)
    cumulative: np.ndarray = field(repr=False)  # cumulative[i]: how many values < values[i]
    total: int
    missing: int  # missing or infinite
    std: float  # population standard deviation
    integer: bool  # integer dtype: numpy's histogram bins are then at least 1 wide

    def expanded(self) -> np.ndarray:
        return np.repeat(self.values, self.counts)


@dataclass(frozen=True)
class CategoryCounts:
    """A categorical column's non-missing values as distinct categories and their counts."""

    kind: ClassVar[Kind] = "categorical"
    categories: pd.Index = field(repr=False)
    counts: np.ndarray = field(repr=False)
    total: int
    missing: int


ColumnValues = NumericValues | CategoryCounts


def numeric_values(series: pd.Series) -> NumericValues:
    """Sort the finite values once; infinities count as missing, as in Evidently."""
    raw = series.to_numpy(dtype=np.float64, na_value=np.nan)
    finite = raw[np.isfinite(raw)]
    ordered = np.sort(finite)
    starts = np.flatnonzero(np.concatenate(([ordered.size > 0], ordered[1:] != ordered[:-1])))
    counts = np.diff(np.append(starts, ordered.size))
    return NumericValues(
        values=ordered[starts],
        counts=counts,
        cumulative=np.concatenate(([0], np.cumsum(counts))),
        total=int(ordered.size),
        missing=int(raw.size - ordered.size),
        std=float(np.std(finite)) if finite.size else 0.0,
        integer=pd.api.types.is_integer_dtype(series.dtype),
    )


def category_counts(series: pd.Series) -> CategoryCounts:
    # dropna=True would test every cell for missing (4x the cost of counting text); testing
    # the distinct values afterwards is the same and cheap
    counted = series.value_counts(dropna=False, sort=False)
    keep = (counted.to_numpy() > 0) & ~pd.isna(counted.index)  # a Categorical lists unused ones
    counted = counted[keep]
    categories = pd.Index(np.asarray(counted.index, dtype=object), dtype=object)
    total = int(counted.sum())
    return CategoryCounts(categories, counted.to_numpy(np.int64), total, len(series) - total)


@dataclass(frozen=True)
class ColumnPair:
    """One column in the reference and in the current data, as a drift method sees it."""

    reference: ColumnValues
    current: ColumnValues

    def numbers(self) -> tuple[NumericValues, NumericValues]:
        reference, current = self.reference, self.current
        assert isinstance(reference, NumericValues) and isinstance(current, NumericValues)
        return reference, current

    def cdfs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The distinct values of both samples, and both empirical CDFs at each of them."""
        grid, reference_counts, current_counts = self._on_one_grid()
        return grid, _cumulative_share(reference_counts), _cumulative_share(current_counts)

    def per_value(self) -> tuple[np.ndarray, np.ndarray]:
        """Counts of both samples over the union of their distinct values (categories)."""
        reference, current = self.reference, self.current
        if isinstance(reference, NumericValues):
            return self._on_one_grid()[1:]
        assert isinstance(reference, CategoryCounts) and isinstance(current, CategoryCounts)
        positions = reference.categories.get_indexer(current.categories)
        new = positions < 0
        known = len(reference.categories)
        reference_counts = np.concatenate((reference.counts, np.zeros(int(new.sum()), np.int64)))
        current_counts = np.zeros(len(reference_counts), np.int64)
        current_counts[positions[~new]] = current.counts[~new]
        current_counts[known:] = current.counts[new]
        return reference_counts, current_counts

    def binned(self) -> tuple[np.ndarray, np.ndarray]:
        """Counts for PSI and Jensen–Shannon, binned as Evidently bins them.

        Numbers with more than 20 distinct reference values fall into numpy's Sturges bins over
        the range of both samples; fewer distinct numbers, and categories, are counted per value.
        """
        reference, current = self.reference, self.current
        if not isinstance(reference, NumericValues) or len(reference.values) <= BINNED_VALUES:
            return self.per_value()
        reference, current = self.numbers()
        edges = _sturges_edges(reference, current)
        return _histogram(reference, edges), _histogram(current, edges)

    def _on_one_grid(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        reference, current = self.numbers()
        grid = np.union1d(reference.values, current.values)
        return grid, _counts_at(reference, grid), _counts_at(current, grid)

    def distinct(self) -> int:
        """How many distinct non-missing values the two samples hold together."""
        reference = self.reference
        if isinstance(reference, NumericValues) and len(reference.values) > FEW_VALUES:
            return len(reference.values)  # enough to decide; no need to merge
        return len(self.per_value()[0])


def _cumulative_share(counts: np.ndarray) -> np.ndarray:
    return np.cumsum(counts) / counts.sum()


def _counts_at(values: NumericValues, grid: np.ndarray) -> np.ndarray:
    counts = np.zeros(len(grid), np.int64)
    counts[np.searchsorted(grid, values.values)] = values.counts
    return counts


def _sturges_edges(reference: NumericValues, current: NumericValues) -> np.ndarray:
    """np.histogram_bin_edges(both samples, bins="sturges"), from the distinct values alone."""
    first = min(reference.values[0], current.values[0])
    last = max(reference.values[-1], current.values[-1])
    span = last - first
    width = span / (np.log2(reference.total + current.total) + 1.0)
    if reference.integer and current.integer and width < 1:
        width = 1.0
    bins = int(np.ceil(span / width))
    return np.linspace(first, last, bins + 1)


def _histogram(values: NumericValues, edges: np.ndarray) -> np.ndarray:
    """np.histogram(values, edges): bins are half-open, the last one closed."""
    below = np.searchsorted(values.values, edges[:-1], side="left")
    through = np.searchsorted(values.values, edges[-1:], side="right")
    return np.diff(values.cumulative[np.concatenate((below, through))])


# -- the drift methods --------------------------------------------------------------------------

Score = tuple[float, float | None]  # (statistic, p-value or None for a distance)


@dataclass(frozen=True)
class DriftMethod:
    """A drift method: which columns it compares, how, and when its result means drift.

    A test gives a p-value and flags drift when p < threshold; a distance flags drift when the
    distance >= threshold. (Evidently's K-S flags p <= threshold; that differs only when the
    p-value equals the threshold exactly.)
    """

    name: str
    title: str
    kinds: tuple[Kind, ...]
    compute: Callable[[ColumnPair], Score] = field(repr=False)
    threshold: float
    test: bool

    def drifted(self, statistic: float, p_value: float | None, threshold: float) -> bool:
        if self.test:
            return p_value is not None and p_value < threshold
        return statistic >= threshold


DRIFT_METHODS: dict[str, DriftMethod] = {}


def drift_method(
    name: str, *, title: str, kinds: tuple[Kind, ...], threshold: float, test: bool = False
) -> Callable[[Callable[[ColumnPair], Score]], Callable[[ColumnPair], Score]]:
    """Register a drift method under ``name``; adding one is one decorated function."""

    def register(compute: Callable[[ColumnPair], Score]) -> Callable[[ColumnPair], Score]:
        DRIFT_METHODS[name] = DriftMethod(name, title, kinds, compute, threshold, test)
        return compute

    return register


@drift_method("ks", title="Kolmogorov–Smirnov test", kinds=("numeric",), threshold=0.05, test=True)
def kolmogorov_smirnov(pair: ColumnPair) -> Score:
    """Two-sided two-sample KS, p-value as scipy.stats.ks_2samp(method="auto") gives it.

    Up to 10,000 values a side scipy computes the exact p-value on the values themselves;
    above that, the statistic comes from the two CDFs and the p-value from Smirnov's asymptotic
    distribution, as scipy's method="asymp" does.
    """
    reference, current = pair.numbers()
    if max(reference.total, current.total) <= EXACT_KS_VALUES:
        with warnings.catch_warnings():  # scipy says when it falls back to asymptotic; fine
            warnings.simplefilter("ignore", RuntimeWarning)
            result = stats.ks_2samp(reference.expanded(), current.expanded())
        return float(result.statistic), float(result.pvalue)
    _, reference_cdf, current_cdf = pair.cdfs()
    statistic = float(np.max(np.abs(reference_cdf - current_cdf)))
    larger, smaller = sorted((float(reference.total), float(current.total)), reverse=True)
    effective = np.round(larger * smaller / (larger + smaller))
    return statistic, float(np.clip(stats.kstwo.sf(statistic, effective), 0.0, 1.0))


@drift_method(
    "wasserstein", title="Wasserstein distance (normed)", kinds=("numeric",), threshold=0.1
)
def wasserstein(pair: ColumnPair) -> Score:
    """scipy.stats.wasserstein_distance divided by the reference's standard deviation.

    The divisor is at least 0.001 (as in Evidently), so a constant reference that stays
    constant gives 0 and one whose value changes gives a large distance, never a division by 0.
    """
    reference, _ = pair.numbers()
    grid, reference_cdf, current_cdf = pair.cdfs()
    distance = float(np.sum(np.abs(reference_cdf[:-1] - current_cdf[:-1]) * np.diff(grid)))
    return distance / max(reference.std, WASSERSTEIN_MIN_STD), None


@drift_method("psi", title="Population stability index", kinds=KINDS, threshold=0.1)
def population_stability_index(pair: ColumnPair) -> Score:
    """sum((r - c) * ln(r / c)) over the bins, empty bins given a small share as Evidently does."""
    reference, current = (_with_floor(_shares(counts)) for counts in pair.binned())
    return float(np.sum((reference - current) * np.log(reference / current))), None


@drift_method("jensenshannon", title="Jensen–Shannon distance", kinds=KINDS, threshold=0.1)
def jensen_shannon(pair: ColumnPair) -> Score:
    """scipy.spatial.distance.jensenshannon (natural log) of the two binned distributions."""
    reference, current = (_shares(counts) for counts in pair.binned())
    middle = (reference + current) / 2
    divergence = np.sum(special.rel_entr(reference, middle) + special.rel_entr(current, middle))
    return float(np.sqrt(max(divergence / 2, 0.0))), None


@drift_method(
    "chisquare", title="chi-square test", kinds=("categorical",), threshold=0.05, test=True
)
def chi_square(pair: ColumnPair) -> Score:
    """Pearson's goodness of fit of the current counts to the reference's shares.

    scipy.stats.chisquare(current, reference * n_current / n_reference). A category the
    reference never had makes the statistic infinite (p = 0); one category only gives p = 1.
    """
    reference, current = pair.per_value()
    if len(reference) <= 1:
        return 0.0, 1.0
    expected = reference * (current.sum() / reference.sum())
    if np.any(current[expected == 0] > 0):
        return math.inf, 0.0
    seen = expected > 0
    statistic = float(np.sum((current[seen] - expected[seen]) ** 2 / expected[seen]))
    return statistic, float(stats.chi2.sf(statistic, len(reference) - 1))


@drift_method("z", title="Z-test of proportions", kinds=("categorical",), threshold=0.05, test=True)
def z_test(pair: ColumnPair) -> Score:
    """Two-proportion Z-test of the first category's share against all others (two-valued data)."""
    reference, current = pair.per_value()
    n_reference, n_current = int(reference.sum()), int(current.sum())
    reference_share = 1 - reference[0] / n_reference
    current_share = 1 - current[0] / n_current
    pooled = (reference_share * n_reference + current_share * n_current) / (n_reference + n_current)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / n_reference + 1 / n_current))
    if spread == 0:  # one value only, the same on both sides
        return 0.0, 1.0
    statistic = float((reference_share - current_share) / spread)
    return statistic, float(2 * stats.norm.sf(abs(statistic)))


@drift_method("linf", title="L-infinity distance", kinds=("categorical",), threshold=0.1)
def l_infinity(pair: ColumnPair) -> Score:
    """The largest absolute difference between a category's share in the two samples."""
    reference, current = (_shares(counts) for counts in pair.per_value())
    return float(np.max(np.abs(reference - current))), None


def _shares(counts: np.ndarray) -> np.ndarray:
    return counts / counts.sum()


def _with_floor(shares: np.ndarray) -> np.ndarray:
    filled = shares.copy()
    smallest = float(filled[filled > 0].min())
    filled[filled == 0] = smallest / 10**6 if smallest <= PSI_FLOOR else PSI_FLOOR
    return filled


def default_method(pair: ColumnPair) -> str:
    """Evidently's choice: tests on small references, distances on large ones."""
    distinct = pair.distinct()
    small = pair.reference.total <= SMALL_REFERENCE
    if pair.reference.kind == "numeric" and distinct > FEW_VALUES:
        return "ks" if small else "wasserstein"
    if small:
        return "z" if distinct <= BINARY_VALUES else "chisquare"
    return "jensenshannon"


# -- results ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ColumnDrift:
    """One column's drift: the method, its statistic and p-value (tests), threshold and verdict.

    ``statistic`` is the distance for distances and the test statistic for tests; it is None
    when every current value is missing. Missing rates are shares of rows; the new-category
    rate is the share of current non-missing values in categories the reference never had.
    """

    column: str
    kind: Kind
    method: str
    statistic: float | None
    p_value: float | None
    threshold: float
    drifted: bool
    reference_missing: float
    current_missing: float
    new_category_rate: float | None = None
    note: str | None = None

    @property
    def score(self) -> float | None:
        """What is compared with the threshold: the p-value of a test, else the distance."""
        return self.p_value if DRIFT_METHODS[self.method].test else self.statistic

    def to_dict(self) -> dict[str, Any]:
        spec = DRIFT_METHODS[self.method]
        return {
            "column": self.column,
            "kind": self.kind,
            "method": self.method,
            "title": spec.title,
            "measure": "p_value" if spec.test else "distance",
            "statistic": _plain(self.statistic),
            "p_value": _plain(self.p_value),
            "score": _plain(self.score),
            "threshold": self.threshold,
            "drifted": self.drifted,
            "reference_missing": self.reference_missing,
            "current_missing": self.current_missing,
            "new_category_rate": self.new_category_rate,
            "note": self.note,
        }


@dataclass(frozen=True)
class DriftReport:
    """Drift of every compared column and of the dataset (drift share >= share threshold)."""

    columns: tuple[ColumnDrift, ...]
    drift_share: float
    dataset_drift: bool
    share_threshold: float
    rows_reference: int
    rows_current: int
    missing_columns: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def drifted_columns(self) -> tuple[str, ...]:
        return tuple(column.column for column in self.columns if column.drifted)

    def column(self, name: str) -> ColumnDrift:
        for column in self.columns:
            if column.column == name:
                return column
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "columns": [column.to_dict() for column in self.columns],
            "drifted_columns": len(self.drifted_columns),
            "compared_columns": len(self.columns),
            "drift_share": self.drift_share,
            "dataset_drift": self.dataset_drift,
            "share_threshold": self.share_threshold,
            "rows_reference": self.rows_reference,
            "rows_current": self.rows_current,
            "missing_columns": list(self.missing_columns),
            "notes": list(self.notes),
        }


def _plain(value: float | None) -> float | None:
    """JSON has no infinity or NaN."""
    return value if value is not None and math.isfinite(value) else None


# -- the reference profile and the comparison ---------------------------------------------------


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
        raise DriftError(EMPTY_REFERENCE)
    names = _chosen(frame, columns)
    kept: dict[str, ColumnValues] = {}
    skipped: dict[str, str] = {}
    for name in names:
        values, reason = _reference_column(name, frame[name], (roles or {}).get(name))
        if values is not None:
            kept[name] = values
        else:
            skipped[name] = reason or UNSUPPORTED.format(column=name, dtype=frame[name].dtype)
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
        raise DriftError(EMPTY_CURRENT)
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
        raise DriftError(EMPTY_CURRENT)
    _check_options(method, methods, threshold, thresholds, share_threshold)
    names = _chosen_from(profile, columns)
    results: list[ColumnDrift] = []
    missing: list[str] = []
    notes: list[str] = []
    for name in names:
        if name in profile.skipped:
            notes.append(profile.skipped[name])
        elif name not in current.columns:
            missing.append(name)
            notes.append(MISSING_COLUMN.format(column=name))
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
        notes.append(NO_COLUMNS)
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


def _chosen(frame: pd.DataFrame, columns: Sequence[str] | None) -> list[str]:
    if columns is None:
        return list(frame.columns)
    for name in columns:
        if name not in frame.columns:
            known = ", ".join(str(column) for column in frame.columns)
            raise DriftError(UNKNOWN_COLUMN.format(column=name, columns=known))
    return list(dict.fromkeys(columns))


def _chosen_from(profile: ReferenceProfile, columns: Sequence[str] | None) -> list[str]:
    if columns is None:
        return list(profile.order)
    for name in columns:
        if name not in profile.order:
            known = ", ".join(profile.order)
            raise DriftError(UNKNOWN_COLUMN.format(column=name, columns=known))
    return list(dict.fromkeys(columns))


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
        return None, SKIPPED_EMPTY.format(column=name)
    return values, None


def column_kind(name: str, series: pd.Series, role: str | None = None) -> tuple[Kind | None, str]:
    """``numeric`` or ``categorical``, or None and why the column is not compared."""
    dtype = series.dtype
    if role in SKIPPED_ROLES:
        return None, SKIPPED_ROLE.format(column=name, role=SKIPPED_ROLES[role])
    types = pd.api.types
    if (
        role == "datetime"
        or types.is_datetime64_any_dtype(dtype)
        or types.is_timedelta64_dtype(dtype)
    ):
        return None, SKIPPED_DATES.format(column=name)
    if isinstance(dtype, pd.PeriodDtype | pd.IntervalDtype) or types.is_complex_dtype(dtype):
        return None, UNSUPPORTED.format(column=name, dtype=dtype)
    if role in ("categorical", "boolean") or types.is_bool_dtype(dtype):
        return "categorical", ""
    return ("numeric", "") if types.is_numeric_dtype(dtype) else ("categorical", "")


def _current_values(reference: ColumnValues, series: pd.Series) -> tuple[ColumnValues, list[str]]:
    if isinstance(reference, CategoryCounts):
        return category_counts(series), []
    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series):
        return numeric_values(series), []
    numbers = pd.to_numeric(series, errors="coerce")
    failed = int(numbers.isna().sum() - series.isna().sum())
    return numeric_values(numbers), [NOT_NUMBERS.format(count=failed)] if failed else []


def _column_drift(
    name: str,
    reference: ColumnValues,
    series: pd.Series,
    chosen: str | None,
    threshold: float | None,
) -> ColumnDrift:
    current, notes = _current_values(reference, series)
    pair = ColumnPair(reference, current)
    spec = DRIFT_METHODS[chosen or default_method(pair)]
    limit = spec.threshold if threshold is None else float(threshold)
    if spec.test and limit >= 1:
        raise DriftError(BAD_P_THRESHOLD.format(title=spec.title, value=limit))
    notes += _sample_notes(pair, spec, chosen is None)
    new_rate = _new_category_rate(pair)
    if new_rate:
        notes.append(NEW_CATEGORIES.format(rate=new_rate))
    reference_missing = reference.missing / (reference.missing + reference.total)
    if current.total == 0:
        statistic, p_value, drifted = None, None, True
        notes.append(ALL_MISSING.format(rate=reference_missing))
    else:
        statistic, p_value = spec.compute(pair)
        drifted = spec.drifted(statistic, p_value, limit)
        if statistic == math.inf:
            notes.append(INFINITE_CHI_SQUARE)
    return ColumnDrift(
        column=name,
        kind=reference.kind,
        method=spec.name,
        statistic=statistic,
        p_value=p_value,
        threshold=limit,
        drifted=bool(drifted),
        reference_missing=reference_missing,
        current_missing=current.missing / len(series),
        new_category_rate=new_rate,
        note=" ".join(notes) or None,
    )


def _sample_notes(pair: ColumnPair, spec: DriftMethod, by_default: bool) -> list[str]:
    notes = []
    count = pair.reference.total
    if by_default and pair.reference.kind == "numeric" and pair.distinct() <= FEW_VALUES:
        notes.append(FEW_DISTINCT.format(count=pair.distinct()))
    if count <= SMALL_REFERENCE and by_default:
        notes.append(SMALL_SAMPLE.format(count=count, limit=SMALL_REFERENCE, title=spec.title))
    elif count <= SMALL_REFERENCE and not spec.test:
        notes.append(SMALL_SAMPLE_DISTANCE.format(count=count, title=spec.title))
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
                WRONG_KIND.format(
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
    return [METHOD_NOT_FOR_KIND.format(title=spec.title, kind=kind) for kind in left_out]


def _check_options(
    method: str | None,
    methods: Mapping[str, str] | None,
    threshold: float | None,
    thresholds: Mapping[str, float] | None,
    share_threshold: float,
) -> None:
    for name in [method, *(methods or {}).values()]:
        if name is not None and name not in DRIFT_METHODS:
            raise DriftError(UNKNOWN_METHOD.format(method=name, choices=", ".join(DRIFT_METHODS)))
    for value in [threshold, *(thresholds or {}).values()]:
        if value is not None and not (_is_number(value) and value > 0):
            raise DriftError(BAD_THRESHOLD.format(value=value))
    if not (_is_number(share_threshold) and 0 <= share_threshold <= 1):
        raise DriftError(BAD_SHARE.format(value=share_threshold))


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
