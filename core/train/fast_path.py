"""A fitted pipeline compiled to plain NumPy: each step a small function over a list of columns.

Why: the pipeline runs with pandas output between its steps (``set_output(transform="pandas")``
keeps names for explanations and fairness), and for one row that costs ~137 ms of CPU in the
sample model's 65 steps, mostly building frames and re-validating them. The compiled plan does
the same arithmetic on the same column arrays, with no frame in between. It is only served when
``core.serving.numpy_engine`` found it identical to the pipeline at registration.

Columns are a list of 1-D arrays (float64, or object for text), as a frame's columns would be,
so text and number columns keep their own types through a column transformer, as pandas keeps
them. The studio's own transformers bring their ``transform_columns``; scikit-learn's imputer,
scalers, encoders, selectors and column routing are compiled here; a few slower steps run on a
frame of their inputs (the pandas path itself, for that step only); anything else is refused
with a reason, and the service keeps the pipeline.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.compose import ColumnTransformer
from sklearn.feature_selection import SelectorMixin
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import (
    MinMaxScaler,
    OneHotEncoder,
    OrdinalEncoder,
    PowerTransformer,
    RobustScaler,
    StandardScaler,
    TargetEncoder,
)

from core.prep.transformers import (
    FillCategory,
    KNNImpute,
    RareLevels,
    TargetEncoding,
    ToLevels,
)
from core.review.explain import sklearn_internals
from core.train.fast_levels import Levels, by_distinct_rows, known_levels

Columns = list[np.ndarray]
Step = Callable[[Columns], Columns]

NO_NUMPY_FORM = "step {path} ({kind}) has no NumPy form"
UNSUPPORTED = "step {path} ({kind}) {why}"
NOT_A_PIPELINE = "the model is not a fitted pipeline of feature steps and an estimator"
# Steps that run on a frame of their own inputs: rare and slow anyway (a KNN search, a power
# transform), so the plan calls the fitted step itself and stays exact.
THROUGH_A_FRAME: tuple[type, ...] = (KNNImpute, PowerTransformer)
_DICT_ROWS = 64  # up to this many rows a dict lookup per value beats a hash index
_NESTING = 4  # how deep _nameless looks for fitted parts (CalibratedClassifierCV needs 2)


class NotCompiled(ValueError):
    """The pipeline has a step the fast path cannot run; the message says which and why."""


@dataclass(frozen=True)
class FastPlan:
    """A compiled pipeline: its raw inputs in order, the feature steps, the fitted estimator."""

    inputs: tuple[str, ...]
    features: Step
    estimator: Any  # a copy that takes arrays: see _nameless
    probabilities: bool

    def output(self, columns: Columns, *, levels: dict[int, Levels] | None = None) -> np.ndarray:
        """Probabilities (rows, classes), or predictions (rows,) when the estimator gives no
        probabilities or ``probabilities`` is off (regression), from the raw input columns
        (``levels``: the factorization of some of them, by position, when the caller has it)."""
        with known_levels(columns, levels):
            matrix = _matrix(self.features(columns))
        if self.probabilities:
            return np.asarray(self.estimator.predict_proba(matrix))
        return np.asarray(self.estimator.predict(matrix))


def _matrix(columns: Columns) -> np.ndarray:
    """The feature columns as the (rows, features) float array a frame of them converts to."""
    # a frame of float columns holds them as one (features, rows) block and its array is that
    # block transposed: the same memory order here, so a matrix product sums alike
    return np.vstack(columns).astype(np.float64, copy=False).T


def compile_pipeline(pipeline: Any, *, task: str) -> FastPlan:
    """The fitted ``pipeline`` (feature steps then an estimator) as a plan; NotCompiled says
    which step cannot be compiled."""
    if not isinstance(pipeline, Pipeline) or len(pipeline.steps) < 2:
        raise NotCompiled(NOT_A_PIPELINE)
    names = getattr(pipeline, "feature_names_in_", None)
    if names is None:
        raise NotCompiled(NOT_A_PIPELINE)
    features = _chain([_compile(step, name) for name, step in pipeline.steps[:-1]])
    estimator = pipeline.steps[-1][1]
    return FastPlan(
        inputs=tuple(str(name) for name in names),
        features=features,
        estimator=_nameless(estimator),
        probabilities=task != "regression" and hasattr(estimator, "predict_proba"),
    )


def _nameless(estimator: Any, depth: int = 0) -> Any:
    """A shallow copy of a fitted estimator (and of the fitted estimators inside it) without
    the column names it was fitted with, so it takes a plain array without a warning; every
    learned array is shared, not copied, and the original is untouched."""
    if depth > _NESTING:
        return estimator
    bare = copy.copy(estimator)
    bare.__dict__.pop("feature_names_in_", None)
    for key, value in vars(bare).items():
        if _fitted_part(value):
            setattr(bare, key, _nameless(value, depth + 1))
        elif isinstance(value, list) and value and all(map(_fitted_part, value)):
            setattr(bare, key, [_nameless(inner, depth + 1) for inner in value])
    return bare


def _fitted_part(value: Any) -> bool:
    """An estimator, or a wrapper of one (as CalibratedClassifierCV keeps its fitted parts)."""
    return isinstance(value, BaseEstimator) or isinstance(
        getattr(value, "estimator", None), BaseEstimator
    )


def _chain(steps: list[Step]) -> Step:
    def run(columns: Columns) -> Columns:
        for step in steps:
            columns = step(columns)
        return columns

    return run


def _compile(step: Any, path: str) -> Step:
    if step is None or (isinstance(step, str) and step == "passthrough"):
        return _identity
    if isinstance(step, Pipeline):
        return _chain(
            [_compile(inner, f"{path}/{name}") for name, inner in step.steps if inner is not None]
        )
    if isinstance(step, ColumnTransformer):
        return _routed(step, path)
    if isinstance(step, TargetEncoding):
        return _target_encoder(step.encoder_, path)
    for kind, build in _COMPILERS.items():
        if type(step) is kind:
            return build(step, path)
    if isinstance(step, SelectorMixin):
        return _selected(step.get_support())
    if hasattr(step, "transform_columns"):
        return step.transform_columns
    if isinstance(step, THROUGH_A_FRAME):
        return _through_a_frame(step)
    raise NotCompiled(NO_NUMPY_FORM.format(path=path, kind=type(step).__name__))


def _identity(columns: Columns) -> Columns:
    return columns


def _refuse(step: Any, path: str, why: str) -> NotCompiled:
    return NotCompiled(UNSUPPORTED.format(path=path, kind=type(step).__name__, why=why))


# -- routing and selection ---------------------------------------------------------------------


def _routed(step: ColumnTransformer, path: str) -> Step:
    """Each fitted transformer on its own input columns; outputs side by side, in order."""
    if getattr(step, "sparse_output_", False):
        raise _refuse(step, path, "gives sparse output")
    names = [str(name) for name in getattr(step, "feature_names_in_", [])]
    routes: list[tuple[list[int], Step]] = []
    for name, transformer, selected in step.transformers_:
        if isinstance(transformer, str) and transformer == "drop":
            continue
        indices = _indices(selected, names, step, path)
        if indices:
            inner = _compile(transformer, f"{path}/{name}")
            routes.append((indices, by_distinct_rows(inner) if _of_levels(transformer) else inner))

    def run(columns: Columns) -> Columns:
        out: Columns = []
        for indices, inner in routes:
            out.extend(inner([columns[index] for index in indices]))
        return out

    return run


# -- level routes: once per distinct row -------------------------------------------------------

# Steps whose output for a row depends only on that row's values and on which types its column
# holds (a column of text, of yes/no, of numbers or a mix is read as a whole by ToLevels)
_LEVEL_STEPS: tuple[type, ...] = (
    ToLevels,
    FillCategory,
    RareLevels,
    OneHotEncoder,
    OrdinalEncoder,
    TargetEncoder,
    TargetEncoding,
)


def _of_levels(transformer: Any) -> bool:
    """Whether a route's transformer is made only of level steps (a text column's chain)."""
    steps = transformer.steps if isinstance(transformer, Pipeline) else [(None, transformer)]
    kept = [inner for _, inner in steps if inner is not None and not isinstance(inner, str)]
    return bool(kept) and all(type(inner) in _LEVEL_STEPS for inner in kept)


def _indices(selected: Any, names: list[str], step: Any, path: str) -> list[int]:
    values = list(selected) if isinstance(selected, list | tuple | np.ndarray) else None
    if values is None:
        raise _refuse(step, path, "selects columns by a rule the fast path does not read")
    if all(isinstance(value, str) for value in values):
        where = {name: index for index, name in enumerate(names)}
        if not all(value in where for value in values):
            raise _refuse(step, path, "selects a column it was not fitted on")
        return [where[value] for value in values]
    if all(isinstance(value, int | np.integer) and not isinstance(value, bool) for value in values):
        return [int(value) for value in values]
    raise _refuse(step, path, "selects columns by a rule the fast path does not read")


def _selected(support: np.ndarray) -> Step:
    kept = [int(index) for index in np.flatnonzero(support)]

    def run(columns: Columns) -> Columns:
        return [columns[index] for index in kept]

    return run


def _through_a_frame(step: Any) -> Step:
    """The fitted step itself, given a frame of its inputs (with the names it was fitted on)."""
    names = getattr(step, "feature_names_in_", None)

    def run(columns: Columns) -> Columns:
        frame = pd.DataFrame(dict(enumerate(columns)))
        if names is not None:
            frame.columns = list(names)
        out = step.transform(frame if names is not None else frame.to_numpy())
        if isinstance(out, pd.DataFrame):
            return [out.iloc[:, index].to_numpy() for index in range(out.shape[1])]
        return list(np.asarray(out).T)

    return run


# -- scikit-learn's numeric steps --------------------------------------------------------------


def _imputer(step: SimpleImputer, path: str) -> Step:
    statistics = np.asarray(step.statistics_)
    missing = step.missing_values
    if step.add_indicator or not (isinstance(missing, float) and np.isnan(missing)):
        raise _refuse(step, path, "marks missing values other than NaN, or adds indicators")
    try:  # "constant" keeps its fill value in an object array
        numbers = statistics.astype(np.float64)
    except (TypeError, ValueError):
        numbers = np.array([np.nan])
    if statistics.dtype.kind not in "fO" or np.isnan(numbers).any():
        raise _refuse(step, path, "has no number to fill some column with")
    fills = [float(value) for value in numbers]

    def run(columns: Columns) -> Columns:
        out = []
        for values, fill in zip(_floats(columns), fills, strict=True):
            gaps = np.isnan(values)
            out.append(np.where(gaps, fill, values) if gaps.any() else values)
        return out

    return run


def _floats(columns: Columns) -> Columns:
    return [np.asarray(column, dtype=np.float64) for column in columns]


def _standard(step: StandardScaler, path: str) -> Step:
    return _shifted_and_scaled(
        step.mean_ if step.with_mean else None, step.scale_ if step.with_std else None
    )


def _robust(step: RobustScaler, path: str) -> Step:
    return _shifted_and_scaled(
        step.center_ if step.with_centering else None,
        step.scale_ if step.with_scaling else None,
    )


def _shifted_and_scaled(shift: Any, scale: Any) -> Step:
    """(x - shift) / scale per column, as the scalers do it in place (None: that part off)."""

    def run(columns: Columns) -> Columns:
        out = []
        for index, values in enumerate(_floats(columns)):
            if shift is not None:
                values = values - shift[index]
            if scale is not None:
                values = values / scale[index]
            out.append(values)
        return out

    return run


def _minmax(step: MinMaxScaler, path: str) -> Step:
    low, high = step.feature_range

    def run(columns: Columns) -> Columns:
        out = []
        for index, values in enumerate(_floats(columns)):
            values = values * step.scale_[index] + step.min_[index]
            out.append(np.clip(values, low, high) if step.clip else values)
        return out

    return run


# -- scikit-learn's encoders -------------------------------------------------------------------


@dataclass(frozen=True)
class _Levels:
    """One column's fitted categories, and where missing sits among them."""

    table: dict[Any, int]  # category -> position, as scikit-learn's own lookup for text
    numbers: np.ndarray | None  # sorted float categories, searched as scikit-learn does
    texts: pd.Index | None  # all-text categories as a hash index, for long columns
    missing_at: int  # position of the missing category, -1 when fit saw none
    count: int

    def positions(self, values: np.ndarray) -> np.ndarray:
        """Each value's category position; -1 for a level fit never saw (and for a missing
        value when fit saw none: no lookup finds one, so no search for gaps is needed)."""
        if self.numbers is not None and values.dtype.kind == "f":
            found = _searched(self.numbers, values)
        elif self.texts is not None and len(values) > _DICT_ROWS:
            # text categories match only equal text, as in the dict: the same positions
            found = self.texts.get_indexer(values)
        else:
            lookup = self.table.get
            found = np.fromiter((lookup(value, -1) for value in values.tolist()), np.intp)
        if self.missing_at >= 0:
            found[pd.isna(values)] = self.missing_at
        return np.asarray(found, dtype=np.intp)


