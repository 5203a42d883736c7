"""The model catalog: every model trains on tiny frames; its search space gives valid params."""

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from core.train import catalog
from core.train.catalog import CatalogError, Choice, FloatRange, IntRange, grid_of, sample_params

REQUIRED = {
    "dummy",
    "logistic_regression",
    "ridge",
    "lasso",
    "elastic_net",
    "knn",
    "linear_svm",
    "decision_tree",
    "random_forest",
    "extra_trees",
    "hist_gradient_boosting",
}


def _tiny(task: str, n: int = 60) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(3)
    X = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})
    if task == "regression":
        return X, pd.Series(X["a"] * 2 + rng.normal(scale=0.1, size=n))
    classes = 2 if task == "binary" else 3
    return X, pd.Series(np.arange(n) % classes)


def test_the_catalog_has_every_model_the_issue_names():
    assert set(catalog.CATALOG) >= REQUIRED


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_every_model_for_a_task_trains_and_predicts(task):
    X, y = _tiny(task)
    names = catalog.models_for(task)
    assert names[0] == "dummy"
    for name in names:
        model = catalog.model_spec(name, task=task).estimator(task, seed=0)
        model.fit(X, y)
        assert len(model.predict(X)) == len(X)
        if task != "regression":
            assert model.predict_proba(X).shape == (len(X), y.nunique())


@pytest.mark.parametrize("task", ["binary", "regression"])
def test_sampled_and_grid_params_are_accepted_by_the_estimator(task):
    rng = np.random.default_rng(0)
    X, y = _tiny(task)
    for spec in catalog.iter_specs(task):
        space = spec.search_space(task)
        for params in [sample_params(space, rng), grid_of(space)[-1] if space else {}]:
            model = clone(spec.estimator(task, seed=0, params=params))
            model.fit(X, y)


def test_unknown_model_and_wrong_task_say_what_to_choose():
    with pytest.raises(CatalogError, match="no model called 'xgboost'.*random_forest"):
        catalog.model_spec("xgboost")
    with pytest.raises(CatalogError, match="Ridge regression does not do binary"):
        catalog.model_spec("ridge", task="binary")


def test_space_dimensions():
    rng = np.random.default_rng(0)
    ints = IntRange(1, 100, log=True)
    floats = FloatRange(0.001, 10.0, log=True)
    for _ in range(200):
        assert 1 <= ints.sample(rng) <= 100
        assert 0.001 <= floats.sample(rng) <= 10.0
    assert Choice((None, "x")).grid_values() == (None, "x")
    assert len(grid_of({"a": Choice((1, 2)), "b": IntRange(0, 10, grid=(1, 5, 9))})) == 6
