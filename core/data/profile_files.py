"""Profiles of files, without the store: Parquet read directly, a big one a column at a time."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from core.data.arrow_numbers import numbers, valid
from core.data.duplicate_rows import duplicate_rows
from core.data.file_stamp import FileStamp
from core.data.profile import (
    BLOCK_ROWS,
    ColumnProfile,
    DatasetProfile,
    _is_text,
    _pct,
    _role_counts,
    missing_as_null,
    profile_column,
    profile_table,
)
from core.data.schema import ColumnSchema, Role

if TYPE_CHECKING:
    from core.jobs.compute import ComputeBackend, Placement

BIG_TABLE_ROWS = 4_000_000  # a Parquet file with more rows is profiled one column at a time
BIG_TABLE_ROWS_VARIABLE = "MLOPS_STUDIO_BIG_TABLE_ROWS"  # set: that many rows instead
BAD_BIG_TABLE_ROWS = "{name} must be a whole number of rows above 0, not '{value}'."


@dataclass(frozen=True)
class ColumnPart:
    """The map step's result for one column: its schema entry, profile and size in memory."""

    schema: ColumnSchema
    profile: ColumnProfile
    nbytes: int


def profile_file(
    path: Path, *, target: str | None = None, backend: ComputeBackend | None = None
) -> dict[str, Any]:
    """The profile of a file as ``mlops-studio profile FILE`` prints it, without the store.

    A Parquet file is read directly (what an import would keep of it); one of more than
    :func:`big_table_rows` rows is profiled one column at a time (:func:`profile_big_parquet`), and
    its result says where that ran (``compute``). Other files are read as imports read them.
    """
    import pyarrow.parquet as pq

    label = str(path)
    if _plain_parquet(path):
        parquet = pq.ParquetFile(path)
        if _import_names(parquet.schema_arrow.names):
            _check_target(parquet.schema_arrow.names, target, label)
            if parquet.metadata.num_rows > big_table_rows():
                found, placement = profile_big_parquet(path, target=target, backend=backend)
                return {"source": label, **found.to_dict(), "compute": placement.to_dict()}
            table = _as_imported(_read_parquet(path, parquet.schema_arrow))
            profile = profile_table(table, schema=None, target=target)
            return {"source": label, **profile.to_dict()}
    from core.data.ingest import ImportLimits, read_table

    table = read_table(path, limits=ImportLimits.from_env()).table
    _check_target(table.column_names, target, label)
    profile = profile_table(table, schema=None, target=target)
    return {"source": label, **profile.to_dict()}


def big_table_rows() -> int:
    """Rows above which a table is profiled one column at a time (on a cluster if configured)."""
    raw = os.environ.get(BIG_TABLE_ROWS_VARIABLE, "").strip()
    if not raw:
        return BIG_TABLE_ROWS
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(BAD_BIG_TABLE_ROWS.format(name=BIG_TABLE_ROWS_VARIABLE, value=raw))
    return int(raw)


def profile_big_parquet(
    path: Path,
    *,
    target: str | None = None,
    schema: Sequence[ColumnSchema] | None = None,
    backend: ComputeBackend | None = None,
    progress: Callable[[float, str], None] | None = None,
) -> tuple[DatasetProfile, Placement]:
    """:func:`profile_parquet_by_column` on ``backend`` (by default the one the environment
    names: the Dask cluster when one is configured, else this process), and where it ran."""
    if backend is not None:
        since = backend.tasks_run
        found = profile_parquet_by_column(
            path, target=target, schema=schema, backend=backend, progress=progress
        )
        return found, backend.placement(since)
    from core.jobs.compute import compute_backend

    with compute_backend() as opened:
        found = profile_parquet_by_column(
            path, target=target, schema=schema, backend=opened, progress=progress
        )
        return found, opened.placement()