def _searched(numbers: np.ndarray, values: np.ndarray) -> np.ndarray:
    if not len(numbers):
        return np.full(len(values), -1, dtype=np.intp)
    at = np.searchsorted(numbers, values).clip(0, len(numbers) - 1)
    return np.where(numbers[at] == values, at, -1)


def _levels(categories: np.ndarray) -> _Levels:
    gaps = pd.isna(categories)
    missing_at = int(np.flatnonzero(gaps)[0]) if gaps.any() else -1
    known = categories[~gaps]
    numbers = known.astype(np.float64) if categories.dtype.kind == "f" else None
    table = {value: position for position, value in enumerate(known.tolist())}
    all_text = len(known) > 0 and all(type(value) is str for value in known.tolist())
    texts = pd.Index(known, dtype=object) if all_text else None
    return _Levels(table, numbers, texts, missing_at, len(categories))


def _all_levels(step: Any, path: str) -> list[_Levels]:
    if sklearn_internals.groups_infrequent(step):
        raise _refuse(step, path, "groups infrequent levels itself")
    levels = [_levels(np.asarray(categories)) for categories in step.categories_]
    for found, categories in zip(levels, step.categories_, strict=True):
        if found.missing_at not in (-1, len(categories) - 1):
            raise _refuse(step, path, "keeps missing values among its levels")
    return levels


