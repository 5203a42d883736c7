"""Tree SHAP for scikit-learn's trees, forests and histogram gradient boosting."""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from core.review.explain import sklearn_internals
from core.review.explain.features import _encoded
from core.review.explain.model import _class_text
from core.review.explain.result import _Explained, _Inputs
from core.review.explain.tree_kernel import _kernel_ready, _prepare, _Prepared, _Tree, _tree_shap

# shap's TreeExplainer costs about this per row x leaf x depth^2 (measured: 1,000 rows of a
# 100-tree forest, 2,200 leaves a tree, took 245 s), plus importing shap the first time;
# compiling the kernel costs about 5 s, once per process.
SHAP_SECONDS_PER_UNIT = 5e-9
SHAP_IMPORT_SECONDS = 3.0
KERNEL_COMPILE_SECONDS = 5.0

_TREE_MODELS = (
    "DecisionTreeClassifier",
    "DecisionTreeRegressor",
    "ExtraTreeClassifier",
    "ExtraTreeRegressor",
    "RandomForestClassifier",
    "RandomForestRegressor",
    "ExtraTreesClassifier",
    "ExtraTreesRegressor",
)
_BOOSTED_MODELS = ("HistGradientBoostingClassifier", "HistGradientBoostingRegressor")


def _has_categorical_splits(model: Any) -> bool:
    for iteration in sklearn_internals.boosted_nodes(model):
        for nodes in iteration:
            if "is_categorical" in (nodes.dtype.names or ()) and bool(
                nodes["is_categorical"].any()
            ):
                return True
    return False


def _sklearn_tree(
    tree: sklearn_internals.TreeArrays, *, class_index: int | None, scale: float
) -> _Tree:
    values = tree.value[:, 0, :]
    if class_index is None:
        value = values[:, 0]
    else:  # class fractions, as predict_proba normalises them
        totals = values.sum(axis=1)
        value = values[:, class_index] / np.where(totals > 0, totals, 1.0)
    return _Tree(
        left=tree.left,
        right=tree.right,
        feature=tree.feature,
        threshold=tree.threshold,
        missing_left=tree.missing_left,
        cover=tree.cover,
        value=np.asarray(value, dtype=np.float64) * scale,
    )


def _boosted_tree(nodes: np.ndarray, *, sign: float) -> _Tree:
    leaf = nodes["is_leaf"].astype(bool)
    return _Tree(
        left=np.where(leaf, -1, nodes["left"].astype(np.int64)),
        right=np.where(leaf, -1, nodes["right"].astype(np.int64)),
        feature=np.where(leaf, -2, nodes["feature_idx"].astype(np.int64)),
        threshold=nodes["num_threshold"].astype(np.float64),
        missing_left=nodes["missing_go_to_left"].astype(np.bool_),
        cover=nodes["count"].astype(np.float64),
        value=nodes["value"].astype(np.float64) * sign,
    )


def _tree_explanation(inputs: _Inputs) -> _Explained:
    pipeline, rows, mapping = inputs.pipeline, inputs.rows, inputs.mapping
    class_index, task = inputs.class_index, inputs.task
    model = pipeline.steps[-1][1]
    encoded = _encoded(pipeline, rows, mapping.encoded)
    boosted = type(model).__name__ in _BOOSTED_MODELS
    trees, offset, output, sign = (
        _boosted_trees(pipeline, model, class_index, task)
        if boosted
        else _forest_trees(pipeline, model, class_index, task)
    )
    matrix = encoded.to_numpy(dtype=np.float64)
    if not boosted:  # scikit-learn's trees compare float32 inputs with their thresholds
        matrix = matrix.astype(np.float32).astype(np.float64)
    prepared = _prepare(trees)
    if _cheaper_with_shap(prepared, len(matrix)):
        values, base = _shap_tree_values(model, encoded, class_index, sign)
    else:
        values = _tree_shap(prepared, np.ascontiguousarray(matrix), inputs.n_jobs)
        base = offset + prepared.expected
    return _Explained(
        output=output,
        base_value=base,
        encoded_features=[str(name) for name in encoded.columns],
        encoded_values=values,
        outputs=sign * _tree_outputs(model, encoded, class_index, task, boosted),
    )