def profile_parquet_by_column(
    path: Path,
    *,
    target: str | None = None,
    schema: Sequence[ColumnSchema] | None = None,
    backend: ComputeBackend | None = None,
    progress: Callable[[float, str], None] | None = None,
) -> DatasetProfile:
    """profile_table of a Parquet file too big for memory, equal to it (counts exact).

    Each column is a task: :func:`profile_parquet_column` reads that one column from the file
    and profiles it (its role from ``schema``, else guessed as infer_schema guesses it);
    ``backend.map`` runs the tasks, here one after another or on a Dask cluster's workers, which
    read the file themselves and send back only the column's profile (they never open the
    store). Duplicate rows are counted here, in bounded memory (none when a column differs in
    every row); the quality checks read the target column and their seeded sample from the file.
    """
    import pyarrow.parquet as pq

    from core.data.quality import check_quality
    from core.jobs.compute import LocalBackend

    started = time.perf_counter()
    parquet = pq.ParquetFile(path)
    rows = parquet.metadata.num_rows
    names = parquet.schema_arrow.names
    roles = {column.name: column.role for column in schema or ()}
    if target is None:
        target = next((name for name, role in roles.items() if role == "target"), None)
    target = target if target in names else None
    report = progress or (lambda fraction, message: None)

    def done(finished: int, total: int) -> None:
        report(0.8 * finished / total, f"Profiled {finished} of {total} columns")

    stamp = FileStamp.of(path)
    tasks = [ColumnTask(name, roles.get(name), target, stamp) for name in names]
    parts = _column_parts(backend or LocalBackend(), path, tasks, done)
    profiles = tuple(part.profile for part in parts)
    used = list(schema) if schema else [part.schema for part in parts]
    duplicates = 0
    if rows >= 2 and not any(column.distinct == rows for column in profiles):
        report(0.8, "Counting duplicate rows")
        duplicates = _streamed_duplicate_rows(path, names, rows=rows)
    report(0.95, "Running the quality checks")
    table = cast(pa.Table, _ColumnsOnDisk(path, names, rows))
    findings = check_quality(
        table, schema=used, target=target, column_stats=profiles, duplicate_rows=duplicates
    )
    missing = sum(column.missing for column in profiles)
    return DatasetProfile(
        rows=rows,
        column_count=len(names),
        memory_bytes=sum(part.nbytes for part in parts),
        duplicate_rows=duplicates,
        missing_cells=missing,
        missing_pct=_pct(missing, rows * len(names)),
        role_counts=_role_counts(profiles),
        columns=profiles,
        quality=tuple(findings),
        seconds=time.perf_counter() - started,
        target=target,
    )


def _column_parts(
    backend: ComputeBackend,
    path: Path,
    tasks: list[ColumnTask],
    done: Callable[[int, int], None],
) -> list[ColumnPart]:
    """Each column's profile from the backend's workers; the columns no worker could read (the
    file is not on its machine) are read here and sent, as many at once as there are slots."""
    # Only plain text is shared: Dask would scatter a dict or tuple item by item.
    shared = {"path": str(path)}
    found = backend.map(profile_parquet_column, tasks, shared=shared, on_done=done)
    unseen = [index for index, part in enumerate(found) if part is None]
    for first in range(0, len(unseen), max(1, backend.slots)):
        wave = unseen[first : first + max(1, backend.slots)]
        sent = [replace(tasks[i], column=_read_column(path, tasks[i].name)[1]) for i in wave]
        parts = backend.map(profile_parquet_column, sent, shared=shared)
        for index, task, part in zip(wave, sent, parts, strict=True):
            # its size as read here: a column's buffers may change shape on the way over
            assert task.column is not None
            found[index] = replace(part, nbytes=task.column.nbytes)
    return found


@dataclass(frozen=True)
class ColumnTask:
    """One column to profile: its name, its role if known (else guessed) and the target; the
    file the host read (a worker reads it only if it sees that same file), or the column itself
    when the host sends it."""

    name: str
    role: Role | None = None
    target: str | None = None
    stamp: FileStamp | None = None
    column: pa.ChunkedArray | None = None


