"""ONNX converters for the studio's own transformers, and the table of which have one."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder

from core.prep import transformers
from core.prep.transformers import level_text
from core.train.onnx import compat
from core.train.onnx.dates import _convert_date_parts, _date_parts_shape
from core.train.onnx.graph import (
    FLOAT_LEVELS,
    MIXED_LEVELS,
    NUMBERS_AS_TEXT,
    ONE_COLUMN_INPUTS,
    _alias,
    _column,
    _column_name,
    _constant,
    _inf_to_nan,
    _is_double,
    _is_text,
    _nan,
    _node,
    _NotConvertible,
    _number_missing,
    _require_double,
    _same_shape,
    _side_by_side,
    _text_missing,
    _width,
)
from core.train.onnx.inputs import _column_names, _first_step
from core.train.onnx.runtime import MISSING_COLUMN, MISSING_TEXT

# Steps handed the raw column inputs one by one rather than stacked into one tensor: level
# handling keeps text and number columns apart, flags read both, encoders take many inputs,
# and nested column groups select by name.
_READS_COLUMNS_APART: tuple[type, ...] = (
    ColumnTransformer,
    transformers.FillCategory,
    transformers.MissingFlags,
    OneHotEncoder,
    OrdinalEncoder,
    transformers.RareLevels,
    transformers.ToLevels,
)


# -- parsers and shapes ----------------------------------------------------------------------


def _parse_feature_columns(
    scope: Any, model: Any, inputs: list[Any], custom_parsers: Any = None
) -> list[Any]:
    """FeatureColumns picks its raw columns by name among the one-column graph inputs."""
    by_name = {variable.raw_name: variable for variable in inputs}
    outputs = []
    for _, transformer, columns in model.transformers_:
        if isinstance(transformer, str) and transformer == "drop":
            continue
        names = _column_names(model, columns)
        absent = [name for name in names if name not in by_name]
        if absent:
            raise _NotConvertible(type(model).__name__, MISSING_COLUMN.format(column=absent[0]))
        selected = [by_name[name] for name in names]
        if not selected:
            continue
        if isinstance(transformer, str):  # "passthrough"
            outputs.extend(selected)
            continue
        apart = isinstance(_first_step(transformer), _READS_COLUMNS_APART)
        if len(selected) > 1 and not apart:
            selected = [compat.declare_concat(scope, selected)]
        outputs.append(compat.parse_sklearn(scope, transformer, selected, custom_parsers)[0])
    return outputs if len(outputs) == 1 else [compat.declare_concat(scope, outputs)]


def _parse_columnwise(
    scope: Any, model: Any, inputs: list[Any], custom_parsers: Any = None
) -> list[Any]:
    """Level steps take one input per column and give one output per column."""
    operator = scope.declare_local_operator(_alias(type(model)), model)
    operator.inputs = list(inputs)
    for variable in inputs:
        output = scope.declare_local_variable("levels", variable.type.__class__([None, 1]))
        operator.outputs.append(output)
    return operator.outputs


def _columnwise_shape(operator: Any) -> None:
    model = operator.raw_operator
    if len(operator.inputs) != model.n_features_in_:
        raise _NotConvertible(type(model).__name__, ONE_COLUMN_INPUTS)
    for index, (source, output) in enumerate(zip(operator.inputs, operator.outputs, strict=True)):
        if _width(source) != 1:
            raise _NotConvertible(type(model).__name__, ONE_COLUMN_INPUTS)
        rows = source.get_first_dimension()
        to_text = isinstance(model, transformers.RareLevels) and _groups_numbers(
            model, index, source
        )
        tensor = compat.string_tensor if to_text else source.type.__class__
        output.type = tensor([rows, 1])


def _selected_shape(operator: Any) -> None:
    source = operator.inputs[0]
    kept = int(np.count_nonzero(operator.raw_operator.get_support()))
    operator.outputs[0].type = source.type.__class__([source.get_first_dimension(), kept])


def _flags_shape(operator: Any) -> None:
    widths = [_width(variable) for variable in operator.inputs]
    total = sum(width for width in widths if width is not None)
    rows = operator.inputs[0].get_first_dimension()
    operator.outputs[0].type = compat.double_tensor([rows, None if None in widths else total])


def _terms_shape(operator: Any) -> None:
    source = operator.inputs[0]
    terms = len(operator.raw_operator.terms_)
    operator.outputs[0].type = source.type.__class__([source.get_first_dimension(), terms])


# -- level steps, one column at a time -------------------------------------------------------


def _groups_numbers(model: transformers.RareLevels, index: int, source: Any) -> bool:
    """Whether RareLevels turns number column ``index`` into text (it has a rare group)."""
    grouped = len(model.frequent_levels_[index]) < len(model.levels_[index])
    return grouped and not _is_text(source)


def _convert_columnwise(scope: Any, operator: Any, container: Any) -> None:
    model = operator.raw_operator
    convert = _COLUMN_CONVERTERS[type(model)]
    for index, (source, output) in enumerate(zip(operator.inputs, operator.outputs, strict=True)):
        convert(scope, container, model, index, source, output.full_name)


def _levels_column(
    scope: Any, container: Any, model: transformers.ToLevels, index: int, source: Any, output: str
) -> None:
    """ToLevels: text levels pass as they are; number levels lose +/-inf to NaN."""
    numbers = bool(model.number_columns_[index])
    if _is_text(source) and not numbers:
        _node(scope, container, "Identity", [source.full_name], output=output)
    elif _is_double(source) and numbers:
        _inf_to_nan(scope, container, source.full_name, output=output)
    else:
        detail = MIXED_LEVELS.format(column=_column_name(model, index))
        raise _NotConvertible("ToLevels", detail)


def _fill_column(
    scope: Any,
    container: Any,
    model: transformers.FillCategory,
    index: int,
    source: Any,
    output: str,
) -> None:
    """FillCategory: missing cells take the column's fill level."""
    fill = model.fill_values_[index]
    if _is_text(source) and isinstance(fill, str):
        missing = _text_missing(scope, container, source.full_name)
        level = _constant(scope, container, np.asarray([fill], dtype=object), seed="fill")
    elif _is_double(source) and not isinstance(fill, str):
        missing = _node(scope, container, "IsNaN", [source.full_name])
        level = _constant(scope, container, np.asarray([fill], dtype=np.float64), seed="fill")
    else:
        detail = NUMBERS_AS_TEXT.format(column=_column_name(model, index))
        raise _NotConvertible("FillCategory", detail)
    _node(scope, container, "Where", [missing, level, source.full_name], output=output)


