"""Data-quality checks: a registry of small checks that turn column profiles into findings."""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from core import words
from core.data.profile import (
    ColumnProfile,
    count_duplicate_rows,
    missing_as_null,
    profile_columns,
    resolve_target,
)
from core.data.schema import ColumnSchema, Role

if TYPE_CHECKING:  # pandas is imported by the checks that need it (a target's): ~0.5 s
    import pandas as pd

Severity = Literal["high", "medium", "low", "info"]
StrengthMetric = Literal["roc_auc", "abs_corr", "cramers_v"]
Task = Literal["binary", "multiclass", "regression"]

SEVERITY_ORDER: dict[str, int] = {"high": 0, "medium": 1, "low": 2, "info": 3}
NEAR_CONSTANT_PCT = 99.0
HIGH_CARDINALITY_MIN = 50
HIGH_CARDINALITY_PCT = 50.0
HIGH_CARDINALITY_LEVELS = 1000
ID_LIKE_MIN_ROWS = 20
MIXED_TYPES_MIN_PCT = 5.0
MIXED_TYPES_MAX_PCT = 95.0
OUTLIERS_MIN_PCT = 1.0
OUTLIERS_MEDIUM_PCT = 5.0
DUPLICATES_MEDIUM_PCT = 5.0
# Imbalance is judged by how many times the largest class outnumbers the smallest, so ten even
# classes (10% each) are balanced. The bars are a binary target's old ones: a smallest class
# under 20% of rows is outnumbered more than 4 to 1, under 5% more than 19 to 1.
IMBALANCE_MEDIUM_RATIO = 4.0
IMBALANCE_HIGH_RATIO = 19.0
LEAKAGE_MIN_STRENGTH = 0.95
LEAKAGE_MIN_ROWS = 50
MAX_CLASSES = 20
STRENGTH_SAMPLE_ROWS = 200_000
STRENGTH_SEED = 0
ENCODING_FOLDS = 5
ENCODING_SMOOTHING = 10.0
NUMERIC_BINS = 10
CATEGORY_ROLES: frozenset[str] = frozenset({"categorical", "boolean", "text"})
NOT_FEATURES: frozenset[str] = frozenset({"id", "target"})

ALL_NULL = "‘{column}’ is empty in every row, so it carries no information; drop it."
CONSTANT = (
    "‘{column}’ has the same value ({value}) in every non-empty row, so it cannot help a model;"
    " drop it."
)
NEAR_CONSTANT = (
    "‘{column}’ has the same value ({value}) in {pct:.1f}% of its non-empty rows, so it carries"
    " almost no information; consider dropping it."
)
HIGH_CARDINALITY = (
    "‘{column}’ has {distinct:,} distinct values ({pct:.0f}% of its non-empty rows), so one-hot"
    " encoding it would add thousands of sparse columns; group rare levels or use target encoding."
)
ID_LIKE = (
    "‘{column}’ has a different value in every row, so it looks like an identifier that a model"
    " could only memorise; mark it as an id so it is not used as a feature."
)
MIXED_TYPES = (
    "‘{column}’ is stored as text but {pct:.0f}% of its values are numbers, so it probably mixes"
    " numbers with codes or typos; clean the odd values so it can be used as a number."
)
DUPLICATE_ROWS = (
    "{count:,} rows ({pct:.2f}%) are exact copies of an earlier row; duplicates over-weight some"
    " cases and can leak between training and test splits, so consider dropping them."
)
OUTLIERS = (
    "‘{column}’ has {count:,} values ({pct:.1f}%) outside 1.5×IQR of its quartiles"
    " ({low:.4g} to {high:.4g}); check whether they are errors, and consider clipping them."
)
CLASS_IMBALANCE = (
    "The target ‘{column}’ is imbalanced: its smallest class ({value}) has {pct:.1f}% of rows,"
    " against {even:.1f}% if its {classes} classes were even, and its largest ({largest}) has"
    " {ratio:.1f} times as many, so accuracy will mislead; use stratified splits and metrics"
    " such as ROC AUC or F1."
)
TARGET_LEAKAGE = (
    "‘{column}’ alone predicts the target with {metric} {score:.3f}{sample}, which is"
    " suspiciously high; check that it is not derived from the target or recorded after the"
    " outcome."
)
SAMPLE_NOTE = " (measured on a seeded sample of {used:,} of {rows:,} rows)"
# the strength metrics in a sentence, in the words core.words gives them
METRIC_NAMES: dict[str, str] = {
    name: words.metric_in_sentence(name) for name in ("roc_auc", "abs_corr", "cramers_v")
}


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
UNKNOWN_TARGET = "The target column '{target}' is not in the frame; pick one of its columns."


