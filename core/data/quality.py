"""Data-quality checks: a registry of small checks that turn column profiles into findings."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Sequence
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
from core.data.schema import ColumnSchema
from core.data.target_strength import (
    STRENGTH_SAMPLE_ROWS,
    STRENGTH_SEED,
    FeatureStrength,
    task_of,
)
from core.data.target_strength import STRENGTH_SCALES as STRENGTH_SCALES  # their old home
from core.data.target_strength import StrengthScale as StrengthScale
from core.data.target_strength import feature_target_strength as feature_target_strength

if TYPE_CHECKING:  # pandas is imported by the checks that need it (a target's): ~0.5 s
    import pandas as pd

Severity = Literal["high", "medium", "low", "info"]

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
    if task_of(classes) not in ("binary", "multiclass"):
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
