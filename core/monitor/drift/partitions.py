"""Drift of tables read in partitions: each partition summarised alone (map), summaries merged.

A partition step is a plain function of (partition data, shared plan) that returns a partial
summary, and the map is a parameter (``mapper=map``), so partitions can run anywhere a map
runs — here one after another, holding one partition at a time. Merging is exact: category
counts add up; sorted distinct numbers merge with their counts, so every histogram (PSI and
Jensen–Shannon on the Sturges bins of both samples, chi-square, L-infinity) and every CDF
(Kolmogorov–Smirnov, Wasserstein) is the one of the whole column. Only a column with more than
``max_points`` distinct numbers (a million by default) is summarised: runs of neighbours
become their mean, and the report's note gives the bound on the error that makes
(see arrow.compress).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from core.monitor.drift import messages
from core.monitor.drift.arrow import MAX_POINTS, arrow_kind, merge, summarize
from core.monitor.drift.compare import (
    DEFAULT_SHARE_THRESHOLD,
    SKIPPED_ROLES,
    ReferenceProfile,
    _check_options,
    _method_for,
    _method_notes,
    _report,
    compare_column,
)
from core.monitor.drift.messages import DriftError
from core.monitor.drift.report import ColumnDrift, DriftReport
from core.monitor.drift.values import CategoryCounts, ColumnValues, Kind, NumericValues

PARTITION_ROWS = 1 << 20  # rows per partition read from a file: ~200 MB of 21 columns at most

Mapper = Callable[..., Iterable[Any]]
# How a table's columns get summarised: given the plan, the merged summary of all its rows
# (here from partitions one after another; core.monitor.drift.cluster on a cluster's workers)
Summarizer = Callable[["SummaryPlan"], "PartialSummary"]


@dataclass(frozen=True)
class SummaryPlan:
    """What every partition step is told: how to summarise each column it reads."""

    kinds: dict[str, Kind]
    max_points: int = MAX_POINTS


@dataclass(frozen=True)
class PartialSummary:
    """A partition's (or several merged partitions') rows and column summaries."""

    rows: int
    columns: dict[str, ColumnValues] = field(repr=False)


def summarize_partition(partition: pa.Table | pa.RecordBatch, plan: SummaryPlan) -> PartialSummary:
    """The map step: summarise the plan's columns of one partition."""
    names = set(partition.schema.names)
    return PartialSummary(
        rows=partition.num_rows,
        columns={
            name: summarize(partition.column(name), kind)
            for name, kind in plan.kinds.items()
            if name in names
        },
    )


def merge_partials(
    first: PartialSummary, second: PartialSummary, *, max_points: int = MAX_POINTS
) -> PartialSummary:
    """The merge step: exact, whichever order partitions come in."""
    columns = dict(first.columns)
    for name, summary in second.columns.items():
        columns[name] = (
            merge(columns[name], summary, max_points=max_points) if name in columns else summary
        )
    return PartialSummary(rows=first.rows + second.rows, columns=columns)


def summarize_partitions(
    partitions: Iterable[pa.Table | pa.RecordBatch], plan: SummaryPlan, *, mapper: Mapper = map
) -> PartialSummary:
    """Map every partition to its summary and merge them as they come."""
    partials = mapper(functools.partial(summarize_partition, plan=plan), partitions)
    merged = functools.partial(merge_partials, max_points=plan.max_points)
    return functools.reduce(merged, partials, PartialSummary(rows=0, columns={}))


def parquet_partitions(
    path: Path,
    *,
    columns: Sequence[str] | None = None,
    rows: int = PARTITION_ROWS,
    row_groups: Sequence[int] | None = None,
) -> Iterator[pa.RecordBatch]:
    """A Parquet file (or its ``row_groups``) in batches of ``rows``, only ``columns``; text
    read as dictionaries."""
    schema = pq.read_schema(path)
    wanted = list(schema.names if columns is None else columns)
    text = [
        name
        for name in wanted
        if pa.types.is_string(schema.field(name).type)
        or pa.types.is_large_string(schema.field(name).type)
    ]
    parquet = pq.ParquetFile(path, read_dictionary=text)
    for group in range(parquet.num_row_groups) if row_groups is None else row_groups:
        if parquet.metadata.row_group(group).num_rows <= rows:
            yield from parquet.read_row_group(group, columns=wanted).to_batches()
        else:
            yield from parquet.iter_batches(batch_size=rows, row_groups=[group], columns=wanted)


def table_partitions(table: pa.Table, *, rows: int = PARTITION_ROWS) -> Iterator[pa.RecordBatch]:
    yield from table.to_batches(max_chunksize=rows)


