"""ONNX for scikit-learn steps skl2onnx gets wrong on doubles or missing levels, and dummies."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from core.train.onnx.graph import (
    EMPTY_COLUMNS_DROPPED,
    MISSING_AS_LEVEL,
    RANDOM_DUMMY,
    SEVERAL_OUTPUTS,
    _add_labels,
    _column_name,
    _constant,
    _constant_rows,
    _is_double,
    _is_text,
    _node,
    _NotConvertible,
    _same_shape,
    _width,
)
from core.train.onnx.runtime import MISSING_TEXT, _is_missing

# -- dummy estimators ------------------------------------------------------------------------


def _convert_dummy_classifier(scope: Any, operator: Any, container: Any) -> None:
    """DummyClassifier (prior or most_frequent): the same probabilities for every row."""
    model = operator.raw_operator
    if model.strategy not in ("prior", "most_frequent"):
        raise _NotConvertible("DummyClassifier", RANDOM_DUMMY.format(strategy=model.strategy))
    if model.n_outputs_ != 1:
        raise _NotConvertible("DummyClassifier", SEVERAL_OUTPUTS)
    row = np.asarray(model.class_prior_, dtype=np.float64)
    if model.strategy == "most_frequent":
        row = (np.arange(row.size) == np.argmax(row)).astype(np.float64)
    probabilities = _constant_rows(scope, container, operator, row)
    _node(scope, container, "Identity", [probabilities], output=operator.outputs[1].full_name)
    _add_labels(scope, container, operator, probabilities)


def _convert_dummy_regressor(scope: Any, operator: Any, container: Any) -> None:
    """DummyRegressor: its one learned value for every row."""
    value = np.asarray(operator.raw_operator.constant_, dtype=np.float64).ravel()
    if value.size != 1:
        raise _NotConvertible("DummyRegressor", SEVERAL_OUTPUTS)
    rows = _constant_rows(scope, container, operator, value)
    _node(scope, container, "Identity", [rows], output=operator.outputs[0].full_name)


# -- fronts for skl2onnx's own converters ----------------------------------------------------


def _convert_simple_imputer(scope: Any, operator: Any, container: Any, stock: Any) -> None:
    """SimpleImputer on doubles keeps double statistics (skl2onnx's Imputer node is
    float-only); other inputs go to skl2onnx's converter."""
    model, source = operator.raw_operator, operator.inputs[0]
    plain = not model.add_indicator and len(operator.inputs) == 1
    marker = model.missing_values
    nan_marks_missing = isinstance(marker, float) and math.isnan(marker)
    if not (_is_double(source) and plain and nan_marks_missing):
        stock(scope, operator, container)
        return
    statistics = np.asarray(model.statistics_, dtype=np.float64)
    if statistics.size != _width(source) or np.isnan(statistics).any():
        raise _NotConvertible("SimpleImputer", EMPTY_COLUMNS_DROPPED)
    fill = _constant(scope, container, statistics.reshape(1, -1), seed="statistics")
    missing = _node(scope, container, "IsNaN", [source.full_name])
    output = operator.outputs[0].full_name
    _node(scope, container, "Where", [missing, fill, source.full_name], output=output)


def _convert_power_transformer(scope: Any, operator: Any, container: Any, stock: Any) -> None:
    """Yeo-Johnson without standardizing, in double, as scipy computes it; other settings go
    to skl2onnx's converter."""
    if not _yeo_johnson_in_double(operator):
        stock(scope, operator, container)
        return
    model, name = operator.raw_operator, operator.inputs[0].full_name
    lambdas = np.asarray(model.lambdas_, dtype=np.float64).reshape(1, -1)
    tiny = np.spacing(1.0)
    positive = _node(scope, container, "GreaterOrEqual", [name, _constant(scope, container, 0.0)])
    upper = _yeo_johnson_branch(scope, container, name, lambdas, zero=np.abs(lambdas) < tiny)
    flipped = _node(scope, container, "Neg", [name])
    lower = _yeo_johnson_branch(
        scope, container, flipped, 2.0 - lambdas, zero=np.abs(lambdas - 2.0) <= tiny
    )
    lower = _node(scope, container, "Neg", [lower])
    output = operator.outputs[0].full_name
    _node(scope, container, "Where", [positive, upper, lower], output=output)


def _yeo_johnson_in_double(operator: Any) -> bool:
    model = operator.raw_operator
    plain = model.method == "yeo-johnson" and not model.standardize
    return plain and _is_double(operator.inputs[0])


def _power_shape(operator: Any, stock: Callable[[Any], None]) -> None:
    """Double in, double out for the Yeo-Johnson written here; skl2onnx's says float."""
    if _yeo_johnson_in_double(operator):
        _same_shape(operator)
    else:
        stock(operator)


def _yeo_johnson_branch(
    scope: Any, container: Any, name: str, power: np.ndarray, *, zero: np.ndarray
) -> str:
    """expm1(power * log1p(x)) / power, or log1p(x) where power is zero."""
    one = _constant(scope, container, np.asarray([1.0]), seed="one")
    logged = _node(scope, container, "Log", [_node(scope, container, "Add", [name, one])])
    safe_power = np.where(zero, 1.0, power)
    scaled = _node(scope, container, "Mul", [logged, _constant(scope, container, safe_power)])
    grown = _node(scope, container, "Sub", [_node(scope, container, "Exp", [scaled]), one])
    powered = _node(scope, container, "Div", [grown, _constant(scope, container, safe_power)])
    use_log = _constant(scope, container, zero)
    return _node(scope, container, "Where", [use_log, logged, powered])


# -- encoders with missing values as a level ------------------------------------------------


def _nan_positions(categories: Any) -> np.ndarray:
    return np.asarray([_is_missing(level) for level in categories], dtype=bool)


def _convert_one_hot(scope: Any, operator: Any, container: Any, stock: Any) -> None:
    """A missing level learned in training (impute none) reads MISSING_TEXT in text columns;
    skl2onnx would look for the text "nan"."""
    model = operator.raw_operator
    if not any(_nan_positions(levels).any() for levels in model.categories_):
        stock(scope, operator, container)
        return
    if not all(_is_text(variable) for variable in operator.inputs):
        column = _column_name(model, _first_nan_column(model))
        raise _NotConvertible("OneHotEncoder", MISSING_AS_LEVEL.format(column=column))
    renamed = copy.copy(model)
    renamed.categories_ = [
        np.where(_nan_positions(levels), MISSING_TEXT, levels).astype(object)
        for levels in model.categories_
    ]
    operator.raw_operator = renamed
    try:
        stock(scope, operator, container)
    finally:
        operator.raw_operator = model


def _first_nan_column(model: Any) -> int:
    return next(i for i, levels in enumerate(model.categories_) if _nan_positions(levels).any())


def _convert_ordinal(scope: Any, operator: Any, container: Any, stock: Any) -> None:
    """skl2onnx's ordinal converter, unless a text column keeps missing values as a level."""
    model = operator.raw_operator
    text = any(_is_text(variable) for variable in operator.inputs)
    if text and any(_nan_positions(levels).any() for levels in model.categories_):
        column = _column_name(model, _first_nan_column(model))
        raise _NotConvertible("OrdinalEncoder", MISSING_AS_LEVEL.format(column=column))
    stock(scope, operator, container)
