"""SHAP values of a fitted pipeline in its raw columns, by the exact or sampled explainer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from core.review.explain.features import FeatureMap, _explained_data, feature_map
from core.review.explain.linear import _LINEAR_MODELS, _linear_explanation
from core.review.explain.model import (
    _check_task,
    _class_index,
    _class_label,
    _final_estimator,
    sample_rows,
)
from core.review.explain.result import (
    ADDITIVITY_FAILED,
    NO_ROWS,
    ExplainError,
    Explanation,
    _Explained,
    _Inputs,
)
from core.review.explain.sampled import _sampled_explanation, _sampled_rows
from core.review.explain.tree import (
    _BOOSTED_MODELS,
    _TREE_MODELS,
    _has_categorical_splits,
    _tree_explanation,
)

if TYPE_CHECKING:
    from core.jobs.compute import ComputeBackend

EXPLAINERS = ("tree", "linear", "permutation")
# rows per task on a Dask cluster; the exact explainers give each row the same values in any
# chunk (the sampled one draws its coalitions for all rows at once, so it stays in one piece)
CHUNK_ROWS = 200
CHUNKED = ("tree", "linear")
MAX_ROWS = 1000
# |base + sum(values) - output| allowed, relative to max(1, |output|). The sampled explainer adds
# up exactly by construction (its contributions telescope), so only its attribution is approximate.
ADDITIVITY_TOLERANCE = {"tree": 1e-6, "linear": 1e-6, "permutation": 1e-6}


# -- explaining ------------------------------------------------------------------------------


def explain(
    pipeline: Any,
    rows: pd.DataFrame,
    *,
    task: str,
    background: pd.DataFrame | None = None,
    max_rows: int = MAX_ROWS,
    seed: int = 0,
    n_jobs: int = 2,
    target_class: Any = None,
    backend: ComputeBackend | None = None,
) -> Explanation:
    """SHAP values of up to ``max_rows`` sampled rows, summed back to the raw columns.

    Tree models (decision tree, random forest, extra trees, histogram gradient boosting) get
    exact path-dependent Tree SHAP from the fitted trees, computed by a compiled kernel in
    ``n_jobs`` threads (no background needed). Linear models get exact linear SHAP against the
    mean of ``background`` (up to 1,000 rows; the rows themselves when None). Anything else
    gets permutation SHAP over the raw columns through the whole pipeline, with at most
    SAMPLED_BACKGROUND background rows and SAMPLED_EVALUATIONS model evaluations: additive
    exactly, approximate in how the total is shared.

    Classifiers are explained for ``target_class``: by default the positive class (classes_[1])
    of a binary model, and the class predicted most often among the rows of a multiclass one.

    On a Dask cluster (``backend``), the exact explainers run by chunks of rows on its workers.
    """
    _check_task(task)
    model = _final_estimator(pipeline)
    if rows is None or len(rows) == 0:
        raise ExplainError(NO_ROWS)
    mapping = feature_map(pipeline)
    kind = _explainer_for(model)
    if kind == "permutation" and not set(mapping.raw) <= set(rows.columns):
        columns = [str(name) for name in rows.columns]  # explained as the model's raw inputs
        mapping = FeatureMap(columns, columns, np.eye(len(columns)), {})
    limit = max_rows if kind != "permutation" else min(max_rows, _sampled_rows(mapping.raw))
    rows = sample_rows(rows, limit, seed=seed)
    class_index = _class_index(pipeline, rows, task=task, target_class=target_class)
    reference = background if background is not None else rows
    inputs = _Inputs(pipeline, rows, reference, mapping, class_index, task, n_jobs, seed)
    if _spread(backend, kind, len(rows)):
        assert backend is not None
        explained = _explained_in_chunks(kind, inputs, backend)
    else:
        explained = _EXPLAINERS[kind](inputs)
    raw_space = kind == "permutation"
    values = explained.encoded_values if raw_space else explained.encoded_values @ mapping.weights
    result = Explanation(
        task=task,
        explainer=kind,
        output=explained.output,
        base_value=float(explained.base_value),
        features=list(mapping.raw),
        values=values,
        data=_explained_data(pipeline, rows, mapping),
        encoded_features=list(explained.encoded_features),
        encoded_values=explained.encoded_values,
        outputs=explained.outputs,
        target_class=_class_label(pipeline, class_index),
        notes=explained.notes,
    )
    _check_additivity(result)
    return result


def _spread(backend: ComputeBackend | None, kind: str, rows: int) -> bool:
    from core.jobs.compute import LocalBackend

    return (
        backend is not None
        and not isinstance(backend, LocalBackend)
        and kind in CHUNKED
        and (rows > CHUNK_ROWS)
    )


def _explain_chunk(rows: pd.DataFrame, *, kind: str, inputs: _Inputs) -> _Explained:
    """One chunk of rows explained on a compute worker (it never opens the store)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        return _EXPLAINERS[kind](replace(inputs, rows=rows, n_jobs=1))


def _explained_in_chunks(kind: str, inputs: _Inputs, backend: ComputeBackend) -> _Explained:
    rows = inputs.rows
    chunks = [rows.iloc[start : start + CHUNK_ROWS] for start in range(0, len(rows), CHUNK_ROWS)]
    parts: list[_Explained] = backend.map(
        _explain_chunk, chunks, shared={"kind": kind, "inputs": replace(inputs, rows=rows.iloc[:0])}
    )
    first = parts[0]
    return _Explained(
        output=first.output,
        base_value=first.base_value,
        encoded_features=first.encoded_features,
        encoded_values=np.vstack([part.encoded_values for part in parts]),
        outputs=np.concatenate([part.outputs for part in parts]),
        notes=list(dict.fromkeys(note for part in parts for note in part.notes)),
    )


def _check_additivity(result: Explanation) -> None:
    if not result.rows:
        return
    totals = result.base_value + result.values.sum(axis=1)
    gaps = np.abs(totals - result.outputs) / np.maximum(1.0, np.abs(result.outputs))
    gap = float(np.nanmax(gaps)) if np.isfinite(gaps).any() else 0.0
    if gap > ADDITIVITY_TOLERANCE[result.explainer]:
        raise ExplainError(ADDITIVITY_FAILED.format(explainer=result.explainer, gap=gap))


def _explainer_for(model: Any) -> str:
    name = type(model).__name__
    if name in _TREE_MODELS and type(model).__module__.startswith("sklearn."):
        return "tree" if getattr(model, "n_outputs_", 1) == 1 else "permutation"
    if name in _BOOSTED_MODELS and not _has_categorical_splits(model):
        return "tree"
    if name in _LINEAR_MODELS and type(model).__module__.startswith("sklearn."):
        return "linear"
    return "permutation"


_EXPLAINERS: dict[str, Callable[[_Inputs], _Explained]] = {
    "tree": _tree_explanation,
    "linear": _linear_explanation,
    "permutation": _sampled_explanation,
}