def profile_partitions(
    partitions: Iterable[pa.Table | pa.RecordBatch],
    schema: pa.Schema,
    *,
    roles: Mapping[str, str] | None = None,
    columns: Sequence[str] | None = None,
    mapper: Mapper = map,
    max_points: int = MAX_POINTS,
) -> ReferenceProfile:
    """The reference profile of a table given in partitions (as profile_reference of its frame).

    Without ``roles`` each column's role is guessed from its merged summary, as the dataset
    schema guesses it from the whole column (identifiers and free text are then skipped).
    """

    def summarized(plan: SummaryPlan) -> PartialSummary:
        return summarize_partitions(partitions, plan, mapper=mapper)

    return profile_summarized(
        summarized, schema, roles=roles, columns=columns, max_points=max_points
    )


def profile_summarized(
    summarized: Summarizer,
    schema: pa.Schema,
    *,
    roles: Mapping[str, str] | None = None,
    columns: Sequence[str] | None = None,
    max_points: int = MAX_POINTS,
) -> ReferenceProfile:
    """As profile_partitions, with the table's summary made by ``summarized(plan)``."""
    names = messages.chosen_columns(schema.names, columns)
    kinds, skipped = _reference_kinds(schema, names, roles)
    found = summarized(SummaryPlan(kinds, max_points))
    if found.rows == 0:
        raise DriftError(messages.EMPTY_REFERENCE)
    kept: dict[str, ColumnValues] = {}
    for name in kinds:
        summary = found.columns[name]
        reason = (
            None if roles is not None else _guessed_skip(name, schema.field(name).type, summary)
        )
        if reason is None and roles is None:
            summary = _as_guessed(name, schema.field(name).type, summary)
        if reason is not None:
            skipped[name] = reason
        elif summary.total == 0:
            skipped[name] = messages.SKIPPED_EMPTY.format(column=name)
        else:
            kept[name] = summary
    return ReferenceProfile(rows=found.rows, columns=kept, skipped=skipped, order=tuple(names))


def drift_of_partitions(
    profile: ReferenceProfile,
    partitions: Iterable[pa.Table | pa.RecordBatch],
    schema: pa.Schema,
    *,
    columns: Sequence[str] | None = None,
    method: str | None = None,
    methods: Mapping[str, str] | None = None,
    threshold: float | None = None,
    thresholds: Mapping[str, float] | None = None,
    share_threshold: float = DEFAULT_SHARE_THRESHOLD,
    mapper: Mapper = map,
    max_points: int = MAX_POINTS,
) -> DriftReport:
    """As compute_drift_against, with the current data given in partitions."""

    def summarized(plan: SummaryPlan) -> PartialSummary:
        return summarize_partitions(partitions, plan, mapper=mapper)

    return drift_summarized(
        profile,
        summarized,
        schema,
        columns=columns,
        method=method,
        methods=methods,
        threshold=threshold,
        thresholds=thresholds,
        share_threshold=share_threshold,
        max_points=max_points,
    )


def drift_summarized(
    profile: ReferenceProfile,
    summarized: Summarizer,
    schema: pa.Schema,
    *,
    columns: Sequence[str] | None = None,
    method: str | None = None,
    methods: Mapping[str, str] | None = None,
    threshold: float | None = None,
    thresholds: Mapping[str, float] | None = None,
    share_threshold: float = DEFAULT_SHARE_THRESHOLD,
    max_points: int = MAX_POINTS,
) -> DriftReport:
    """As drift_of_partitions, with the current table's summary made by ``summarized(plan)``."""
    _check_options(method, methods, threshold, thresholds, share_threshold)
    names = messages.chosen_columns(profile.order, columns)
    present = set(schema.names)
    kinds = {
        name: profile.columns[name].kind
        for name in names
        if name in profile.columns and name in present
    }
    found = summarized(SummaryPlan(kinds, max_points))
    if found.rows == 0:
        raise DriftError(messages.EMPTY_CURRENT)
    results: list[ColumnDrift] = []
    missing: list[str] = []
    notes: list[str] = []
    for name in names:
        if name in profile.skipped:
            notes.append(profile.skipped[name])
        elif name not in present:
            missing.append(name)
            notes.append(messages.MISSING_COLUMN.format(column=name))
        else:
            reference = profile.columns[name]
            chosen = _method_for(name, reference.kind, method, methods)
            limit = (thresholds or {}).get(name, threshold)
            current = found.columns[name]
            results.append(compare_column(name, reference, current, found.rows, chosen, limit))
    notes += _method_notes(method, results)
    return _report(results, profile.rows, found.rows, share_threshold, missing, notes)


