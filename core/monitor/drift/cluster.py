"""Partition summaries on a compute backend's workers: each task summarises a share of a table.

A task gets the Parquet file's path and the row groups it should read (with the file's size
and modification time, so a worker that sees another file, or none, at that path says so
rather than read it), or, for a table held in memory, its partitions themselves. It merges its
share into one summary, capped at ``max_points`` numbers per column like any merge, and
returns it: this process then holds one summary per task, never the rows. Row groups a worker
cannot read are read here and sent to the workers, one wave of partitions per free slot.
A task never opens the studio's store; it needs only this module and the file.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from core.data.file_stamp import FileStamp
from core.monitor.drift.partitions import (
    PARTITION_ROWS,
    PartialSummary,
    SummaryPlan,
    merge_partials,
    parquet_partitions,
    summarize_partitions,
)

if TYPE_CHECKING:  # a worker imports this module without the job machinery
    from core.jobs.compute import ComputeBackend

# Tasks per worker slot: two, so a slot that finishes early takes another share while a slow
# one finishes its first. This process holds every task's summary at once (each up to
# max_points numbers per column), so a big cluster still gets at most MAX_TASKS shares.
TASKS_PER_SLOT = 2
MAX_TASKS = 16


@dataclass(frozen=True)
class ParquetShare:
    """Row groups of a Parquet file, for a worker to read itself."""

    path: str
    row_groups: tuple[int, ...]
    columns: tuple[str, ...] | None
    size: int  # with ``modified_ns``: the file the host read, not another one at that path
    modified_ns: int
    rows: int = PARTITION_ROWS


Share = ParquetShare | Sequence[pa.RecordBatch]


def summarize_share(share: Share, *, plan: SummaryPlan) -> PartialSummary | None:
    """The task: one share of a table summarised and merged; None when this worker cannot
    read the file the host named (it is on another machine, or has changed)."""
    if not isinstance(share, ParquetShare):
        return summarize_partitions(share, plan)
    if not _same_file(share):
        return None
    return summarize_partitions(
        parquet_partitions(
            Path(share.path), columns=share.columns, rows=share.rows, row_groups=share.row_groups
        ),
        plan,
    )


def _same_file(share: ParquetShare) -> bool:
    return FileStamp(share.path, share.size, share.modified_ns).seen_here()


def parquet_shares(
    path: Path, *, columns: Sequence[str] | None, tasks: int, rows: int = PARTITION_ROWS
) -> list[ParquetShare]:
    """The file's row groups in at most ``tasks`` runs of neighbours, as even as they split."""
    found = path.stat()
    groups = pq.ParquetFile(path).num_row_groups
    runs = np.array_split(np.arange(groups), min(groups, max(1, tasks)))
    chosen = None if columns is None else tuple(columns)
    return [
        ParquetShare(
            str(path), tuple(int(g) for g in run), chosen, found.st_size, found.st_mtime_ns, rows
        )
        for run in runs
        if len(run)
    ]


def summarize_parquet_on(
    backend: ComputeBackend,
    path: Path,
    plan: SummaryPlan,
    *,
    columns: Sequence[str] | None,
    rows: int = PARTITION_ROWS,
) -> PartialSummary:
    """A Parquet file summarised by the backend's workers, reading it themselves if they can."""
    tasks = min(TASKS_PER_SLOT * backend.slots, MAX_TASKS)
    shares = parquet_shares(path.resolve(), columns=columns, tasks=tasks, rows=rows)
    return summarize_shares_on(backend, shares, plan)


def summarize_shares_on(
    backend: ComputeBackend, shares: Sequence[ParquetShare], plan: SummaryPlan
) -> PartialSummary:
    """Each share summarised by a worker; those no worker could read are sent from here."""
    partials = backend.map(summarize_share, shares, shared={"plan": plan})
    found = [partial for partial in partials if partial is not None]
    for share, partial in zip(shares, partials, strict=True):
        if partial is None:
            batches = parquet_partitions(
                Path(share.path),
                columns=share.columns,
                rows=share.rows,
                row_groups=share.row_groups,
            )
            found += _sent_in_waves(backend, batches, plan)
    return _merged(found, plan)


def summarize_table_on(
    backend: ComputeBackend, table: pa.Table, plan: SummaryPlan, *, rows: int = PARTITION_ROWS
) -> PartialSummary:
    """A table held here, sent to the backend's workers in shares of whole partitions."""
    batches = table.to_batches(max_chunksize=rows)
    tasks = min(len(batches), TASKS_PER_SLOT * backend.slots, MAX_TASKS)
    runs = np.array_split(np.arange(len(batches)), tasks) if tasks else []
    shares = [[batches[int(i)] for i in run] for run in runs]
    return _merged(backend.map(summarize_share, shares, shared={"plan": plan}), plan)


def _sent_in_waves(
    backend: ComputeBackend, batches: Iterator[pa.RecordBatch], plan: SummaryPlan
) -> list[PartialSummary]:
    """Partitions read here, one per free slot at a time, so this process holds one wave."""
    slots = backend.slots
    found: list[PartialSummary] = []
    wave: list[list[pa.RecordBatch]] = []
    for batch in batches:
        wave.append([batch])
        if len(wave) == slots:
            found.append(_merged(backend.map(summarize_share, wave, shared={"plan": plan}), plan))
            wave = []
    if wave:
        found.append(_merged(backend.map(summarize_share, wave, shared={"plan": plan}), plan))
    return found


def _merged(partials: Sequence[PartialSummary | None], plan: SummaryPlan) -> PartialSummary:
    merge = functools.partial(merge_partials, max_points=plan.max_points)
    return functools.reduce(
        merge, (p for p in partials if p is not None), PartialSummary(rows=0, columns={})
    )