@dataclass(frozen=True)
class QualityFinding:
    """One problem found in the data, with a sentence that says why it matters."""

    check: str
    severity: Severity
    column: str | None
    message: str
    value: float | None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if self.value is not None and not math.isfinite(self.value):
            data["value"] = None
        return data


@dataclass(frozen=True)
class FeatureStrength:
    """How well one feature alone predicts the target, and on how many rows that was measured."""

    name: str
    metric: StrengthMetric
    value: float
    rows: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class QualityInputs:
    """Everything a check may read: the table, its column profiles and the target."""

    table: pa.Table
    columns: tuple[ColumnProfile, ...]
    target: str | None
    duplicate_rows: int


class Flag(NamedTuple):
    """What a check reports; the runner adds the check's registered name."""

    severity: Severity
    column: str | None
    message: str
    value: float | None


CheckFunction = Callable[[QualityInputs], Iterable[Flag]]
QUALITY_CHECKS: dict[str, CheckFunction] = {}
CHECK_TITLES: dict[str, str] = {}  # each check's name in the user's words


def quality_check(name: str, *, title: str) -> Callable[[CheckFunction], CheckFunction]:
    """Register a check under ``name``, shown as ``title``; adding a check is writing one
    decorated function."""

    def register(function: CheckFunction) -> CheckFunction:
        QUALITY_CHECKS[name] = function
        CHECK_TITLES[name] = title
        return function

    return register


def check_quality(
    table: pa.Table,
    *,
    schema: list[ColumnSchema],
    target: str | None = None,
    column_stats: Sequence[ColumnProfile] | None = None,
    duplicate_rows: int | None = None,
) -> list[QualityFinding]:
    """Run every registered check, most severe findings first.

    ``column_stats`` and ``duplicate_rows`` let ``profile_table`` reuse what it already
    computed on the same table; without them they are computed here.
    """
    target = resolve_target(table, schema=schema, target=target)
    if column_stats is None:
        table = missing_as_null(table)
        column_stats = profile_columns(table, schema=schema, target=target)
    if duplicate_rows is None:
        duplicate_rows = count_duplicate_rows(table)
    inputs = QualityInputs(
        table=table, columns=tuple(column_stats), target=target, duplicate_rows=duplicate_rows
    )
    findings = [
        QualityFinding(check=name, **flag._asdict())
        for name, check in QUALITY_CHECKS.items()
        for flag in check(inputs)
    ]
    return sorted(findings, key=lambda finding: SEVERITY_ORDER[finding.severity])


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
    task = _task(pd.Series(frame[target].unique()))
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


@quality_check("all_null", title="Empty column")
def _all_null(inputs: QualityInputs) -> Iterator[Flag]:
    for column in inputs.columns:
        if column.count == 0 and column.missing > 0:
            yield Flag("high", column.name, ALL_NULL.format(column=column.name), 100.0)


@quality_check("constant", title="One value only")
def _constant(inputs: QualityInputs) -> Iterator[Flag]:
    for column in inputs.columns:
        if column.distinct == 1:
            message = CONSTANT.format(column=column.name, value=_top_value(column))
            yield Flag("medium", column.name, message, 100.0)


