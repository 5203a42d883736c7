"""The parity check: an ONNX copy is offered only when it matches the model on the holdout."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

PARITY_TOLERANCE = 1e-5
PARITY_FAILED = (
    "ONNX output differs from the model by {difference} (more than {tolerance}) on the holdout, "
    "so it is not offered."
)
PARITY_MISSING = (
    "ONNX output has missing or misshapen values where the model has numbers on the holdout, "
    "so it is not offered."
)


@dataclass(frozen=True)
class OnnxExport:
    """An ONNX copy of a pipeline, or why there is none."""

    data: bytes | None
    max_abs_difference: float | None
    reason: str | None

    @property
    def ok(self) -> bool:
        return self.data is not None and self.reason is None

    def to_dict(self) -> dict:
        """Plain JSON data without the model bytes; a non-finite difference reads null."""
        difference = self.max_abs_difference
        if difference is not None and not math.isfinite(difference):
            difference = None
        return {
            "exported": self.ok,
            "max_abs_difference": difference,
            "reason": self.reason,
            "size_bytes": len(self.data) if self.data is not None else None,
        }


def _refused(reason: str) -> OnnxExport:
    return OnnxExport(data=None, max_abs_difference=None, reason=reason)


def _checked(data: bytes, expected: np.ndarray, actual: np.ndarray) -> OnnxExport:
    difference = _max_abs_difference(expected, actual)
    if not math.isfinite(difference):
        return OnnxExport(data=None, max_abs_difference=difference, reason=PARITY_MISSING)
    if difference > PARITY_TOLERANCE:
        reason = PARITY_FAILED.format(
            difference=_scientific(difference), tolerance=_scientific(PARITY_TOLERANCE)
        )
        return OnnxExport(data=None, max_abs_difference=difference, reason=reason)
    return OnnxExport(data=data, max_abs_difference=difference, reason=None)


def _scientific(value: float) -> str:
    """3.2e-3 rather than 3.2e-03; 1e-5 rather than 1.0e-05."""
    mantissa, exponent = f"{value:.1e}".split("e")
    return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"


def _sklearn_output(pipeline: Any, frame: pd.DataFrame, *, task: str) -> np.ndarray:
    if task == "regression":
        return np.asarray(pipeline.predict(frame), dtype=np.float64).reshape(len(frame))
    return np.asarray(pipeline.predict_proba(frame), dtype=np.float64)


def _max_abs_difference(expected: np.ndarray, actual: np.ndarray) -> float:
    """Largest |expected - actual|; NaN on one side only, or another shape, is infinite."""
    if expected.shape != actual.shape:
        return math.inf
    gaps = np.abs(expected - actual)
    gaps[np.isnan(expected) & np.isnan(actual)] = 0.0
    gaps[np.isnan(gaps)] = math.inf
    return float(gaps.max()) if gaps.size else 0.0
