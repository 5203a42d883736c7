"""Custom sklearn transformers behind the feature spec: type coercion, dates, bins and filters."""

from __future__ import annotations

import itertools
import math
import warnings
from collections import Counter
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.feature_selection import SelectorMixin, mutual_info_classif, mutual_info_regression
from sklearn.impute import KNNImputer
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.preprocessing import TargetEncoder
from sklearn.utils.validation import check_is_fitted, validate_data

from core.review.explain.sklearn_internals import input_feature_names

DATE_PARTS = ("year", "month", "day", "weekday", "hour", "days_since")
DEFAULT_DATE_PARTS = ("year", "month", "weekday", "days_since")
BIN_STRATEGIES = ("quantile", "uniform")
RARE_LEVEL = "(other)"
TOO_FEW_ROWS = "Found array with 0 sample(s) (shape={shape}) while a minimum of 1 is required."
UNKNOWN_DATE_PART = "Unknown date part {part!r}; choose from {choices}."
BAD_N_BINS = "n_bins must be a whole number of at least 2, not {value!r}."
UNKNOWN_BIN_STRATEGY = "Unknown bin strategy {value!r}; choose from {choices}."
COMPLEX_TARGET = "Complex data not supported: the target must hold real numbers or labels."
UNKNOWN_FILL_STRATEGY = "Unknown fill strategy {value!r}; choose from {choices}."

_NANOSECONDS_PER_UNIT = {"s": 1e9, "ms": 1e6, "us": 1e3, "ns": 1.0}
_NANOSECONDS_PER_DAY = 86_400e9
_EXACT_FLOAT_INTEGERS = 2.0**53
_NUMBER_KINDS = frozenset({"integer", "floating", "mixed-integer-float", "decimal"})
_FILL_STRATEGIES = ("most_frequent", "constant")
_MIN_ROWS_FOR_MUTUAL_INFO = 4
# scikit-learn 1.9 takes a CV splitter and deprecates TargetEncoder's shuffle/random_state
_TARGET_ENCODER_TAKES_SPLITTERS = (
    TargetEncoder().get_params().get("shuffle", "deprecated") == "deprecated"
)


# -- shared input handling -------------------------------------------------------------------


def _frame(estimator: BaseEstimator, X: Any, *, reset: bool) -> pd.DataFrame:
    """Any 2-D input as a frame, after sklearn's usual checks on shape, names and counts."""
    if isinstance(X, pd.DataFrame):
        validate_data(estimator, X, reset=reset, skip_check_array=True)
        if reset and len(X) == 0:
            raise ValueError(TOO_FEW_ROWS.format(shape=X.shape))
        return X
    array = validate_data(
        estimator, X, reset=reset, dtype=None, ensure_all_finite=False, ensure_min_samples=1
    )
    return pd.DataFrame(array)


def _floats(estimator: BaseEstimator, X: Any, *, reset: bool) -> np.ndarray:
    """Numeric input as a float64 array; NaN and +/-inf pass through to the caller."""
    return validate_data(estimator, X, reset=reset, dtype=np.float64, ensure_all_finite=False)


def _finite_or_nan(values: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(values), values, np.nan)


def _column_as_float(column: np.ndarray) -> np.ndarray:
    """One plain column as a new float64 array, read as ``_as_float`` reads a frame's column."""
    if column.dtype.kind == "f":
        return column.astype(np.float64, copy=True)
    return np.array(_as_float(pd.Series(column)), dtype=np.float64)


def _column_as_text(column: np.ndarray) -> np.ndarray:
    """``_as_text`` of one plain column; plain text and yes/no columns without a Series."""
    if column.dtype.kind != "O":
        return _as_text(pd.Series(column))
    types = set(map(type, column.tolist()))
    if str in types and types <= {str, type(None)}:  # infer_dtype says "string"
        values = column.copy()
    elif bool in types and types <= {bool, type(None)}:  # "boolean": read as str() reads it
        values = np.array([str(value) for value in column.tolist()], dtype=object)
    else:
        return _as_text(pd.Series(column))
    if type(None) in types:
        values[pd.isna(column)] = np.nan
    return values


def _float_columns(columns: list[np.ndarray]) -> list[np.ndarray]:
    return [np.asarray(column, dtype=np.float64) for column in columns]


def _tagged(tags: Any, *, allow_nan: bool = True, string: bool = False) -> Any:
    tags.input_tags.allow_nan = allow_nan
    tags.input_tags.string = string
    return tags


# -- type coercion ---------------------------------------------------------------------------


def _as_float(column: pd.Series) -> np.ndarray:
    if pd.api.types.is_bool_dtype(column.dtype) or pd.api.types.is_numeric_dtype(column.dtype):
        return column.to_numpy(dtype=np.float64, na_value=np.nan)
    if pd.api.types.is_datetime64_any_dtype(column.dtype):
        return epoch_days(_as_datetime(column))
    try:
        numbers = pd.to_numeric(column, errors="coerce")
    except TypeError:  # values such as dicts or lists: no number in them
        numbers = pd.Series(np.nan, index=column.index)
    return numbers.to_numpy(dtype=np.float64, na_value=np.nan)