@quality_check("near_constant", title="Almost one value")
def _near_constant(inputs: QualityInputs) -> Iterator[Flag]:
    for column in inputs.columns:
        if column.distinct < 2 or column.role == "target" or not column.top_values:
            continue
        pct = 100.0 * column.top_values[0][1] / column.count
        if pct >= NEAR_CONSTANT_PCT:
            message = NEAR_CONSTANT.format(column=column.name, value=_top_value(column), pct=pct)
            yield Flag("low", column.name, message, pct)


@quality_check("high_cardinality", title="Very many categories")
def _high_cardinality(inputs: QualityInputs) -> Iterator[Flag]:
    for column in inputs.columns:
        many = (
            column.distinct_pct > HIGH_CARDINALITY_PCT or column.distinct > HIGH_CARDINALITY_LEVELS
        )
        if (
            column.role == "categorical"
            and column.distinct > HIGH_CARDINALITY_MIN
            and many
            and not _every_row_differs(column, rows=inputs.table.num_rows)
        ):
            message = HIGH_CARDINALITY.format(
                column=column.name, distinct=column.distinct, pct=column.distinct_pct
            )
            yield Flag("medium", column.name, message, float(column.distinct))


@quality_check("id_like", title="Looks like an ID")
def _id_like(inputs: QualityInputs) -> Iterator[Flag]:
    rows = inputs.table.num_rows
    for column in inputs.columns:
        if (
            rows >= ID_LIKE_MIN_ROWS
            and column.role not in ("id", "target", "text", "datetime")
            and _holds_whole_values(column.dtype)
            and _every_row_differs(column, rows=rows)
        ):
            message = ID_LIKE.format(column=column.name)
            yield Flag("medium", column.name, message, float(column.distinct))


@quality_check("mixed_types", title="Mixed types")
def _mixed_types(inputs: QualityInputs) -> Iterator[Flag]:
    for column in inputs.columns:
        pct = column.numeric_text_pct
        if (
            column.role != "id"
            and pct is not None
            and MIXED_TYPES_MIN_PCT <= pct <= MIXED_TYPES_MAX_PCT
        ):
            yield Flag("medium", column.name, MIXED_TYPES.format(column=column.name, pct=pct), pct)


@quality_check("duplicate_rows", title="Duplicate rows")
def _duplicate_rows(inputs: QualityInputs) -> Iterator[Flag]:
    count = inputs.duplicate_rows
    if count:
        pct = 100.0 * count / inputs.table.num_rows
        severity: Severity = "medium" if pct >= DUPLICATES_MEDIUM_PCT else "low"
        yield Flag(severity, None, DUPLICATE_ROWS.format(count=count, pct=pct), float(count))


@quality_check("outliers", title="Outliers")
def _outliers(inputs: QualityInputs) -> Iterator[Flag]:
    for column in inputs.columns:
        if column.role != "numeric" or not column.outliers or column.q1 is None:
            continue
        if column.q3 is None or column.q3 <= column.q1:
            continue  # no spread between the quartiles: the IQR rule says nothing useful
        pct = 100.0 * column.outliers / column.count
        if pct > OUTLIERS_MIN_PCT:
            fence = 1.5 * (column.q3 - column.q1)
            low, high = column.q1 - fence, column.q3 + fence
            message = OUTLIERS.format(
                column=column.name, count=column.outliers, pct=pct, low=low, high=high
            )
            severity: Severity = "medium" if pct > OUTLIERS_MEDIUM_PCT else "low"
            yield Flag(severity, column.name, message, float(column.outliers))


