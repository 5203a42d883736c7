"""Model explanations: SHAP in the raw columns, permutation importance, PDP/ICE and what-if."""

from __future__ import annotations

import functools
import math
import os
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from core.train.evaluate import (
    HIGHER_IS_BETTER,
    PRIMARY_METRIC,
    decision_scores,
    predictions,
    score_metric,
)

TASKS = ("binary", "multiclass", "regression")
EXPLAINERS = ("tree", "linear", "permutation")
MAX_ROWS = 1000
# The sampled explainer's bounds: background rows, and model evaluations (rows pushed through the
# whole pipeline) for one explanation; fewer rows are explained when a table has many columns.
SAMPLED_BACKGROUND = 50
SAMPLED_EVALUATIONS = 200_000
SAMPLED_BATCH = 20_000
PERMUTATION_PAIRS = 1
LINEAR_BACKGROUND = 1000
# |base + sum(values) - output| allowed, relative to max(1, |output|). The sampled explainer adds
# up exactly by construction (its contributions telescope), so only its attribution is approximate.
ADDITIVITY_TOLERANCE = {"tree": 1e-6, "linear": 1e-6, "permutation": 1e-6}
KERNEL_BLOCK = 32
# shap's TreeExplainer costs about this per row x leaf x depth^2 (measured: 1,000 rows of a
# 100-tree forest, 2,200 leaves a tree, took 245 s), plus importing shap the first time;
# compiling the kernel costs about 5 s, once per process.
SHAP_SECONDS_PER_UNIT = 5e-9
SHAP_IMPORT_SECONDS = 3.0
KERNEL_COMPILE_SECONDS = 5.0
PDP_ROWS = 500
PDP_QUANTILES = (0.05, 0.95)

UNKNOWN_TASK = "Unknown task {task!r}; choose one of binary, multiclass or regression."
NOT_A_PIPELINE = (
    "Explanations need the fitted model pipeline (feature steps, then the model), not {found}."
)
NOT_FITTED = "The model pipeline has not been fitted yet, so there is nothing to explain."
NO_ROWS = "There are no rows to explain. Choose a dataset version with rows."
NO_PROBABILITIES = (
    "{model} does not give probabilities (it has no predict_proba), so its {what} cannot be "
    "computed. Retrain with a model that gives probabilities, such as logistic regression."
)
UNKNOWN_CLASS = "{value!r} is not a class this model predicts; its classes are {classes}."
UNKNOWN_FEATURE = "{feature!r} is not one of the model's input columns. Choose from: {choices}."
UNKNOWN_COLUMNS = "The row holds columns the model was not trained on: {columns}."
BAD_VALUE = "Column {feature!r} holds {kind} values; {value!r} cannot be read as one."
ADDITIVITY_FAILED = (
    "The {explainer} explainer's values do not add up to the model's output (largest gap "
    "{gap:.3g}), so they are not shown. Please report this model type."
)
BAD_CACHE = "The saved explanation is incomplete or inconsistent ({problem}); compute it again."

Predict = Callable[[pd.DataFrame], np.ndarray]


class ExplainError(ValueError):
    """A model or input that cannot be explained as asked; the message says what to do."""