def drift_of_parquet(
    reference: Path,
    current: Path,
    *,
    columns: Sequence[str] | None = None,
    roles: Mapping[str, str] | None = None,
    method: str | None = None,
    threshold: float | None = None,
    share_threshold: float = DEFAULT_SHARE_THRESHOLD,
    rows: int = PARTITION_ROWS,
    mapper: Mapper = map,
    max_points: int = MAX_POINTS,
) -> DriftReport:
    """Drift of one Parquet file against another, reading ``rows`` rows at a time.

    Memory holds one partition of the needed columns and the merged summaries, whatever the
    files' sizes.
    """
    _check_options(method, None, threshold, None, share_threshold)
    reference_schema = pq.read_schema(reference)
    chosen = messages.chosen_columns(reference_schema.names, columns)
    profile = profile_partitions(
        parquet_partitions(reference, columns=chosen, rows=rows),
        reference_schema,
        roles=roles,
        columns=chosen,
        mapper=mapper,
        max_points=max_points,
    )
    current_schema = pq.read_schema(current)
    needed = [name for name in profile.columns if name in current_schema.names]
    return drift_of_partitions(
        profile,
        parquet_partitions(current, columns=needed, rows=rows),
        current_schema,
        columns=chosen,
        method=method,
        threshold=threshold,
        share_threshold=share_threshold,
        mapper=mapper,
        max_points=max_points,
    )


def _reference_kinds(
    schema: pa.Schema, names: Sequence[str], roles: Mapping[str, str] | None
) -> tuple[dict[str, Kind], dict[str, str]]:
    """How to summarise each column (as compare.column_kind decides), and the ones skipped."""
    kinds: dict[str, Kind] = {}
    skipped: dict[str, str] = {}
    for name in names:
        column_type = schema.field(name).type
        role = (roles or {}).get(name)
        if role in SKIPPED_ROLES:
            skipped[name] = messages.SKIPPED_ROLE.format(column=name, role=SKIPPED_ROLES[role])
        elif role == "datetime" or pa.types.is_temporal(column_type):
            skipped[name] = messages.SKIPPED_DATES.format(column=name)
        elif _nested(column_type):
            skipped[name] = messages.UNSUPPORTED.format(column=name, dtype=column_type)
        elif role in ("categorical", "boolean"):
            kinds[name] = "categorical"
        else:
            kinds[name] = "numeric" if arrow_kind(column_type, role) == "numeric" else "categorical"
    return kinds, skipped


def _guessed_skip(name: str, column_type: pa.DataType, summary: ColumnValues) -> str | None:
    role = _guessed_role(name, column_type, summary)
    if role in SKIPPED_ROLES:
        return messages.SKIPPED_ROLE.format(column=name, role=SKIPPED_ROLES[role])
    return None


def _as_guessed(name: str, column_type: pa.DataType, summary: ColumnValues) -> ColumnValues:
    """Numbers whose name reads like a code or a flag are compared as categories."""
    if not isinstance(summary, NumericValues):
        return summary
    if _guessed_role(name, column_type, summary) not in ("categorical", "boolean"):
        return summary
    values = summary.values.astype(np.int64) if pa.types.is_integer(column_type) else summary.values
    categories = np.empty(len(values), object)
    categories[:] = values.tolist()
    return CategoryCounts(categories, summary.counts, summary.total, summary.missing)


def _guessed_role(name: str, column_type: pa.DataType, summary: ColumnValues) -> str:
    from core.data.schema import role_of_values

    if pa.types.is_dictionary(column_type):
        column_type = column_type.value_type
    if isinstance(summary, NumericValues):
        return role_of_values(
            name,
            column_type,
            present=summary.total,
            values=summary.values[:3].tolist(),  # enough to tell whether all are 0 or 1
            counts=summary.counts[:3].tolist(),
            distinct=len(summary.values) if summary.exact else summary.total,
        )
    if not (pa.types.is_string(column_type) or pa.types.is_large_string(column_type)):
        return "categorical"
    return role_of_values(
        name,
        column_type,
        present=summary.total,
        values=summary.categories.tolist(),
        counts=summary.counts.tolist(),
    )


def _nested(column_type: pa.DataType) -> bool:
    return bool(
        pa.types.is_list(column_type)
        or pa.types.is_large_list(column_type)
        or pa.types.is_struct(column_type)
        or pa.types.is_map(column_type)
        or pa.types.is_union(column_type)
    )
