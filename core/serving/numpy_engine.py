"""The NumPy engine: a version's pipeline compiled to plain arrays (core/train/fast_path.py),
fed straight from a request's checked values, and the check at registration that it answers
exactly as the pipeline does before it may ever be served."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from core.serving.inputs import (
    BOOLEAN,
    DATETIME,
    NUMBER,
    TEXT,
    CheckedValues,
    InputColumn,
    plain_iso_dates,
    typed_column,
)
from core.train.fast_path import FastPlan, NotCompiled, compile_pipeline

CHECK_ROWS = 2_000  # holdout rows compared at registration (the whole holdout when fewer)
STRESS_ROWS = 200  # of them, copied again with gaps and unseen levels put in
SINGLE_ROWS = 4  # of them, also scored one per request
UNSEEN_LEVEL = "(a level never seen in training)"
NO_INPUTS = "the pipeline does not record its input columns"
NO_ROWS = "there were no holdout rows to compare it on"
DIFFERS = (
    "its answers differ from the pipeline's on {rows} of {total} rows compared (largest "
    "difference {largest:.3g})"
)
WARNED = "it warned while scoring ({message})"
FAILED = "it failed while scoring ({error})"
_NONE = type(None)


@dataclass(frozen=True)
class NumpyRunner:
    """A compiled plan, and the input columns it reads in order."""

    plan: FastPlan

    def run(self, values: dict[str, list[Any]], columns: dict[str, InputColumn]) -> np.ndarray:
        """Probabilities (rows, classes), or predictions (rows,), as the pipeline gives them."""
        inputs = self.plan.inputs
        arrays = [column_array(values, columns[name]) for name in inputs]
        # the text columns reading factorized, each of the very array it built
        known = values.levels if isinstance(values, CheckedValues) else {}
        levels = {index: known[name] for index, name in enumerate(inputs) if name in known}
        return self.plan.output(arrays, levels=levels)


def numpy_runner(pipeline: Any, task: str) -> NumpyRunner:
    """The pipeline compiled for serving; NotCompiled says why it cannot be."""
    return NumpyRunner(compile_pipeline(pipeline, task=task))


def column_array(values: dict[str, list[Any]], column: InputColumn) -> np.ndarray:
    """``column``'s array from checked ``values``, built once per request when they are
    ``CheckedValues`` (the steps never write into their input columns, so it can be shared)."""
    if not isinstance(values, CheckedValues):
        return _array(values[column.name], column)
    array = values.arrays.get(column.name)
    if array is None:
        types = values.types.get(column.name)
        array = values.arrays[column.name] = _array(values[column.name], column, types)
    return array


def _array(
    values: list[Any], column: InputColumn, types: frozenset[type] | None = None
) -> np.ndarray:
    """One input column as the array its typed Series holds (``typed_column``), built from
    plain values without a Series when they are plain numbers, text, yes/no or ISO dates
    (``types``: the values' types, when checking already found them)."""
    types = frozenset(map(type, values)) if types is None else types
    if column.kind == NUMBER and types <= {int, float, _NONE}:
        return np.array(values, dtype=np.float64)
    if column.kind == DATETIME and types <= {str, _NONE}:
        moments = plain_iso_dates(values)
        if moments is not None:
            return moments
    elif column.kind == BOOLEAN or (column.kind == TEXT and types <= {str, _NONE}):
        # fromiter takes each value as it is (slice assignment first looks for sequences)
        return np.fromiter(values, dtype=object, count=len(values))
    return typed_column(values, column).to_numpy()


# -- the check at registration -----------------------------------------------------------------


@dataclass(frozen=True)
class FastPathCheck:
    """Whether the compiled plan may serve a version, and why not when it may not."""

    ok: bool
    reason: str
    rows: int

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "reason": self.reason, "rows": self.rows}


def check_fast_path(
    pipeline: Any, *, task: str, columns: list[InputColumn], holdout: pd.DataFrame
) -> FastPathCheck:
    """Compile the pipeline and score the holdout rows (and copies of some with gaps and
    unseen levels, and a few rows alone) by both engines through ``score``: the plan may be
    served only when every prediction and probability is the same to the last bit."""
    from core.serving.batch import checked_values, model_inputs
    from core.serving.scoring import ServedModel

    if not columns:
        return FastPathCheck(False, NO_INPUTS, 0)
    if len(holdout) == 0:
        return FastPathCheck(False, NO_ROWS, 0)
    try:
        runner = numpy_runner(pipeline, task)
    except NotCompiled as refusal:
        return FastPathCheck(False, str(refusal), 0)
    classes = list(getattr(pipeline, "classes_", []))
    plain = ServedModel("check", 0, pipeline, task, columns, classes, {}, {}, None)
    fast = ServedModel("check", 0, pipeline, task, columns, classes, {}, {}, None, fast=runner)
    try:  # whatever fails here only means the version is served by its pipeline, as before
        inputs = model_inputs(plain, holdout.head(CHECK_ROWS))
        batches = [checked_values(inputs), _stressed(checked_values(inputs.head(STRESS_ROWS)))]
        singles = range(min(SINGLE_ROWS, len(inputs)))
        batches += [checked_values(inputs.iloc[[row]]) for row in singles]
        return _compared(plain, fast, batches)
    except Exception as error:
        return FastPathCheck(False, FAILED.format(error=error), 0)


def _compared(plain: Any, fast: Any, batches: list[dict[str, list[Any]]]) -> FastPathCheck:
    from core.serving.scoring import score

    total = sum(len(next(iter(batch.values()))) for batch in batches)
    for batch in batches:
        expected = score(plain, batch)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                found = score(fast, batch)
            except Exception as error:  # any failure only means: keep the pipeline
                return FastPathCheck(False, FAILED.format(error=error), total)
        if caught:
            return FastPathCheck(False, WARNED.format(message=caught[0].message), total)
        differing = _differing(expected, found)
        if differing:
            return FastPathCheck(False, DIFFERS.format(total=total, **differing), total)
    return FastPathCheck(True, "", total)


def _differing(expected: Any, found: Any) -> dict[str, Any] | None:
    rows = [a != b for a, b in zip(expected.predictions, found.predictions, strict=True)]
    largest = 0.0
    if expected.probabilities is not None:
        a, b = expected.probabilities, found.probabilities
        same = (a == b) | (np.isnan(a) & np.isnan(b))
        rows = [r or not s for r, s in zip(rows, same.all(axis=1), strict=True)]
        largest = float(np.nanmax(np.abs(a - b))) if not same.all() else 0.0
    elif all(isinstance(v, float) for v in expected.predictions):
        largest = max(
            abs(a - b) for a, b in zip(expected.predictions, found.predictions, strict=True)
        )
    return {"rows": sum(rows), "largest": largest} if any(rows) else None


def _stressed(values: dict[str, list[Any]]) -> dict[str, list[Any]]:
    """The rows again with a gap in every fifth cell (shifting by column) and, in text
    columns, a level training never saw in every seventh: the cases a holdout rarely has."""
    out = {}
    for offset, (name, column) in enumerate(values.items()):
        texts = any(isinstance(value, str) for value in column)
        changed = []
        for row, value in enumerate(column):
            if (row + offset) % 5 == 0:
                value = None
            elif texts and (row + offset) % 7 == 0 and not _looks_like_a_date(value):
                value = UNSEEN_LEVEL
            changed.append(value)
        out[name] = changed
    return out


def _looks_like_a_date(value: Any) -> bool:
    return isinstance(value, str) and value[:4].isdigit() and value[4:5] == "-"