def profile_parquet_column(task: ColumnTask, *, path: str) -> ColumnPart | None:
    """One task: read column ``task.name`` of the Parquet file at ``path`` and profile it (or
    the column sent with the task). Runs anywhere the file can be read; it needs nothing else
    (no store). None when this worker does not see the file the host read."""
    if task.column is not None:
        column = task.column
    elif task.stamp is not None and not task.stamp.seen_here():
        return None
    else:
        column = _read_column(Path(path), task.name)[1]
    single = _as_imported(pa.Table.from_arrays([column], names=[task.name]))
    part = profile_column(single.field(0), single.column(0), role=task.role, target=task.target)
    nbytes = column.nbytes
    del single, column
    _release_unused()
    return ColumnPart(schema=part.schema, profile=part.profile, nbytes=nbytes)


class _ColumnsOnDisk:
    """What the quality checks read of a table, read from the Parquet file when asked."""

    def __init__(self, path: Path, names: Sequence[str], rows: int) -> None:
        self.path, self.column_names, self.num_rows = path, list(names), rows

    def column(self, name: str) -> pa.ChunkedArray:
        return _read_column(self.path, name)[1]

    def select(self, indexes: Sequence[int]) -> _ColumnsOnDisk:
        return _ColumnsOnDisk(self.path, [self.column_names[i] for i in indexes], self.num_rows)

    def take(self, rows: pa.Array) -> pa.Table:
        taken = [_read_column(self.path, name)[1].take(rows) for name in self.column_names]
        return missing_as_null(pa.Table.from_arrays(taken, names=self.column_names))

    def to_pandas(self, **options: Any) -> Any:  # a table no larger than the checks' sample
        columns = [_read_column(self.path, name)[1] for name in self.column_names]
        whole = missing_as_null(pa.Table.from_arrays(columns, names=self.column_names))
        return whole.to_pandas(**options)


_MIX = np.uint64(0x9E3779B97F4A7C15)  # odd 64-bit constant (golden ratio) for the row hash
_MISSING = np.uint64(0x5BD1E9955BD1E995)
_FMIX = (np.uint64(0xFF51AFD7ED558CCD), np.uint64(0xC4CEB9FE1A85EC53))  # MurmurHash3's fmix64
_SHIFT = np.uint64(33)
CANDIDATE_ROWS = 2_000_000  # rows sharing a hash are compared exactly, at most this many at once


def _streamed_duplicate_rows(path: Path, names: Sequence[str], *, rows: int) -> int:
    """Exact duplicate rows in bounded memory: one row group of one column at a time.

    Each row gets a 64-bit hash of its cells, built one row group of one column at a time (8
    bytes a row: 160 MB at 20M rows, and as much again to sort them). A row whose hash no other
    row has repeats no row. Two different rows share a 64-bit hash by chance with probability
    about rows² / 2⁶⁵ (1e-5 at 20M rows), but the count never relies on that: the rows that share
    a hash are read back and compared exactly, at most CANDIDATE_ROWS at a time, grouped by hash
    so that equal rows always meet in the same group.
    """
    hashes = _row_hashes(path, names, rows=rows)
    shared, sizes = _shared_hashes(hashes)
    groups = [_rows_with(hashes, group) for group in _hash_groups(shared, sizes, CANDIDATE_ROWS)]
    del hashes, shared, sizes
    return sum(_duplicates_among(path, names, positions) for positions in groups)


def _row_hashes(path: Path, names: Sequence[str], *, rows: int) -> np.ndarray:
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(path)
    hashes = np.zeros(rows, np.uint64)
    with np.errstate(over="ignore"):
        for name in names:
            start = 0
            for group in range(parquet.num_row_groups):
                piece = _as_imported(parquet.read_row_group(group, columns=[name])).column(0)
                for chunk in piece.chunks:
                    block = hashes[start : start + len(chunk)]
                    block *= _MIX
                    block += _cell_hashes(chunk)
                    start += len(chunk)
            _release_unused()
    return hashes


