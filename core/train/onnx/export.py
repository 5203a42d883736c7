"""An ONNX copy of a fitted model pipeline, offered only when it matches it on the holdout."""

from __future__ import annotations

import json
import re
from typing import Any

import pandas as pd
from sklearn.base import is_classifier
from sklearn.ensemble import (
    GradientBoostingClassifier,
    GradientBoostingRegressor,
)
from sklearn.pipeline import Pipeline

from core.train.onnx import compat
from core.train.onnx.graph import _NotConvertible
from core.train.onnx.inputs import _initial_types, _input_columns, _input_kinds, _walk
from core.train.onnx.parity import OnnxExport, _checked, _refused, _sklearn_output
from core.train.onnx.registration import _register_converters
from core.train.onnx.runtime import (
    COLUMNS_METADATA,
    DATE_COLUMNS_METADATA,
    MODEL_NOTE,
    _check_task,
    onnx_predict,
)
from core.train.onnx.studio_steps import UNCONVERTIBLE_STEPS

# Boosted trees left to skl2onnx hold float32 thresholds, and scikit-learn's trees compare
# float32 features with theirs; so their input is cast to float32 first, as scikit-learn does.
FLOAT32_ESTIMATORS: tuple[type, ...] = (GradientBoostingClassifier, GradientBoostingRegressor)
NO_CONVERTER = "The pipeline uses {step}, which has no ONNX converter; the skops file is the model."
STEP_NOT_CONVERTIBLE = (
    "The pipeline's {step} step cannot be expressed in ONNX ({detail}); "
    "the skops file is the model."
)
CONVERSION_FAILED = (
    "The pipeline could not be converted to ONNX ({error}); the skops file is the model."
)
RUNTIME_FAILED = (
    "ONNX Runtime could not run the converted pipeline ({error}); the skops file is the model."
)
NO_HOLDOUT_ROWS = "The holdout has no rows to check an ONNX copy against, so none is offered."
NO_INPUT_COLUMNS = "The pipeline reads no columns, so there is nothing to export to ONNX."
_MISSING_TYPE = re.compile(r"type '<class '([\w.]+)'>'")
_MAX_ERROR_CHARS = 160


def export_onnx(pipeline: Any, holdout: pd.DataFrame, *, task: str) -> OnnxExport:
    """Convert a fitted pipeline to ONNX and check it against sklearn on the holdout rows."""
    _check_task(task)
    blocker = _first_unconvertible(pipeline)
    if blocker is not None:
        return _refused(NO_CONVERTER.format(step=blocker))
    if len(holdout) == 0:
        return _refused(NO_HOLDOUT_ROWS)
    columns = _input_columns(pipeline)
    if not columns:
        return _refused(NO_INPUT_COLUMNS)
    try:
        data = _convert(pipeline, _input_kinds(pipeline, holdout, columns))
    except _NotConvertible as error:
        return _refused(STEP_NOT_CONVERTIBLE.format(step=error.step, detail=error.detail))
    except compat.UntestedVersion as error:
        return _refused(str(error))
    except Exception as error:  # skl2onnx reports what it cannot convert in many types
        return _refused(_conversion_reason(error))
    try:
        actual = onnx_predict(data, holdout, task=task)
    except Exception as error:  # onnxruntime's errors share no narrower base class
        return _refused(RUNTIME_FAILED.format(error=_short_error(error)))
    return _checked(data, _sklearn_output(pipeline, holdout, task=task), actual)


def _first_unconvertible(pipeline: Any) -> str | None:
    for step in _walk(pipeline):
        if isinstance(step, UNCONVERTIBLE_STEPS):
            return type(step).__name__
    return None


def _conversion_reason(error: Exception) -> str:
    found = _MISSING_TYPE.search(str(error))
    if found is not None:
        return NO_CONVERTER.format(step=found.group(1).rsplit(".", 1)[-1])
    return CONVERSION_FAILED.format(error=_short_error(error))


def _short_error(error: Exception) -> str:
    first_line = (str(error).strip().splitlines() or [""])[0]
    text = f"{type(error).__name__}: {first_line}" if first_line else type(error).__name__
    return text if len(text) <= _MAX_ERROR_CHARS else text[: _MAX_ERROR_CHARS - 3] + "..."


def _convert(pipeline: Any, kinds: list[tuple[str, str]]) -> bytes:
    compat.check_versions()
    _register_converters()
    estimator = pipeline[-1] if isinstance(pipeline, Pipeline) else pipeline
    options = {id(estimator): {"zipmap": False}} if is_classifier(estimator) else None
    model = compat.convert_sklearn(
        _with_float32_trees(pipeline),
        initial_types=_initial_types(kinds),
        target_opset=dict(compat.TARGET_OPSET),
        options=options,
    )
    compat.raise_opset_for_tree_ensembles(model)
    model.doc_string = MODEL_NOTE
    dates = [name for name, kind in kinds if kind == "date"]
    for key, names in (
        (COLUMNS_METADATA, [name for name, _ in kinds]),
        (DATE_COLUMNS_METADATA, dates),
    ):
        entry = model.metadata_props.add()
        entry.key, entry.value = key, json.dumps(names)
    return model.SerializeToString()


def _with_float32_trees(pipeline: Any) -> Any:
    """The same fitted steps, with a float32 cast in front of a final tree model."""
    if not isinstance(pipeline, Pipeline) or not isinstance(pipeline[-1], FLOAT32_ESTIMATORS):
        return pipeline
    cast = ("as_float32", compat.float32_cast())
    return Pipeline([*pipeline.steps[:-1], cast, pipeline.steps[-1]])
