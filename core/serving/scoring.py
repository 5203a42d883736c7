"""A served model version in memory, and scoring checked rows with it: ONNX Runtime when the
version has a verified ONNX copy, else its pipeline compiled to NumPy when registration found
that identical to the pipeline, else its scikit-learn pipeline."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from core.prep.transformers import epoch_days, level_text
from core.serving.inputs import (
    TEXT,
    CheckedValues,
    InputColumn,
    input_columns,
    plain_iso_dates,
    typed_column,
    typed_columns,
)

if TYPE_CHECKING:
    from core.serving.numpy_engine import NumpyRunner

ENGINES = ("auto", "onnx", "numpy", "sklearn")
# Text columns with more distinct training levels than this are identifiers or free text, where
# nearly every value is new; counting "unseen categories" there would only add noise.
MAX_KNOWN_LEVELS = 1_000
MAX_LISTED_LEVELS = 100  # levels /metadata lists per text input, for forms and docs
NO_ONNX = "{label} has no ONNX copy ({reason}); use engine 'sklearn' or 'auto'."
UNKNOWN_ENGINE = "engine must be one of {choices}, not {engine!r}."
NO_NUMPY = "{label} is not served by the NumPy engine ({reason}); use engine 'sklearn' or 'auto'."
NOT_CHECKED = "it was registered before the NumPy engine existed; register its run again"


PARALLEL_ROWS = 2_000  # a batch this large is scored in two halves side by side
# Every batch is scored as a multiple of this many rows (the last row repeated, its copies'
# answers dropped). Vectorised kernels (ONNX Runtime's Sigmoid on doubles, the BLAS product of
# a linear model) compute the rows left over after the last full register or block by another
# path, which can round differently in the last bit; with nothing left over, a row's answer
# does not depend on the rows scored with it. A request alone, one batched with others and a
# chunk of a file then get the same digits. 8 is the most doubles a SIMD register holds.
ROW_BLOCK = 8


@dataclass(frozen=True)
class OnnxRunner:
    """An ONNX Runtime session of a version, with what each of its inputs reads."""

    session: Any
    inputs: list[Any]
    task: str
    halves: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(2, thread_name_prefix="onnx")
    )

    def run(self, values: dict[str, list[Any]], columns: dict[str, InputColumn]) -> np.ndarray:
        """Probabilities (rows, classes), or predictions (rows,) for regression."""
        feeds = {
            spec.name: _feed(values[spec.column], spec.kind, columns[spec.column])
            for spec in self.inputs
        }
        rows = len(next(iter(feeds.values())))
        if rows >= PARALLEL_ROWS:  # ONNX Runtime releases the GIL: two cores, half the wait
            middle = rows // 2 // ROW_BLOCK * ROW_BLOCK  # both halves whole blocks too
            parts = [
                {k: v[:middle] for k, v in feeds.items()},
                {k: v[middle:] for k, v in feeds.items()},
            ]
            return np.concatenate(list(self.halves.map(self._output, parts)))
        return self._output(feeds)

    def _output(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        outputs = self.session.run(None, feeds)
        if self.task == "regression":
            return np.asarray(outputs[0], dtype=np.float64).reshape(-1)
        return np.asarray(outputs[1], dtype=np.float64)


_NONE = type(None)


def _feed(values: list[Any], kind: str, column: InputColumn) -> np.ndarray:
    """One ONNX input straight from the checked values when they are plain numbers, text or
    ISO dates (no pandas on the hot path); otherwise through the typed column, as the
    pipeline reads it. Either way the values match what the parity check verified."""
    from core.train.onnx import MISSING_TEXT, onnx_input_values

    types = set(map(type, values))
    if kind == "number" and types <= {int, float, bool, _NONE}:
        return np.array(values, dtype=np.float64).reshape(-1, 1)
    if kind == "text" and types <= {str}:
        return np.array(values, dtype=object).reshape(-1, 1)
    if kind == "text" and types <= {str, int, float, bool, _NONE}:
        texts = [
            MISSING_TEXT if v is None else v if type(v) is str else level_text(v) for v in values
        ]
        return np.array(texts, dtype=object).reshape(-1, 1)
    if kind == "date" and types <= {str, _NONE}:
        moments = plain_iso_dates(values)
        if moments is not None:
            return epoch_days(pd.Series(moments)).reshape(-1, 1)
    return onnx_input_values(typed_column(values, column), kind)


@dataclass(frozen=True)
class ServedModel:
    """What the service holds in memory: the pipeline, its inputs and what to say about it."""

    label: str
    version_id: int
    pipeline: Any
    task: str
    columns: list[InputColumn]
    classes: list[Any]
    metadata: dict[str, Any]
    known_levels: dict[str, frozenset[str]]
    onnx: OnnxRunner | None
    # a binary classifier's cut-off on the second class's probability (None: argmax)
    threshold: float | None = None
    fast: NumpyRunner | None = None  # the compiled pipeline, when registration verified it

    @property
    def by_name(self) -> dict[str, InputColumn]:
        return {column.name: column for column in self.columns}

    @property
    def engine(self) -> str:
        if self.onnx is not None:
            return "onnx"
        return "numpy" if self.fast is not None else "sklearn"


@dataclass(frozen=True)
class FormInput:
    """One input as /metadata lists it: its name, the kind of value and known text levels."""

    name: str
    kind: str
    dtype: str
    levels: tuple[str, ...] = ()


@dataclass(frozen=True)
class ServedInputs:
    """What a version's service takes and answers, as its /metadata says: enough for a form."""

    label: str
    task: str
    target: str
    classes: tuple[object, ...]
    inputs: tuple[FormInput, ...]


