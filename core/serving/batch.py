"""Batch scoring: a whole file through a registered model version, scored as the service scores."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from threadpoolctl import threadpool_limits

from core.data import ingest
from core.data.booleans import truth
from core.data.export import write_csv, write_parquet
from core.data.ingest import messages as ingest_messages
from core.jobs.compute import (
    ComputeBackend,
    LocalBackend,
    compute_backend,
    job_compute,
    with_notice,
)
from core.prep.transformers import level_text
from core.serving.inputs import BOOLEAN, DATETIME, NUMBER, InputColumn, parse_dates
from core.serving.scoring import ServedModel, load_served_model, score
from core.train.registry import RegistryError

Progress = Callable[[float, str], None]
CHUNK_ROWS = 10_000
OUTPUT_FORMATS = (".csv", ".parquet")
PREDICTION = "prediction"
PROBABILITY = "probability_{label}"

NO_FILE = "There is no file at {path}. Check the path and try again."
UNREADABLE_FILE = "{name} cannot be scored: {reason}"
EMPTY_FILE = "{name} has no rows to score. Give a file with a header row and at least one row."
NO_ROWS = "There are no rows to score. Give a table with at least one row."
MISSING_COLUMNS = (
    "The file lacks {count} column(s) that {label} needs: {columns}. "
    "Add them (empty cells are allowed where the model can handle missing values) and try again."
)
BAD_VALUES = (
    "Column {column!r} should hold {kind}, but {count:,} value(s) cannot be read as {kind} "
    "(for example {example!r}). Fix or empty those cells and try again."
)
OUTPUT_FORMAT = (
    "The output must be a .csv or .parquet file, not {name!r}. "
    "Choose a name ending in .csv or .parquet."
)
SAME_PATH = (
    "The output path is the input file itself; scoring would overwrite your data. "
    "Choose another output path."
)
NO_OUTPUT_FOLDER = "The folder {folder} does not exist. Create it or choose another output path."
OUTPUT_IS_FOLDER = "{path} is a folder. Give the path of a .csv or .parquet file to write."
CANNOT_WRITE = "Could not write {path} ({reason}). Choose a folder you can write to and try again."
UNKNOWN_VERSION = (
    "Cannot score with {ref!r}: {reason} `mlops-studio models` lists the registered versions."
)
EXTRA_COLUMNS_NOTE = "Kept {count} column(s) the model does not use, unchanged: {columns}."
REPLACED_COLUMNS_NOTE = "Replaced the file's own {columns} with this model's output."
UNSEEN_NOTE = (
    "Column {column!r} has {count:,} row(s) with a value the model never saw in training; "
    "the model treats them as unknown, so check those predictions."
)
_KIND_WORDS = {NUMBER: "numbers", BOOLEAN: "true or false", DATETIME: "dates"}


class BatchError(ValueError):
    """A file, model version or output path that cannot be scored; the message says what to do."""


@dataclass(frozen=True)
class BatchResult:
    """What a batch run did: how many rows, with which version, where the output went."""

    rows: int
    model_version: str
    out: Path
    seconds: float
    notes: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "model_version": self.model_version,
            "out": str(self.out),
            "seconds": round(self.seconds, 3),
            "notes": list(self.notes),
        }


def score_file(
    home: Path,
    ref: str,
    source: Path,
    out: Path,
    *,
    engine: str = "auto",
    progress: Progress | None = None,
) -> BatchResult:
    """Score every row of ``source`` (CSV/TSV, Parquet, JSON lines) with model version ``ref``.

    ``source`` is read exactly as an import reads it; ``out`` (.csv or .parquet) gets all of its
    columns plus ``prediction`` and, for a classifier, one ``probability_<class>`` per class.
    CSV output is spreadsheet-safe. ``out`` appears whole or not at all. ``engine`` is chosen
    as a deployment's is ("auto": the verified ONNX copy when there is one), so each row gets
    the answer the prediction service gives it.
    """
    started = time.perf_counter()
    report = progress or _ignore
    source, out = Path(source), Path(out)
    write = check_output_path(out, source=source)
    model = _load(home, ref, engine)
    report(0.0, f"Reading {source.name}")
    frame, warnings = read_frame(source)
    with compute_backend() as backend:
        shipped = _portable(home, model, backend)
        scored = _score(model, frame, progress=_scaled(report, 0.05, 0.9), backend=shipped)
        notice = backend.placement().notice
    warnings = (*warnings, notice) if notice else warnings
    report(0.9, f"Writing {out.name}")
    try:
        write(scored.frame, out)
    except OSError as error:
        raise BatchError(CANNOT_WRITE.format(path=out, reason=error.strerror or error)) from None
    report(1.0, f"Scored {len(frame):,} rows")
    notes = (*warnings, *scored.notes)
    return BatchResult(len(frame), model.label, out, time.perf_counter() - started, notes)


def score_frame(
    model: ServedModel,
    frame: pd.DataFrame,
    *,
    progress: Progress | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> pd.DataFrame:
    """``frame`` with ``prediction`` (and ``probability_<class>`` columns) added, row for row.

    The model's columns are typed as the prediction service types them; the rest pass through.
    ``progress(fraction, message)`` is called after each chunk of ``chunk_rows`` rows.
    """
    return _score(model, frame, progress=progress, chunk_rows=chunk_rows).frame


def batch_notes(model: ServedModel, frame: pd.DataFrame) -> tuple[str, ...]:
    """What to tell the user about ``frame``: unused columns kept, unseen category levels."""
    return _notes(model, frame, model_inputs(model, frame))


def read_frame(
    source: Path, *, file_name: str | None = None
) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """The file as a frame, read as an import reads it (same sniffing and size limits), and the
    reader's warnings. ``file_name`` is the user's name for an upload saved under a temp name."""
    name = file_name or source.name
    if not source.is_file():
        raise BatchError(NO_FILE.format(path=source))
    try:
        result = ingest.read_table(source, file_name=name, limits=ingest.ImportLimits.from_env())
    except ingest.IngestError as error:
        if str(error) in (ingest_messages.EMPTY_FILE, ingest_messages.NO_DATA_ROWS):
            raise BatchError(EMPTY_FILE.format(name=name)) from None
        raise BatchError(UNREADABLE_FILE.format(name=name, reason=error)) from None
    return result.table.to_pandas(), result.report.warnings


def check_output_path(out: Path, *, source: Path | None = None) -> Callable[..., Path]:
    """Refuse an output path before any work is done; return the writer for its format."""
    suffix = out.suffix.lower()
    if suffix not in OUTPUT_FORMATS:
        raise BatchError(OUTPUT_FORMAT.format(name=out.name))
    if source is not None and out.resolve() == source.resolve():
        raise BatchError(SAME_PATH)
    if not out.resolve().parent.is_dir():
        raise BatchError(NO_OUTPUT_FOLDER.format(folder=out.resolve().parent))
    if out.is_dir():
        raise BatchError(OUTPUT_IS_FOLDER.format(path=out))
    return write_csv if suffix == ".csv" else write_parquet


def model_inputs(model: ServedModel, frame: pd.DataFrame) -> pd.DataFrame:
    """The model's columns of ``frame``, in training order, typed as the service types them.

    A column the model takes but never uses (an id its feature spec drops) may be absent.
    """
    if len(frame) == 0:
        raise BatchError(NO_ROWS)
    missing = [name for name in needed_columns(model) if name not in frame.columns]
    if missing:
        listed = ", ".join(repr(name) for name in missing)
        raise BatchError(
            MISSING_COLUMNS.format(count=len(missing), label=model.label, columns=listed)
        )
    if not model.columns:  # a pipeline that does not record its inputs takes the frame as is
        return frame
    absent = _missing(frame.index)
    return pd.DataFrame(
        {column.name: _typed(frame.get(column.name, absent), column) for column in model.columns},
        index=frame.index,
    )


def needed_columns(model: ServedModel) -> list[str]:
    """The input columns the model reads: those its column transformer does not drop."""
    names = [column.name for column in model.columns]
    columns = _column_transformer(model.pipeline)
    if columns is None:
        return names
    used: set[str] = set()
    for _, transformer, selected in columns.transformers_:
        if not (isinstance(transformer, str) and transformer == "drop"):
            used.update(_selected(selected, list(columns.feature_names_in_)))
    return [name for name in names if name in used]


def _column_transformer(pipeline: Any) -> ColumnTransformer | None:
    """The first fitted ColumnTransformer of the pipeline, nested pipelines included."""
    if isinstance(pipeline, ColumnTransformer) and hasattr(pipeline, "transformers_"):
        return pipeline
    for _, step in getattr(pipeline, "steps", []):
        found = _column_transformer(step)
        if found is not None:
            return found
    return None


def _selected(selected: Any, inputs: list[Any]) -> list[str]:
    if isinstance(selected, slice):
        return [str(name) for name in inputs[selected]]
    items = list(np.atleast_1d(selected)) if not isinstance(selected, str) else [selected]
    if items and isinstance(items[0], bool | np.bool_):
        return [str(name) for name, keep in zip(inputs, items, strict=True) if keep]
    if items and isinstance(items[0], int | np.integer):
        return [str(inputs[int(index)]) for index in items]
    return [str(item) for item in items]


# -- scoring ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Scored:
    frame: pd.DataFrame
    notes: tuple[str, ...]


def _score(
    model: ServedModel,
    frame: pd.DataFrame,
    *,
    progress: Progress | None,
    chunk_rows: int = CHUNK_ROWS,
    backend: _Shipped | None = None,
) -> _Scored:
    inputs = model_inputs(model, frame)
    report = progress or _ignore
    if backend is not None:
        parts = _score_partitions(backend, inputs, chunk_rows, report)
    else:
        parts = _score_here(model, inputs, chunk_rows, report)
    outputs = pd.concat(parts)
    outputs.index = frame.index
    kept = frame.drop(columns=[name for name in outputs.columns if name in frame.columns])
    return _Scored(pd.concat([kept, outputs], axis=1), _notes(model, frame, inputs))


def _score_here(
    model: ServedModel, inputs: pd.DataFrame, chunk_rows: int, report: Progress
) -> list[pd.DataFrame]:
    parts = []
    total = len(inputs)
    # One OpenMP/BLAS thread: on a machine shared with the app and the service, spinning
    # threads made gradient-boosting scoring twice as slow as a single thread.
    with threadpool_limits(limits=1):
        for start in range(0, total, chunk_rows):
            parts.append(_predict(model, inputs.iloc[start : start + chunk_rows]))
            done = min(start + chunk_rows, total)
            report(done / total, f"Scored {done:,} of {total:,} rows")
    return parts


# -- scoring on a Dask cluster ---------------------------------------------------------------


@dataclass(frozen=True)
class _PortableModel:
    """A served model as a worker can receive it: the ONNX copy as bytes, not a session."""

    model: ServedModel
    onnx_bytes: bytes | None


@dataclass(frozen=True)
class _Shipped:
    backend: ComputeBackend
    model: _PortableModel


def _portable(home: Path, model: ServedModel, backend: ComputeBackend) -> _Shipped | None:
    """The model ready to send to ``backend``'s workers (None: score here, as today)."""
    if isinstance(backend, LocalBackend):
        return None
    onnx_bytes = None
    if model.onnx is not None:
        from core.train.registry import model_file, model_version_by_id

        version = model_version_by_id(home, model.version_id)
        onnx_bytes = model_file(home, version, kind="onnx").read_bytes()
    bare = replace(model, onnx=None)
    return _Shipped(backend, _PortableModel(bare, onnx_bytes))


