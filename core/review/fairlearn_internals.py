"""The one place fairlearn's private API is used, so an upgrade that changes it breaks here."""

from __future__ import annotations

from typing import Any

import numpy as np

# fairlearn has no public way to read a mitigator's positive-class probability (its predict
# draws 0/1 at random from it), so the trade-off chart reads the private _pmf_predict.
PMF_CHANGED = (
    "fairlearn {version} changed {mitigator}._pmf_predict (expected one row of two class "
    "probabilities per input row); update core/review/fairlearn_internals.py."
)

# Types a fitted threshold optimizer is saved as; skops records them by these module paths.
THRESHOLDER_TYPES = (
    "fairlearn.postprocessing._interpolated_thresholder.InterpolatedThresholder",
    "fairlearn.postprocessing._threshold_operation.ThresholdOperation",
)


def positive_probability(mitigator: Any, rows: Any, **predict_options: Any) -> np.ndarray:
    """The probability a fitted fairlearn mitigator gives the positive class, per row."""
    import fairlearn

    pmf = np.asarray(mitigator._pmf_predict(rows, **predict_options))
    if pmf.ndim != 2 or pmf.shape != (len(rows), 2):
        raise RuntimeError(
            PMF_CHANGED.format(version=fairlearn.__version__, mitigator=type(mitigator).__name__)
        )
    return pmf[:, 1]
