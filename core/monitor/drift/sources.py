"""Drift of one table against another, each a Parquet file or a table in memory, in partitions:
here one after another, or on the workers of a Dask cluster when the backend is one."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

from core.monitor.drift.arrow import MAX_POINTS
from core.monitor.drift.cluster import summarize_parquet_on, summarize_table_on
from core.monitor.drift.partitions import (
    PARTITION_ROWS,
    PartialSummary,
    Summarizer,
    SummaryPlan,
    drift_summarized,
    parquet_partitions,
    profile_summarized,
    summarize_partitions,
    table_partitions,
)
from core.monitor.drift.report import DriftReport

if TYPE_CHECKING:  # a worker imports this module without the job machinery
    from core.jobs.compute import ComputeBackend


@dataclass(frozen=True)
class DriftSource:
    """A drift input: a Parquet file read in partitions, or a table already in memory."""

    label: str
    schema: pa.Schema
    roles: Mapping[str, str] | None = None
    path: Path | None = None
    table: pa.Table | None = None

    def partitions(
        self, columns: Sequence[str] | None, *, rows: int = PARTITION_ROWS
    ) -> Iterator[pa.RecordBatch]:
        if self.path is not None:
            return parquet_partitions(self.path, columns=columns, rows=rows)
        assert self.table is not None
        table = self.table if columns is None else self.table.select(list(columns))
        return table_partitions(table, rows=rows)


def drift_of_sources(
    reference: DriftSource,
    current: DriftSource,
    *,
    backend: ComputeBackend | None = None,
    columns: Sequence[str] | None = None,
    method: str | None = None,
    threshold: float | None = None,
    rows: int = PARTITION_ROWS,
    max_points: int = MAX_POINTS,
) -> DriftReport:
    """Drift of ``current`` against ``reference``, reading only the columns it compares.

    On a cluster backend the partitions are summarised by its workers (see drift.cluster);
    otherwise here, one partition at a time, so memory holds one partition and the summaries.
    """
    profile = profile_summarized(
        _summarizer(reference, backend, rows),
        reference.schema,
        roles=reference.roles,
        columns=columns,
        max_points=max_points,
    )
    return drift_summarized(
        profile,
        _summarizer(current, backend, rows),
        current.schema,
        columns=columns,
        method=method,
        threshold=threshold,
        max_points=max_points,
    )


def _summarizer(source: DriftSource, backend: ComputeBackend | None, rows: int) -> Summarizer:
    def summarized(plan: SummaryPlan) -> PartialSummary:
        needed = _read_columns(plan, source.schema)
        if backend is None or not backend.placement().on_cluster:
            return summarize_partitions(source.partitions(needed, rows=rows), plan)
        if source.path is not None:
            return summarize_parquet_on(backend, source.path, plan, columns=needed, rows=rows)
        assert source.table is not None
        return summarize_table_on(backend, source.table.select(needed), plan, rows=rows)

    return summarized


def _read_columns(plan: SummaryPlan, schema: pa.Schema) -> list[str]:
    """The columns the plan summarises (none at all still gives the rows' count)."""
    present = set(schema.names)
    return [name for name in plan.kinds if name in present]