def _cell_hashes(chunk: pa.Array) -> np.ndarray:
    """A 64-bit hash of every cell, equal whenever the cells are (in any row group or process):
    numbers by the bits of their float64 (two large integers may share them; the exact
    comparison afterwards tells them apart), text by its UTF-8 bytes, other values by their
    text. NaN counts as missing and -0.0 as 0.0, as in profile_table."""
    if pa.types.is_integer(chunk.type) or pa.types.is_floating(chunk.type):
        flat = chunk.cast(pa.float64(), safe=False)  # past 2**53 integers may round: see above
        values = numbers(flat) + 0.0  # a copy in which -0.0 is 0.0
        present = ~np.isnan(values)
    else:
        if pa.types.is_dictionary(chunk.type):
            chunk = chunk.cast(chunk.type.value_type)
        flat = chunk if _is_text(chunk.type) else _as_text(chunk)
        encoded = pc.dictionary_encode(flat, null_encoding="encode")  # each value hashed once
        values = _text_hashes(encoded.dictionary)[numbers(encoded.indices)]
        present = np.ones(len(chunk), bool)
    if chunk.null_count:
        present &= valid(chunk)
    bits = _mixed(values.view(np.uint64))
    bits[~present] = _MISSING
    return bits


def _as_text(chunk: pa.Array) -> pa.Array:
    """Booleans, dates and times as text (exact); nested values by their Python text form."""
    try:
        return chunk.cast(pa.string())
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid, pa.ArrowTypeError):
        texts = [None if value is None else repr(value) for value in chunk.to_pylist()]
        return pa.array(texts, pa.string())


def _text_hashes(values: pa.Array) -> np.ndarray:
    """A 64-bit hash of each string's UTF-8 bytes: each byte mixed with its place in the
    string, summed per string, mixed with the length. Runs over a few thousand strings at a
    time, so its arrays stay small whatever the column holds."""
    values = values.cast(pa.large_string())
    found = np.zeros(len(values), np.uint64)
    step = 65_536
    with np.errstate(over="ignore"):
        for start in range(0, len(values), step):
            found[start : start + step] = _string_hashes(values.slice(start, step))
    return found


def _string_hashes(values: pa.Array) -> np.ndarray:
    offsets = np.frombuffer(values.buffers()[1], np.int64)[values.offset :][: len(values) + 1]
    data = np.frombuffer(values.buffers()[2] or b"", np.uint8)[offsets[0] : offsets[-1]]
    starts, lengths = offsets[:-1] - offsets[0], np.diff(offsets)
    places = np.arange(len(data), dtype=np.uint64) - np.repeat(starts, lengths).astype(np.uint64)
    terms = _mixed(data.astype(np.uint64) | (places << np.uint64(8)))
    sums = np.zeros(len(values), np.uint64)
    filled = lengths > 0
    if filled.any():
        sums[filled] = np.add.reduceat(terms, starts[filled])
    return _mixed(sums ^ (lengths.astype(np.uint64) * _MIX))