# a worker builds each version's ONNX session once, not once per partition
_ON_WORKER: dict[tuple[int, int], ServedModel] = {}


def _received(portable: _PortableModel) -> ServedModel:
    """On a worker: the served model again, with the same engine the studio chose."""
    if portable.onnx_bytes is None:
        return portable.model
    key = (portable.model.version_id, len(portable.onnx_bytes))
    if key not in _ON_WORKER:
        from core.serving.scoring import OnnxRunner
        from core.train.onnx import onnx_inputs, onnx_session

        session = onnx_session(portable.onnx_bytes, threads=1)
        runner = OnnxRunner(session, onnx_inputs(session), portable.model.task)
        _ON_WORKER[key] = replace(portable.model, onnx=runner)
    return _ON_WORKER[key]


def _predict_partition(rows: pd.DataFrame, *, model: _PortableModel) -> pd.DataFrame:
    """One partition's predictions on a compute worker (it never opens the store)."""
    with threadpool_limits(limits=1):
        return _predict(_received(model), rows)


def _score_partitions(
    shipped: _Shipped, inputs: pd.DataFrame, chunk_rows: int, report: Progress
) -> list[pd.DataFrame]:
    """The partitions of ``chunk_rows`` rows scored on the cluster, in order: the same chunks
    as here, so every row gets the same answer."""
    total = len(inputs)
    partitions = [inputs.iloc[start : start + chunk_rows] for start in range(0, total, chunk_rows)]

    def done(count: int, of: int) -> None:
        rows = min(count * chunk_rows, total)
        report(count / of, f"Scored {rows:,} of {total:,} rows on the cluster")

    parts: list[pd.DataFrame] = shipped.backend.map(
        _predict_partition, partitions, shared={"model": shipped.model}, on_done=done
    )
    return parts


