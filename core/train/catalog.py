"""The model catalog: a registry of small specs, each an estimator builder with its search space."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

CLASSIFICATION = ("binary", "multiclass")
REGRESSION = ("regression",)
BASELINE = "dummy"
UNKNOWN_MODEL = "There is no model called {name!r}. Choose from: {choices}."
WRONG_TASK = "{title} does not do {task}; for {task} choose from: {choices}."


class CatalogError(ValueError):
    """A model name that is not in the catalog or does not fit the task."""


# -- search spaces ---------------------------------------------------------------------------


@dataclass(frozen=True)
class IntRange:
    """Whole numbers from low to high inclusive, optionally on a log scale."""

    low: int
    high: int
    log: bool = False
    grid: tuple[int, ...] = ()

    def sample(self, rng: np.random.Generator) -> int:
        if self.log:
            return int(round(math.exp(rng.uniform(math.log(self.low), math.log(self.high)))))
        return int(rng.integers(self.low, self.high + 1))

    def grid_values(self) -> tuple[int, ...]:
        return self.grid or tuple(sorted({self.low, (self.low + self.high) // 2, self.high}))


@dataclass(frozen=True)
class FloatRange:
    """Real numbers from low to high, optionally on a log scale."""

    low: float
    high: float
    log: bool = False
    grid: tuple[float, ...] = ()

    def sample(self, rng: np.random.Generator) -> float:
        if self.log:
            return float(math.exp(rng.uniform(math.log(self.low), math.log(self.high))))
        return float(rng.uniform(self.low, self.high))

    def grid_values(self) -> tuple[float, ...]:
        if self.grid:
            return self.grid
        middle = math.sqrt(self.low * self.high) if self.log else (self.low + self.high) / 2
        return (self.low, middle, self.high)


@dataclass(frozen=True)
class Choice:
    """One of a few values (numbers, text, booleans or None)."""

    values: tuple[Any, ...]

    def sample(self, rng: np.random.Generator) -> Any:
        return self.values[int(rng.integers(len(self.values)))]

    def grid_values(self) -> tuple[Any, ...]:
        return self.values


Space = dict[str, IntRange | FloatRange | Choice]


def grid_of(space: Space) -> list[dict[str, Any]]:
    """Every combination of the space's grid values, in a stable order."""
    names = sorted(space)
    values = [space[name].grid_values() for name in names]
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*values)]


def sample_params(space: Space, rng: np.random.Generator) -> dict[str, Any]:
    return {name: space[name].sample(rng) for name in sorted(space)}


def space_to_json(space: Space) -> dict[str, Any]:
    """A JSON view of a search space, for the run record and the UI."""
    described: dict[str, Any] = {}
    for name, dimension in sorted(space.items()):
        if isinstance(dimension, Choice):
            described[name] = {"choice": list(dimension.values)}
        else:
            kind = "int" if isinstance(dimension, IntRange) else "float"
            described[name] = {kind: [dimension.low, dimension.high], "log": dimension.log}
    return described


# -- the catalog -----------------------------------------------------------------------------

Builder = Callable[[str, int], Any]


@dataclass(frozen=True)
class ModelSpec:
    """A model the studio can train: what it is called, which tasks it does and how to search it."""

    name: str
    title: str
    tasks: tuple[str, ...]
    build: Builder = field(repr=False)
    space: Callable[[str], Space] = field(repr=False)
    summary: str = ""

    def estimator(self, task: str, *, seed: int, params: dict[str, Any] | None = None) -> Any:
        """An unfitted estimator for ``task`` with ``params`` applied over the defaults."""
        estimator = self.build(task, seed)
        if params:
            estimator.set_params(**params)
        return estimator

    def search_space(self, task: str) -> Space:
        return self.space(task)


CATALOG: dict[str, ModelSpec] = {}


def model(
    name: str, *, title: str, tasks: tuple[str, ...], space: Callable[[str], Space], summary: str
) -> Callable[[Builder], Builder]:
    """Register a model builder under ``name``; adding a model is one decorated function."""

    def register(build: Builder) -> Builder:
        CATALOG[name] = ModelSpec(name, title, tasks, build, space, summary)
        return build

    return register