def served_inputs_of(model: ServedModel) -> ServedInputs:
    """The inputs (with their levels), task and classes of a loaded model, as /metadata."""
    metadata = model.metadata
    return ServedInputs(
        label=str(metadata["label"]),
        task=str(metadata["task"]),
        target=str(metadata["target"]),
        classes=tuple(metadata["classes"]),
        inputs=tuple(
            FormInput(
                name=str(entry["name"]),
                kind=str(entry["kind"]),
                dtype=str(entry["dtype"]),
                levels=tuple(entry.get("levels") or ()),
            )
            for entry in metadata["inputs"]
        ),
    )


@dataclass(frozen=True)
class Scores:
    """Predictions for a batch of rows, with probabilities and each row's unseen categories."""

    predictions: list[Any]
    probabilities: np.ndarray | None  # (rows, classes)
    unseen: list[list[str]]


def load_served_model(home: Path, ref: str | int, *, engine: str = "auto") -> ServedModel:
    """Load a registered version (``NAME@N``-style ref or version id; hash and types verified)
    with its input schema."""
    from core.data.datasets import get_version
    from core.train.registry import load_model_version, model_version
    from core.train.tracking import get_run

    if engine not in ENGINES:
        raise ValueError(UNKNOWN_ENGINE.format(choices=", ".join(ENGINES), engine=engine))
    version = model_version(home, ref)
    run = get_run(home, version.run_id)
    pipeline = load_model_version(home, version)
    names = [str(name) for name in getattr(pipeline, "feature_names_in_", [])]
    dataset = get_version(home, run.dataset_version_id) if run.dataset_version_id else None
    columns = input_columns(dataset.schema if dataset else [], names)
    classes = [plain(c) for c in getattr(pipeline, "classes_", [])]
    onnx = _onnx_runner(home, version, run.task, engine)
    fast = None if onnx is not None else _numpy_runner(version, pipeline, run.task, engine)
    metadata = {
        "model": version.model_name,
        "version": version.version,
        "label": version.label,
        "aliases": list(version.aliases),
        "review_state": version.review_state,
        "task": run.task,
        "target": run.target,
        "classes": classes,
        "inputs": [column.to_dict() for column in columns],
        "metrics": run.metrics.get("holdout", {}),
        "engine": "onnx" if onnx is not None else "numpy" if fast is not None else "sklearn",
        "onnx": version.onnx,
        "fast_path": version.fast_path,
        "decision_threshold": version.decision_threshold,
    }
    levels = _known_levels(home, dataset, columns) if dataset else {}
    for entry in metadata["inputs"]:
        if entry["name"] in levels:
            entry["levels"] = sorted(levels[entry["name"]])[:MAX_LISTED_LEVELS]
    return ServedModel(
        version.label,
        version.id,
        pipeline,
        run.task,
        columns,
        classes,
        metadata,
        levels,
        onnx,
        version.decision_threshold if run.task == "binary" else None,
        fast,
    )


def _onnx_runner(home: Path, version: Any, task: str, engine: str) -> OnnxRunner | None:
    if engine in ("sklearn", "numpy"):
        return None
    if not version.onnx_path:
        if engine == "onnx":
            reason = version.onnx.get("reason") or "not exported"
            raise ValueError(NO_ONNX.format(label=version.label, reason=reason))
        return None
    from core.train.onnx import onnx_inputs, onnx_session
    from core.train.registry import model_file

    # one thread per worker process: the service scales by processes, and more threads would
    # fight the request handling for the same cores
    session = onnx_session(model_file(home, version, kind="onnx").read_bytes(), threads=1)
    return OnnxRunner(session, onnx_inputs(session), task)


def _numpy_runner(version: Any, pipeline: Any, task: str, engine: str) -> NumpyRunner | None:
    """The compiled pipeline, only when registration found it answers as the pipeline does
    (registration alone decides; loading never re-judges it)."""
    if engine not in ("auto", "numpy"):
        return None
    checked = version.fast_path
    if not checked.get("ok"):
        if engine == "numpy":
            reason = checked.get("reason") or NOT_CHECKED
            raise ValueError(NO_NUMPY.format(label=version.label, reason=reason))
        return None
    from core.serving.numpy_engine import numpy_runner

    return numpy_runner(pipeline, task)