def _predict(model: ServedModel, rows: pd.DataFrame) -> pd.DataFrame:
    """Predictions (and class probabilities) for one chunk, by the service's own ``score``:
    the same engine and the same code, so a row gets the answer ``/predict`` gives it."""
    scores = score(model, checked_values(rows))
    columns: dict[str, Any] = {PREDICTION: scores.predictions}
    if scores.probabilities is not None:
        for position, label in enumerate(model.classes):
            columns[PROBABILITY.format(label=label)] = scores.probabilities[:, position]
    return pd.DataFrame(columns)


def checked_values(inputs: pd.DataFrame) -> dict[str, list[Any]]:
    """Typed rows (``model_inputs``) as the checked values ``score`` takes, as the service
    holds a request's: one plain list per column, None where a value is missing."""
    return {str(name): _plain_values(inputs[name]) for name in inputs.columns}


def _plain_values(column: pd.Series) -> list[Any]:
    if pd.api.types.is_datetime64_any_dtype(column):
        # ISO text, as a client sends a date: read back to the same instant, on the fast path
        values = np.datetime_as_string(parse_dates(column).to_numpy()).astype(object)
    else:
        values = column.to_numpy(dtype=object, copy=True)  # a copy: the caller's frame stays
    values[column.isna().to_numpy()] = None
    return values.tolist()