def model_spec(name: str, *, task: str | None = None) -> ModelSpec:
    """The spec called ``name``; raises CatalogError when unknown or not for ``task``."""
    if name not in CATALOG:
        raise CatalogError(UNKNOWN_MODEL.format(name=name, choices=", ".join(CATALOG)))
    spec = CATALOG[name]
    if task is not None and task not in spec.tasks:
        choices = ", ".join(models_for(task))
        raise CatalogError(WRONG_TASK.format(title=spec.title, task=task, choices=choices))
    return spec


def models_for(task: str) -> list[str]:
    """Names of the models that do ``task``, in catalog order."""
    return [name for name, spec in CATALOG.items() if task in spec.tasks]


def iter_specs(task: str) -> Iterator[ModelSpec]:
    return (CATALOG[name] for name in models_for(task))


def _classifying(task: str) -> bool:
    return task in CLASSIFICATION


# -- the models ------------------------------------------------------------------------------


def _no_space(task: str) -> Space:
    return {}


@model(
    BASELINE,
    title="Baseline (dummy)",
    tasks=CLASSIFICATION + REGRESSION,
    space=_no_space,
    summary="Predicts the class frequencies or the mean; every other model must beat it.",
)
def _dummy(task: str, seed: int) -> Any:
    from sklearn.dummy import DummyClassifier, DummyRegressor

    if _classifying(task):
        return DummyClassifier(strategy="prior")
    return DummyRegressor(strategy="mean")


def _logistic_space(task: str) -> Space:
    return {
        "C": FloatRange(1e-3, 1e2, log=True, grid=(0.01, 0.1, 1.0, 10.0)),
        "class_weight": Choice((None, "balanced")),
    }


@model(
    "logistic_regression",
    title="Logistic regression",
    tasks=CLASSIFICATION,
    space=_logistic_space,
    summary="A linear model of the log-odds; fast, well calibrated, easy to explain.",
)
def _logistic(task: str, seed: int) -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=1.0, max_iter=2000, random_state=seed)


def _alpha_space(task: str) -> Space:
    return {"alpha": FloatRange(1e-3, 1e2, log=True, grid=(0.01, 0.1, 1.0, 10.0))}


@model(
    "ridge",
    title="Ridge regression",
    tasks=REGRESSION,
    space=_alpha_space,
    summary="Linear regression with an L2 penalty.",
)
def _ridge(task: str, seed: int) -> Any:
    from sklearn.linear_model import Ridge

    return Ridge(alpha=1.0)


def _lasso_space(task: str) -> Space:
    return {"alpha": FloatRange(1e-4, 10.0, log=True, grid=(0.001, 0.01, 0.1, 1.0))}


@model(
    "lasso",
    title="Lasso regression",
    tasks=REGRESSION,
    space=_lasso_space,
    summary="Linear regression with an L1 penalty that drops weak features.",
)
def _lasso(task: str, seed: int) -> Any:
    from sklearn.linear_model import Lasso

    return Lasso(alpha=0.01, max_iter=5000, random_state=seed)


def _elastic_space(task: str) -> Space:
    return {
        "alpha": FloatRange(1e-4, 10.0, log=True, grid=(0.001, 0.01, 0.1, 1.0)),
        "l1_ratio": FloatRange(0.05, 0.95, grid=(0.2, 0.5, 0.8)),
    }


@model(
    "elastic_net",
    title="Elastic net",
    tasks=REGRESSION,
    space=_elastic_space,
    summary="Linear regression mixing L1 and L2 penalties.",
)
def _elastic_net(task: str, seed: int) -> Any:
    from sklearn.linear_model import ElasticNet

    return ElasticNet(alpha=0.01, l1_ratio=0.5, max_iter=5000, random_state=seed)


def _knn_space(task: str) -> Space:
    return {
        "n_neighbors": IntRange(3, 75, log=True, grid=(5, 15, 45)),
        "weights": Choice(("uniform", "distance")),
    }


