"""Model files: pipelines saved with skops, loaded only after their SHA-256 and types check."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.artifacts import new_artifact_path, sha256_of, verified_path, write_atomically
from core.prep.transformers import SKOPS_TRUSTED_TYPES
from core.review.fairlearn_internals import THRESHOLDER_TYPES

# The allowlist lives here, in code; it is never read from an artifact. skops already trusts
# plain scikit-learn estimators and numpy arrays; these are the extra types our pipelines hold.
TRUSTED_TYPES: tuple[str, ...] = (
    *SKOPS_TRUSTED_TYPES,
    "numpy.dtype",
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.metrics._dist_metrics.EuclideanDistance64",
    "sklearn.metrics._dist_metrics.ManhattanDistance64",
    "sklearn.metrics._dist_metrics.MinkowskiDistance64",
    "sklearn.model_selection._split.KFold",
    "sklearn.model_selection._split.StratifiedKFold",
    "sklearn.neighbors._ball_tree.BallTree",
    "sklearn.neighbors._kd_tree.KDTree",
    "sklearn.tree._tree.Tree",
    # fairlearn's threshold optimizer, saved as its fitted thresholder (mitigation/fitting.py)
    *THRESHOLDER_TYPES,
    "sklearn.utils._bunch.Bunch",
)
MODEL_FOLDER = "models"
UNTRUSTED = (
    "The model file for {what} holds types the studio does not trust ({types}), so it will not "
    "be loaded. Only files the studio wrote itself can be loaded."
)
UNREADABLE = "The model file for {what} cannot be read ({error}). Train the model again."


class ModelFileError(RuntimeError):
    """A model file that is missing, altered, unreadable or holds untrusted types."""


def model_bytes(pipeline: Any) -> bytes:
    import skops.io as sio

    return bytes(sio.dumps(pipeline))


def save_model(home: Path, pipeline: Any) -> tuple[str, str, int]:
    """Write a fitted pipeline atomically; returns (relative path, SHA-256, size in bytes)."""
    data = model_bytes(pipeline)
    relative = new_artifact_path(MODEL_FOLDER, ".skops")
    path = write_atomically(home, relative, lambda temp: temp.write_bytes(data))
    return relative, sha256_of(path), len(data)


def load_model(home: Path, relative: str, sha256: str, *, what: str) -> Any:
    """Load a pipeline after checking its hash, then refusing any type not on the allowlist."""
    path = verified_path(home, relative, sha256, what=what)
    return load_model_bytes(path.read_bytes(), what=what)


def load_model_bytes(data: bytes, *, what: str) -> Any:
    import skops.io as sio

    try:
        untrusted = sorted(set(sio.get_untrusted_types(data=data)) - set(TRUSTED_TYPES))
    except Exception as error:  # noqa: BLE001 - any parse failure means a file we did not write
        raise ModelFileError(UNREADABLE.format(what=what, error=error)) from error
    if untrusted:
        raise ModelFileError(UNTRUSTED.format(what=what, types=", ".join(untrusted)))
    try:
        return sio.loads(data, trusted=list(TRUSTED_TYPES))
    except Exception as error:  # noqa: BLE001
        raise ModelFileError(UNREADABLE.format(what=what, error=error)) from error