@quality_check("class_imbalance", title="Class imbalance")
def _class_imbalance(inputs: QualityInputs) -> Iterator[Flag]:
    if inputs.target is None:
        return
    counts = pc.value_counts(inputs.table.column(inputs.target).drop_null())
    classes = counts.field("values").to_pandas()
    if _task(classes) not in ("binary", "multiclass"):
        return
    sizes = counts.field("counts").to_numpy()
    smallest, largest = int(np.argmin(sizes)), int(np.argmax(sizes))
    ratio = float(sizes[largest] / sizes[smallest])
    if ratio > IMBALANCE_MEDIUM_RATIO:
        severity: Severity = "high" if ratio > IMBALANCE_HIGH_RATIO else "medium"
        pct = float(100.0 * sizes[smallest] / sizes.sum())
        message = CLASS_IMBALANCE.format(
            column=inputs.target,
            value=_shown(classes.iloc[smallest]),
            pct=pct,
            even=100.0 / len(sizes),
            classes=len(sizes),
            largest=_shown(classes.iloc[largest]),
            ratio=ratio,
        )
        yield Flag(severity, inputs.target, message, pct)


@quality_check("target_leakage", title="Possible target leakage")
def _target_leakage(inputs: QualityInputs) -> Iterator[Flag]:
    rows = inputs.table.num_rows
    if inputs.target is None or rows < LEAKAGE_MIN_ROWS:
        return
    for strength in _sampled_strengths(inputs):
        if strength.value < LEAKAGE_MIN_STRENGTH:
            break
        if strength.rows < LEAKAGE_MIN_ROWS:
            continue  # on a handful of rows a perfect score is as likely to be chance
        sampled = rows > STRENGTH_SAMPLE_ROWS
        sample = SAMPLE_NOTE.format(used=strength.rows, rows=rows) if sampled else ""
        message = TARGET_LEAKAGE.format(
            column=strength.name,
            metric=METRIC_NAMES[strength.metric],
            score=strength.value,
            sample=sample,
        )
        yield Flag("high", strength.name, message, strength.value)


def _sampled_strengths(inputs: QualityInputs) -> list[FeatureStrength]:
    """Strengths on at most STRENGTH_SAMPLE_ROWS seeded rows, sampled before leaving Arrow."""
    table = inputs.table
    keep = [i for i, column in enumerate(inputs.columns) if column.role != "id"]
    table = table.select(keep)
    if table.num_rows > STRENGTH_SAMPLE_ROWS:
        rng = np.random.default_rng(STRENGTH_SEED)
        rows = np.sort(rng.choice(table.num_rows, size=STRENGTH_SAMPLE_ROWS, replace=False))
        table = table.take(pa.array(rows))
    schema = [ColumnSchema(name=c.name, dtype=c.dtype, role=c.role) for c in inputs.columns]
    return feature_target_strength(_to_frame(table), target=str(inputs.target), schema=schema)


def _to_frame(table: pa.Table) -> pd.DataFrame:
    """The sample as pandas; a column pandas cannot hold (nanosecond times) goes as text."""
    import pandas as pd

    options = {"date_as_object": False, "strings_to_categorical": True}
    try:
        return table.to_pandas(**options)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        parts = {}
        for index, name in enumerate(table.column_names):
            column = table.column(index)
            try:
                parts[index] = column.to_pandas(**options)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                parts[index] = column.cast(pa.string()).to_pandas(**options)
            parts[index].name = name
        return pd.concat(parts.values(), axis=1)


def _task(classes: pd.Series) -> Task | None:
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


def _every_row_differs(column: ColumnProfile, *, rows: int) -> bool:
    return rows > 0 and column.count == rows and column.distinct == rows


def _holds_whole_values(dtype: str) -> bool:
    """Integers and text can be identifiers; floats and dates are unique by nature."""
    return dtype.startswith(("int", "uint")) or "string" in dtype or dtype == "utf8"


def _top_value(column: ColumnProfile) -> str:
    return _shown(column.top_values[0][0]) if column.top_values else "?"


def _shown(value: Any, *, limit: int = 40) -> str:
    text = str(value)
    return f"‘{text[:limit]}…’" if len(text) > limit else f"‘{text}’"
