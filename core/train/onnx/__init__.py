"""ONNX copies of fitted model pipelines, offered only when they match them on the holdout.

export converts and checks (parity); inputs decides the graph's inputs, runtime runs a copy;
studio_steps, dates, sklearn_steps and trees hold the converters, registration hands them to
skl2onnx; compat is the only module that imports skl2onnx, behind a version check.
"""

from core.train.onnx.compat import TESTED_VERSIONS, UntestedVersion, tested_range
from core.train.onnx.export import (
    CONVERSION_FAILED,
    NO_CONVERTER,
    NO_HOLDOUT_ROWS,
    NO_INPUT_COLUMNS,
    RUNTIME_FAILED,
    STEP_NOT_CONVERTIBLE,
    export_onnx,
)
from core.train.onnx.parity import PARITY_FAILED, PARITY_MISSING, PARITY_TOLERANCE, OnnxExport
from core.train.onnx.runtime import (
    COLUMNS_METADATA,
    DATE_COLUMNS_METADATA,
    INPUT_KINDS,
    MISSING_TEXT,
    MODEL_NOTE,
    TASKS,
    OnnxInput,
    onnx_input_values,
    onnx_inputs,
    onnx_predict,
    onnx_session,
)

__all__ = [
    "COLUMNS_METADATA",
    "CONVERSION_FAILED",
    "DATE_COLUMNS_METADATA",
    "INPUT_KINDS",
    "MISSING_TEXT",
    "MODEL_NOTE",
    "NO_CONVERTER",
    "NO_HOLDOUT_ROWS",
    "NO_INPUT_COLUMNS",
    "PARITY_FAILED",
    "PARITY_MISSING",
    "PARITY_TOLERANCE",
    "RUNTIME_FAILED",
    "STEP_NOT_CONVERTIBLE",
    "TASKS",
    "TESTED_VERSIONS",
    "OnnxExport",
    "OnnxInput",
    "UntestedVersion",
    "export_onnx",
    "onnx_input_values",
    "onnx_inputs",
    "onnx_predict",
    "onnx_session",
    "tested_range",
]