# -- the result ------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Explanation:
    """SHAP values of some rows, in the raw columns' names and in the model's encoded features.

    ``values[i].sum() + base_value == outputs[i]``: the model's output for row i in the space
    ``output`` names (a probability, log-odds, a decision score or the predicted value).
    """

    task: str
    explainer: str
    output: str
    base_value: float
    features: list[str]
    values: np.ndarray
    data: pd.DataFrame
    encoded_features: list[str]
    encoded_values: np.ndarray
    outputs: np.ndarray
    target_class: Any = None
    notes: list[str] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return int(self.values.shape[0])

    def mean_abs(self) -> list[tuple[str, float]]:
        """Global importance: mean |SHAP| of each raw column, largest first."""
        means = np.abs(self.values).mean(axis=0) if self.rows else np.zeros(len(self.features))
        pairs = [(name, float(value)) for name, value in zip(self.features, means, strict=True)]
        return sorted(pairs, key=lambda pair: -pair[1])

    def local(self, index: int) -> dict[str, Any]:
        """One row's explanation, JSON-ready, for a waterfall."""
        return {
            "output": self.output,
            "base_value": self.base_value,
            "output_value": float(self.outputs[index]),
            "features": list(self.features),
            "values": [float(value) for value in self.values[index]],
            "data": [json_value(value) for value in self.data.iloc[index]],
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, as the explanation charts read it."""
        return {
            "task": self.task,
            "explainer": self.explainer,
            "output": self.output,
            "base_value": self.base_value,
            "target_class": json_value(self.target_class),
            "features": list(self.features),
            "values": self.values.tolist(),
            "data": [[json_value(value) for value in row] for row in self.data.itertuples(False)],
            "outputs": self.outputs.tolist(),
            "importance": [list(pair) for pair in self.mean_abs()],
            "notes": list(self.notes),
        }

    def to_frames(self) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
        """Frames for Parquet and the rest for JSON; columns are positional so any name works."""
        values = pd.DataFrame(self.values, columns=[f"f{i}" for i in range(len(self.features))])
        values["output"] = self.outputs
        encoded = pd.DataFrame(
            self.encoded_values, columns=[f"e{i}" for i in range(len(self.encoded_features))]
        )
        meta = {
            "task": self.task,
            "explainer": self.explainer,
            "output": self.output,
            "base_value": self.base_value,
            "target_class": json_value(self.target_class),
            "features": list(self.features),
            "encoded_features": list(self.encoded_features),
            "notes": list(self.notes),
        }
        frames = {"values": values, "encoded": encoded, "data": self.data.reset_index(drop=True)}
        return frames, meta

    @classmethod
    def from_frames(cls, frames: dict[str, pd.DataFrame], meta: dict[str, Any]) -> Explanation:
        try:
            features = [str(name) for name in meta["features"]]
            encoded_features = [str(name) for name in meta["encoded_features"]]
            values = frames["values"]
            encoded, data = frames["encoded"], frames["data"]
            explanation = cls(
                task=str(meta["task"]),
                explainer=str(meta["explainer"]),
                output=str(meta["output"]),
                base_value=float(meta["base_value"]),
                features=features,
                values=values[[f"f{i}" for i in range(len(features))]].to_numpy(dtype=float),
                data=data,
                encoded_features=encoded_features,
                encoded_values=encoded[[f"e{i}" for i in range(len(encoded_features))]]
                .to_numpy(dtype=float)
                .reshape(len(encoded), len(encoded_features)),
                outputs=values["output"].to_numpy(dtype=float),
                target_class=meta.get("target_class"),
                notes=list(meta.get("notes") or []),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise ExplainError(BAD_CACHE.format(problem=f"missing {error}")) from error
        if not len(values) == len(encoded) == len(data):
            raise ExplainError(BAD_CACHE.format(problem="row counts differ"))
        return explanation


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


def _explained_data(pipeline: Pipeline, rows: pd.DataFrame, mapping: FeatureMap) -> pd.DataFrame:
    """The explained rows in the explained columns: raw ones, or encoded when no raw map."""
    if set(mapping.raw) <= set(rows.columns):
        return rows[mapping.raw].reset_index(drop=True)
    return _encoded(pipeline, rows, mapping.encoded).reset_index(drop=True)


@dataclass(frozen=True, eq=False)
class _Inputs:
    """What every explainer is given."""

    pipeline: Pipeline
    rows: pd.DataFrame
    background: pd.DataFrame
    mapping: FeatureMap
    class_index: int
    task: str
    n_jobs: int
    seed: int


@dataclass(frozen=True, eq=False)
class _Explained:
    """What one explainer returns, before the raw-column aggregation."""

    output: str
    base_value: float
    encoded_features: list[str]
    encoded_values: np.ndarray
    outputs: np.ndarray
    notes: list[str] = field(default_factory=list)


def _check_task(task: str) -> None:
    if task not in TASKS:
        raise ExplainError(UNKNOWN_TASK.format(task=task))


def _final_estimator(pipeline: Any) -> Any:
    if not isinstance(pipeline, Pipeline):
        raise ExplainError(NOT_A_PIPELINE.format(found=type(pipeline).__name__))
    model = pipeline.steps[-1][1]
    try:
        check_is_fitted(model)
    except NotFittedError as error:
        raise ExplainError(NOT_FITTED) from error
    return model


def _check_additivity(result: Explanation) -> None:
    if not result.rows:
        return
    totals = result.base_value + result.values.sum(axis=1)
    gaps = np.abs(totals - result.outputs) / np.maximum(1.0, np.abs(result.outputs))
    gap = float(np.nanmax(gaps)) if np.isfinite(gaps).any() else 0.0
    if gap > ADDITIVITY_TOLERANCE[result.explainer]:
        raise ExplainError(ADDITIVITY_FAILED.format(explainer=result.explainer, gap=gap))


def sample_rows(frame: pd.DataFrame, limit: int, *, seed: int = 0) -> pd.DataFrame:
    """At most ``limit`` rows drawn without replacement, kept in their original order."""
    return frame.iloc[_positions(len(frame), limit, seed)].reset_index(drop=True)


def _positions(count: int, limit: int, seed: int) -> np.ndarray:
    if count <= limit:
        return np.arange(count)
    return np.sort(np.random.default_rng(seed).choice(count, limit, replace=False))


def _class_index(pipeline: Any, rows: pd.DataFrame, *, task: str, target_class: Any) -> int:
    if task == "regression":
        return 0
    classes = list(pipeline.classes_)
    if target_class is not None:
        matches = [i for i, label in enumerate(classes) if _same_label(label, target_class)]
        if not matches:
            raise ExplainError(UNKNOWN_CLASS.format(value=target_class, classes=classes))
        return matches[0]
    if len(classes) == 2:
        return 1
    predicted = pd.Series(np.asarray(pipeline.predict(rows))).value_counts()
    counts = [int(predicted.get(label, 0)) for label in classes]
    return int(np.argmax(counts))


def _same_label(label: Any, wanted: Any) -> bool:
    return bool(label == wanted) or str(json_value(label)) == str(wanted)


def _class_label(pipeline: Any, class_index: int) -> Any:
    classes = getattr(pipeline, "classes_", None)
    return None if classes is None else json_value(classes[class_index])


# -- raw columns -----------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class FeatureMap:
    """How the model's encoded features come from the raw columns: ``weights[e, r]`` is the
    share of encoded feature e credited to raw column r; every row of ``weights`` sums to 1."""

    raw: list[str]
    encoded: list[str]
    weights: np.ndarray
    kinds: dict[str, str]


def feature_map(pipeline: Pipeline) -> FeatureMap:
    """One-hot levels go to their column, date parts to their date column, a missing flag to
    its column, and an interaction term (``age*income``, ``age^2``) is split evenly between the
    distinct columns it multiplies. A pipeline without a ColumnTransformer maps one to one."""
    encoded = _encoded_names(pipeline)
    columns = _column_transformer(pipeline.steps[:-1])
    if columns is None:
        return FeatureMap(encoded, encoded, np.eye(len(encoded)), {})
    parents = _parents(columns)
    if any(name not in parents for name in encoded):
        return FeatureMap(encoded, encoded, np.eye(len(encoded)), {})
    inputs = [str(name) for name in getattr(columns, "feature_names_in_", [])]
    used = {column for name in encoded for column in parents[name]}
    raw = [name for name in inputs if name in used] + sorted(used - set(inputs))
    position = {name: index for index, name in enumerate(raw)}
    weights = np.zeros((len(encoded), len(raw)))
    for row, name in enumerate(encoded):
        for column, share in parents[name].items():
            weights[row, position[column]] += share
    return FeatureMap(raw, encoded, weights, _column_kinds(columns))


def _encoded_names(pipeline: Pipeline) -> list[str]:
    if len(pipeline.steps) > 1:
        return [str(name) for name in pipeline[:-1].get_feature_names_out()]
    model = pipeline.steps[-1][1]
    names = getattr(model, "feature_names_in_", None)
    if names is None:
        return [f"x{i}" for i in range(int(model.n_features_in_))]
    return [str(name) for name in names]


def _column_transformer(steps: list[tuple[str, Any]]) -> ColumnTransformer | None:
    """The first fitted ColumnTransformer among the steps (nested pipelines included)."""
    for _, step in steps:
        if isinstance(step, ColumnTransformer) and hasattr(step, "transformers_"):
            return step
        if isinstance(step, Pipeline):
            found = _column_transformer(step.steps)
            if found is not None:
                return found
    return None


def _parents(columns: ColumnTransformer) -> dict[str, dict[str, float]]:
    """Each output name of the ColumnTransformer -> {raw column: share}."""
    names = [str(name) for name in columns.get_feature_names_out()]
    inputs = list(getattr(columns, "feature_names_in_", []))
    parents: dict[str, dict[str, float]] = {}
    for name, transformer, selected in columns.transformers_:
        block = columns.output_indices_.get(name, slice(0, 0))
        width = block.stop - block.start
        if transformer == "drop" or width == 0:
            continue
        raw = _selected_names(selected, inputs)
        for offset, shares in enumerate(_block_shares(transformer, raw, width)):
            parents[names[block.start + offset]] = shares
    return parents


def _selected_names(selected: Any, inputs: list[Any]) -> list[str]:
    if isinstance(selected, slice):
        return [str(name) for name in inputs[selected]]
    items = list(np.atleast_1d(selected))
    if items and isinstance(items[0], bool | np.bool_):
        return [str(name) for name, keep in zip(inputs, items, strict=True) if keep]
    if items and isinstance(items[0], int | np.integer):
        return [str(inputs[int(index)]) for index in items]
    return [str(item) for item in items]


def _block_shares(transformer: Any, raw: list[str], width: int) -> list[dict[str, float]]:
    """Shares for one ColumnTransformer block of ``width`` outputs built from ``raw`` columns."""
    last = transformer.steps[-1][1] if isinstance(transformer, Pipeline) else transformer
    terms = getattr(last, "terms_", None)
    if terms is not None and len(terms) == width:  # PolynomialTerms: products of columns
        return [_even({raw[index] for index in term}) for term in terms]
    categories = getattr(last, "categories_", None)
    if type(last).__name__ == "OneHotEncoder" and categories is not None:
        counts = [len(levels) for levels in categories]
        if sum(counts) == width and getattr(last, "drop_idx_", None) is None:
            return [{column: 1.0} for column, n in zip(raw, counts, strict=True) for _ in range(n)]
    if raw and width % len(raw) == 0:  # one or more outputs per column, column by column
        per_column = width // len(raw)
        return [{column: 1.0} for column in raw for _ in range(per_column)]
    return [_even(set(raw)) for _ in range(width)]


def _even(columns: set[str]) -> dict[str, float]:
    return {column: 1.0 / len(columns) for column in sorted(columns)}


def _column_kinds(columns: ColumnTransformer) -> dict[str, str]:
    """numeric, categorical or datetime for each raw column, from the steps that prepare it."""
    inputs = list(getattr(columns, "feature_names_in_", []))
    kinds: dict[str, str] = {}
    for _, transformer, selected in columns.transformers_:
        if not isinstance(transformer, Pipeline):
            continue
        steps = transformer.named_steps
        kind = (
            "datetime"
            if "parts" in steps
            else "categorical"
            if "encode" in steps
            else "numeric"
            if "as_number" in steps
            else None
        )
        if kind is not None:
            for column in _selected_names(selected, inputs):
                kinds.setdefault(column, kind)
    return kinds


def _kind_of(series: pd.Series, mapping: FeatureMap) -> str:
    known = mapping.kinds.get(str(series.name))
    if known is not None:
        return known
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        return "datetime"
    numeric = pd.api.types.is_numeric_dtype(series.dtype)
    return "numeric" if numeric and not pd.api.types.is_bool_dtype(series.dtype) else "categorical"


def _encoded(pipeline: Pipeline, rows: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    if len(pipeline.steps) == 1:
        return rows
    frame = pipeline[:-1].transform(rows)
    if not isinstance(frame, pd.DataFrame):
        frame = pd.DataFrame(np.asarray(frame, dtype=float), columns=names)
    return frame


# -- which explainer -------------------------------------------------------------------------


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
_LINEAR_MODELS = (
    "LinearRegression",
    "LogisticRegression",
    "Ridge",
    "RidgeClassifier",
    "Lasso",
    "ElasticNet",
    "SGDClassifier",
    "SGDRegressor",
    "LinearSVC",
    "LinearSVR",
)


def _explainer_for(model: Any) -> str:
    name = type(model).__name__
    if name in _TREE_MODELS and type(model).__module__.startswith("sklearn."):
        return "tree" if getattr(model, "n_outputs_", 1) == 1 else "permutation"
    if name in _BOOSTED_MODELS and not _has_categorical_splits(model):
        return "tree"
    if name in _LINEAR_MODELS and type(model).__module__.startswith("sklearn."):
        return "linear"
    return "permutation"


def _has_categorical_splits(model: Any) -> bool:
    for iteration in model._predictors:
        for predictor in iteration:
            nodes = predictor.nodes
            if "is_categorical" in nodes.dtype.names and bool(nodes["is_categorical"].any()):
                return True
    return False


def _class_text(pipeline: Any, class_index: int) -> str:
    return str(json_value(pipeline.classes_[class_index]))


# -- tree SHAP -------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Tree:
    """One fitted tree as arrays: children (-1 at leaves), split, training cover, leaf value."""

    left: np.ndarray
    right: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray
    missing_left: np.ndarray
    cover: np.ndarray
    value: np.ndarray


def _sklearn_tree(tree: Any, *, class_index: int | None, scale: float) -> _Tree:
    values = tree.value[:, 0, :]
    if class_index is None:
        value = values[:, 0]
    else:  # class fractions, as predict_proba normalises them
        totals = values.sum(axis=1)
        value = values[:, class_index] / np.where(totals > 0, totals, 1.0)
    return _Tree(
        left=tree.children_left.astype(np.int64),
        right=tree.children_right.astype(np.int64),
        feature=tree.feature.astype(np.int64),
        threshold=tree.threshold.astype(np.float64),
        missing_left=np.asarray(tree.missing_go_to_left, dtype=np.bool_),
        cover=tree.weighted_n_node_samples.astype(np.float64),
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


def compile_tree_kernel() -> float:
    """Compile the Tree SHAP kernel now; returns the seconds it took (0.0 if already done).
    A job or the app may call this ahead of time (e.g. in a background thread) so that the
    first large tree explanation does not wait for it."""
    if _kernel_ready():
        return 0.0
    started = time.perf_counter()
    stump = _Tree(
        left=np.array([1, -1, -1], dtype=np.int64),
        right=np.array([2, -1, -1], dtype=np.int64),
        feature=np.array([0, -2, -2], dtype=np.int64),
        threshold=np.zeros(3),
        missing_left=np.zeros(3, dtype=np.bool_),
        cover=np.array([2.0, 1.0, 1.0]),
        value=np.array([0.0, -1.0, 1.0]),
    )
    _tree_shap(_prepare([stump]), np.zeros((1, 1)), 1)
    return time.perf_counter() - started


def _kernel_ready() -> bool:
    return _kernel.cache_info().currsize > 0 and bool(_kernel().signatures)


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
    fitted = getattr(model, "estimators_", None)
    estimators = [model] if fitted is None else list(fitted)
    scale = 1.0 / len(estimators)
    index = None if task == "regression" else class_index
    trees = [_sklearn_tree(e.tree_, class_index=index, scale=scale) for e in estimators]
    if task == "regression":
        return trees, 0.0, "predicted value", 1.0
    return trees, 0.0, f"probability of class {_class_text(pipeline, class_index)}", 1.0


def _boosted_trees(
    pipeline: Pipeline, model: Any, class_index: int, task: str
) -> tuple[list[_Tree], float, str, float]:
    baseline = np.asarray(model._baseline_prediction, dtype=np.float64).ravel()
    per_iteration = len(model._predictors[0])
    column = class_index if per_iteration > 1 else 0
    # a binary model boosts the log-odds of classes_[1]; class 0's log-odds is its negative
    sign = -1.0 if task != "regression" and per_iteration == 1 and class_index == 0 else 1.0
    trees = [_boosted_tree(it[column].nodes, sign=sign) for it in model._predictors]
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


@dataclass(frozen=True, eq=False)
class _Prepared:
    """All trees' nodes in preorder, with the per-edge quantities the kernel needs.

    For the edge into node c, splitting its parent on feature i: ``q`` is cover(c) /
    cover(parent); ``ahat`` is 1 / (product of q over i's edges down to c), the value that
    a_i = s_i / q_i takes when the row follows all of them (0 otherwise); ``prev`` is the depth
    of the nearest ancestor edge on feature i (-1 if none) and ``prev_ahat`` its ``ahat``.
    """

    starts: np.ndarray
    stops: np.ndarray
    max_depths: np.ndarray
    points: np.ndarray
    depth: np.ndarray
    leaf: np.ndarray
    value: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray
    missing_left: np.ndarray
    is_left: np.ndarray
    q: np.ndarray
    prev: np.ndarray
    ahat: np.ndarray
    prev_ahat: np.ndarray
    same_below: np.ndarray
    expected: float

    def arrays(self) -> tuple[np.ndarray, ...]:
        return (
            self.starts, self.stops, self.max_depths, self.points, self.depth, self.leaf,
            self.value, self.feature, self.threshold, self.missing_left, self.is_left, self.q,
            self.prev, self.ahat, self.prev_ahat, self.same_below,
        )  # fmt: skip


def _concatenated(trees: list[_Tree]) -> dict[str, np.ndarray]:
    sizes = np.array([len(tree.left) for tree in trees], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)

    def shifted(children: str) -> np.ndarray:
        parts = [
            np.where(getattr(t, children) >= 0, getattr(t, children) + o, -1)
            for t, o in zip(trees, offsets, strict=True)
        ]
        return np.concatenate(parts).astype(np.int64)

    arrays = {
        name: np.concatenate([getattr(tree, name) for tree in trees])
        for name in ("feature", "threshold", "missing_left", "cover", "value")
    }
    arrays.update(left=shifted("left"), right=shifted("right"), sizes=sizes, offsets=offsets)
    arrays["tree_of"] = np.repeat(np.arange(len(trees)), sizes)
    return arrays


def _levels(left: np.ndarray, right: np.ndarray, roots: np.ndarray) -> list[np.ndarray]:
    levels, level = [], roots
    while level.size:
        levels.append(level)
        inner = level[left[level] >= 0]
        level = np.concatenate([left[inner], right[inner]])
    return levels


def _preorder_positions(
    left: np.ndarray, right: np.ndarray, levels: list[np.ndarray]
) -> np.ndarray:
    size = np.ones(len(left), dtype=np.int64)
    for level in reversed(levels):
        inner = level[left[level] >= 0]
        size[inner] = 1 + size[left[inner]] + size[right[inner]]
    position = np.zeros(len(left), dtype=np.int64)
    for level in levels:
        inner = level[left[level] >= 0]
        position[left[inner]] = position[inner] + 1
        position[right[inner]] = position[inner] + 1 + size[left[inner]]
    return position


def _previous_same(parent: np.ndarray, edge_feature: np.ndarray) -> np.ndarray:
    """For each node, the nearest ancestor (below the root) entered by a split on the same
    feature as the node's own edge, or -1."""
    previous = np.full(len(parent), -1, dtype=np.int64)
    searching = np.flatnonzero(parent >= 0)
    current = parent[searching]
    while searching.size:
        valid = parent[current] >= 0
        searching, current = searching[valid], current[valid]
        hit = edge_feature[current] == edge_feature[searching]
        previous[searching[hit]] = current[hit]
        searching, current = searching[~hit], parent[current[~hit]]
    return previous


def _per_tree_max(values: np.ndarray, tree_of: np.ndarray, trees: int) -> np.ndarray:
    """The largest value in each tree (0 for a tree with none), without a Python loop."""
    order = np.lexsort((values, tree_of))
    last = np.flatnonzero(np.r_[tree_of[order][1:] != tree_of[order][:-1], True])
    out = np.zeros(trees, dtype=values.dtype)
    out[tree_of[order][last]] = values[order][last]
    return out


def _prepare(trees: list[_Tree]) -> _Prepared:
    """Vectorised over every node of every tree at once (no per-node Python loop)."""
    a = _concatenated(trees)
    left, right, offsets, tree_of = a["left"], a["right"], a["offsets"], a["tree_of"]
    n = len(left)
    nodes = np.arange(n)
    inner = left >= 0
    parent = np.full(n, -1, dtype=np.int64)
    parent[left[inner]], parent[right[inner]] = nodes[inner], nodes[inner]
    is_left = np.zeros(n, dtype=np.bool_)
    is_left[left[inner]] = True
    levels = _levels(left, right, offsets)
    depth = np.zeros(n, dtype=np.int64)
    for number, level in enumerate(levels):
        depth[level] = number
    above = np.where(parent >= 0, parent, nodes)
    edge_feature = np.where(parent >= 0, a["feature"][above], 0).astype(np.int64)
    q = a["cover"] / np.maximum(a["cover"][above], np.finfo(float).tiny)
    previous = _previous_same(parent, edge_feature)
    known = previous >= 0
    ahat, unique = np.ones(n), np.zeros(n, dtype=np.int64)
    for level in levels[1:]:
        before = previous[level]
        ahat[level] = np.where(before >= 0, ahat[np.maximum(before, 0)], 1.0) / q[level]
        unique[level] = unique[parent[level]] + (before < 0)
    leaves = ~inner
    # the path polynomial of a leaf has one factor per distinct feature on its path, so
    # ceil(widest / 2) Gauss-Legendre points integrate every product exactly
    widest = _per_tree_max(np.where(leaves, unique, 0), tree_of, len(trees))
    same_below = np.zeros(n, dtype=np.bool_)
    same_below[previous[known]] = True
    roots_cover = a["cover"][offsets][tree_of]
    expected = float(np.sum(a["value"][leaves] * (a["cover"] / roots_cover)[leaves]))
    order = np.empty(n, dtype=np.int64)
    order[offsets[tree_of] + _preorder_positions(left, right, levels)] = nodes
    return _Prepared(
        starts=offsets,
        stops=offsets + a["sizes"],
        max_depths=_per_tree_max(depth, tree_of, len(trees)),
        points=np.maximum(1, (widest + 1) // 2).astype(np.int64),
        depth=depth[order],
        leaf=leaves[order],
        value=a["value"][order].astype(np.float64),
        feature=edge_feature[order],
        threshold=a["threshold"][above][order].astype(np.float64),
        missing_left=a["missing_left"][above][order].astype(np.bool_),
        is_left=is_left[order],
        q=q[order],
        prev=np.where(known, depth[np.maximum(previous, 0)], -1)[order].astype(np.int64),
        ahat=ahat[order],
        prev_ahat=np.where(known, ahat[np.maximum(previous, 0)], 1.0)[order],
        same_below=same_below[order],
        expected=expected,
    )


def _gauss_table(most: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes and weights on [0, 1] for 1..most points, row k-1 for k points."""
    nodes, weights = np.zeros((most, most)), np.zeros((most, most))
    for count in range(1, most + 1):
        x, w = np.polynomial.legendre.leggauss(count)
        nodes[count - 1, :count], weights[count - 1, :count] = (x + 1.0) / 2.0, w / 2.0
    return nodes, weights


def _tree_shap(prepared: _Prepared, matrix: np.ndarray, n_jobs: int) -> np.ndarray:
    """Rows split across ``n_jobs`` threads; the compiled kernel releases the GIL."""
    kernel = _kernel()
    nodes, weights = _gauss_table(int(prepared.points.max()))
    workers = max(1, min(n_jobs, os.cpu_count() or 1, len(matrix)))
    chunks = [chunk for chunk in np.array_split(np.arange(len(matrix)), workers) if chunk.size]

    def one(chunk: np.ndarray) -> np.ndarray:
        phi = np.zeros((len(chunk), matrix.shape[1]))
        rows = np.ascontiguousarray(matrix[chunk])
        space = _workspace(prepared, matrix.shape[1])
        kernel(rows, phi, *prepared.arrays(), nodes, weights, *space)
        return phi

    if len(chunks) <= 1:
        return one(np.arange(len(matrix)))
    with ThreadPoolExecutor(max_workers=len(chunks)) as pool:
        return np.vstack(list(pool.map(one, chunks)))


def _workspace(prepared: _Prepared, features: int) -> tuple[np.ndarray, ...]:
    """The kernel's scratch arrays, sized for the deepest and widest tree. Allocated here, not
    in the kernel, because every numpy call inside a numba function adds to its compile time.
    The last row of A and AL stays 1.0: what an edge sees when its feature is new on the path.
    """
    levels = int(prepared.max_depths.max()) + 2
    points = int(prepared.points.max())
    nodes = int((prepared.stops - prepared.starts).max())
    block = KERNEL_BLOCK
    return (
        np.empty((levels, points, block)),  # P: the path polynomial at each depth
        np.empty((levels, points, block)),  # Sa: sums over the leaves below
        np.empty((levels, points, block)),  # BS: the same, below a later split on the feature
        np.empty((levels, block)),  # bh
        np.ones((levels, block)),  # A
        np.empty((levels, block)),  # Ap
        np.ones((levels, block)),  # AL
        np.empty(levels, dtype=np.int64),  # at
        np.empty((5, block)),  # h, s1, s0, sd, dA
        np.zeros((features, block)),  # Xt: this block's rows, feature by feature
        np.empty((3, nodes, points)),  # r1, r0, wi of one tree
        np.empty(points),  # wi0
    )


@functools.cache
def _kernel() -> Any:
    """Path-dependent Tree SHAP in O(nodes x points) per row and tree (Linear TreeShap's idea).

    Each leaf with value v and cover share r adds, for every feature i on its path,
    v * r * (a_i - 1) * integral_0^1 prod_{j != i} (1 + t (a_j - 1)) dt, where a_j = s_j / q_j
    (s_j: 1 if the row follows all of j's splits on the path, else 0; q_j: their cover shares).
    That is what shap's TreeExplainer computes (the Shapley weights are a Beta integral). The
    products are held at Gauss-Legendre points, so taking out a factor is one multiplication
    and the integral is exact; the sums over the leaves below each edge are gathered in one
    depth-first pass, 32 rows at a time. Compiled by numba on first use, once per process.
    """
    import numba

    flags = {"nsz", "arcp", "contract", "reassoc"}  # no "nnan": missing values are real here

    @numba.njit(nogil=True, fastmath=flags)
    def kernel(
        X, phi, starts, stops, max_depths, points, depth, leaf, value, feature, threshold,
        missing_left, is_left, q, prev, ahat, prev_ahat, same_below, gauss_t, gauss_w,
        P, Sa, BS, bh, A, Ap, AL, at, work, Xt, edges, wi0,
    ):  # fmt: skip
        n_rows = X.shape[0]
        block = Xt.shape[1]
        new_feature = A.shape[0] - 1
        h, s1, s0, sd, dA = work[0], work[1], work[2], work[3], work[4]
        r1, r0, wi = edges[0], edges[1], edges[2]
        for tree in range(starts.shape[0]):
            start, stop, nq = starts[tree], stops[tree], points[tree]
            if stop - start < 2:
                continue
            # per edge, independent of the rows: the path polynomial's factor when the row
            # follows the edge (r1) or not (r0), and the quadrature weights without i's factor
            for p in range(stop - start):
                for k in range(nq):
                    t = gauss_t[nq - 1, k]
                    own = 1.0 + t * (ahat[start + p] - 1.0)
                    prior = 1.0 + t * (prev_ahat[start + p] - 1.0)
                    r1[p, k] = q[start + p] * own / prior
                    r0[p, k] = q[start + p] * (1.0 - t) / prior
                    wi[p, k] = gauss_w[nq - 1, k] / own
            for k in range(nq):
                wi0[k] = gauss_w[nq - 1, k] / (1.0 - gauss_t[nq - 1, k])
            for first in range(0, n_rows, block):
                m = min(block, n_rows - first)
                for r in range(m):  # this block's rows, one feature per line
                    for c in range(X.shape[1]):
                        Xt[c, r] = X[first + r, c]
                for k in range(nq):
                    for r in range(block):
                        P[0, k, r] = 1.0
                        Sa[0, k, r] = 0.0
                top = 0
                at[0] = start
                for p in range(start + 1, stop + 1):
                    d = depth[p] if p < stop else 1
                    while top >= d:  # an inner node whose subtree is complete
                        j = at[top]
                        pd = prev[j]
                        for r in range(block):
                            h[r] = bh[top, r]
                        for k in range(nq):
                            c0 = wi0[k]
                            dc = wi[j - start, k] - c0
                            if same_below[j]:
                                for r in range(block):
                                    s = Sa[top, k, r]
                                    h[r] += (s - BS[top, k, r]) * (c0 + AL[top, r] * dc)
                                    Sa[top - 1, k, r] += s
                            else:
                                for r in range(block):
                                    s = Sa[top, k, r]
                                    h[r] += s * (c0 + AL[top, r] * dc)
                                    Sa[top - 1, k, r] += s
                            if pd >= 0:
                                for r in range(block):
                                    BS[pd, k, r] += Sa[top, k, r]
                        f = feature[j]
                        for r in range(m):
                            phi[first + r, f] += (A[top, r] - Ap[top, r]) * h[r]
                        if pd >= 0:
                            for r in range(block):
                                bh[pd, r] += h[r]
                        top -= 1
                    if p == stop:
                        break
                    f = feature[p]
                    pd = prev[p]
                    seen = pd if pd >= 0 else new_feature
                    thr = threshold[p]
                    nan_left = 1.0 if missing_left[p] else 0.0
                    left_edge = 1.0 if is_left[p] else 0.0
                    for r in range(block):  # branch-free, so it vectorises
                        x = Xt[f, r]
                        gl = (1.0 if x <= thr else 0.0) + (1.0 if x != x else 0.0) * nan_left
                        follows = left_edge * gl + (1.0 - left_edge) * (1.0 - gl)
                        alive = AL[seen, r]
                        s1[r] = alive * follows
                        s0[r] = alive - s1[r]
                        sd[r] = 1.0 - alive
                        dA[r] = s1[r] * ahat[p] - A[seen, r]
                    e = p - start
                    if leaf[p]:  # a leaf is entered and finished in one pass
                        v = value[p]
                        vq = v * q[p]
                        for r in range(block):
                            h[r] = 0.0
                        for k in range(nq):
                            a1 = v * r1[e, k]
                            a0 = v * r0[e, k]
                            c0 = wi0[k]
                            dc = wi[e, k] - c0
                            if pd >= 0:
                                for r in range(block):
                                    s = P[d - 1, k, r] * (s1[r] * a1 + s0[r] * a0 + sd[r] * vq)
                                    h[r] += s * (c0 + s1[r] * dc)
                                    Sa[d - 1, k, r] += s
                                    BS[pd, k, r] += s
                            else:
                                for r in range(block):
                                    s = P[d - 1, k, r] * (s1[r] * a1 + s0[r] * a0 + sd[r] * vq)
                                    h[r] += s * (c0 + s1[r] * dc)
                                    Sa[d - 1, k, r] += s
                        for r in range(m):
                            phi[first + r, f] += dA[r] * h[r]
                        if pd >= 0:
                            for r in range(block):
                                bh[pd, r] += h[r]
                    else:
                        qq = q[p]
                        for k in range(nq):
                            a1 = r1[e, k]
                            a0 = r0[e, k]
                            for r in range(block):
                                P[d, k, r] = P[d - 1, k, r] * (s1[r] * a1 + s0[r] * a0 + sd[r] * qq)
                                Sa[d, k, r] = 0.0
                            if same_below[p]:
                                for r in range(block):
                                    BS[d, k, r] = 0.0
                        for r in range(block):
                            bh[d, r] = 0.0
                            AL[d, r] = s1[r]
                            A[d, r] = s1[r] * ahat[p]
                            Ap[d, r] = A[d, r] - dA[r]
                        at[d] = p
                        top = d
        return phi

    return kernel


# -- linear SHAP -----------------------------------------------------------------------------


def _linear_explanation(inputs: _Inputs) -> _Explained:
    """phi_j = w_j (x_j - mean_j) over the background mean: exact for a linear model with
    independent features (what shap's LinearExplainer computes)."""
    pipeline, mapping, class_index, task = (
        inputs.pipeline, inputs.mapping, inputs.class_index, inputs.task
    )  # fmt: skip
    model = pipeline.steps[-1][1]
    encoded = _encoded(pipeline, inputs.rows, mapping.encoded)
    reference = _encoded(
        pipeline, sample_rows(inputs.background, LINEAR_BACKGROUND), mapping.encoded
    )
    coef = np.atleast_2d(np.asarray(model.coef_, dtype=np.float64))
    intercepts = np.atleast_1d(np.asarray(model.intercept_, dtype=np.float64))
    row = class_index if coef.shape[0] > 1 else 0
    # a binary classifier scores classes_[1]; class 0's log-odds is the negative
    sign = -1.0 if task != "regression" and coef.shape[0] == 1 and class_index == 0 else 1.0
    coef = sign * coef[row]
    offset = sign * float(intercepts[row if intercepts.size > 1 else 0])
    mean = reference.to_numpy(dtype=np.float64).mean(axis=0)
    matrix = encoded.to_numpy(dtype=np.float64)
    return _Explained(
        output=_linear_output(pipeline, model, class_index, task),
        base_value=offset + float(coef @ mean),
        encoded_features=[str(name) for name in encoded.columns],
        encoded_values=(matrix - mean) * coef,
        outputs=sign * _linear_outputs(model, encoded, class_index, task),
    )


def _linear_output(pipeline: Pipeline, model: Any, class_index: int, task: str) -> str:
    if task == "regression":
        return "predicted value"
    label = _class_text(pipeline, class_index)
    if type(model).__name__ == "LogisticRegression":
        space = "log-odds" if len(model.classes_) == 2 else "logit (softmax score)"
        return f"{space} of class {label}"
    return f"decision score for class {label}"


def _linear_outputs(model: Any, encoded: pd.DataFrame, class_index: int, task: str) -> np.ndarray:
    if task == "regression":
        return np.asarray(model.predict(encoded), dtype=np.float64).ravel()
    scores = np.asarray(model.decision_function(encoded), dtype=np.float64)
    return scores if scores.ndim == 1 else scores[:, class_index]


# -- sampled (permutation) SHAP --------------------------------------------------------------


def _sampled_rows(features: list[str]) -> int:
    per_row = 2 * PERMUTATION_PAIRS * max(1, len(features) - 1) * SAMPLED_BACKGROUND
    return max(1, SAMPLED_EVALUATIONS // per_row)


def _predictor(pipeline: Pipeline, task: str, class_index: int, what: str) -> Predict:
    if task == "regression":
        return lambda frame: np.asarray(pipeline.predict(frame), dtype=np.float64).ravel()
    if not hasattr(pipeline, "predict_proba"):
        model = type(pipeline.steps[-1][1]).__name__
        raise ExplainError(NO_PROBABILITIES.format(model=model, what=what))
    return lambda frame: np.asarray(pipeline.predict_proba(frame), dtype=np.float64)[:, class_index]


def _sampled_explanation(inputs: _Inputs) -> _Explained:
    """Permutation SHAP over the raw columns, through the whole pipeline: the model is seen as
    a function of the raw columns, so the 'encoded' values are the raw-column values."""
    pipeline, rows, mapping = inputs.pipeline, inputs.rows, inputs.mapping
    class_index, task = inputs.class_index, inputs.task
    predict = _predictor(pipeline, task, class_index, "SHAP values")
    output = (
        "predicted value"
        if task == "regression"
        else f"probability of class {_class_text(pipeline, class_index)}"
    )
    reference = sample_rows(inputs.background, SAMPLED_BACKGROUND, seed=inputs.seed + 1)
    outputs = predict(rows)
    base = float(predict(reference).mean())
    features = list(mapping.raw)
    model = pipeline.steps[-1][1]
    if _constant_model(model):
        values = np.zeros((len(rows), len(features)))
    elif len(features) == 1:
        values = (outputs - base)[:, None]
    else:
        values = _permutation_values(predict, rows, reference, features, outputs, base, inputs.seed)
    note = (
        f"Approximate: permutation SHAP with {len(reference)} background rows and "
        f"{2 * PERMUTATION_PAIRS} feature orders per row."
    )
    return _Explained(
        output=output,
        base_value=base,
        encoded_features=features,
        encoded_values=values,
        outputs=outputs,
        notes=[note],
    )


def _constant_model(model: Any) -> bool:
    """A baseline that predicts the same for every row: every SHAP value is exactly 0."""
    name = type(model).__name__
    strategy = getattr(model, "strategy", None)
    return name in ("DummyClassifier", "DummyRegressor") and strategy not in (
        "stratified",
        "uniform",
    )


def _permutation_values(
    predict: Predict,
    rows: pd.DataFrame,
    reference: pd.DataFrame,
    features: list[str],
    outputs: np.ndarray,
    base: float,
    seed: int,
) -> np.ndarray:
    """Each row: feature orders (random, and each reversed); the features join the row one at
    a time, the rest coming from each background row; a feature's value is the mean change
    it makes. The changes of one order sum to f(x) - base, so the values add up exactly."""
    rng = np.random.default_rng(seed)
    p, orders, width = len(features), 2 * PERMUTATION_PAIRS, len(reference)
    values = np.zeros((len(rows), p))
    chunk = max(1, SAMPLED_BATCH // (orders * (p - 1) * width))
    for first in range(0, len(rows), chunk):
        part = rows.iloc[first : first + chunk].reset_index(drop=True)
        randoms = np.argsort(rng.random((len(part), PERMUTATION_PAIRS, p)), axis=2)
        perms = np.concatenate([randoms, randoms[:, :, ::-1]], axis=1)
        middle = _coalition_means(predict, part, reference, features, perms)
        ends = outputs[first : first + len(part), None, None] * np.ones((1, orders, 1))
        starts = np.full((len(part), orders, 1), base)
        steps = np.diff(np.concatenate([starts, middle, ends], axis=2), axis=2)
        credited = np.zeros_like(steps)
        np.put_along_axis(credited, perms, steps, axis=2)
        values[first : first + len(part)] = credited.mean(axis=1)
    return values


def _coalition_means(
    predict: Predict,
    part: pd.DataFrame,
    reference: pd.DataFrame,
    features: list[str],
    perms: np.ndarray,
) -> np.ndarray:
    """Mean prediction over the background for each row, order and coalition size 1..p-1."""
    n, orders, p = perms.shape
    width = len(reference)
    ranks = np.argsort(perms, axis=2)  # where each feature stands in each order
    sizes = np.arange(1, p)
    own = np.broadcast_to(np.arange(n)[:, None, None, None], (n, orders, p - 1, width))
    other = np.broadcast_to(n + np.arange(width), (n, orders, p - 1, width))
    columns: dict[Any, pd.Series] = {}
    for column in part.columns:
        both = pd.concat([part[column], reference[column]], ignore_index=True)
        if column in features:
            j = features.index(column)
            present = ranks[:, :, None, j] < sizes[None, None, :]
            where = np.where(present[..., None], own, other)
        else:
            where = own
        columns[column] = both.take(where.ravel()).reset_index(drop=True)
    hybrid = pd.DataFrame(columns, columns=part.columns)
    return predict(hybrid).reshape(n, orders, p - 1, width).mean(axis=3)


_EXPLAINERS: dict[str, Callable[[_Inputs], _Explained]] = {
    "tree": _tree_explanation,
    "linear": _linear_explanation,
    "permutation": _sampled_explanation,
}


# -- permutation importance ------------------------------------------------------------------


def permutation_importances(
    pipeline: Any,
    X: pd.DataFrame,
    y: pd.Series,
    *,
    task: str,
    n_repeats: int = 5,
    seed: int = 0,
    max_rows: int = 5000,
) -> list[tuple[str, float, float]]:
    """(raw column, mean drop, std) largest first: how much the task's primary metric worsens
    when the column's values are shuffled across rows (through the whole pipeline)."""
    _check_task(task)
    _final_estimator(pipeline)
    if len(X) == 0:
        raise ExplainError(NO_ROWS)
    positions = _positions(len(X), max_rows, seed)
    rows = X.iloc[positions].reset_index(drop=True)
    truth = pd.Series(np.asarray(y)[positions])
    metric = PRIMARY_METRIC[task]
    sign = 1.0 if HIGHER_IS_BETTER[metric] else -1.0
    baseline = _score(pipeline, rows, truth, task=task, metric=metric)
    rng = np.random.default_rng(seed)
    results = []
    for feature in feature_map(pipeline).raw:
        shuffled = []
        for _ in range(n_repeats):
            copy = rows.copy()
            order = rng.permutation(len(rows))
            copy[feature] = rows[feature].iloc[order].reset_index(drop=True)
            shuffled.append(copy)
        scores = _scores(pipeline, shuffled, truth, task=task, metric=metric)
        drops = sign * (baseline - np.asarray(scores))
        results.append((feature, float(np.mean(drops)), float(np.std(drops))))
    return sorted(results, key=lambda item: -item[1] if math.isfinite(item[1]) else math.inf)


def _score(pipeline: Any, rows: pd.DataFrame, truth: pd.Series, *, task: str, metric: str) -> float:
    return _scores(pipeline, [rows], truth, task=task, metric=metric)[0]


def _scores(
    pipeline: Any, frames: list[pd.DataFrame], truth: pd.Series, *, task: str, metric: str
) -> list[float]:
    """One predict call for all the frames, then one score each."""
    together = pd.concat(frames, ignore_index=True)
    predicted, probabilities = predictions(pipeline, together, task=task)
    ranks = None
    if probabilities is None and task != "regression":
        ranks = decision_scores(pipeline, together)
    classes = list(getattr(pipeline, "classes_", []))
    n = len(truth)
    return [
        score_metric(
            metric,
            truth,
            predicted=predicted[i * n : (i + 1) * n],
            probabilities=None if probabilities is None else probabilities[i * n : (i + 1) * n],
            classes=classes,
            task=task,
            scores=None if ranks is None else ranks[i * n : (i + 1) * n],
        )
        for i in range(len(frames))
    ]


# -- partial dependence ----------------------------------------------------------------------


def partial_dependence(
    pipeline: Any,
    X: pd.DataFrame,
    *,
    feature: str,
    task: str,
    grid_points: int = 20,
    ice_rows: int = 50,
    seed: int = 0,
    max_rows: int = PDP_ROWS,
    target_class: Any = None,
) -> dict[str, Any]:
    """The average prediction (and one ICE line per sampled row) as ``feature`` sweeps a grid:
    quantiles 5%..95% of a number or date, or the most frequent levels of a category."""
    _check_task(task)
    _final_estimator(pipeline)
    mapping = feature_map(pipeline)
    if feature not in X.columns:
        choices = ", ".join(mapping.raw)
        raise ExplainError(UNKNOWN_FEATURE.format(feature=feature, choices=choices))
    if len(X) == 0:
        raise ExplainError(NO_ROWS)
    rows = sample_rows(X, max_rows, seed=seed)
    class_index = _class_index(pipeline, rows, task=task, target_class=target_class)
    predict = _predictor(pipeline, task, class_index, "partial dependence")
    kind = _kind_of(X[feature], mapping)
    grid = _grid(X[feature], kind, grid_points)
    swept = pd.concat([_with_value(rows, feature, value) for value in grid], ignore_index=True)
    curves = predict(swept).reshape(len(grid), len(rows)) if grid else np.empty((0, len(rows)))
    return {
        "feature": feature,
        "kind": kind,
        "output": "predicted value"
        if task == "regression"
        else f"probability of class {_class_text(pipeline, class_index)}",
        "target_class": _class_label(pipeline, class_index) if task != "regression" else None,
        "grid": [json_value(value) for value in grid],
        "average": [json_value(value) for value in curves.mean(axis=1)] if grid else [],
        "ice": [
            [json_value(v) for v in curves[:, i]] for i in _positions(len(rows), ice_rows, seed)
        ],
        "rows": len(rows),
    }


def _grid(column: pd.Series, kind: str, points: int) -> list[Any]:
    if kind == "numeric":
        numbers = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        finite = numbers[np.isfinite(numbers)]
        if finite.size == 0:
            return []
        distinct = np.unique(finite)
        if distinct.size <= points:
            return [float(value) for value in distinct]
        low, high = np.quantile(finite, PDP_QUANTILES)
        return [float(value) for value in np.unique(np.linspace(low, high, points))]
    if kind == "datetime":
        moments = _as_moments(column).dropna()
        if moments.empty:
            return []
        low, high = moments.quantile(PDP_QUANTILES[0]), moments.quantile(PDP_QUANTILES[1])
        grid = pd.Series(pd.date_range(low, high, periods=points))
        if high - low >= pd.Timedelta(days=points):  # whole days read better than 07:46:06
            grid = grid.dt.floor("D")
        grid = grid.drop_duplicates()
        if pd.api.types.is_datetime64_any_dtype(column.dtype):
            return list(grid)
        return [moment.isoformat() for moment in grid]
    counts = column.dropna().value_counts()
    return sorted(counts.index[:points], key=lambda level: str(level))


def _as_moments(column: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(column.dtype):
        return column.dt.tz_localize(None) if column.dt.tz is not None else column
    parsed = pd.to_datetime(column, errors="coerce", utc=True, format="ISO8601")
    return parsed.dt.tz_localize(None)


def _with_value(rows: pd.DataFrame, feature: str, value: Any) -> pd.DataFrame:
    copy = rows.copy()
    try:
        copy[feature] = pd.Series([value] * len(rows), dtype=rows[feature].dtype)
    except (TypeError, ValueError):
        copy[feature] = pd.Series([value] * len(rows))
    return copy


# -- what-if ---------------------------------------------------------------------------------


def what_if(
    pipeline: Any,
    row: pd.Series | dict[str, Any],
    *,
    task: str,
    background: pd.DataFrame,
    training: pd.DataFrame,
    target_class: Any = None,
) -> dict[str, Any]:
    """Predict and explain one edited row; values outside what training saw are allowed and
    listed in ``out_of_range`` (numbers and dates beyond the training min/max, unseen levels)."""
    _check_task(task)
    _final_estimator(pipeline)
    frame = edited_row(row, training)
    predicted, probabilities = predictions(pipeline, frame, task=task)
    if task == "multiclass" and target_class is None:
        target_class = predicted[0]
    explanation = explain(
        pipeline, frame, task=task, background=background, max_rows=1, target_class=target_class
    )
    mapping = feature_map(pipeline)
    contributions = [
        {"feature": name, "value": json_value(frame[name].iloc[0]), "shap": float(value)}
        for name, value in zip(explanation.features, explanation.values[0], strict=True)
    ]
    contributions.sort(key=lambda item: -abs(item["shap"]))
    classes = list(getattr(pipeline, "classes_", []))
    return {
        "prediction": json_value(predicted[0]),
        "probabilities": None
        if probabilities is None
        else {str(json_value(c)): float(p) for c, p in zip(classes, probabilities[0], strict=True)},
        "explainer": explanation.explainer,
        "output": explanation.output,
        "target_class": explanation.target_class,
        "base_value": explanation.base_value,
        "output_value": float(explanation.outputs[0]),
        "contributions": contributions,
        "shap": {item["feature"]: item["shap"] for item in contributions},
        "out_of_range": out_of_range(frame.iloc[0], training, mapping),
    }


def edited_row(row: pd.Series | dict[str, Any], training: pd.DataFrame) -> pd.DataFrame:
    """One row in the training columns and dtypes; a column left out is missing."""
    values = dict(row.items()) if isinstance(row, pd.Series) else dict(row)
    unknown = [str(name) for name in values if name not in training.columns]
    if unknown:
        raise ExplainError(UNKNOWN_COLUMNS.format(columns=", ".join(unknown)))
    columns = {}
    for name in training.columns:
        dtype = training[name].dtype
        value = _read_value(name, values.get(name), dtype)
        try:
            columns[name] = pd.Series([value], dtype=dtype)
        except (TypeError, ValueError):
            columns[name] = pd.Series([value])
    return pd.DataFrame(columns, columns=training.columns)


def _missing(value: Any) -> bool:
    return (
        value is None
        or (isinstance(value, str) and not value.strip())
        or bool(pd.api.types.is_scalar(value) and pd.isna(value))
    )


def _read_value(name: Any, value: Any, dtype: Any) -> Any:
    if _missing(value):
        return None
    if pd.api.types.is_bool_dtype(dtype):
        text = str(value).strip().lower()
        if text in ("true", "1", "yes"):
            return True
        if text in ("false", "0", "no"):
            return False
        raise ExplainError(BAD_VALUE.format(feature=name, kind="true/false", value=value))
    if pd.api.types.is_numeric_dtype(dtype):
        number = pd.to_numeric(pd.Series([value]), errors="coerce").iloc[0]
        if pd.isna(number):
            raise ExplainError(BAD_VALUE.format(feature=name, kind="number", value=value))
        return float(number)
    if pd.api.types.is_datetime64_any_dtype(dtype):
        moment = pd.to_datetime(pd.Series([value]), errors="coerce").iloc[0]
        if pd.isna(moment):
            raise ExplainError(BAD_VALUE.format(feature=name, kind="date", value=value))
        return moment
    return value


def out_of_range(row: pd.Series, training: pd.DataFrame, mapping: FeatureMap) -> list[dict]:
    """Each used column whose value lies outside the training range or is an unseen level."""
    flagged = []
    for name in mapping.raw:
        value = row.get(name)
        if name not in training.columns or _missing(value):
            continue
        kind = _kind_of(training[name], mapping)
        found = (
            _outside_levels(name, value, training[name])
            if kind == "categorical"
            else _outside_range(name, value, training[name], kind)
        )
        if found is not None:
            flagged.append(found)
    return flagged


def _outside_range(name: str, value: Any, column: pd.Series, kind: str) -> dict | None:
    if kind == "datetime":
        seen = _as_moments(column).dropna()
        point = _as_moments(pd.Series([value])).iloc[0]
    else:
        seen = pd.to_numeric(column, errors="coerce").replace([np.inf, -np.inf], np.nan).dropna()
        point = pd.to_numeric(pd.Series([value]), errors="coerce").iloc[0]
    if seen.empty or pd.isna(point):
        return None
    low, high = seen.min(), seen.max()
    if low <= point <= high:
        return None
    reason = "below the training range" if point < low else "above the training range"
    return {
        "feature": name,
        "value": json_value(value),
        "low": json_value(low),
        "high": json_value(high),
        "reason": reason,
    }


def _outside_levels(name: str, value: Any, column: pd.Series) -> dict | None:
    levels = column.dropna().unique()
    if any(_same_label(level, value) for level in levels):
        return None
    return {
        "feature": name,
        "value": json_value(value),
        "low": None,
        "high": None,
        "reason": "a level not seen in training",
    }


# -- JSON ------------------------------------------------------------------------------------


def json_value(value: Any) -> Any:
    """A cell or label as JSON: numbers (NaN as None), booleans, ISO dates, otherwise text."""
    if value is None:
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        number = float(value)
        return number if math.isfinite(number) else None
    if isinstance(value, pd.Timestamp | datetime | date | np.datetime64):
        moment = pd.Timestamp(value)
        return None if pd.isna(moment) else moment.isoformat()
    if pd.api.types.is_scalar(value) and pd.isna(value):
        return None
    return str(value)
