"""ONNX copies of fitted model pipelines, offered only when they match them on the holdout."""

from core.train.onnx.export import (
    MISSING_TEXT,
    MODEL_NOTE,
    PARITY_TOLERANCE,
    OnnxExport,
    OnnxInput,
    export_onnx,
    onnx_input_values,
    onnx_inputs,
    onnx_predict,
    onnx_session,
)

__all__ = [
    "MISSING_TEXT",
    "MODEL_NOTE",
    "PARITY_TOLERANCE",
    "OnnxExport",
    "OnnxInput",
    "export_onnx",
    "onnx_input_values",
    "onnx_inputs",
    "onnx_predict",
    "onnx_session",
]