@model(
    "knn",
    title="k-nearest neighbours",
    tasks=CLASSIFICATION + REGRESSION,
    space=_knn_space,
    summary="Predicts from the most similar training rows; slow to predict on large data.",
)
def _knn(task: str, seed: int) -> Any:
    from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor

    if _classifying(task):
        return KNeighborsClassifier(n_neighbors=15)
    return KNeighborsRegressor(n_neighbors=15)


def _svm_space(task: str) -> Space:
    prefix = "estimator__" if _classifying(task) else ""
    return {f"{prefix}C": FloatRange(1e-3, 10.0, log=True, grid=(0.01, 0.1, 1.0))}


@model(
    "linear_svm",
    title="Linear SVM",
    tasks=CLASSIFICATION + REGRESSION,
    space=_svm_space,
    summary="A maximum-margin linear model; probabilities come from calibration.",
)
def _linear_svm(task: str, seed: int) -> Any:
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.svm import LinearSVC, LinearSVR

    if _classifying(task):
        svc = LinearSVC(C=0.1, max_iter=5000, random_state=seed)
        return CalibratedClassifierCV(svc, cv=3, method="sigmoid")
    return LinearSVR(C=0.1, max_iter=5000, random_state=seed)


def _tree_space(task: str) -> Space:
    return {
        "max_depth": IntRange(2, 20, grid=(3, 6, 10)),
        "min_samples_leaf": IntRange(1, 100, log=True, grid=(1, 10, 50)),
    }


@model(
    "decision_tree",
    title="Decision tree",
    tasks=CLASSIFICATION + REGRESSION,
    space=_tree_space,
    summary="One tree of if-then splits; easy to read, prone to overfit.",
)
def _decision_tree(task: str, seed: int) -> Any:
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    if _classifying(task):
        return DecisionTreeClassifier(max_depth=6, min_samples_leaf=10, random_state=seed)
    return DecisionTreeRegressor(max_depth=6, min_samples_leaf=10, random_state=seed)


def _forest_space(task: str) -> Space:
    return {
        "n_estimators": IntRange(50, 400, log=True, grid=(100, 200)),
        "max_depth": Choice((None, 8, 16)),
        "min_samples_leaf": IntRange(1, 20, log=True, grid=(1, 5)),
        "max_features": Choice(("sqrt", 0.5)),
    }


@model(
    "random_forest",
    title="Random forest",
    tasks=CLASSIFICATION + REGRESSION,
    space=_forest_space,
    summary="Many decorrelated trees averaged; a strong, robust default.",
)
def _random_forest(task: str, seed: int) -> Any:
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

    kind = RandomForestClassifier if _classifying(task) else RandomForestRegressor
    return kind(n_estimators=100, min_samples_leaf=2, n_jobs=1, random_state=seed)


@model(
    "extra_trees",
    title="Extra trees",
    tasks=CLASSIFICATION + REGRESSION,
    space=_forest_space,
    summary="Like a random forest with random split points; faster, often as good.",
)
def _extra_trees(task: str, seed: int) -> Any:
    from sklearn.ensemble import ExtraTreesClassifier, ExtraTreesRegressor

    kind = ExtraTreesClassifier if _classifying(task) else ExtraTreesRegressor
    return kind(n_estimators=100, min_samples_leaf=2, n_jobs=1, random_state=seed)


def _boosting_space(task: str) -> Space:
    return {
        "learning_rate": FloatRange(0.01, 0.3, log=True, grid=(0.03, 0.1, 0.3)),
        "max_leaf_nodes": IntRange(7, 127, log=True, grid=(15, 31, 63)),
        "min_samples_leaf": IntRange(5, 200, log=True, grid=(20, 80)),
        "l2_regularization": FloatRange(1e-4, 10.0, log=True, grid=(0.0001, 1.0)),
    }


@model(
    "hist_gradient_boosting",
    title="Histogram gradient boosting",
    tasks=CLASSIFICATION + REGRESSION,
    space=_boosting_space,
    summary="Boosted trees on binned features; usually the most accurate on tabular data.",
)
def _hist_gradient_boosting(task: str, seed: int) -> Any:
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    kind = HistGradientBoostingClassifier if _classifying(task) else HistGradientBoostingRegressor
    return kind(max_iter=200, early_stopping=False, random_state=seed)
