"""Tree models as one double-precision TreeEnsemble, as scikit-learn computes them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from core.review.explain import sklearn_internals
from core.train.onnx import compat
from core.train.onnx.graph import (
    CATEGORICAL_SPLITS,
    LINKED_LOSS,
    SEVERAL_OUTPUTS,
    _add_labels,
    _classifier_shape,
    _constant,
    _is_double,
    _node,
    _NotConvertible,
    _regressor_shape,
)

# Trees written here as one double-precision TreeEnsemble: skl2onnx's float32 leaves miss the
# 1e-5 parity on regression targets in the hundreds or more, and its forests send missing
# values down the wrong branch (onnx/sklearn-onnx#1253).
TREE_REGRESSORS: tuple[type, ...] = (
    DecisionTreeRegressor,
    ExtraTreesRegressor,
    HistGradientBoostingRegressor,
    RandomForestRegressor,
)
TREE_CLASSIFIERS: tuple[type, ...] = (
    DecisionTreeClassifier,
    ExtraTreesClassifier,
    HistGradientBoostingClassifier,
    RandomForestClassifier,
)


@dataclass
class _Forest:
    """The attributes of one ai.onnx.ml TreeEnsemble node, built tree by tree. A leaf feeds one
    target, so a tree predicting several (class probabilities) is added once per target."""

    roots: list[int]
    features: list[int]
    splits: list[float]
    true_ids: list[int]
    true_leafs: list[int]
    false_ids: list[int]
    false_leafs: list[int]
    missing_true: list[int]
    leaf_weights: list[float]
    leaf_targets: list[int]

    def add(
        self,
        *,
        target: int = 0,
        is_leaf: np.ndarray,
        children: tuple[np.ndarray, np.ndarray],
        feature: np.ndarray,
        threshold: np.ndarray,
        missing_left: np.ndarray,
        value: np.ndarray,
    ) -> None:
        """One tree whose node 0 is the root: x <= threshold goes left, NaN as learned."""
        leaves, branches = np.flatnonzero(is_leaf), np.flatnonzero(~is_leaf)
        leaf_at = {int(node): len(self.leaf_weights) + i for i, node in enumerate(leaves)}
        branch_at = {int(node): len(self.splits) + i for i, node in enumerate(branches)}
        self.leaf_weights.extend(float(value[node]) for node in leaves)
        self.leaf_targets.extend([target] * len(leaves))
        if branches.size == 0:  # a lone leaf: a split whose both sides lead to it
            self.roots.append(len(self.splits))
            self._branch(0, 0.0, (leaf_at[0], 1), (leaf_at[0], 1), missing=0)
            return
        self.roots.append(branch_at[0])
        left, right = children
        for node in branches:
            sides = []
            for child in (int(left[node]), int(right[node])):
                sides.append((leaf_at[child], 1) if is_leaf[child] else (branch_at[child], 0))
            self._branch(
                int(feature[node]), float(threshold[node]), *sides, missing=int(missing_left[node])
            )

    def _branch(
        self,
        feature: int,
        split: float,
        true: tuple[int, int],
        false: tuple[int, int],
        *,
        missing: int,
    ) -> None:
        self.features.append(feature)
        self.splits.append(split)
        self.true_ids.append(true[0])
        self.true_leafs.append(true[1])
        self.false_ids.append(false[0])
        self.false_leafs.append(false[1])
        self.missing_true.append(missing)

    def attributes(self, *, targets: int = 1) -> dict[str, Any]:
        """Leaves are summed per target (averaging would count every per-class copy)."""
        from onnx import numpy_helper

        return {
            "aggregate_function": 1,
            "n_targets": targets,
            "post_transform": 0,
            "tree_roots": self.roots,
            "nodes_featureids": self.features,
            "nodes_modes": numpy_helper.from_array(np.zeros(len(self.splits), dtype=np.uint8)),
            "nodes_splits": numpy_helper.from_array(np.asarray(self.splits, dtype=np.float64)),
            "nodes_truenodeids": self.true_ids,
            "nodes_trueleafs": self.true_leafs,
            "nodes_falsenodeids": self.false_ids,
            "nodes_falseleafs": self.false_leafs,
            "nodes_missing_value_tracks_true": self.missing_true,
            "leaf_targetids": self.leaf_targets,
            "leaf_weights": numpy_helper.from_array(
                np.asarray(self.leaf_weights, dtype=np.float64)
            ),
        }


def _empty_forest() -> _Forest:
    return _Forest([], [], [], [], [], [], [], [], [], [])


def _sklearn_trees(model: Any) -> _Forest:
    """DecisionTree, RandomForest and ExtraTrees, one output: a regressor's value, or one
    tree per class holding that class's share of the leaf."""
    forest = _empty_forest()
    for estimator in sklearn_internals.fitted_trees(model):
        tree = sklearn_internals.tree_arrays(estimator)
        if tree.n_outputs != 1:
            raise _NotConvertible(type(model).__name__, SEVERAL_OUTPUTS)
        values = tree.value[:, 0, :]
        for target in range(values.shape[1]):
            forest.add(
                target=target,
                is_leaf=tree.left == -1,
                children=(tree.left, tree.right),
                feature=tree.feature,
                threshold=tree.threshold,
                missing_left=tree.missing_left,
                value=values[:, target],
            )
    return forest


