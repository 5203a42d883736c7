"""Fast dataset profile: per-column statistics, duplicate rows and quality findings of a table."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta
from datetime import time as time_of_day
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from core.data.arrow_numbers import booleans, numbers, valid
from core.data.duplicate_rows import duplicate_rows, text_codes
from core.data.schema import ROLES, ColumnSchema, Role

if TYPE_CHECKING:
    from core.data.quality import QualityFinding

TOP_VALUES = 10
# A column whose top value covers 99% of rows has at most 1% + 1 distinct values, so numeric
# columns that sparse get their top values too (the near-constant check reads them).
FEW_DISTINCT_SHARE = 0.01
IQR_FENCE = 1.5
NUMBER_PATTERN = r"^\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$"
LABEL_ROLES: frozenset[str] = frozenset({"categorical", "boolean", "text", "id", "target"})
BLOCK_ROWS = 2**20  # sums over a big column run block by block (no whole-column temporaries)

UNKNOWN_TARGET = (
    "The target column '{target}' is not in the table; pick one of its columns: {columns}."
)

JsonScalar = bool | int | float | str | None


@dataclass(frozen=True)
class ColumnProfile:
    """Statistics of one column; fields that do not apply to its type are None.

    ``count`` is the number of non-missing values; ``missing_pct`` is a percentage of rows and
    ``distinct_pct`` a percentage of non-missing values (ydata's ``n_distinct``/``p_distinct``).
    Numeric columns get mean/std (ddof=1)/min/q1/median/q3/max, ``zeros`` and ``outliers``
    (values beyond 1.5 x IQR of the quartiles); date and time columns get min/max as ISO text;
    text columns get ``numeric_text_pct``, the share of values that parse as numbers.
    ``top_values`` holds up to ten (value, count) pairs, most frequent first, for label-like
    roles and for any column with few distinct values.
    """

    name: str
    dtype: str
    role: Role
    count: int
    missing: int
    missing_pct: float
    distinct: int
    distinct_pct: float
    mean: float | None = None
    std: float | None = None
    min: JsonScalar = None
    q1: float | None = None
    median: float | None = None
    q3: float | None = None
    max: JsonScalar = None
    zeros: int | None = None
    outliers: int | None = None
    numeric_text_pct: float | None = None
    top_values: tuple[tuple[JsonScalar, int], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {item.name: to_json_ready(getattr(self, item.name)) for item in fields(self)}


@dataclass(frozen=True)
class DatasetProfile:
    """The whole-table profile: sizes, missing cells, duplicates, columns and quality findings."""

    rows: int
    column_count: int
    memory_bytes: int
    duplicate_rows: int
    missing_cells: int
    missing_pct: float
    role_counts: dict[str, int]
    columns: tuple[ColumnProfile, ...]
    quality: tuple[QualityFinding, ...]
    seconds: float
    target: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = {item.name: to_json_ready(getattr(self, item.name)) for item in fields(self)}
        data["columns"] = [column.to_dict() for column in self.columns]
        data["quality"] = [finding.to_dict() for finding in self.quality]
        return data


def profile_table(
    table: pa.Table, *, schema: list[ColumnSchema] | None, target: str | None = None
) -> DatasetProfile:
    """Profile every column, count duplicate rows and run the quality checks.

    ``schema`` None: each column gets the role :func:`~core.data.schema.infer_schema` would
    guess, from the counts its profile takes anyway (a file's profile counts nothing twice).
    """
    # Imported here because the quality checks build on this module's column profiles.
    from core.data.quality import check_quality

    started = time.perf_counter()
    target = resolve_target(table, schema=schema or [], target=target)
    roles = None if schema is None else column_roles(table, schema=schema, target=target)
    parts = _scan_columns(table, roles=roles, target=target)
    columns = tuple(part.profile for part in parts)
    schema = schema if schema is not None else [part.schema for part in parts]
    # Cells are compared (NaN as missing, -0.0 as 0.0) only for duplicates, which a column with
    # a different value in every row rules out, and for a target's checks.
    unique = any(column.distinct == table.num_rows for column in columns)
    clean = table if unique and target is None else missing_as_null(table)
    duplicates = duplicate_rows(clean, distinct=[column.distinct for column in columns])
    findings = check_quality(
        clean, schema=schema, target=target, column_stats=columns, duplicate_rows=duplicates
    )
    missing = sum(column.missing for column in columns)
    cells = clean.num_rows * clean.num_columns
    return DatasetProfile(
        rows=clean.num_rows,
        column_count=clean.num_columns,
        memory_bytes=table.nbytes,
        duplicate_rows=duplicates,
        missing_cells=missing,
        missing_pct=_pct(missing, cells),
        role_counts=_role_counts(columns),
        columns=columns,
        quality=tuple(findings),
        seconds=time.perf_counter() - started,
        target=target,
    )


def profile_columns(
    table: pa.Table, *, schema: list[ColumnSchema], target: str | None = None
) -> tuple[ColumnProfile, ...]:
    """Column statistics only, without duplicate rows or quality checks."""
    target = resolve_target(table, schema=schema, target=target)
    roles = column_roles(table, schema=schema, target=target)
    return tuple(part.profile for part in _scan_columns(table, roles=roles, target=target))


def count_duplicate_rows(table: pa.Table) -> int:
    """Rows that repeat an earlier row exactly (missing cells compare equal to each other)."""
    return duplicate_rows(missing_as_null(table))


def resolve_target(
    table: pa.Table, *, schema: list[ColumnSchema], target: str | None
) -> str | None:
    """The target column: the one asked for, else the schema's ``target`` role, else None."""
    if target is None:
        named = next((column.name for column in schema if column.role == "target"), None)
        return named if named in table.column_names else None
    if target not in table.column_names:
        shown = ", ".join(f"'{name}'" for name in table.column_names[:20])
        raise ValueError(UNKNOWN_TARGET.format(target=target, columns=shown))
    return target


def column_roles(table: pa.Table, *, schema: list[ColumnSchema], target: str | None) -> list[Role]:
    """Each table column's role: the target, the schema's role, or a guess from its type."""
    by_name = {column.name: column.role for column in schema}
    return [
        "target" if name == target else by_name.get(name) or _role_from_type(table.field(i).type)
        for i, name in enumerate(table.column_names)
    ]


def missing_as_null(table: pa.Table) -> pa.Table:
    """Float NaN becomes null and -0.0 becomes 0.0, as pandas counts and compares them.

    Half floats are widened to float32 first, since few Arrow kernels accept them.
    """
    # Built column by column and assembled once: set_column in a loop copies the table each
    # time, which is quadratic on wide tables.
    columns = [
        _clean_floats(column.cast(pa.float32()) if pa.types.is_float16(column.type) else column)
        if pa.types.is_floating(column.type)
        else column
        for column in table.columns
    ]
    return pa.Table.from_arrays(columns, names=table.column_names)


def to_json_ready(value: Any) -> Any:
    """Plain JSON data: NaN and infinities become None, tuples lists, dates ISO text."""
    if isinstance(value, dict):
        return {str(key): to_json_ready(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [to_json_ready(item) for item in value]
    return _plain(value)


def _clean_floats(column: pa.ChunkedArray) -> pa.ChunkedArray:
    if pc.any(pc.is_nan(column)).as_py():
        column = pc.if_else(pc.is_nan(column), _sum_of_none(column, min_count=1), column)
    # Adding +0.0 turns -0.0 into +0.0 and leaves every other value unchanged.
    return pc.add(column, _sum_of_none(column, min_count=0))


def _sum_of_none(column: pa.ChunkedArray, *, min_count: int) -> pa.Scalar:
    """A null (min_count 1) or a zero (0) of the column's type; pa.scalar would import pandas."""
    return pc.sum(column.slice(0, 0), min_count=min_count)


def _role_from_type(column_type: pa.DataType) -> Role:
    if pa.types.is_boolean(column_type):
        return "boolean"
    if _is_numeric(column_type):
        return "numeric"
    if _is_temporal(column_type):
        return "datetime"
    return "categorical"


def _role_counts(columns: Sequence[ColumnProfile]) -> dict[str, int]:
    counts: dict[str, int] = dict.fromkeys(ROLES, 0)
    for column in columns:
        counts[column.role] = counts.get(column.role, 0) + 1
    return counts


@dataclass(frozen=True)
class ColumnPart:
    """One column's schema entry (its role as given, or as infer_schema would guess it) and
    its profile, whose role is the target's where the column is the target."""

    schema: ColumnSchema
    profile: ColumnProfile


def profile_column(
    field: pa.Field, column: pa.ChunkedArray, *, role: Role | None = None, target: str | None = None
) -> ColumnPart:
    """One column's profile, NaN counted as missing and -0.0 as 0.0 (as :func:`missing_as_null`
    makes them); with no ``role``, the role is guessed from the profile's own counts."""
    facts = _column_facts(column)
    if role is None:
        from core.data.schema import column_schema

        schema = column_schema(field, column, distinct=facts.distinct, counted=facts.counted)
    else:
        schema = ColumnSchema(name=field.name, dtype=str(column.type), role=role)
    shown: Role = "target" if field.name == target else schema.role
    return ColumnPart(schema=schema, profile=_profile_of(field.name, column, facts, role=shown))


def _scan_columns(
    table: pa.Table, *, roles: Sequence[Role] | None, target: str | None
) -> tuple[ColumnPart, ...]:
    """Profile columns in parallel threads; Arrow kernels and NumPy sorts release the GIL."""
    indexes = list(range(table.num_columns))
    workers = min(8, os.cpu_count() or 1)
    size = max(1, math.ceil(len(indexes) / (workers * 4)))
    batches = [indexes[start : start + size] for start in range(0, len(indexes), size)]

    def scan(index: int) -> ColumnPart:
        role = None if roles is None else roles[index]
        return profile_column(table.field(index), table.column(index), role=role, target=target)

    def scan_batch(batch: list[int]) -> list[ColumnPart]:
        return [scan(index) for index in batch]

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return tuple(part for parts in pool.map(scan_batch, batches) for part in parts)


@dataclass(frozen=True)
class _Facts:
    """What one pass over a column finds: numbers sorted, or distinct values with counts."""

    distinct: int
    ordered: np.ndarray | None = None
    values: pa.Array | None = None
    counts: pa.Array | None = None

    @property
    def counted(self) -> tuple[pa.Array, pa.Array] | None:
        return None if self.values is None or self.counts is None else (self.values, self.counts)


def _column_facts(column: pa.ChunkedArray) -> _Facts:
    if _is_numeric(column.type):
        ordered = _sorted_values(column)
        return _Facts(distinct=_distinct_count(ordered), ordered=ordered)
    values, counts = _value_counts(column)
    return _Facts(distinct=len(counts), values=values, counts=counts)


def _profile_of(name: str, column: pa.ChunkedArray, facts: _Facts, *, role: Role) -> ColumnProfile:
    rows = len(column)
    # numbers: NaN is missing too, and the column may still hold it (see _sorted_values)
    count = rows - column.null_count if facts.ordered is None else len(facts.ordered)
    distinct = facts.distinct
    stats: dict[str, Any] = {}
    if facts.ordered is not None:
        ordered = facts.ordered
        stats.update(_numeric_stats(ordered))
        if _wants_top_values(role, distinct=distinct, count=count):
            stats["top_values"] = _numeric_top_values(ordered, distinct=distinct)
    else:
        assert facts.values is not None and facts.counts is not None
        values, counts = facts.values, numbers(facts.counts)
        if _is_temporal(column.type):
            stats.update(_temporal_range(column))
        if _is_text(column.type) and count:
            stats["numeric_text_pct"] = _numeric_text_pct(values, counts, count=count)
        if _wants_top_values(role, distinct=distinct, count=count):
            stats["top_values"] = _top_values(values, counts)
    return ColumnProfile(
        name=name,
        dtype=str(column.type),
        role=role,
        count=count,
        missing=rows - count,
        missing_pct=_pct(rows - count, rows),
        distinct=distinct,
        distinct_pct=_pct(distinct, count),
        **stats,
    )


def _wants_top_values(role: Role, *, distinct: int, count: int) -> bool:
    return role in LABEL_ROLES or distinct <= max(TOP_VALUES, count * FEW_DISTINCT_SHARE + 1)


def _distinct_count(ordered: np.ndarray) -> int:
    """Distinct values of a sorted array, without building them (a bool per value)."""
    if not len(ordered):
        return 0
    return 1 + int(np.count_nonzero(ordered[1:] != ordered[:-1]))


def _sorted_values(column: pa.ChunkedArray) -> np.ndarray:
    """Non-missing numbers in ascending order; integers stay exact, the rest become float64.

    NaN counts as missing and -0.0 becomes 0.0, as :func:`missing_as_null` makes them. The
    values are copied once, chunk by chunk, into the array that is then sorted in place:
    at 20M rows each extra copy of a column is 160 MB.
    """
    if not pa.types.is_integer(column.type) and not pa.types.is_float64(column.type):
        column = column.cast(pa.float64())
    floating = pa.types.is_floating(column.type)
    dtype = numbers(column.chunk(0)).dtype if column.num_chunks else np.dtype(np.float64)
    values = np.empty(len(column) - column.null_count, dtype)
    filled = 0
    for chunk in column.chunks:
        found = numbers(chunk)
        keep = valid(chunk) if chunk.null_count else None
        if floating:
            nan = np.isnan(found)
            if nan.any():
                keep = ~nan if keep is None else keep & ~nan
        part = found if keep is None else found[keep]
        values[filled : filled + len(part)] = part
        filled += len(part)
    values = values[:filled]
    if floating:
        values += 0.0  # -0.0 + 0.0 is 0.0; every other value stays as it is
    values.sort()
    return values


def _runs(ordered: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct values of a sorted array and how often each occurs."""
    if not len(ordered):
        return ordered, np.empty(0, np.int64)
    change = np.empty(len(ordered), bool)
    change[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=change[1:])
    starts = np.flatnonzero(change)
    return ordered[starts], np.diff(starts, append=len(ordered))


def _numeric_stats(ordered: np.ndarray) -> dict[str, Any]:
    """Numeric statistics read off the sorted values: quartiles and counts are lookups.

    Sums run over blocks of BLOCK_ROWS values and integers are never copied whole as floats,
    so a 20M-row column needs no second 160 MB array here.
    """
    n = len(ordered)
    if n == 0:
        return {"zeros": 0, "outliers": 0}
    # Infinite values make some of these NaN, which the profile reports as None.
    with np.errstate(invalid="ignore", over="ignore"):
        q1, median, q3 = (_quantile(ordered, share) for share in (0.25, 0.5, 0.75))
        fence = IQR_FENCE * (q3 - q1)
        mean = sum(float(block.sum(dtype=np.float64)) for block in _blocks(ordered)) / n
        # Two-pass sample deviation, as pandas computes it.
        squares = sum(float(np.square(block - mean).sum()) for block in _blocks(ordered))
        std = math.sqrt(squares / (n - 1)) if n > 1 else None
    outliers = None
    if math.isfinite(fence):
        below = _count_below(ordered, q1 - fence)
        outliers = int(below + n - _count_below(ordered, q3 + fence, inclusive=True))
    zeros = np.searchsorted(ordered, 0, side="right") - np.searchsorted(ordered, 0, side="left")
    return {
        "mean": _finite(mean),
        "std": _finite(std),
        "min": _plain(ordered[0]),
        "q1": _finite(q1),
        "median": _finite(median),
        "q3": _finite(q3),
        "max": _plain(ordered[-1]),
        "zeros": int(zeros),
        "outliers": outliers,
    }


def _blocks(values: np.ndarray) -> Iterable[np.ndarray]:
    for start in range(0, len(values), BLOCK_ROWS):
        yield values[start : start + BLOCK_ROWS]


def _count_below(ordered: np.ndarray, bound: float, *, inclusive: bool = False) -> int:
    """Values below ``bound`` (or at it); integers are compared with the whole numbers around
    it, since searchsorted with a float would copy a whole integer column as floats."""
    if ordered.dtype.kind in "iu":
        whole = math.floor(bound) if inclusive else math.ceil(bound)
        info = np.iinfo(ordered.dtype)
        if whole < info.min:
            return 0
        if whole > info.max:
            return len(ordered)
        return int(np.searchsorted(ordered, whole, side="right" if inclusive else "left"))
    return int(np.searchsorted(ordered, bound, side="right" if inclusive else "left"))


def _quantile(ordered: np.ndarray, share: float) -> float:
    """Linear interpolation between closest ranks, as pandas and NumPy do by default."""
    position = (len(ordered) - 1) * share
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    fraction = position - low
    below, above = float(ordered[low]), float(ordered[high])
    if fraction == 0:
        return below
    return below + (above - below) * fraction


def _value_counts(column: pa.ChunkedArray) -> tuple[pa.Array, pa.Array]:
    """Distinct non-missing values (first seen first) and their counts, by hashing."""
    try:
        counted = pc.value_counts(column)
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid, pa.ArrowTypeError):
        return _value_counts_by_text(column)
    values = counted.field("values")
    present = values.is_valid()
    values = values.filter(present)
    if pa.types.is_dictionary(values.type):
        values = values.cast(values.type.value_type)
    return values, counted.field("counts").filter(present)


def _value_counts_by_text(column: pa.ChunkedArray) -> tuple[pa.Array, pa.Array]:
    """Fallback for nested types Arrow cannot hash: values are equal when their text is."""
    codes, firsts = text_codes(column)
    known = codes >= 0
    counts = np.bincount(codes[known], minlength=len(firsts))
    return pa.array(firsts, column.type), pa.array(counts, pa.int64())


def _temporal_range(column: pa.ChunkedArray) -> dict[str, Any]:
    extremes = pc.min_max(column)
    return {"min": _scalar_text(extremes["min"]), "max": _scalar_text(extremes["max"])}


def _numeric_text_pct(values: pa.Array, counts: np.ndarray, *, count: int) -> float:
    numeric = booleans(pc.match_substring_regex(values, NUMBER_PATTERN))
    return _pct(int(counts[numeric].sum()), count)


def _numeric_top_values(
    ordered: np.ndarray, *, distinct: int
) -> tuple[tuple[JsonScalar, int], ...]:
    if distinct == len(ordered):  # every value once (an id): the smallest come first
        return tuple((_plain(value), 1) for value in ordered[:TOP_VALUES].tolist())
    return _top_values(*_runs(ordered))


def _top_values(
    values: pa.Array | np.ndarray, counts: np.ndarray
) -> tuple[tuple[JsonScalar, int], ...]:
    """The most frequent values; ties keep their earlier order."""
    candidates = np.arange(len(counts))
    if len(counts) > TOP_VALUES:
        threshold = np.partition(counts, -TOP_VALUES)[-TOP_VALUES]
        candidates = np.flatnonzero(counts >= threshold)
    order = candidates[np.argsort(-counts[candidates], kind="stable")][:TOP_VALUES]
    if isinstance(values, pa.Array):
        picked = [values[int(index)].as_py() for index in order]  # at most ten
    else:
        picked = values[order].tolist()
    return tuple((_plain(value), int(counts[i])) for value, i in zip(picked, order, strict=True))


def _is_numeric(column_type: pa.DataType) -> bool:
    return bool(
        pa.types.is_integer(column_type)
        or pa.types.is_floating(column_type)
        or pa.types.is_decimal(column_type)
    )


def _is_temporal(column_type: pa.DataType) -> bool:
    return bool(
        pa.types.is_timestamp(column_type)
        or pa.types.is_date(column_type)
        or pa.types.is_time(column_type)
    )


def _is_text(column_type: pa.DataType) -> bool:
    if pa.types.is_dictionary(column_type):
        column_type = column_type.value_type
    return bool(
        pa.types.is_string(column_type)
        or pa.types.is_large_string(column_type)
        or pa.types.is_string_view(column_type)
    )


def _scalar_text(scalar: pa.Scalar) -> str | None:
    try:
        value = scalar.as_py()
    except (ValueError, OverflowError):
        return str(scalar)  # nanosecond times Python cannot hold
    return None if value is None else str(_plain(value))


def _pct(part: int, whole: int) -> float:
    return 100.0 * part / whole if whole else 0.0


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _plain(value: Any) -> JsonScalar:
    """One value as JSON-ready data."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return _finite(value)
    if isinstance(value, np.generic):
        return _plain(value.item())
    if isinstance(value, datetime | date | time_of_day):
        return value.isoformat()
    if isinstance(value, Decimal):
        return _finite(float(value))
    if isinstance(value, timedelta):
        return str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)
