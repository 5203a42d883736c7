"""scikit-learn's private state, read only in sklearn_internals: each accessor on tiny real fits.

A failure here means the installed scikit-learn laid something out differently from the
versions the studio was tested with; the message names what changed and where to fix it.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sklearn
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
)
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from core.review.explain import sklearn_internals
from core.review.explain.sklearn_internals import (
    BOOSTED_NODE_FIELDS,
    TreeArrays,
    boosted_baseline,
    boosted_nodes,
    fitted_trees,
    input_feature_names,
    tree_arrays,
)

FIX = "update core/review/explain/sklearn_internals.py"


def _changed(what: str) -> str:
    return f"scikit-learn {sklearn.__version__} changed {what}; {FIX}"


def _data(n: int = 80, classes: int = 2) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})
    X.loc[:4, "a"] = np.nan
    y = (X["b"].to_numpy() > 0).astype(int) + (classes > 2) * (X["b"].to_numpy() > 1)
    return X, y


@pytest.mark.parametrize(
    ("model", "classes"),
    [(DecisionTreeClassifier(max_depth=3, random_state=0), 2), (DecisionTreeRegressor(), 1)],
)
def test_tree_arrays_reads_a_fitted_trees_nodes(model, classes) -> None:
    X, y = _data()
    model.fit(X, y)
    try:
        tree = tree_arrays(model)
    except AttributeError as error:
        pytest.fail(_changed(f"the low-level Tree behind tree_ ({error})"))
    assert isinstance(tree, TreeArrays)
    nodes = len(tree.left)
    assert nodes == model.tree_.node_count, _changed("Tree.children_left's length")
    for name, kind in (
        ("left", "i"),
        ("right", "i"),
        ("feature", "i"),
        ("threshold", "f"),
        ("missing_left", "b"),
        ("cover", "f"),
    ):
        array = getattr(tree, name)
        assert array.shape == (nodes,), _changed(f"the shape of Tree's {name} array")
        assert array.dtype.kind == kind, _changed(f"the dtype of Tree's {name} array")
    assert tree.value.shape == (nodes, 1, classes), _changed("Tree.value's (nodes, outputs, k)")
    assert tree.n_outputs == 1, _changed("Tree.n_outputs")
    leaves = tree.left == -1
    assert (tree.right[leaves] == -1).all(), _changed("how Tree marks a leaf (children -1)")
    assert (tree.feature[~leaves] >= 0).all() and (tree.feature[leaves] < 0).all(), _changed(
        "how Tree marks a leaf's feature"
    )
    assert tree.cover[0] == pytest.approx(len(X)), _changed("Tree.weighted_n_node_samples")


def test_fitted_trees_are_a_forests_estimators_or_the_tree_itself() -> None:
    X, y = _data()
    forest = RandomForestClassifier(n_estimators=3, max_depth=2, random_state=0).fit(X, y)
    single = DecisionTreeClassifier(max_depth=2).fit(X, y)
    assert len(fitted_trees(forest)) == 3, _changed("RandomForest's estimators_")
    assert all(hasattr(tree, "tree_") for tree in fitted_trees(forest)), _changed("tree_")
    assert fitted_trees(single) == [single]


@pytest.mark.parametrize(
    ("model", "per_iteration", "classes"),
    [
        (HistGradientBoostingClassifier(max_iter=3, random_state=0), 1, 2),
        (HistGradientBoostingClassifier(max_iter=3, random_state=0), 3, 3),
        (HistGradientBoostingRegressor(max_iter=3, random_state=0), 1, 1),
    ],
)
def test_boosted_nodes_and_baseline_read_histgradientboostings_predictors(
    model, per_iteration, classes
) -> None:
    X, y = _data(classes=classes)
    model.fit(X, y)
    try:
        iterations = boosted_nodes(model)
        baseline = boosted_baseline(model)
    except AttributeError as error:
        pytest.fail(_changed(f"HistGradientBoosting's _predictors layout ({error})"))
    assert len(iterations) == model.n_iter_, _changed("HistGradientBoosting's _predictors layout")
    assert all(len(trees) == per_iteration for trees in iterations), _changed(
        "HistGradientBoosting's _predictors layout (one tree per raw-score column)"
    )
    for trees in iterations:
        for nodes in trees:
            assert isinstance(nodes, np.ndarray) and nodes.ndim == 1, _changed(
                "TreePredictor.nodes (a 1-D record array)"
            )
            missing = set(BOOSTED_NODE_FIELDS) - set(nodes.dtype.names or ())
            assert not missing, _changed(f"PREDICTOR_RECORD_DTYPE (no {sorted(missing)})")
            leaves = nodes["is_leaf"].astype(bool)
            inner = nodes["left"][~leaves], nodes["right"][~leaves]
            assert all(((c > 0) & (c < len(nodes))).all() for c in inner), _changed(
                "how a node record points at its children"
            )
            assert nodes["count"][0] > 0, _changed("the node record's count field")
    assert baseline.dtype == np.float64
    assert baseline.shape == (per_iteration,), _changed(
        "HistGradientBoosting's _baseline_prediction"
    )


def test_boosted_baseline_plus_the_trees_is_the_raw_score() -> None:
    """The sum the ONNX export and Tree SHAP both rely on: raw score = baseline + leaf values."""
    X, y = _data()
    model = HistGradientBoostingRegressor(max_iter=4, random_state=0).fit(X, y)
    row = X.iloc[[10]].to_numpy(dtype=np.float64)[0]
    total = float(boosted_baseline(model)[0])
    for (nodes,) in boosted_nodes(model):
        node = 0
        while not nodes["is_leaf"][node]:
            value = row[nodes["feature_idx"][node]]
            left = value <= nodes["num_threshold"][node]
            if np.isnan(value):
                left = bool(nodes["missing_go_to_left"][node])
            node = nodes["left"][node] if left else nodes["right"][node]
        total += float(nodes["value"][node])
    assert total == pytest.approx(float(model.predict(X.iloc[[10]])[0])), _changed(
        "how HistGradientBoosting adds its baseline and its trees' leaf values"
    )


def test_input_feature_names_checks_names_as_sklearn_does() -> None:
    scaler = StandardScaler().fit(pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]}))
    assert list(input_feature_names(scaler, None)) == ["a", "b"], _changed(
        "_check_feature_names_in"
    )
    assert list(input_feature_names(scaler, ["a", "b"])) == ["a", "b"]
    with pytest.raises(ValueError):
        input_feature_names(scaler, ["a", "c"])
    unnamed = StandardScaler().fit(np.ones((2, 2)))
    assert list(input_feature_names(unnamed, None)) == ["x0", "x1"], _changed(
        "_check_feature_names_in's default names"
    )


def test_groups_infrequent_reads_whether_an_encoder_folds_rare_levels() -> None:
    levels = pd.DataFrame({"c": ["a"] * 5 + ["b"] * 5 + ["rare"]})
    folding = OneHotEncoder(min_frequency=2, handle_unknown="infrequent_if_exist").fit(levels)
    assert sklearn_internals.groups_infrequent(folding) is True, _changed("_infrequent_enabled")
    assert sklearn_internals.groups_infrequent(OneHotEncoder().fit(levels)) is False
    assert sklearn_internals.groups_infrequent(StandardScaler()) is False


def test_no_other_core_module_reads_sklearn_private_state() -> None:
    """The fence holds only if nothing else reads these names."""
    root = Path(__file__).resolve().parents[3] / "core"
    fenced = re.compile(
        r"\._predictors\b|\._baseline_prediction\b|\.tree_\b|_check_feature_names_in"
        r"|_infrequent_enabled"
    )
    offenders = [
        f"{path.relative_to(root.parent)}: {found.group(0)}"
        for path in sorted(root.rglob("*.py"))
        if path.name != "sklearn_internals.py"
        for found in fenced.finditer(path.read_text(encoding="utf-8"))
    ]
    assert offenders == [], (
        f"read scikit-learn's private state only in {sklearn_internals.__name__}: {offenders}"
    )


def test_the_private_types_the_model_file_allowlist_names_still_live_there() -> None:
    """skops records a type by its module path; scikit-learn moving one of these would make
    new model files name a type the allowlist does not (core/train/model_files.py)."""
    from core.train.model_files import TRUSTED_TYPES

    private = [name for name in TRUSTED_TYPES if name.startswith("sklearn.") and "._" in name]
    assert private
    for name in private:
        module, _, attribute = name.rpartition(".")
        assert hasattr(importlib.import_module(module), attribute), (
            f"scikit-learn {sklearn.__version__} moved {name}; update TRUSTED_TYPES in "
            "core/train/model_files.py"
        )