def _known_levels(home: Path, dataset: Any, columns: list[InputColumn]) -> dict[str, frozenset]:
    """The training levels of each text input (from the dataset version it was trained on)."""
    import pyarrow.compute as pc

    from core.data.datasets import load_table

    table = load_table(home, dataset)
    wanted = [c.name for c in columns if c.kind == TEXT and c.name in table.column_names]
    levels = {}
    for name in wanted:
        found = pc.unique(table[name].drop_null()).to_pylist()
        if len(found) <= MAX_KNOWN_LEVELS:
            levels[name] = frozenset(v if isinstance(v, str) else level_text(v) for v in found)
    return levels


def plain(value: Any) -> Any:
    """A numpy scalar as the plain Python value JSON writes."""
    return value.item() if isinstance(value, np.generic) else value


def score(model: ServedModel, values: dict[str, list[Any]]) -> Scores:
    """Predict checked column values (as ``check_rows`` returns them) with ``model``."""
    rows = len(next(iter(values.values()))) if values else 0
    unseen = _unseen(model, values, rows)
    padded = _padded(values, rows)
    output = _model_output(model, padded)[:rows]
    if isinstance(values, CheckedValues) and isinstance(padded, CheckedValues):
        _share_arrays(padded, values, rows)
    if model.task == "regression":
        return Scores(output.astype(np.float64).tolist(), None, unseen)
    if output.ndim == 1:  # a classifier without probabilities: its labels
        return Scores([plain(v) for v in output], None, unseen)
    return Scores(_decided(model, output), output, unseen)


def _decided(model: ServedModel, probabilities: np.ndarray) -> list[Any]:
    """Each row's class: the positive (second) class from the version's threshold up, else the
    most probable class."""
    if model.threshold is not None and probabilities.shape[1] == 2:
        chosen = (probabilities[:, 1] >= model.threshold).astype(np.intp)
    else:
        chosen = probabilities.argmax(axis=1)
    # the classes themselves, picked in C (a list comprehension costs 0.6 ms per 10,000 rows)
    classes = np.fromiter(model.classes, dtype=object, count=len(model.classes))
    return classes[chosen].tolist()


def _model_output(model: ServedModel, values: dict[str, list[Any]]) -> np.ndarray:
    """Probabilities (rows, classes), or predictions (rows,) for a regressor or a classifier
    that gives no probabilities."""
    if model.onnx is not None:
        return model.onnx.run(values, model.by_name)
    if model.fast is not None:
        return model.fast.run(values, model.by_name)
    frame = _frame(model, values)
    if model.task != "regression" and hasattr(model.pipeline, "predict_proba"):
        return np.asarray(model.pipeline.predict_proba(frame))
    return np.asarray(model.pipeline.predict(frame))


def _padded(values: dict[str, list[Any]], rows: int) -> dict[str, list[Any]]:
    """The values with the last row repeated up to a multiple of ROW_BLOCK rows."""
    extra = -rows % ROW_BLOCK
    if not extra:
        return values
    padded = {name: column + column[-1:] * extra for name, column in values.items()}
    if not isinstance(values, CheckedValues):
        return padded
    # the last row repeated adds no type and no value: what checking found still holds
    out = CheckedValues(padded, values.types, values.distinct)
    for name, array in values.arrays.items():
        out.arrays[name] = np.concatenate([array, array[-1:].repeat(extra)])
    out.levels = {name: found.padded(extra) for name, found in values.levels.items()}
    return out


def _share_arrays(padded: CheckedValues, values: CheckedValues, rows: int) -> None:
    """The arrays scoring built on the padded copy, without the copies' rows, for whoever
    reads ``values`` next (the out-of-distribution flags): no step writes into them."""
    if padded is not values:
        for name, array in padded.arrays.items():
            values.arrays.setdefault(name, array[:rows])


def _frame(model: ServedModel, values: dict[str, list[Any]]) -> pd.DataFrame:
    if not model.columns:  # a pipeline that does not record its inputs reads them as they are
        return pd.DataFrame(values)
    return pd.DataFrame(typed_columns(values, model.columns))


def _unseen(model: ServedModel, values: dict[str, list[Any]], rows: int) -> list[list[str]]:
    """Each row's text inputs holding a level training never saw. Rows without one share a
    single empty list (read-only, as every reader treats it): 10,000 new lists cost more than
    the lookups."""
    nothing: list[str] = []
    found: list[list[str]] = [nothing] * rows
    read = values.distinct if isinstance(values, CheckedValues) else {}
    for name, known in model.known_levels.items():
        column = values[name]
        distinct = read.get(name) or set(column)  # as reading found them, when it did
        distinct = distinct - {None}
        new = {v for v in distinct if (v if type(v) is str else level_text(v)) not in known}
        if new:  # rare: only then look at each row
            for index, value in enumerate(column):
                if value in new:
                    found[index] = [*found[index], name]
    return found
