"""The one list of the studio's transformers: it feeds the skops allowlist, ONNX and the tests."""

from __future__ import annotations

from typing import Any

from sklearn.base import BaseEstimator

from core.prep.transformers.columns import FeatureColumns, onehot_column_name
from core.prep.transformers.dates import DateParts
from core.prep.transformers.levels import FillCategory, RareLevels, ToLevels
from core.prep.transformers.missing import KNNImpute, MissingFlags
from core.prep.transformers.numeric import Bins, PolynomialTerms, SignedLog, ToFloat
from core.prep.transformers.selection import CorrelationFilter, MutualInfoSelector, VarianceFilter
from core.prep.transformers.target import TargetEncoding

# The studio's own scikit-learn transformers, listed once. This list feeds the skops allowlist
# of model files (below), the ONNX converter table (core/train/onnx/studio_steps.py, where each
# has a converter or the reason it has none) and the tests, which check each of them for all
# three; a transformer added to a pipeline but not here cannot be loaded from a model file.
STUDIO_TRANSFORMERS: tuple[type[BaseEstimator], ...] = (
    Bins,
    CorrelationFilter,
    DateParts,
    FeatureColumns,
    FillCategory,
    KNNImpute,
    MissingFlags,
    MutualInfoSelector,
    PolynomialTerms,
    RareLevels,
    SignedLog,
    TargetEncoding,
    ToFloat,
    ToLevels,
    VarianceFilter,
)
# Every type the studio adds to a fitted pipeline: the transformers, and the function
# OneHotEncoder calls to name its outputs.
STUDIO_TYPES: tuple[Any, ...] = (*STUDIO_TRANSFORMERS, onehot_column_name)
# Until the transformers became a package (December 2026) they lived in one module, and model
# files saved then record each of them as core.prep.transformers.<Name>. The package re-exports
# every one of them, so skops still finds them there; the old names stay trusted for exactly
# these types, and for nothing else under that path.
SINGLE_MODULE = "core.prep.transformers"


def _recorded_names(member: Any) -> tuple[str, str]:
    """The name skops records for a type today, and the one files saved before the split hold."""
    return f"{member.__module__}.{member.__name__}", f"{SINGLE_MODULE}.{member.__name__}"


# For the skops allowlist of model files (core/train/model_files.py).
SKOPS_TRUSTED_TYPES: tuple[str, ...] = tuple(
    name for member in STUDIO_TYPES for name in _recorded_names(member)
)