class ToFloat(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Coerces every column to float64: numbers stay, text that is no number, None and +/-inf
    become NaN, so imputers and scalers downstream see one clean numeric type."""

    def fit(self, X: Any, y: Any = None) -> ToFloat:
        _frame(self, X, reset=True)
        return self

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        frame = _frame(self, X, reset=False)
        out = np.empty(frame.shape, dtype=np.float64)
        for index, (_, column) in enumerate(frame.items()):
            out[:, index] = _as_float(column)
        out[np.isinf(out)] = np.nan
        return out

    def transform_columns(self, columns: list[np.ndarray]) -> list[np.ndarray]:
        """``transform`` on plain columns, for the serving fast path: the same values."""
        out = [_column_as_float(column) for column in columns]
        for values in out:
            values[np.isinf(values)] = np.nan
        return out

    def __sklearn_tags__(self) -> Any:
        return _tagged(super().__sklearn_tags__(), string=True)


def _numbers_as_text(values: np.ndarray) -> np.ndarray:
    """Whole numbers print without a decimal point, so 3 and 3.0 are the same level."""
    out = np.full(values.shape, np.nan, dtype=object)
    finite = np.isfinite(values)
    with np.errstate(invalid="ignore"):
        whole = finite & (np.abs(values) < _EXACT_FLOAT_INTEGERS) & (values == np.floor(values))
    out[whole] = values[whole].astype(np.int64).astype(str)
    rest = finite & ~whole
    out[rest] = values[rest].astype(str)
    return out


def level_text(level: Any) -> str:
    """A level as people read it: 3.0 -> "3", 0.5 -> "0.5", "north" -> "north"."""
    is_float = isinstance(level, float | np.floating) and math.isfinite(level)
    if is_float and abs(level) < _EXACT_FLOAT_INTEGERS and level == int(level):
        return str(int(level))
    return str(level)


def _is_number_column(column: pd.Series) -> bool:
    if pd.api.types.is_bool_dtype(column.dtype) or isinstance(column.dtype, pd.CategoricalDtype):
        return False
    if pd.api.types.is_numeric_dtype(column.dtype):
        return True
    return column.dtype == object and pd.api.types.infer_dtype(column) in _NUMBER_KINDS


def _as_text(column: pd.Series) -> np.ndarray:
    if isinstance(column.dtype, pd.CategoricalDtype):
        column = column.astype(object)
    missing = column.isna().to_numpy()
    kind = pd.api.types.infer_dtype(column, skipna=True)
    if kind in _NUMBER_KINDS:
        return _numbers_as_text(_as_float(column))
    if kind == "string":
        values = column.to_numpy(dtype=object, copy=True)
    elif kind.startswith("mixed"):
        # a rare, untidy column: per value, so 3 and 3.0 still read "3" and True "True"
        values = np.asarray([level_text(value) for value in column], dtype=object)
    else:
        values = column.astype(str).to_numpy(dtype=object)
    values[missing] = np.nan
    return values


class ToLevels(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Gives each column one type of level so encoders never meet a mix of strings, numbers,
    bools and None. Columns that hold numbers at fit become float64 (3 and 3.0 are one level;
    +/-inf is missing); every other column, or all with ``text=True``, becomes text
    (True -> "True", 3.0 -> "3"). Missing is always NaN. The choice is learned in fit, so a
    column keeps its level type at predict time whatever type the request carries."""

    def __init__(self, text: bool = False) -> None:
        self.text = text

    def fit(self, X: Any, y: Any = None) -> ToLevels:
        frame = _frame(self, X, reset=True)
        self.number_columns_ = [
            not self.text and _is_number_column(column) for _, column in frame.items()
        ]
        return self

    def transform(self, X: Any) -> Any:
        """A float array; a frame when number and text columns mix (an object array would
        turn the float levels into objects)."""
        check_is_fitted(self)
        frame = _frame(self, X, reset=False)
        columns = [
            _finite_or_nan(_as_float(column)) if numbers else _as_text(column)
            for (_, column), numbers in zip(frame.items(), self.number_columns_, strict=True)
        ]
        return _stacked(columns, frame.index)

    def transform_columns(self, columns: list[np.ndarray]) -> list[np.ndarray]:
        """``transform`` on plain columns, for the serving fast path: the same values."""
        return [
            _finite_or_nan(_column_as_float(column)) if numbers else _column_as_text(column)
            for column, numbers in zip(columns, self.number_columns_, strict=True)
        ]

    def __sklearn_tags__(self) -> Any:
        return _tagged(super().__sklearn_tags__(), string=True)


# -- missing values --------------------------------------------------------------------------


def _python_value(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _most_frequent(column: pd.Series, fallback: Any) -> Any:
    counts = column.value_counts(dropna=True)
    if counts.empty:
        return fallback
    # Ties go to the smallest level as text, so the choice never depends on row order.
    tied = counts.index[counts.to_numpy() == counts.iloc[0]]
    return _python_value(min(tied, key=str))


class FillCategory(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Fills missing levels with the most frequent level seen in fit, or with ``fill_value``;
    a column with no level at all is filled with ``fill_value`` rather than failing."""

    def __init__(self, strategy: str = "most_frequent", fill_value: Any = "(missing)") -> None:
        self.strategy = strategy
        self.fill_value = fill_value

    def fit(self, X: Any, y: Any = None) -> FillCategory:
        if self.strategy not in _FILL_STRATEGIES:
            raise ValueError(
                UNKNOWN_FILL_STRATEGY.format(value=self.strategy, choices=_FILL_STRATEGIES)
            )
        frame = _frame(self, X, reset=True)
        if self.strategy == "constant":
            self.fill_values_ = [self.fill_value] * frame.shape[1]
        else:
            self.fill_values_ = [_most_frequent(col, self.fill_value) for _, col in frame.items()]
        return self

    def transform(self, X: Any) -> Any:
        check_is_fitted(self)
        frame = _frame(self, X, reset=False)
        columns = [
            _put(values, pd.isna(values), fill, as_text=not _is_number(fill))
            for values, fill in zip(_copies(frame), self.fill_values_, strict=True)
        ]
        return _stacked(columns, frame.index)

    def transform_columns(self, columns: list[np.ndarray]) -> list[np.ndarray]:
        """``transform`` on plain columns, for the serving fast path: the same values."""
        return [
            _put(column.copy(), pd.isna(column), fill, as_text=not _is_number(fill))
            for column, fill in zip(columns, self.fill_values_, strict=True)
        ]

    def __sklearn_tags__(self) -> Any:
        return _tagged(super().__sklearn_tags__(), string=True)


def _put(values: np.ndarray, where: np.ndarray, level: Any, *, as_text: bool) -> np.ndarray:
    """Writes ``level`` into the cells ``where`` is true. A number column that may receive text
    (``as_text``, decided in fit) turns to text as a whole, whether or not this batch needs
    it, so the encoder downstream sees one type per column, the same in fit and predict."""
    if as_text and values.dtype.kind == "f":
        values = _numbers_as_text(values)
    if not where.any():
        return values
    if as_text and values.dtype.kind == "O" and _holds_numbers(values):
        values = _numbers_as_text(values.astype(np.float64))
    elif values.dtype.kind not in "fO" or not _is_number(level):
        values = values.astype(object, copy=False)
    values[where] = level
    return values


def _stacked(columns: list[np.ndarray], index: pd.Index) -> Any:
    """Float columns as one array; with any text column, a frame, which keeps float levels
    float next to text ones where an object array would not."""
    if all(column.dtype.kind == "f" for column in columns):
        return np.column_stack(columns)
    return pd.DataFrame(dict(enumerate(columns)), index=index)


def _holds_numbers(values: np.ndarray) -> bool:
    if values.dtype.kind == "f":
        return True
    kind = pd.api.types.infer_dtype(values, skipna=True) if values.dtype.kind == "O" else ""
    return kind in _NUMBER_KINDS


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | np.number) and not isinstance(value, bool | np.bool_)


def _copies(frame: pd.DataFrame) -> list[np.ndarray]:
    return [column.to_numpy(copy=True) for _, column in frame.items()]


def _counts_by_frequency(column: pd.Series) -> pd.Series:
    """Counts of each non-missing level, most frequent first; ties in text order."""
    counts = column.value_counts(dropna=True, sort=False)
    order = np.lexsort((counts.index.astype(str), -counts.to_numpy()))
    return counts.iloc[order]


class RareLevels(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Groups levels seen in fewer than ``min_frequency`` rows (a share of rows, or a count)
    into one level ``other``, and, beyond ``max_categories`` levels, all but the
    ``max_categories - 1`` most frequent. Once a column has that group, levels unseen in fit
    join it, as sklearn's ``handle_unknown="infrequent_if_exist"`` does, but counted with
    pandas rather than a Python loop, which matters on a million rows. Missing stays missing.
    """

    def __init__(
        self,
        min_frequency: float | None = None,
        max_categories: int | None = None,
        other: str = RARE_LEVEL,
    ) -> None:
        self.min_frequency = min_frequency
        self.max_categories = max_categories
        self.other = other

    def fit(self, X: Any, y: Any = None) -> RareLevels:
        frame = _frame(self, X, reset=True)
        counted = [_counts_by_frequency(column) for _, column in frame.items()]
        self.levels_ = [counts.index.to_numpy(dtype=object) for counts in counted]
        self.frequent_levels_ = [self._frequent(counts, len(frame)) for counts in counted]
        return self

    def _frequent(self, counts: pd.Series, n_rows: int) -> np.ndarray:
        keep = np.ones(len(counts), dtype=bool)
        if self.min_frequency is not None:
            share = isinstance(self.min_frequency, float)
            least = self.min_frequency * n_rows if share else self.min_frequency
            keep = counts.to_numpy() >= least
        frequent = counts.index.to_numpy(dtype=object)[keep]
        outputs = len(frequent) + int(len(frequent) < len(counts))
        if self.max_categories is not None and self.max_categories < outputs:
            frequent = frequent[: self.max_categories - 1]
        return frequent

    def transform(self, X: Any) -> Any:
        check_is_fitted(self)
        frame = _frame(self, X, reset=False)
        columns = []
        for (_, column), levels, frequent in zip(
            frame.items(), self.levels_, self.frequent_levels_, strict=True
        ):
            values = column.to_numpy(copy=True)
            if len(frequent) < len(levels):
                values = _put(values, _rare(values, frequent), self.other, as_text=True)
            columns.append(values)
        return _stacked(columns, frame.index)

    def transform_columns(self, columns: list[np.ndarray]) -> list[np.ndarray]:
        """``transform`` on plain columns, for the serving fast path: the same values."""
        out = []
        for column, levels, frequent in zip(
            columns, self.levels_, self.frequent_levels_, strict=True
        ):
            values = column.copy()
            if len(frequent) < len(levels):
                values = _put(values, _rare(values, frequent), self.other, as_text=True)
            out.append(values)
        return out

    def __sklearn_tags__(self) -> Any:
        return _tagged(super().__sklearn_tags__(), string=True)


def _rare(values: np.ndarray, frequent: np.ndarray) -> np.ndarray:
    """Cells holding a level outside ``frequent`` that is not missing."""
    rare = ~pd.Series(values).isin(frequent).to_numpy()
    candidates = np.flatnonzero(rare)  # usually few, so the costly missing test runs on few
    rare[candidates[pd.isna(values[candidates])]] = False
    return rare


class MissingFlags(TransformerMixin, BaseEstimator):
    """One 0/1 column per input column: 1 where the value is missing (None, NaN, NaT, +/-inf)."""

    def fit(self, X: Any, y: Any = None) -> MissingFlags:
        _frame(self, X, reset=True)
        return self

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        frame = _frame(self, X, reset=False)
        out = np.empty(frame.shape, dtype=np.float64)
        for index, (_, column) in enumerate(frame.items()):
            if pd.api.types.is_numeric_dtype(column.dtype):
                out[:, index] = ~np.isfinite(_as_float(column))
            else:
                out[:, index] = column.isna().to_numpy()
        return out

    def transform_columns(self, columns: list[np.ndarray]) -> list[np.ndarray]:
        """``transform`` on plain columns, for the serving fast path: the same values."""
        return [_missing_flags(column) for column in columns]

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self)
        names = input_feature_names(self, input_features)
        return np.asarray([f"{name}__missing" for name in names], dtype=object)

    def __sklearn_tags__(self) -> Any:
        return _tagged(super().__sklearn_tags__(), string=True)


def _missing_flags(column: np.ndarray) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(column.dtype):
        return (~np.isfinite(_column_as_float(column))).astype(np.float64)
    return pd.isna(column).astype(np.float64)


class KNNImpute(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """KNN imputation against at most ``max_rows`` training rows, so fitting and predicting
    stay affordable on large tables; +/-inf counts as missing."""

    def __init__(self, n_neighbors: int = 5, max_rows: int = 10_000, random_state: int = 0):
        self.n_neighbors = n_neighbors
        self.max_rows = max_rows
        self.random_state = random_state

    def fit(self, X: Any, y: Any = None) -> KNNImpute:
        values = _finite_or_nan(_floats(self, X, reset=True))
        rows = _sample_rows(len(values), max_rows=self.max_rows, seed=self.random_state)
        imputer = KNNImputer(n_neighbors=self.n_neighbors, keep_empty_features=True)
        self.imputer_ = imputer.fit(values[rows])
        return self

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        values = _finite_or_nan(_floats(self, X, reset=False))
        return self.imputer_.transform(values)

    def __sklearn_tags__(self) -> Any:
        return _tagged(super().__sklearn_tags__())


def _sample_rows(n_rows: int, *, max_rows: int, seed: int) -> np.ndarray:
    if n_rows <= max_rows:
        return np.arange(n_rows)
    return np.sort(np.random.default_rng(seed).choice(n_rows, size=max_rows, replace=False))


# -- numeric transforms ----------------------------------------------------------------------


class SignedLog(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """sign(x) * log1p(|x|): compresses long tails, defined for zero and negative values."""

    def fit(self, X: Any, y: Any = None) -> SignedLog:
        _floats(self, X, reset=True)
        return self

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        values = _floats(self, X, reset=False)
        return np.sign(values) * np.log1p(np.abs(values))

    def transform_columns(self, columns: list[np.ndarray]) -> list[np.ndarray]:
        """``transform`` on plain columns, for the serving fast path: the same values."""
        return [np.sign(values) * np.log1p(np.abs(values)) for values in _float_columns(columns)]

    def __sklearn_tags__(self) -> Any:
        return _tagged(super().__sklearn_tags__())


def _bin_edges(values: np.ndarray, *, n_bins: int, strategy: str) -> np.ndarray:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return np.empty(0)
    if strategy == "quantile":
        edges = np.quantile(finite, np.linspace(0.0, 1.0, n_bins + 1))
    else:
        edges = np.linspace(finite.min(), finite.max(), n_bins + 1)
    return np.unique(edges)


class Bins(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Bin number (0, 1, ...) by quantile or equal-width edges learned in fit; repeated edges
    merge instead of warning; NaN and +/-inf stay NaN."""

    def __init__(self, n_bins: int = 5, strategy: str = "quantile") -> None:
        self.n_bins = n_bins
        self.strategy = strategy

    def fit(self, X: Any, y: Any = None) -> Bins:
        if isinstance(self.n_bins, bool) or not isinstance(self.n_bins, int) or self.n_bins < 2:
            raise ValueError(BAD_N_BINS.format(value=self.n_bins))
        if self.strategy not in BIN_STRATEGIES:
            raise ValueError(
                UNKNOWN_BIN_STRATEGY.format(value=self.strategy, choices=BIN_STRATEGIES)
            )
        values = _floats(self, X, reset=True)
        self.bin_edges_ = [
            _bin_edges(values[:, index], n_bins=self.n_bins, strategy=self.strategy)
            for index in range(values.shape[1])
        ]
        return self

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        values = _floats(self, X, reset=False)
        out = np.empty(values.shape, dtype=np.float64)
        for index, edges in enumerate(self.bin_edges_):
            out[:, index] = np.searchsorted(edges[1:-1], values[:, index], side="right")
        out[~np.isfinite(values)] = np.nan
        return out

    def transform_columns(self, columns: list[np.ndarray]) -> list[np.ndarray]:
        """``transform`` on plain columns, for the serving fast path: the same values."""
        out = []
        for values, edges in zip(_float_columns(columns), self.bin_edges_, strict=True):
            binned = np.searchsorted(edges[1:-1], values, side="right").astype(np.float64)
            binned[~np.isfinite(values)] = np.nan
            out.append(binned)
        return out

    def __sklearn_tags__(self) -> Any:
        return _tagged(super().__sklearn_tags__())


def _term_name(names: np.ndarray, term: list[int]) -> str:
    powers = Counter(term)
    return "*".join(
        str(names[index]) if power == 1 else f"{names[index]}^{power}"
        for index, power in powers.items()
    )


class PolynomialTerms(TransformerMixin, BaseEstimator):
    """Products of the input columns of degree 2 up to ``degree`` (``age*income``, ``age^2``);
    the degree-1 columns are not repeated, since the pipeline already has them."""

    def __init__(self, degree: int = 2, interaction_only: bool = False) -> None:
        self.degree = degree
        self.interaction_only = interaction_only

    def fit(self, X: Any, y: Any = None) -> PolynomialTerms:
        n_features = _floats(self, X, reset=True).shape[1]
        combine = (
            itertools.combinations
            if self.interaction_only
            else itertools.combinations_with_replacement
        )
        self.terms_ = [
            list(term)
            for size in range(2, self.degree + 1)
            for term in combine(range(n_features), size)
        ]
        return self

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        values = _floats(self, X, reset=False)
        out = np.empty((values.shape[0], len(self.terms_)), dtype=np.float64)
        with np.errstate(over="ignore", invalid="ignore"):
            for index, term in enumerate(self.terms_):
                out[:, index] = np.prod(values[:, term], axis=1)
        return out

    def transform_columns(self, columns: list[np.ndarray]) -> list[np.ndarray]:
        """``transform`` on plain columns, for the serving fast path: the same values."""
        values = np.column_stack(_float_columns(columns))
        with np.errstate(over="ignore", invalid="ignore"):
            return [np.prod(values[:, term], axis=1) for term in self.terms_]

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self)
        names = input_feature_names(self, input_features)
        return np.asarray([_term_name(names, term) for term in self.terms_], dtype=object)

    def __sklearn_tags__(self) -> Any:
        return _tagged(super().__sklearn_tags__())


# -- dates -----------------------------------------------------------------------------------


def _as_datetime(column: pd.Series) -> pd.Series:
    """Datetimes (naive, or aware converted to UTC), ISO strings, or numbers as epoch days."""
    if isinstance(column.dtype, pd.DatetimeTZDtype):
        return column.dt.tz_convert("UTC").dt.tz_localize(None)
    if pd.api.types.is_datetime64_dtype(column.dtype):
        return column
    if pd.api.types.is_numeric_dtype(column.dtype):
        days = column.to_numpy(dtype=np.float64, na_value=np.nan)
        # out-of-range day counts become NaT; never an error, whatever numpy's error state is
        with np.errstate(over="ignore", invalid="ignore"):
            return pd.to_datetime(pd.Series(_finite_or_nan(days)), unit="D", errors="coerce")
    try:
        parsed = pd.to_datetime(column, errors="coerce", utc=True, format="ISO8601")
    except (TypeError, ValueError):  # values that are neither text nor dates
        return pd.Series(pd.NaT, index=column.index, dtype="datetime64[ns]")
    return parsed.dt.tz_localize(None)


def epoch_days(moments: pd.Series) -> np.ndarray:
    """Days since 1970-01-01 of datetime64 values, with NaN for NaT."""
    unit = np.datetime_data(moments.dtype)[0]
    ticks = moments.to_numpy().view(np.int64).astype(np.float64)
    days = ticks * _NANOSECONDS_PER_UNIT[unit] / _NANOSECONDS_PER_DAY
    days[moments.isna().to_numpy()] = np.nan
    return days


def _date_part_of_array(moments: np.ndarray, part: str) -> np.ndarray:
    """``_date_part`` of naive datetime64[ns] values by numpy's calendar arithmetic (whole
    numbers, so exactly pandas' values); NaT gives NaN."""
    ticks = moments.view(np.int64)
    if part == "days_since":
        days = ticks.astype(np.float64) * _NANOSECONDS_PER_UNIT["ns"] / _NANOSECONDS_PER_DAY
    elif part == "year":
        days = (moments.astype("datetime64[Y]").view(np.int64) + 1970).astype(np.float64)
    elif part == "month":
        days = (moments.astype("datetime64[M]").view(np.int64) % 12 + 1).astype(np.float64)
    elif part == "day":
        start = moments.astype("datetime64[M]").astype("datetime64[D]")
        days = ((moments.astype("datetime64[D]") - start).view(np.int64) + 1).astype(np.float64)
    elif part == "weekday":  # 1970-01-01 was a Thursday (3, counting from Monday = 0)
        days = ((moments.astype("datetime64[D]").view(np.int64) + 3) % 7).astype(np.float64)
    else:  # hour
        since_midnight = moments - moments.astype("datetime64[D]")
        days = since_midnight.astype("timedelta64[h]").view(np.int64).astype(np.float64)
    days[np.isnat(moments)] = np.nan
    return days


def _date_part(moments: pd.Series, part: str) -> np.ndarray:
    if part == "days_since":
        return epoch_days(moments)  # the caller subtracts the reference learned in fit
    return getattr(moments.dt, part).to_numpy(dtype=np.float64, na_value=np.nan)


class DateParts(TransformerMixin, BaseEstimator):
    """Calendar parts of each date column (year, month, day, weekday, hour) and days since the
    earliest date seen in fit. Accepts datetimes, ISO strings and numbers (read as days since
    1970-01-01); missing or unreadable dates give NaN."""

    def __init__(self, parts: tuple[str, ...] | list[str] = DEFAULT_DATE_PARTS) -> None:
        self.parts = parts

    def fit(self, X: Any, y: Any = None) -> DateParts:
        for part in self.parts:
            if part not in DATE_PARTS:
                raise ValueError(UNKNOWN_DATE_PART.format(part=part, choices=DATE_PARTS))
        frame = _frame(self, X, reset=True)
        self.reference_days_ = np.asarray(
            [_earliest(epoch_days(_as_datetime(column))) for _, column in frame.items()],
            dtype=np.float64,
        )
        return self

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        frame = _frame(self, X, reset=False)
        blocks = []
        for (_, column), reference in zip(frame.items(), self.reference_days_, strict=True):
            moments = _as_datetime(column)
            for part in self.parts:
                offset = reference if part == "days_since" else 0.0
                blocks.append(_date_part(moments, part) - offset)
        return np.column_stack(blocks) if blocks else np.empty((len(frame), 0))

    def transform_columns(self, columns: list[np.ndarray]) -> list[np.ndarray]:
        """``transform`` on plain columns, for the serving fast path: the same values."""
        out = []
        for column, reference in zip(columns, self.reference_days_, strict=True):
            if column.dtype == np.dtype("datetime64[ns]"):
                parts = [_date_part_of_array(column, part) for part in self.parts]
            else:
                moments = _as_datetime(pd.Series(column))
                parts = [_date_part(moments, part) for part in self.parts]
            for part, values in zip(self.parts, parts, strict=True):
                out.append(values - (reference if part == "days_since" else 0.0))
        return out

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self)
        names = input_feature_names(self, input_features)
        return np.asarray(
            [f"{name}__{part}" for name in names for part in self.parts], dtype=object
        )

    def __sklearn_tags__(self) -> Any:
        return _tagged(super().__sklearn_tags__(), string=True)


def _earliest(days: np.ndarray) -> float:
    finite = days[np.isfinite(days)]
    return float(finite.min()) if finite.size else np.nan


# -- categorical encoding --------------------------------------------------------------------


def onehot_column_name(feature: str, level: Any) -> str:
    """``sex_female``; whole-number levels read ``zip_94107`` rather than ``zip_94107.0``."""
    return f"{feature}_{level_text(level)}"


def target_kind(y: Any, *, max_classes: int = 20) -> str:
    """binary, multiclass or continuous: numbers with fractions or many values are continuous."""
    raw = np.asarray(y).ravel()
    if np.iscomplexobj(raw):
        raise ValueError(COMPLEX_TARGET)
    values = pd.Series(raw)
    distinct = values.nunique(dropna=True)
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values):
        numbers = values.to_numpy(dtype=np.float64, na_value=np.nan)
        fractional = bool(np.any(np.isfinite(numbers) & (numbers != np.floor(numbers))))
        if fractional or distinct > max_classes:
            return "continuous"
    return "binary" if distinct <= 2 else "multiclass"


def _usable_folds(y: Any, *, cv: int, kind: str) -> int:
    """Most folds up to ``cv`` that a (stratified) split of ``y`` can make."""
    values = pd.Series(np.asarray(y).ravel())
    folds = min(cv, len(values))
    if kind != "continuous":
        folds = min(folds, int(values.value_counts().max()))
    return folds


def _splitter(folds: int, *, kind: str, seed: int) -> KFold | StratifiedKFold:
    split = KFold if kind == "continuous" else StratifiedKFold
    return split(n_splits=folds, shuffle=True, random_state=seed)


class TargetEncoding(TransformerMixin, BaseEstimator):
    """sklearn's TargetEncoder, cross-fitted in fit_transform with as many shuffled folds as the
    data allows (a tiny table or a rare class never fails), and with the target kind decided
    once by :func:`target_kind`, so an integer-valued regression target is not read as classes.
    """

    def __init__(self, cv: int = 5, smooth: Any = "auto", random_state: int = 0) -> None:
        self.cv = cv
        self.smooth = smooth
        self.random_state = random_state

    def _encoder(self, *, kind: str, folds: int) -> TargetEncoder:
        folds = max(folds, 2)
        if _TARGET_ENCODER_TAKES_SPLITTERS:
            cv = _splitter(folds, kind=kind, seed=self.random_state)
            return TargetEncoder(target_type=kind, smooth=self.smooth, cv=cv)
        return TargetEncoder(  # scikit-learn < 1.9 shuffles through its own arguments
            target_type=kind,
            smooth=self.smooth,
            cv=folds,
            shuffle=True,
            random_state=self.random_state,
        )

    def _keep(self, encoder: TargetEncoder) -> None:
        self.encoder_ = encoder
        self.categories_ = encoder.categories_
        self.n_features_in_ = encoder.n_features_in_
        if hasattr(encoder, "feature_names_in_"):
            self.feature_names_in_ = encoder.feature_names_in_

    def fit(self, X: Any, y: Any = None) -> TargetEncoding:
        kind = target_kind(y) if y is not None else "binary"
        self._keep(self._encoder(kind=kind, folds=self.cv).fit(X, y))
        return self

    def fit_transform(self, X: Any, y: Any = None, **fit_params: Any) -> np.ndarray:
        kind = target_kind(y) if y is not None else "binary"
        folds = _usable_folds(y, cv=self.cv, kind=kind) if y is not None else 0
        if folds < 2:
            return self.fit(X, y).transform(X)
        encoder = self._encoder(kind=kind, folds=folds)
        with warnings.catch_warnings():
            # a class rarer than the folds is normal in small tables; stratification copes
            warnings.filterwarnings(
                "ignore", message="The least populated class", category=UserWarning
            )
            out = encoder.fit_transform(X, y)
        self._keep(encoder)
        return out

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        return self.encoder_.transform(X)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self)
        return self.encoder_.get_feature_names_out(input_features)

    def __sklearn_tags__(self) -> Any:
        tags = _tagged(super().__sklearn_tags__(), string=True)
        tags.input_tags.categorical = True
        tags.target_tags.required = True
        return tags


# -- names and selection ---------------------------------------------------------------------


def unique_names(names: list[str]) -> list[str]:
    """Repeated names get a numbered suffix (``x``, ``x__2``) that no other name already has."""
    originals = set(names)
    used: set[str] = set()
    out = []
    for name in names:
        candidate, number = name, 1
        while candidate in used or (candidate != name and candidate in originals):
            number += 1
            candidate = f"{name}__{number}"
        used.add(candidate)
        out.append(candidate)
    return out


class FeatureColumns(ColumnTransformer):
    """A ColumnTransformer whose output names are its transformers' own (``age``,
    ``sex_female``) when built with ``verbose_feature_names_out="{feature_name}"``, made
    unique: a clash, such as a raw column named like an encoder's output, gets a numbered
    suffix (``x__2``) rather than failing as ``verbose_feature_names_out=False`` does."""

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        names = super().get_feature_names_out(input_features)
        return np.asarray(unique_names([str(name) for name in names]), dtype=object)


def _column_spread(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Variance and max - min of each column over its finite values (0 when there are none);
    one column at a time, so a million-row table is never copied whole."""
    variances = np.zeros(values.shape[1])
    spread = np.zeros(values.shape[1])
    with np.errstate(over="ignore", invalid="ignore"):
        for index in range(values.shape[1]):
            column = values[:, index]
            finite = column[np.isfinite(column)]
            if finite.size:
                variances[index] = finite.var()
                spread[index] = finite.max() - finite.min()
    return np.nan_to_num(variances, nan=0.0), spread


class _LearnedSupport(SelectorMixin):
    """A column selector whose fit sets ``support_``, the mask of the columns it keeps;
    missing and infinite values pass through it."""

    support_: np.ndarray

    def _get_support_mask(self) -> np.ndarray:
        check_is_fitted(self)
        return self.support_

    def __sklearn_tags__(self) -> Any:
        return _tagged(super().__sklearn_tags__())


class VarianceFilter(_LearnedSupport, BaseEstimator):
    """Drops columns whose variance is at most ``threshold`` (constant columns at 0.0). When no
    column passes, keeps them all, so a model can still be fitted on a degenerate sample."""

    def __init__(self, threshold: float = 0.0) -> None:
        self.threshold = threshold

    def fit(self, X: Any, y: Any = None) -> VarianceFilter:
        values = _floats(self, X, reset=True)
        variances, spread = _column_spread(values)
        self.variances_ = np.where(spread > 0, variances, 0.0)
        keep = (self.variances_ > self.threshold) & (spread > 0)
        self.support_ = keep if keep.any() else np.ones_like(keep)
        return self


def _finite_means(values: np.ndarray) -> np.ndarray:
    means = np.zeros(values.shape[1])
    with np.errstate(over="ignore", invalid="ignore"):
        for index in range(values.shape[1]):
            column = values[:, index]
            finite = column[np.isfinite(column)]
            means[index] = finite.mean() if finite.size else 0.0
    return np.nan_to_num(means)


def _correlations(values: np.ndarray, *, rows_per_chunk: int = 65_536) -> np.ndarray:
    """|Pearson correlation| between columns; a non-finite cell counts as its column's mean.
    The cross products are summed over row chunks to bound memory on large tables."""
    means = _finite_means(values)
    products = np.zeros((values.shape[1], values.shape[1]))
    with np.errstate(over="ignore", invalid="ignore"):
        for start in range(0, len(values), rows_per_chunk):
            chunk = values[start : start + rows_per_chunk]
            centred = np.where(np.isfinite(chunk), chunk - means, 0.0)
            products += centred.T @ centred
        norms = np.sqrt(np.diag(products))
        norms = np.where(norms > 0, norms, np.inf)  # a constant column correlates with nothing
        correlations = np.abs(products / np.outer(norms, norms))
    return np.nan_to_num(correlations, nan=0.0, posinf=0.0)


class CorrelationFilter(_LearnedSupport, BaseEstimator):
    """Drops one column of each pair whose |correlation| is above ``threshold``, keeping the
    earlier column; pairs are learned in fit."""

    def __init__(self, threshold: float = 0.95) -> None:
        self.threshold = threshold

    def fit(self, X: Any, y: Any = None) -> CorrelationFilter:
        values = _floats(self, X, reset=True)
        correlations = _correlations(values)
        keep = np.ones(values.shape[1], dtype=bool)
        for index in range(values.shape[1]):
            if keep[index]:
                later = correlations[index, index + 1 :] > self.threshold
                keep[index + 1 :] &= ~later
        self.support_ = keep
        return self


def _median_filled(values: np.ndarray) -> np.ndarray:
    finite = np.isfinite(values)
    filled = values.copy()
    for index in range(values.shape[1]):
        column = values[finite[:, index], index]
        filled[~finite[:, index], index] = np.median(column) if column.size else 0.0
    return filled


class MutualInfoSelector(_LearnedSupport, BaseEstimator):
    """Keeps the ``k`` columns with the highest mutual information with the target, scored on
    at most ``max_rows`` sampled rows (the kNN estimate is costly); ``k`` above the number of
    columns keeps them all."""

    def __init__(self, k: int = 10, max_rows: int = 20_000, random_state: int = 0) -> None:
        self.k = k
        self.max_rows = max_rows
        self.random_state = random_state

    def fit(self, X: Any, y: Any = None) -> MutualInfoSelector:
        values, target = validate_data(
            self, X, y, dtype=np.float64, ensure_all_finite=False, y_numeric=False
        )
        rows = _sample_rows(len(values), max_rows=self.max_rows, seed=self.random_state)
        self.scores_ = _mutual_info(_median_filled(values[rows]), target[rows], self.random_state)
        order = np.argsort(-self.scores_, kind="stable")
        self.support_ = np.zeros(values.shape[1], dtype=bool)
        self.support_[order[: self.k]] = True
        return self

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags


def _mutual_info(values: np.ndarray, target: np.ndarray, seed: int) -> np.ndarray:
    if len(values) < _MIN_ROWS_FOR_MUTUAL_INFO:
        return np.zeros(values.shape[1])
    neighbours = min(3, len(values) - 1)
    if target_kind(target) == "continuous":
        return mutual_info_regression(
            values, target.astype(np.float64), n_neighbors=neighbours, random_state=seed
        )
    return mutual_info_classif(values, target, n_neighbors=neighbours, random_state=seed)


# The studio's own scikit-learn transformers, listed once. This list feeds the skops allowlist
# of model files (below), the ONNX converter table (core/train/onnx/studio_steps.py, where each
# has a converter or the reason it has none) and the tests, which check each of them for all
# three; a transformer added to a pipeline but not here cannot be loaded from a model file.
STUDIO_TRANSFORMERS: tuple[type[BaseEstimator], ...] = (
    Bins,
    CorrelationFilter,
    DateParts,
    FeatureColumns,
    FillCategory,
    KNNImpute,
    MissingFlags,
    MutualInfoSelector,
    PolynomialTerms,
    RareLevels,
    SignedLog,
    TargetEncoding,
    ToFloat,
    ToLevels,
    VarianceFilter,
)

# Every type this module adds to a fitted pipeline, for the skops allowlist of model artifacts:
# the transformers, and the function OneHotEncoder calls to name its outputs. Named by this
# module's path, which is where model files already saved record them.
_TRUSTED_NAMES = [*(member.__name__ for member in STUDIO_TRANSFORMERS), onehot_column_name.__name__]
SKOPS_TRUSTED_TYPES = tuple(f"{__name__}.{name}" for name in _TRUSTED_NAMES)
