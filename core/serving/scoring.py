"""A served model version in memory, and scoring checked rows with it: ONNX Runtime when the
version has a verified ONNX copy, else its scikit-learn pipeline."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.serving.inputs import TEXT, InputColumn, input_columns, typed_columns

ENGINES = ("auto", "onnx", "sklearn")
# Text columns with more distinct training levels than this are identifiers or free text, where
# nearly every value is new; counting "unseen categories" there would only add noise.
MAX_KNOWN_LEVELS = 1_000
NO_ONNX = "{label} has no ONNX copy ({reason}); serve it with engine 'sklearn' or 'auto'."
UNKNOWN_ENGINE = "engine must be one of {choices}, not {engine!r}."


@dataclass(frozen=True)
class OnnxRunner:
    """An ONNX Runtime session of a version, with what each of its inputs reads."""

    session: Any
    inputs: list[Any]
    task: str

    def run(self, typed: dict[str, pd.Series]) -> np.ndarray:
        """Probabilities (rows, classes), or predictions (rows,) for regression."""
        from core.train.onnx_export import onnx_input_values

        feeds = {
            spec.name: onnx_input_values(typed[spec.column], spec.kind) for spec in self.inputs
        }
        outputs = self.session.run(None, feeds)
        if self.task == "regression":
            return np.asarray(outputs[0], dtype=np.float64).reshape(-1)
        return np.asarray(outputs[1], dtype=np.float64)


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

    @property
    def engine(self) -> str:
        return "onnx" if self.onnx is not None else "sklearn"


@dataclass(frozen=True)
class Scores:
    """Predictions for a batch of rows, with probabilities and each row's unseen categories."""

    predictions: list[Any]
    probabilities: list[list[float]] | None
    unseen: list[list[str]]


def load_served_model(home: Path, ref: str | int, *, engine: str = "auto") -> ServedModel:
    """Load a registered version (``NAME@N``-style ref or version id; hash and types verified)
    with its input schema."""
    from core.data.datasets import get_version
    from core.train.registry import find_model_version, load_model_version, model_version_by_id
    from core.train.tracking import get_run

    if engine not in ENGINES:
        raise ValueError(UNKNOWN_ENGINE.format(choices=", ".join(ENGINES), engine=engine))
    version = (
        model_version_by_id(home, ref) if isinstance(ref, int) else find_model_version(home, ref)
    )
    run = get_run(home, version.run_id)
    pipeline = load_model_version(home, version)
    names = [str(name) for name in getattr(pipeline, "feature_names_in_", [])]
    dataset = get_version(home, run.dataset_version_id) if run.dataset_version_id else None
    columns = input_columns(dataset.schema if dataset else [], names)
    classes = [plain(c) for c in getattr(pipeline, "classes_", [])]
    onnx = _onnx_runner(home, version, run.task, engine)
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
        "engine": "onnx" if onnx is not None else "sklearn",
        "onnx": version.onnx,
    }
    levels = _known_levels(home, dataset, columns) if dataset else {}
    return ServedModel(
        version.label, version.id, pipeline, run.task, columns, classes, metadata, levels, onnx
    )


def _onnx_runner(home: Path, version: Any, task: str, engine: str) -> OnnxRunner | None:
    if engine == "sklearn":
        return None
    if not version.onnx_path:
        if engine == "onnx":
            reason = version.onnx.get("reason") or "not exported"
            raise ValueError(NO_ONNX.format(label=version.label, reason=reason))
        return None
    from core.train.onnx_export import onnx_inputs, onnx_session
    from core.train.registry import model_file

    # one thread per worker process: the service scales by processes, and more threads would
    # fight the request handling for the same cores
    session = onnx_session(model_file(home, version, kind="onnx").read_bytes(), threads=1)
    return OnnxRunner(session, onnx_inputs(session), task)


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
            levels[name] = frozenset(v if isinstance(v, str) else _level(v) for v in found)
    return levels


def _level(value: Any) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def plain(value: Any) -> Any:
    """A numpy scalar as the plain Python value JSON writes."""
    return value.item() if isinstance(value, np.generic) else value


def score(model: ServedModel, values: dict[str, list[Any]]) -> Scores:
    """Predict checked column values (as ``check_rows`` returns them) with ``model``."""
    typed = typed_columns(values, model.columns)
    rows = len(next(iter(values.values()))) if values else 0
    unseen = _unseen(model, typed, rows)
    if model.task == "regression":
        if model.onnx is not None:
            predicted = model.onnx.run(typed)
        else:
            predicted = model.pipeline.predict(pd.DataFrame(typed))
        return Scores([float(v) for v in predicted], None, unseen)
    if model.onnx is not None:
        probabilities = model.onnx.run(typed)
    elif hasattr(model.pipeline, "predict_proba"):
        probabilities = np.asarray(model.pipeline.predict_proba(pd.DataFrame(typed)))
    else:
        predicted = model.pipeline.predict(pd.DataFrame(typed))
        return Scores([plain(v) for v in predicted], None, unseen)
    classes = model.classes
    predictions = [classes[index] for index in probabilities.argmax(axis=1).tolist()]
    return Scores(predictions, probabilities.tolist(), unseen)


def _unseen(model: ServedModel, typed: dict[str, pd.Series], rows: int) -> list[list[str]]:
    found: list[list[str]] = [[] for _ in range(rows)]
    for name, known in model.known_levels.items():
        column = typed[name]
        new = column.notna().to_numpy() & ~column.isin(known).to_numpy()
        for index in np.flatnonzero(new).tolist():
            found[index].append(name)
    return found