def _rare_column(
    scope: Any, container: Any, model: transformers.RareLevels, index: int, source: Any, output: str
) -> None:
    """RareLevels: levels outside the frequent ones become the "other" level; missing stays
    missing. A number column with such a group turns to text, as in scikit-learn."""
    frequent = list(model.frequent_levels_[index])
    if len(frequent) == len(model.levels_[index]):
        _node(scope, container, "Identity", [source.full_name], output=output)
        return
    if _is_text(source):
        kept = list(dict.fromkeys([MISSING_TEXT, *(str(level) for level in frequent)]))
        _node(
            scope,
            container,
            "LabelEncoder",
            [source.full_name],
            output=output,
            domain="ai.onnx.ml",
            keys_strings=kept,
            values_strings=kept,
            default_string=str(model.other),
        )
        return
    _rare_numbers_as_text(scope, container, model, index, source, output)


def _rare_numbers_as_text(
    scope: Any, container: Any, model: transformers.RareLevels, index: int, source: Any, output: str
) -> None:
    from onnx import TensorProto

    frequent = np.asarray(model.frequent_levels_[index], dtype=np.float64)
    keys = frequent.astype(np.float32)
    if not np.array_equal(keys.astype(np.float64), frequent) or len(set(keys)) < len(keys):
        raise _NotConvertible("RareLevels", FLOAT_LEVELS.format(column=_column_name(model, index)))
    narrow = _node(scope, container, "Cast", [source.full_name], to=TensorProto.FLOAT)
    text = _node(
        scope,
        container,
        "LabelEncoder",
        [narrow],
        domain="ai.onnx.ml",
        keys_floats=keys.tolist(),
        values_strings=[level_text(level) for level in frequent],
        default_string=str(model.other),
    )
    missing = _node(scope, container, "IsNaN", [source.full_name])
    blank = _constant(scope, container, np.asarray([MISSING_TEXT], dtype=object), seed="blank")
    _node(scope, container, "Where", [missing, blank, text], output=output)


_COLUMN_CONVERTERS: dict[type, Callable[..., None]] = {
    transformers.ToLevels: _levels_column,
    transformers.FillCategory: _fill_column,
    transformers.RareLevels: _rare_column,
}


# -- other studio steps ----------------------------------------------------------------------


def _convert_to_float(scope: Any, operator: Any, container: Any) -> None:
    """ToFloat: numbers pass, +/-inf becomes NaN."""
    source = operator.inputs[0]
    _require_double(source, "ToFloat")
    _inf_to_nan(scope, container, source.full_name, output=operator.outputs[0].full_name)


def _convert_flags(scope: Any, operator: Any, container: Any) -> None:
    """MissingFlags: 1.0 where a value is missing (NaN, +/-inf or missing text), else 0.0."""
    from onnx import TensorProto

    flags = []
    for variable in operator.inputs:
        if _is_text(variable):
            missing = _text_missing(scope, container, variable.full_name)
        else:
            missing = _number_missing(scope, container, variable.full_name)
        flags.append(_node(scope, container, "Cast", [missing], to=TensorProto.DOUBLE))
    _side_by_side(scope, container, flags, output=operator.outputs[0].full_name)


def _convert_signed_log(scope: Any, operator: Any, container: Any) -> None:
    """SignedLog: sign(x) * log(1 + |x|); NaN stays NaN."""
    source = operator.inputs[0]
    _require_double(source, "SignedLog")
    name = source.full_name
    one = _constant(scope, container, np.asarray([1.0]), seed="one")
    size = _node(scope, container, "Abs", [name])
    logged = _node(scope, container, "Log", [_node(scope, container, "Add", [size, one])])
    signed = _node(scope, container, "Mul", [_node(scope, container, "Sign", [name]), logged])
    nan = _node(scope, container, "IsNaN", [name])
    _node(scope, container, "Where", [nan, name, signed], output=operator.outputs[0].full_name)