def _notes(model: ServedModel, frame: pd.DataFrame, inputs: pd.DataFrame) -> tuple[str, ...]:
    used = set(needed_columns(model))
    replaced = [name for name in frame.columns if name in _output_names(model)]
    extra = [name for name in frame.columns if name not in used and name not in replaced]
    notes = []
    if extra:
        listed = ", ".join(repr(name) for name in extra)
        notes.append(EXTRA_COLUMNS_NOTE.format(count=len(extra), columns=listed))
    if replaced:
        notes.append(REPLACED_COLUMNS_NOTE.format(columns=", ".join(map(repr, replaced))))
    for column, count in _unseen_levels(model, inputs, used).items():
        notes.append(UNSEEN_NOTE.format(column=column, count=count))
    return tuple(notes)


def _output_names(model: ServedModel) -> set[str]:
    if model.task == "regression" or not hasattr(model.pipeline, "predict_proba"):
        return {PREDICTION}
    return {PREDICTION, *(PROBABILITY.format(label=label) for label in model.classes)}


def _unseen_levels(model: ServedModel, inputs: pd.DataFrame, used: set[str]) -> dict[str, int]:
    """Rows per used text column holding a level absent from the training data, as the service
    counts them (columns with too many training levels to be categories are not counted)."""
    counts = {}
    for name, known in model.known_levels.items():
        if name in used and name in inputs.columns:
            column = inputs[name]
            count = int((column.notna() & ~column.isin(known)).sum())
            if count:
                counts[name] = count
    return counts


# -- typing, as core.serving.inputs types a request --------------------------------------------


def _typed(values: pd.Series, column: InputColumn) -> pd.Series:
    if column.kind == NUMBER:
        return _numbers(values, column)
    if column.kind == BOOLEAN:
        return _booleans(values, column)
    if column.kind == DATETIME:
        return _dates(values, column)
    return _texts(values)


def _numbers(values: pd.Series, column: InputColumn) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(values):
        _refuse(values, values.notna(), column)
    if pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):
        numbers = values.astype("float64")
    else:
        numbers = pd.to_numeric(values.astype(object), errors="coerce").astype("float64")
        _refuse(values, numbers.isna() & values.notna(), column)
    _refuse(values, np.isinf(numbers), column)
    return numbers