def _cheaper_with_shap(prepared: _Prepared, rows: int) -> bool:
    """Before the kernel is compiled in this process (a one-off of a few seconds), small jobs,
    such as one what-if row, are quicker with shap's TreeExplainer, which gives the same values;
    its cost grows with rows x leaves x depth^2, the kernel's with rows x nodes."""
    if _kernel_ready():
        return False
    leaves = np.add.reduceat(prepared.leaf.astype(np.int64), prepared.starts)
    work = rows * float(np.sum(leaves * prepared.max_depths.astype(float) ** 2))
    importing = 0.0 if "shap" in sys.modules else SHAP_IMPORT_SECONDS
    return importing + work * SHAP_SECONDS_PER_UNIT < KERNEL_COMPILE_SECONDS


def _shap_tree_values(
    model: Any, encoded: pd.DataFrame, class_index: int, sign: float
) -> tuple[np.ndarray, float]:
    import shap

    explainer = shap.TreeExplainer(model)
    values = np.asarray(explainer.shap_values(encoded, check_additivity=False), dtype=np.float64)
    expected = np.atleast_1d(np.asarray(explainer.expected_value, dtype=np.float64))
    if values.ndim == 3:
        return values[:, :, class_index], float(expected[class_index])
    return sign * values, sign * float(expected[0])


def _forest_trees(
    pipeline: Pipeline, model: Any, class_index: int, task: str
) -> tuple[list[_Tree], float, str, float]:
    estimators = sklearn_internals.fitted_trees(model)
    scale = 1.0 / len(estimators)
    index = None if task == "regression" else class_index
    trees = [
        _sklearn_tree(sklearn_internals.tree_arrays(e), class_index=index, scale=scale)
        for e in estimators
    ]
    if task == "regression":
        return trees, 0.0, "predicted value", 1.0
    return trees, 0.0, f"probability of class {_class_text(pipeline, class_index)}", 1.0


def _boosted_trees(
    pipeline: Pipeline, model: Any, class_index: int, task: str
) -> tuple[list[_Tree], float, str, float]:
    baseline = sklearn_internals.boosted_baseline(model)
    iterations = sklearn_internals.boosted_nodes(model)
    per_iteration = len(iterations[0])
    column = class_index if per_iteration > 1 else 0
    # a binary model boosts the log-odds of classes_[1]; class 0's log-odds is its negative
    sign = -1.0 if task != "regression" and per_iteration == 1 and class_index == 0 else 1.0
    trees = [_boosted_tree(nodes[column], sign=sign) for nodes in iterations]
    offset = sign * float(baseline[column])
    if task == "regression":
        output = "log of the predicted value" if _log_link(model) else "predicted value"
        return trees, offset, output, 1.0
    label = _class_text(pipeline, class_index)
    space = "log-odds" if per_iteration == 1 else "raw score (softmax logit)"
    return trees, offset, f"{space} of class {label}", sign


def _log_link(model: Any) -> bool:
    return getattr(model, "loss", "") in ("poisson", "gamma")


def _tree_outputs(
    model: Any, encoded: pd.DataFrame, class_index: int, task: str, boosted: bool
) -> np.ndarray:
    """The model's own output in the explained space, for the additivity check."""
    if not boosted:
        if task == "regression":
            return np.asarray(model.predict(encoded), dtype=np.float64)
        return np.asarray(model.predict_proba(encoded), dtype=np.float64)[:, class_index]
    if task == "regression":
        predicted = np.asarray(model.predict(encoded), dtype=np.float64)
        return np.log(predicted) if _log_link(model) else predicted
    raw = np.asarray(model.decision_function(encoded), dtype=np.float64)
    return raw if raw.ndim == 1 else raw[:, class_index]