def _convert_bins(scope: Any, operator: Any, container: Any) -> None:
    """Bins: the bin number counts the inner edges at or below the value; NaN, +/-inf stay NaN."""
    from onnx import TensorProto

    source = operator.inputs[0]
    _require_double(source, "Bins")
    axes = _constant(scope, container, np.asarray([1], dtype=np.int64), seed="axes")
    numbers = []
    for index, edges in enumerate(operator.raw_operator.bin_edges_):
        column = _column(scope, container, source.full_name, index)
        inner = np.asarray(edges, dtype=np.float64)[1:-1]
        if inner.size == 0:
            numbers.append(_node(scope, container, "Sub", [column, column]))
            continue
        bounds = _constant(scope, container, inner.reshape(1, -1), seed="edges")
        above = _node(scope, container, "GreaterOrEqual", [column, bounds])
        counted = _node(scope, container, "Cast", [above], to=TensorProto.DOUBLE)
        numbers.append(_node(scope, container, "ReduceSum", [counted, axes], keepdims=1))
    stacked = scope.get_unique_variable_name("bins")
    _side_by_side(scope, container, numbers, output=stacked)
    missing = _number_missing(scope, container, source.full_name)
    output = operator.outputs[0].full_name
    _node(scope, container, "Where", [missing, _nan(scope, container), stacked], output=output)


def _convert_selector(scope: Any, operator: Any, container: Any) -> None:
    """VarianceFilter, CorrelationFilter, MutualInfoSelector: keep the selected columns."""
    source, output = operator.inputs[0], operator.outputs[0].full_name
    kept = np.flatnonzero(operator.raw_operator.get_support()).astype(np.int64)
    if len(kept) == _width(source):
        _node(scope, container, "Identity", [source.full_name], output=output)
        return
    indices = _constant(scope, container, kept, seed="kept")
    _node(scope, container, "Gather", [source.full_name, indices], output=output, axis=1)


def _convert_terms(scope: Any, operator: Any, container: Any) -> None:
    """PolynomialTerms: each term is the product of its columns, multiplied left to right."""
    source = operator.inputs[0]
    _require_double(source, "PolynomialTerms")
    products = []
    for term in operator.raw_operator.terms_:
        product = _column(scope, container, source.full_name, term[0])
        for index in term[1:]:
            factor = _column(scope, container, source.full_name, index)
            product = _node(scope, container, "Mul", [product, factor])
        products.append(product)
    _side_by_side(scope, container, products, output=operator.outputs[0].full_name)


# -- the table -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Converter:
    """How skl2onnx writes a fitted step: its outputs' shapes, then its nodes; with ``parser``
    when the step takes the raw column inputs one by one."""

    shape: Callable[[Any], None]
    convert: Callable[[Any, Any, Any], None]
    parser: Callable[..., list[Any]] | None = None


@dataclass(frozen=True)
class Parser:
    """A step that only routes its inputs to the steps inside it, which skl2onnx converts."""

    parse: Callable[..., list[Any]]


@dataclass(frozen=True)
class NoConverter:
    """A step the graph cannot reproduce exactly; a pipeline holding it gets no ONNX copy."""

    reason: str


# What the export does with each of core.prep.transformers.STUDIO_TRANSFORMERS; a transformer
# added there needs an entry here (tests/core/prep/test_transformers.py checks).
STUDIO_CONVERSIONS: dict[type, Converter | Parser | NoConverter] = {
    transformers.Bins: Converter(_same_shape, _convert_bins),
    transformers.CorrelationFilter: Converter(_selected_shape, _convert_selector),
    transformers.DateParts: Converter(_date_parts_shape, _convert_date_parts),
    transformers.FeatureColumns: Parser(_parse_feature_columns),
    transformers.FillCategory: Converter(_columnwise_shape, _convert_columnwise, _parse_columnwise),
    transformers.KNNImpute: NoConverter("a neighbour search over the training rows"),
    transformers.MissingFlags: Converter(_flags_shape, _convert_flags),
    transformers.MutualInfoSelector: Converter(_selected_shape, _convert_selector),
    transformers.PolynomialTerms: Converter(_terms_shape, _convert_terms),
    transformers.RareLevels: Converter(_columnwise_shape, _convert_columnwise, _parse_columnwise),
    transformers.SignedLog: Converter(_same_shape, _convert_signed_log),
    transformers.TargetEncoding: NoConverter("cross-fitted target statistics"),
    transformers.ToFloat: Converter(_same_shape, _convert_to_float),
    transformers.ToLevels: Converter(_columnwise_shape, _convert_columnwise, _parse_columnwise),
    transformers.VarianceFilter: Converter(_selected_shape, _convert_selector),
}
UNCONVERTIBLE_STEPS: tuple[type, ...] = tuple(
    step for step, conversion in STUDIO_CONVERSIONS.items() if isinstance(conversion, NoConverter)
)