def _booleans(values: pd.Series, column: InputColumn) -> pd.Series:
    if values.dtype == bool:
        return values.astype(object)
    present = values.notna()
    # the words and 1/0 the service takes (core.data.booleans), read the same way here
    meanings = values[present].map(truth)
    _refuse(values[present], meanings.isna(), column)
    typed = _missing(values.index)
    typed[present] = meanings.to_numpy(dtype=object)
    return typed


def _dates(values: pd.Series, column: InputColumn) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(values):
        return values
    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        _refuse(values, values.notna(), column)
    dates = parse_dates(values.astype(object))
    _refuse(values, dates.isna() & values.notna(), column)
    return dates


def _texts(values: pd.Series) -> pd.Series:
    """Text as the service passes it: strings, with missing values missing; 3.0 becomes '3'."""
    if values.dtype == object and pd.api.types.infer_dtype(values) in ("string", "empty"):
        return values
    present = values.notna()
    typed = _missing(values.index)
    typed[present] = values[present].map(level_text).to_numpy(dtype=object)
    return typed


def _missing(index: pd.Index) -> pd.Series:
    """An object column of None (pandas would make ``Series(None, dtype=object)`` all NaN)."""
    return pd.Series(np.full(len(index), None, dtype=object), index=index)


def _refuse(values: pd.Series, bad: pd.Series, column: InputColumn) -> None:
    """Raise BAD_VALUES naming the column and its first bad value, if any value is bad."""
    count = int(np.count_nonzero(bad))
    if count:
        example = values[np.asarray(bad, dtype=bool)].iloc[0]
        kind = _KIND_WORDS[column.kind]
        raise BatchError(
            BAD_VALUES.format(column=column.name, kind=kind, count=count, example=str(example))
        )


# -- plumbing --------------------------------------------------------------------------------


def _load(home: Path, ref: str, engine: str) -> ServedModel:
    try:
        return load_served_model(home, ref, engine=engine)
    except RegistryError as error:
        raise BatchError(UNKNOWN_VERSION.format(ref=ref, reason=error)) from None


def _scaled(report: Progress, low: float, high: float) -> Progress:
    return lambda fraction, message: report(low + (high - low) * fraction, message)


def _ignore(fraction: float, message: str) -> None:
    return None


# -- the batch-scoring job ---------------------------------------------------------------------

BATCH_FOLDER = "batch"
NOT_AN_UPLOAD = "A batch-scoring job may only read files the studio saved itself."


def batch_score_job(home: Path, params: dict[str, Any], progress: Progress) -> dict[str, Any]:
    """Job: score an upload (saved by ``core.data.imports.save_upload``) with model version
    ``params["model_version"]`` into a Parquet file under the home's artifacts, then delete the
    upload. The result holds ``output`` (relative to the artifacts folder) and ``rows``."""
    from core import artifacts
    from core.data.imports import UPLOAD_FOLDER

    relative = str(params["upload"])
    if not relative.startswith(f"{UPLOAD_FOLDER}/") or ".." in relative:
        raise BatchError(NOT_AN_UPLOAD)
    upload = artifacts.resolve(home, relative)
    file_name = str(params.get("file_name") or upload.name)
    try:
        model = _load(home, str(params["model_version"]), "auto")  # as its deployment serves
        progress(0.02, f"Reading {file_name}")
        frame, warnings = read_frame(upload, file_name=file_name)
        with job_compute(home, getattr(progress, "job_id", None)) as backend:
            report = with_notice(progress, backend.placement())
            shipped = _portable(home, model, backend)
            scored = _score(model, frame, progress=_scaled(report, 0.05, 0.9), backend=shipped)
            notice = backend.placement().notice
        warnings = (*warnings, notice) if notice else warnings
    finally:
        upload.unlink(missing_ok=True)
    progress(0.9, "Writing the scored rows")
    output = artifacts.new_artifact_path(BATCH_FOLDER, ".parquet")
    artifacts.write_atomically(
        home, output, lambda temp: scored.frame.to_parquet(temp, index=False)
    )
    progress(1.0, f"Scored {len(frame):,} rows")
    return {
        "output": output,
        "rows": len(frame),
        "model_version": model.label,
        "file_name": file_name,
        "notes": [*warnings, *scored.notes],
    }