def _boosted_trees(model: Any) -> _Forest:
    """HistGradientBoosting's predictors, one target per tree of an iteration (one per class
    for multiclass); its baseline is added after the sum."""
    forest = _empty_forest()
    for iteration in sklearn_internals.boosted_nodes(model):
        for target, nodes in enumerate(iteration):
            if nodes["is_categorical"].any():
                raise _NotConvertible(type(model).__name__, CATEGORICAL_SPLITS)
            forest.add(
                target=target,
                is_leaf=nodes["is_leaf"].astype(bool),
                children=(nodes["left"], nodes["right"]),
                feature=nodes["feature_idx"],
                threshold=nodes["num_threshold"].astype(np.float64),
                missing_left=nodes["missing_go_to_left"],
                value=nodes["value"].astype(np.float64),
            )
    return forest


def _boosted_raw(scope: Any, container: Any, model: Any, features: str) -> str:
    """HistGradientBoosting's raw score: its baseline plus the sum of its trees (in double,
    on double features, as scikit-learn compares them)."""
    targets = int(model.n_trees_per_iteration_)
    summed = _tree_ensemble(scope, container, features, _boosted_trees(model), targets=targets)
    baseline = sklearn_internals.boosted_baseline(model).reshape(1, targets)
    return _node(scope, container, "Add", [summed, _constant(scope, container, baseline)])


def _tree_regressor_shape(operator: Any, stock: Callable[[Any], None]) -> None:
    if _is_double(operator.inputs[0]):
        _regressor_shape(operator)
    else:
        stock(operator)


def _convert_tree_regressor(scope: Any, operator: Any, container: Any, stock: Any) -> None:
    """Regression trees as one TreeEnsemble in double. scikit-learn's trees read float32
    features (so the input is rounded to float32 first); HistGradientBoosting reads doubles
    and adds its baseline to the sum of its trees."""
    model, source = operator.raw_operator, operator.inputs[0]
    if not _is_double(source):
        stock(scope, operator, compat.IntegerFlags(container))
        return
    if isinstance(model, HistGradientBoostingRegressor):
        loss = getattr(model, "loss", "squared_error")
        if loss != "squared_error":
            raise _NotConvertible(type(model).__name__, LINKED_LOSS.format(loss=loss))
        raw = _boosted_raw(scope, container, model, source.full_name)
        _node(scope, container, "Identity", [raw], output=operator.outputs[0].full_name)
        return
    features = _rounded_to_float32(scope, container, source.full_name)
    _tree_ensemble(
        scope,
        container,
        features,
        _sklearn_trees(model),
        trees=len(sklearn_internals.fitted_trees(model)),
        output=operator.outputs[0].full_name,
    )


def _tree_ensemble(
    scope: Any,
    container: Any,
    features: str,
    forest: _Forest,
    *,
    targets: int = 1,
    trees: int = 1,
    output: str | None = None,
) -> str:
    """The forest's sum per target, divided by ``trees`` (a forest averages its trees)."""
    summed = _node(
        scope,
        container,
        "TreeEnsemble",
        [features],
        output=output if trees == 1 else None,
        domain="ai.onnx.ml",
        version=compat.TARGET_OPSET["ai.onnx.ml"],  # raised to TREE_ENSEMBLE_OPSET after conversion
        **forest.attributes(targets=targets),
    )
    if trees == 1:
        return summed
    count = _constant(scope, container, np.asarray([float(trees)]), seed="trees")
    return _node(scope, container, "Div", [summed, count], output=output)


def _rounded_to_float32(scope: Any, container: Any, name: str) -> str:
    """Doubles rounded to float32 and back, as scikit-learn's trees read their features."""
    from onnx import TensorProto

    narrow = _node(scope, container, "Cast", [name], to=TensorProto.FLOAT)
    return _node(scope, container, "Cast", [narrow], to=TensorProto.DOUBLE)


def _tree_classifier_shape(operator: Any, stock: Callable[[Any], None]) -> None:
    if _is_double(operator.inputs[0]):
        _classifier_shape(operator)
    else:
        stock(operator)


def _convert_tree_classifier(scope: Any, operator: Any, container: Any, stock: Any) -> None:
    """Tree classifiers as one TreeEnsemble in double: a forest's probabilities are the class
    shares of its leaves averaged over its trees, a booster's come from its raw scores; the
    label is the most probable class."""
    model, source = operator.raw_operator, operator.inputs[0]
    if not _is_double(source):
        stock(scope, operator, compat.IntegerFlags(container))
        return
    if isinstance(model, HistGradientBoostingClassifier):
        probabilities = _boosted_probabilities(scope, container, operator)
    else:
        probabilities = _forest_probabilities(scope, container, operator)
    _add_labels(scope, container, operator, probabilities)


def _boosted_probabilities(scope: Any, container: Any, operator: Any) -> str:
    """Binary: the logistic of the raw score for the second class, one minus it for the first;
    multiclass: the softmax of the raw scores, as scikit-learn's log loss does."""
    model, output = operator.raw_operator, operator.outputs[1].full_name
    raw = _boosted_raw(scope, container, model, operator.inputs[0].full_name)
    if model.n_trees_per_iteration_ > 1:
        return _node(scope, container, "Softmax", [raw], output=output, axis=1)
    second = _node(scope, container, "Sigmoid", [raw])
    one = _constant(scope, container, np.asarray([[1.0]]), seed="one")
    first = _node(scope, container, "Sub", [one, second])
    return _node(scope, container, "Concat", [first, second], output=output, axis=1)


def _forest_probabilities(scope: Any, container: Any, operator: Any) -> str:
    model = operator.raw_operator
    features = _rounded_to_float32(scope, container, operator.inputs[0].full_name)
    return _tree_ensemble(
        scope,
        container,
        features,
        _sklearn_trees(model),
        targets=len(model.classes_),
        trees=len(sklearn_internals.fitted_trees(model)),
        output=operator.outputs[1].full_name,
    )