def _onehot(step: OneHotEncoder, path: str) -> Step:
    if step.handle_unknown != "ignore" or step.drop_idx_ is not None or step.sparse_output:
        raise _refuse(step, path, "drops a level, fails on new levels or gives sparse output")
    levels = _all_levels(step, path)
    dtype = step.dtype

    def run(columns: Columns) -> Columns:
        out: Columns = []
        for values, found in zip(columns, levels, strict=True):
            at = found.positions(values)
            out.extend((at == j).astype(dtype) for j in range(found.count))
        return out

    return run


def _ordinal(step: OrdinalEncoder, path: str) -> Step:
    if step.handle_unknown != "use_encoded_value":
        raise _refuse(step, path, "fails on new levels")
    levels = _all_levels(step, path)
    unknown, missing = step.unknown_value, step.encoded_missing_value

    def run(columns: Columns) -> Columns:
        out = []
        for values, found in zip(columns, levels, strict=True):
            at = found.positions(values)
            coded = at.astype(step.dtype)
            if found.missing_at >= 0:
                coded[at == found.missing_at] = missing
            coded[at < 0] = unknown
            out.append(coded)
        return out

    return run


def _target_encoder(step: TargetEncoder, path: str) -> Step:
    levels = _all_levels(step, path)
    multiclass = step.target_type_ == "multiclass"
    classes = len(step.classes_) if multiclass else 1
    means = np.atleast_1d(step.target_mean_)

    def run(columns: Columns) -> Columns:
        out = []
        for feature, (values, found) in enumerate(zip(columns, levels, strict=True)):
            at = found.positions(values)
            unknown = at < 0
            at[unknown] = 0
            for which in range(classes):
                encoded = np.asarray(step.encodings_[feature * classes + which])[at]
                encoded[unknown] = means[which]
                out.append(encoded.astype(np.float64, copy=False))
        return out

    return run


_COMPILERS: dict[type, Callable[[Any, str], Step]] = {
    SimpleImputer: _imputer,
    StandardScaler: _standard,
    RobustScaler: _robust,
    MinMaxScaler: _minmax,
    OneHotEncoder: _onehot,
    OrdinalEncoder: _ordinal,
    TargetEncoder: _target_encoder,
}
