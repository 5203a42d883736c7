"""Model explanations: SHAP in the raw columns, permutation importance, PDP/ICE and what-if.

shap_values picks the explainer (tree, tree_kernel, linear, sampled) and sums its values back to
the raw columns (features); inspection explains by predictions; job runs it all as a job and
keeps the result. Every read of scikit-learn's private state is in sklearn_internals.

The names below load their module on first use, so that core.prep can import
sklearn_internals without loading the explainers.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from core.review.explain.features import FeatureMap, feature_map
    from core.review.explain.inspection import (
        edited_row,
        out_of_range,
        partial_dependence,
        permutation_importances,
        what_if,
    )
    from core.review.explain.model import TASKS, sample_rows
    from core.review.explain.result import (
        ADDITIVITY_FAILED,
        BAD_CACHE,
        BAD_VALUE,
        NO_PROBABILITIES,
        NO_ROWS,
        NOT_A_PIPELINE,
        NOT_FITTED,
        UNKNOWN_CLASS,
        UNKNOWN_COLUMNS,
        UNKNOWN_FEATURE,
        UNKNOWN_TASK,
        ExplainError,
        Explanation,
        ExplanationPoints,
        json_value,
    )
    from core.review.explain.shap_values import EXPLAINERS, MAX_ROWS, explain
    from core.review.explain.tree_kernel import compile_tree_kernel

_MODULES = {
    "ADDITIVITY_FAILED": "result",
    "BAD_CACHE": "result",
    "BAD_VALUE": "result",
    "EXPLAINERS": "shap_values",
    "ExplainError": "result",
    "Explanation": "result",
    "ExplanationPoints": "result",
    "FeatureMap": "features",
    "MAX_ROWS": "shap_values",
    "NOT_A_PIPELINE": "result",
    "NOT_FITTED": "result",
    "NO_PROBABILITIES": "result",
    "NO_ROWS": "result",
    "TASKS": "model",
    "UNKNOWN_CLASS": "result",
    "UNKNOWN_COLUMNS": "result",
    "UNKNOWN_FEATURE": "result",
    "UNKNOWN_TASK": "result",
    "compile_tree_kernel": "tree_kernel",
    "edited_row": "inspection",
    "explain": "shap_values",
    "feature_map": "features",
    "json_value": "result",
    "out_of_range": "inspection",
    "partial_dependence": "inspection",
    "permutation_importances": "inspection",
    "sample_rows": "model",
    "what_if": "inspection",
}

__all__ = [
    "ADDITIVITY_FAILED",
    "BAD_CACHE",
    "BAD_VALUE",
    "EXPLAINERS",
    "MAX_ROWS",
    "NOT_A_PIPELINE",
    "NOT_FITTED",
    "NO_PROBABILITIES",
    "NO_ROWS",
    "TASKS",
    "UNKNOWN_CLASS",
    "UNKNOWN_COLUMNS",
    "UNKNOWN_FEATURE",
    "UNKNOWN_TASK",
    "ExplainError",
    "Explanation",
    "ExplanationPoints",
    "FeatureMap",
    "compile_tree_kernel",
    "edited_row",
    "explain",
    "feature_map",
    "json_value",
    "out_of_range",
    "partial_dependence",
    "permutation_importances",
    "sample_rows",
    "what_if",
]


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