def _mixed(bits: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finaliser, in place: every input bit reaches every output bit, so
    cells that differ only in a few bits (small codes, close numbers) rarely collide."""
    for factor in _FMIX:
        bits ^= bits >> _SHIFT
        bits *= factor
    bits ^= bits >> _SHIFT
    return bits


def _shared_hashes(hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The hash values two or more rows hold (ascending), and how many rows hold each."""
    ordered = np.sort(hashes)
    repeats = np.flatnonzero(ordered[1:] == ordered[:-1])  # as many as there are repeats
    shared, pairs = np.unique(ordered[repeats], return_counts=True)
    return shared, pairs + 1


def _hash_groups(shared: np.ndarray, sizes: np.ndarray, limit: int) -> Iterable[np.ndarray]:
    """Consecutive runs of ``shared`` holding at most ``limit`` rows (one hash: any number)."""
    totals = np.cumsum(sizes)
    start = 0
    while start < len(shared):
        before = int(totals[start - 1]) if start else 0
        end = max(start + 1, int(np.searchsorted(totals, before + limit, side="right")))
        yield shared[start:end]
        start = end


def _rows_with(hashes: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Positions of the rows whose hash is in ``group`` (sorted), found block by block."""
    found = []
    for start in range(0, len(hashes), BLOCK_ROWS):
        block = hashes[start : start + BLOCK_ROWS]
        places = np.minimum(np.searchsorted(group, block), len(group) - 1)
        found.append(np.flatnonzero(group[places] == block) + start)
    return np.concatenate(found)


def _duplicates_among(path: Path, names: Sequence[str], positions: np.ndarray) -> int:
    """Duplicate rows among the rows at ``positions``, compared exactly, value by value; each
    column is read a row group at a time and only those rows kept."""
    import pyarrow.parquet as pq

    if len(positions) < 2:
        return 0
    parquet = pq.ParquetFile(path)
    bounds = np.cumsum(
        [0, *(parquet.metadata.row_group(i).num_rows for i in range(parquet.num_row_groups))]
    )
    columns = []
    for name in names:
        pieces = []
        for group in range(parquet.num_row_groups):
            low, high = np.searchsorted(positions, bounds[group : group + 2])
            if high > low:
                piece = _as_imported(parquet.read_row_group(group, columns=[name])).column(0)
                pieces.append(piece.take(pa.array(positions[low:high] - bounds[group])))
        columns.append(pa.chunked_array([c for piece in pieces for c in piece.chunks]))
        _release_unused()
    table = missing_as_null(pa.Table.from_arrays(columns, names=list(names)))
    return duplicate_rows(table)


def _release_unused() -> None:
    """Hand memory Arrow has freed back to the system, so the next column finds it there."""
    pa.default_memory_pool().release_unused()


def _read_column(path: Path, name: str) -> tuple[str, pa.ChunkedArray]:
    import pyarrow.parquet as pq

    table = _as_imported(pq.ParquetFile(path).read(columns=[name]))
    return name, table.column(0)


def _read_parquet(path: Path, schema: pa.Schema) -> pa.Table:
    """The whole file; text read as dictionary codes and then decoded, which takes a third
    less time than Arrow's own decoding of text pages (same table)."""
    import pyarrow.parquet as pq

    text = [field.name for field in schema if pa.types.is_string(field.type)]
    table = pq.ParquetFile(path, read_dictionary=text).read()
    return pa.Table.from_arrays(
        [
            _decoded(column, field.type) if field.name in text else column
            for field, column in zip(schema, table.columns, strict=True)
        ],
        schema=schema,
    )


def _decoded(column: pa.ChunkedArray, text_type: pa.DataType) -> pa.ChunkedArray:
    """Dictionary codes as text in one chunk, as a plain read gives it (so are its buffers:
    no all-valid bitmap, which the cast adds)."""
    decoded = column.cast(text_type)
    try:
        chunks = [decoded.combine_chunks()]
    except (pa.ArrowInvalid, pa.ArrowCapacityError):  # over 2 GiB of text: chunks it stays
        chunks = decoded.chunks
    return pa.chunked_array([_without_full_bitmap(chunk) for chunk in chunks], text_type)


def _without_full_bitmap(chunk: pa.Array) -> pa.Array:
    if chunk.null_count or chunk.buffers()[0] is None:
        return chunk
    buffers = [None, *chunk.buffers()[1:]]
    return pa.Array.from_buffers(chunk.type, len(chunk), buffers, offset=chunk.offset)


def _as_imported(table: pa.Table) -> pa.Table:
    """As an import keeps a Parquet table: a column of nulls only becomes text."""
    if not any(pa.types.is_null(field.type) for field in table.schema):
        return table
    columns = [
        column.cast(pa.string()) if pa.types.is_null(column.type) else column
        for column in table.columns
    ]
    return pa.Table.from_arrays(columns, names=table.column_names)


def _check_target(names: Sequence[str], target: str | None, label: str) -> None:
    if target is not None and target not in names:
        from core.data.datasets import UNKNOWN_COLUMN, DatasetError

        raise DatasetError(UNKNOWN_COLUMN.format(column=target, label=label))


def _plain_parquet(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(4) == b"PAR1"


def _import_names(names: Sequence[str]) -> bool:
    """Names an import keeps as they are: stripped, not blank, no two alike."""
    return all(name == name.strip() and name for name in names) and len(set(names)) == len(names)
