"""Every read of scikit-learn's private or undocumented state, behind small typed accessors.

Tree SHAP and the ONNX export read fitted trees node by node, and the studio's transformers
name their outputs as scikit-learn's own do. None of that is public API, so it is read here
and only here; tests/core/review/test_sklearn_internals.py fits tiny real estimators and checks
every accessor's shapes and types, so a scikit-learn release that moves any of it fails there
with the name of the layout that changed, not deep inside an explanation or a conversion.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.utils.validation import _check_feature_names_in

# The scikit-learn versions whose private state is known to read as below, lower bound included
# and upper bound excluded; pyproject.toml declares the same range (a test checks).
TESTED_RANGE = ("1.6", "1.10")
# The fields of HistGradientBoosting's node records (sklearn.ensemble._hist_gradient_boosting.
# common.PREDICTOR_RECORD_DTYPE) that the studio reads.
BOOSTED_NODE_FIELDS = (
    "value",
    "count",
    "feature_idx",
    "num_threshold",
    "missing_go_to_left",
    "left",
    "right",
    "is_leaf",
    "is_categorical",
)


@dataclass(frozen=True, eq=False)
class TreeArrays:
    """One fitted decision tree (``estimator.tree_``) as plain arrays, one entry per node.

    ``left``/``right`` are the children (-1 at a leaf), ``feature`` the split column (negative
    at a leaf), ``threshold`` the split (x <= threshold goes left), ``missing_left`` where a
    missing value goes, ``cover`` the weighted training rows through the node, and ``value``
    the node's value shaped (nodes, outputs, classes or 1): class fractions or counts for a
    classifier, the mean for a regressor.
    """

    left: np.ndarray
    right: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray
    missing_left: np.ndarray
    cover: np.ndarray
    value: np.ndarray
    n_outputs: int


def fitted_trees(model: Any) -> list[Any]:
    """The fitted trees of a forest (``estimators_``), or the model itself for one tree."""
    fitted = getattr(model, "estimators_", None)
    return [model] if fitted is None else list(fitted)


def tree_arrays(estimator: Any) -> TreeArrays:
    """A fitted DecisionTree/ExtraTree's low-level ``tree_`` (sklearn.tree._tree.Tree)."""
    tree = estimator.tree_
    missing = getattr(tree, "missing_go_to_left", np.zeros(tree.node_count, dtype=np.uint8))
    return TreeArrays(
        left=np.asarray(tree.children_left).astype(np.int64),
        right=np.asarray(tree.children_right).astype(np.int64),
        feature=np.asarray(tree.feature).astype(np.int64),
        threshold=np.asarray(tree.threshold).astype(np.float64),
        missing_left=np.asarray(missing, dtype=np.bool_),
        cover=np.asarray(tree.weighted_n_node_samples).astype(np.float64),
        value=np.asarray(tree.value, dtype=np.float64),
        n_outputs=int(tree.n_outputs),
    )


def boosted_nodes(model: Any) -> list[list[np.ndarray]]:
    """A fitted HistGradientBoosting model's trees as node record arrays (fields in
    BOOSTED_NODE_FIELDS), one list per iteration holding one tree per raw-score column:
    ``model._predictors[i][k].nodes``."""
    return [[predictor.nodes for predictor in iteration] for iteration in model._predictors]


def boosted_baseline(model: Any) -> np.ndarray:
    """A fitted HistGradientBoosting model's starting raw score, one per raw-score column
    (``model._baseline_prediction``), as float64 of shape (n_trees_per_iteration_,)."""
    return np.asarray(model._baseline_prediction, dtype=np.float64).ravel()


def groups_infrequent(encoder: Any) -> bool:
    """Whether a fitted OneHotEncoder/OrdinalEncoder folds rare levels into one
    (``encoder._infrequent_enabled``; False for any other step)."""
    return bool(getattr(encoder, "_infrequent_enabled", False))


def input_feature_names(estimator: Any, input_features: Any) -> np.ndarray:
    """The input names ``get_feature_names_out`` starts from, checked against
    ``feature_names_in_`` the way scikit-learn's own transformers check them."""
    return np.asarray(_check_feature_names_in(estimator, input_features))
