"""An ONNX copy of a fitted model pipeline, offered only when it matches it on the holdout."""

from __future__ import annotations

import copy
import functools
import json
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import is_classifier
from sklearn.compose import ColumnTransformer
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, PowerTransformer
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from core.prep.transformers import (
    Bins,
    CorrelationFilter,
    DateParts,
    FeatureColumns,
    FillCategory,
    KNNImpute,
    MissingFlags,
    MutualInfoSelector,
    PolynomialTerms,
    RareLevels,
    SignedLog,
    TargetEncoding,
    ToFloat,
    ToLevels,
    VarianceFilter,
    _as_datetime,
    epoch_days,
    level_text,
)

PARITY_TOLERANCE = 1e-5
TASKS = ("binary", "multiclass", "regression")
# The ONNX model has one input per raw column the pipeline reads, named like the column and
# shaped (rows, 1). A column is text, number or date as the pipeline reads it: categorical
# columns whose levels were text in training are text, written as ``level_text`` writes a value
# (True -> "True", 3.0 -> "3"); the others are double, with NaN for missing. A missing text
# value travels as MISSING_TEXT, the empty string, which is also how the CSV import reads an
# empty cell; so an empty string counts as missing, where scikit-learn would keep it as a level.
# A date column (one DateParts reads) travels as epoch days: fractional days since 1970-01-01,
# read from the raw values outside the graph by DateParts's own parsing, so the graph only does
# calendar arithmetic on numbers and matches it exactly.
MISSING_TEXT = ""
INPUT_KINDS = ("text", "number", "date")
MODEL_NOTE = (
    "One input per raw column, shaped (rows, 1): text columns as strings with '' for missing, "
    "number columns as doubles with NaN for missing, date columns as doubles counting days "
    "since 1970-01-01 (fractional for the time of day; aware times in UTC), NaN for missing. "
    "Input names may be tidied (label -> label1); the metadata entry 'columns' lists each "
    "input's column, in input order, and 'date_columns' the columns that are dates. "
    "Classifiers output the label, then the class probabilities (rows, classes); regressors "
    "output the predictions (rows, 1)."
)
# skl2onnx tidies input names (spaces, brackets, names it reserves), so the raw column of each
# input, in input order, is kept in the model's metadata under this key; the date columns,
# whose inputs are doubles like numbers', under the next one.
COLUMNS_METADATA = "columns"
DATE_COLUMNS_METADATA = "date_columns"
# epoch days at hour boundaries are computed as epoch_days computes them, from nanoseconds
_NANOSECONDS_PER_DAY = 86_400e9
_NANOSECONDS_PER_HOUR = 3_600e9
# ONNX Runtime 1.32 runs newer opsets, but skl2onnx 1.20 is tested up to opset 21-22 and writes
# the ML domain up to 3. TreeEnsemble, which keeps thresholds and leaf values in double, needs
# ML opset 5: it is added as if it were version 3, and the model's ML opset raised afterwards.
TARGET_OPSET = {"": 21, "ai.onnx.ml": 3}
TREE_ENSEMBLE_OPSET = 5
# Boosted trees left to skl2onnx hold float32 thresholds, and scikit-learn's trees compare
# float32 features with theirs; so their input is cast to float32 first, as scikit-learn does.
FLOAT32_ESTIMATORS: tuple[type, ...] = (GradientBoostingClassifier, GradientBoostingRegressor)
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
# Steps no converter here expresses: a neighbour search over the training rows, and
# cross-fitted target statistics.
UNCONVERTIBLE_STEPS: tuple[type, ...] = (KNNImpute, TargetEncoding)

UNKNOWN_TASK = "task must be one of {choices}, not {task!r}."
UNKNOWN_INPUT_KIND = "kind must be one of {choices}, not {kind!r}."
NO_CONVERTER = "The pipeline uses {step}, which has no ONNX converter; the skops file is the model."
STEP_NOT_CONVERTIBLE = (
    "The pipeline's {step} step cannot be expressed in ONNX ({detail}); "
    "the skops file is the model."
)
CONVERSION_FAILED = (
    "The pipeline could not be converted to ONNX ({error}); the skops file is the model."
)
RUNTIME_FAILED = (
    "ONNX Runtime could not run the converted pipeline ({error}); the skops file is the model."
)
PARITY_FAILED = (
    "ONNX output differs from the model by {difference} (more than {tolerance}) on the holdout, "
    "so it is not offered."
)
PARITY_MISSING = (
    "ONNX output has missing or misshapen values where the model has numbers on the holdout, "
    "so it is not offered."
)
NO_HOLDOUT_ROWS = "The holdout has no rows to check an ONNX copy against, so none is offered."
NO_INPUT_COLUMNS = "The pipeline reads no columns, so there is nothing to export to ONNX."
MISSING_COLUMN = "The ONNX model reads column {column!r}, which this table does not have."
MIXED_LEVELS = "column {column!r} does not hold the level type it held in training"
NUMBERS_AS_TEXT = "column {column!r} would turn its number levels into text"
FLOAT_LEVELS = "column {column!r} has levels that float32 cannot tell apart"
NEEDS_NUMBERS = "it expects numbers but receives text"
ONE_COLUMN_INPUTS = "it expects one input per column"
EMPTY_COLUMNS_DROPPED = "it drops columns that were empty in training"
RANDOM_DUMMY = "strategy {strategy!r} draws at random"
SEVERAL_OUTPUTS = "it predicts several outputs"
CATEGORICAL_SPLITS = "it splits on native categories"
LINKED_LOSS = "its loss {loss!r} maps raw scores through a link function"
MISSING_AS_LEVEL = "column {column!r} keeps missing values as a level of their own"

_MISSING_TYPE = re.compile(r"type '<class '([\w.]+)'>'")
_ALIAS_PREFIX = "MlopsStudio"
_MAX_ERROR_CHARS = 160


class _NotConvertible(Exception):
    """A step of the pipeline that the ONNX graph cannot reproduce exactly."""

    def __init__(self, step: str, detail: str) -> None:
        super().__init__(f"{step}: {detail}")
        self.step = step
        self.detail = detail


@dataclass(frozen=True)
class OnnxExport:
    """An ONNX copy of a pipeline, or why there is none."""

    data: bytes | None
    max_abs_difference: float | None
    reason: str | None

    @property
    def ok(self) -> bool:
        return self.data is not None and self.reason is None

    def to_dict(self) -> dict:
        """Plain JSON data without the model bytes; a non-finite difference reads null."""
        difference = self.max_abs_difference
        if difference is not None and not math.isfinite(difference):
            difference = None
        return {
            "exported": self.ok,
            "max_abs_difference": difference,
            "reason": self.reason,
            "size_bytes": len(self.data) if self.data is not None else None,
        }


@dataclass(frozen=True)
class OnnxInput:
    """One input of an ONNX model: its name in the graph, the raw column it reads, and how
    that column is written into it: "text", "number" or "date" (see onnx_input_values)."""

    name: str
    column: str
    kind: str


# -- public ----------------------------------------------------------------------------------


def export_onnx(pipeline: Any, holdout: pd.DataFrame, *, task: str) -> OnnxExport:
    """Convert a fitted pipeline to ONNX and check it against sklearn on the holdout rows."""
    _check_task(task)
    blocker = _first_unconvertible(pipeline)
    if blocker is not None:
        return _refused(NO_CONVERTER.format(step=blocker))
    if len(holdout) == 0:
        return _refused(NO_HOLDOUT_ROWS)
    columns = _input_columns(pipeline)
    if not columns:
        return _refused(NO_INPUT_COLUMNS)
    try:
        data = _convert(pipeline, _input_kinds(pipeline, holdout, columns))
    except _NotConvertible as error:
        return _refused(STEP_NOT_CONVERTIBLE.format(step=error.step, detail=error.detail))
    except Exception as error:  # skl2onnx reports what it cannot convert in many types
        return _refused(_conversion_reason(error))
    try:
        actual = onnx_predict(data, holdout, task=task)
    except Exception as error:  # onnxruntime's errors share no narrower base class
        return _refused(RUNTIME_FAILED.format(error=_short_error(error)))
    return _checked(data, _sklearn_output(pipeline, holdout, task=task), actual)


def onnx_predict(data: bytes, frame: pd.DataFrame, *, task: str) -> np.ndarray:
    """Probabilities (n, n_classes) for binary/multiclass, predictions (n,) for regression."""
    _check_task(task)
    session = onnx_session(data)
    feeds = {
        put.name: onnx_input_values(_raw_column(frame, put.column), put.kind)
        for put in onnx_inputs(session)
    }
    outputs = session.run(None, feeds)
    if task == "regression":
        return np.asarray(outputs[0], dtype=np.float64).reshape(len(frame))
    return np.asarray(outputs[1], dtype=np.float64)


def onnx_session(data: bytes, *, threads: int | None = None) -> Any:
    """An ONNX Runtime session on the CPU for a model this module wrote; load it once and run
    it for every request. ``threads`` caps its threads (a service runs one per process)."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    if threads is not None:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = threads
    # idle worker threads sleep rather than spin, so they leave the cores to training jobs
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return onnxruntime.InferenceSession(
        data, sess_options=options, providers=["CPUExecutionProvider"]
    )


def onnx_inputs(session: Any) -> list[OnnxInput]:
    """The session's inputs in order, each with its raw column and kind, from the model's
    metadata; a model without it reads each column under its input name."""
    nodes = session.get_inputs()
    metadata = session.get_modelmeta().custom_metadata_map
    listed = metadata.get(COLUMNS_METADATA)
    columns = json.loads(listed) if listed else [node.name for node in nodes]
    dates = set(json.loads(metadata.get(DATE_COLUMNS_METADATA) or "[]"))
    return [
        OnnxInput(name=node.name, column=column, kind=_input_kind(node.type, column in dates))
        for node, column in zip(nodes, columns, strict=True)
    ]


def onnx_input_values(values: pd.Series, kind: str) -> np.ndarray:
    """One raw column as its ONNX input expects it, shaped (rows, 1): text as ``level_text``
    writes it with MISSING_TEXT for missing; numbers as doubles with NaN for missing (bools
    as 0/1, text that is no number as NaN); dates as DateParts reads them, in epoch days, NaN
    for missing or unreadable."""
    if kind == "text":
        return _text_values(values).reshape(-1, 1)
    if kind == "number":
        return _number_values(values).reshape(-1, 1)
    if kind == "date":
        return epoch_days(_as_datetime(values)).reshape(-1, 1)
    raise ValueError(UNKNOWN_INPUT_KIND.format(choices=", ".join(INPUT_KINDS), kind=kind))


# -- checks and outcomes ---------------------------------------------------------------------


def _check_task(task: str) -> None:
    if task not in TASKS:
        raise ValueError(UNKNOWN_TASK.format(choices=", ".join(TASKS), task=task))


def _refused(reason: str) -> OnnxExport:
    return OnnxExport(data=None, max_abs_difference=None, reason=reason)


def _checked(data: bytes, expected: np.ndarray, actual: np.ndarray) -> OnnxExport:
    difference = _max_abs_difference(expected, actual)
    if not math.isfinite(difference):
        return OnnxExport(data=None, max_abs_difference=difference, reason=PARITY_MISSING)
    if difference > PARITY_TOLERANCE:
        reason = PARITY_FAILED.format(
            difference=_scientific(difference), tolerance=_scientific(PARITY_TOLERANCE)
        )
        return OnnxExport(data=None, max_abs_difference=difference, reason=reason)
    return OnnxExport(data=data, max_abs_difference=difference, reason=None)


def _walk(model: Any) -> Iterator[Any]:
    """The model and every step nested in it, pipelines and column groups opened."""
    yield model
    if isinstance(model, Pipeline):
        for _, step in model.steps:
            yield from _walk(step)
    elif isinstance(model, ColumnTransformer):
        for _, transformer, _ in model.transformers_:
            if not isinstance(transformer, str):
                yield from _walk(transformer)


def _first_unconvertible(pipeline: Any) -> str | None:
    for step in _walk(pipeline):
        if isinstance(step, UNCONVERTIBLE_STEPS):
            return type(step).__name__
    return None


def _conversion_reason(error: Exception) -> str:
    found = _MISSING_TYPE.search(str(error))
    if found is not None:
        return NO_CONVERTER.format(step=found.group(1).rsplit(".", 1)[-1])
    return CONVERSION_FAILED.format(error=_short_error(error))


def _short_error(error: Exception) -> str:
    first_line = (str(error).strip().splitlines() or [""])[0]
    text = f"{type(error).__name__}: {first_line}" if first_line else type(error).__name__
    return text if len(text) <= _MAX_ERROR_CHARS else text[: _MAX_ERROR_CHARS - 3] + "..."


def _scientific(value: float) -> str:
    """3.2e-3 rather than 3.2e-03; 1e-5 rather than 1.0e-05."""
    mantissa, exponent = f"{value:.1e}".split("e")
    return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"


def _sklearn_output(pipeline: Any, frame: pd.DataFrame, *, task: str) -> np.ndarray:
    if task == "regression":
        return np.asarray(pipeline.predict(frame), dtype=np.float64).reshape(len(frame))
    return np.asarray(pipeline.predict_proba(frame), dtype=np.float64)


def _max_abs_difference(expected: np.ndarray, actual: np.ndarray) -> float:
    """Largest |expected - actual|; NaN on one side only, or another shape, is infinite."""
    if expected.shape != actual.shape:
        return math.inf
    gaps = np.abs(expected - actual)
    gaps[np.isnan(expected) & np.isnan(actual)] = 0.0
    gaps[np.isnan(gaps)] = math.inf
    return float(gaps.max()) if gaps.size else 0.0


# -- inputs ----------------------------------------------------------------------------------


def _first_step(transformer: Any) -> Any:
    return transformer.steps[0][1] if isinstance(transformer, Pipeline) else transformer


def _feature_step(pipeline: Any) -> FeatureColumns | None:
    """The first FeatureColumns met walking the pipeline: it reads the raw columns."""
    for step in _walk(pipeline):
        if isinstance(step, FeatureColumns):
            return step
    return None


def _column_names(columns_step: ColumnTransformer, columns: Any) -> list[str]:
    """A ColumnTransformer's column selection as raw column names."""
    if isinstance(columns, str):
        return [columns]
    selected = list(np.atleast_1d(np.asarray(columns, dtype=object)))
    if all(isinstance(column, str) for column in selected):
        return [str(column) for column in selected]
    names = np.asarray(columns_step.feature_names_in_, dtype=object)
    return [str(name) for name in names[np.asarray(columns)]]


def _input_columns(pipeline: Any) -> list[str]:
    """Raw columns the pipeline reads, in fit order; without FeatureColumns, every column it
    was fitted on."""
    columns_step = _feature_step(pipeline)
    if columns_step is None:
        return [str(name) for name in getattr(pipeline, "feature_names_in_", [])]
    used: set[str] = set()
    for _, transformer, columns in columns_step.transformers_:
        if not (isinstance(transformer, str) and transformer == "drop"):
            used.update(_column_names(columns_step, columns))
    return [str(name) for name in columns_step.feature_names_in_ if str(name) in used]


def _column_kinds(columns_step: ColumnTransformer) -> dict[str, str]:
    """Each column's input kind, where the pipeline decided it in fit: ToLevels learned number
    or text levels per column, ToFloat reads numbers, DateParts dates."""
    found: dict[str, str] = {}
    for _, transformer, columns in columns_step.transformers_:
        if isinstance(transformer, str):
            continue
        names = _column_names(columns_step, columns)
        first = _first_step(transformer)
        if isinstance(first, ColumnTransformer):
            found.update(_column_kinds(first))
        elif isinstance(first, ToLevels):
            kinds = ("number" if number else "text" for number in first.number_columns_)
            found.update(zip(names, kinds, strict=True))
        elif isinstance(first, ToFloat):
            found.update(dict.fromkeys(names, "number"))
        elif isinstance(first, DateParts):
            found.update(dict.fromkeys(names, "date"))
    return found


def _is_number_column(column: pd.Series) -> bool:
    dtype = column.dtype
    return pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)


def _input_kinds(pipeline: Any, frame: pd.DataFrame, columns: list[str]) -> list[tuple[str, str]]:
    """Each column's input kind as the pipeline reads it, else text or number as the frame
    holds it."""
    columns_step = _feature_step(pipeline)
    decided = _column_kinds(columns_step) if columns_step is not None else {}
    return [(name, decided.get(name) or _held_kind(frame[name])) for name in columns]


def _held_kind(column: pd.Series) -> str:
    return "number" if _is_number_column(column) else "text"


def _initial_types(kinds: list[tuple[str, str]]) -> list[tuple[str, Any]]:
    """The (rows, 1) graph input of each column: text as strings, numbers and dates as doubles."""
    from skl2onnx.common.data_types import DoubleTensorType, StringTensorType

    return [
        (name, StringTensorType([None, 1]) if kind == "text" else DoubleTensorType([None, 1]))
        for name, kind in kinds
    ]


def _input_kind(onnx_type: str, is_date: bool) -> str:
    if onnx_type == "tensor(string)":
        return "text"
    return "date" if is_date else "number"


def _raw_column(frame: pd.DataFrame, name: str) -> pd.Series:
    if name not in frame.columns:
        raise KeyError(MISSING_COLUMN.format(column=name))
    return frame[name]


def _number_values(column: pd.Series) -> np.ndarray:
    """Number and bool columns as they are (the common case, kept cheap for one-row calls);
    the others through pd.to_numeric."""
    if not (_is_number_column(column) or pd.api.types.is_bool_dtype(column.dtype)):
        column = pd.to_numeric(column, errors="coerce")
    if isinstance(column.dtype, np.dtype) and column.dtype.kind in "biuf":
        return column.to_numpy(dtype=np.float64)  # no pd.NA in there; na_value costs ~0.1 ms
    return column.to_numpy(dtype=np.float64, na_value=np.nan)


def _text_values(column: pd.Series) -> np.ndarray:
    """Each value as ``level_text`` writes it, MISSING_TEXT where missing; plain text columns
    without the per-value loop."""
    values = column.to_numpy(dtype=object, copy=True)
    if pd.api.types.infer_dtype(values, skipna=True) == "string":  # on the array: cheaper
        values[pd.isna(values)] = MISSING_TEXT
        return values
    texts = [MISSING_TEXT if _is_missing(value) else level_text(value) for value in column]
    return np.asarray(texts, dtype=object)


def _is_missing(value: Any) -> bool:
    missing = pd.isna(value)
    return bool(missing) if np.ndim(missing) == 0 else False


# -- conversion ------------------------------------------------------------------------------


def _convert(pipeline: Any, kinds: list[tuple[str, str]]) -> bytes:
    from skl2onnx import convert_sklearn

    _register_converters()
    estimator = pipeline[-1] if isinstance(pipeline, Pipeline) else pipeline
    options = {id(estimator): {"zipmap": False}} if is_classifier(estimator) else None
    model = convert_sklearn(
        _with_float32_trees(pipeline),
        initial_types=_initial_types(kinds),
        target_opset=dict(TARGET_OPSET),
        options=options,
    )
    _raise_opset_for_tree_ensembles(model)
    model.doc_string = MODEL_NOTE
    dates = [name for name, kind in kinds if kind == "date"]
    for key, names in (
        (COLUMNS_METADATA, [name for name, _ in kinds]),
        (DATE_COLUMNS_METADATA, dates),
    ):
        entry = model.metadata_props.add()
        entry.key, entry.value = key, json.dumps(names)
    return model.SerializeToString()


def _raise_opset_for_tree_ensembles(model: Any) -> None:
    """TreeEnsemble exists from ML opset 5, which skl2onnx 1.20 will not write itself."""
    if not any(node.op_type == "TreeEnsemble" for node in model.graph.node):
        return
    for opset in model.opset_import:
        if opset.domain == "ai.onnx.ml":
            opset.version = max(opset.version, TREE_ENSEMBLE_OPSET)


def _with_float32_trees(pipeline: Any) -> Any:
    """The same fitted steps, with a float32 cast in front of a final tree model."""
    from skl2onnx.sklapi import CastTransformer

    if not isinstance(pipeline, Pipeline) or not isinstance(pipeline[-1], FLOAT32_ESTIMATORS):
        return pipeline
    cast = ("as_float32", CastTransformer(dtype=np.float32))
    return Pipeline([*pipeline.steps[:-1], cast, pipeline.steps[-1]])


@functools.cache
def _register_converters() -> None:
    """Teach skl2onnx the studio's transformers, once per process. For SimpleImputer,
    PowerTransformer, the encoders and the tree models, a front here handles double inputs
    exactly and leaves the rest to skl2onnx's own converter. The registry is skl2onnx's, so
    this holds for every conversion in the process."""
    from skl2onnx import update_registered_converter, update_registered_parser

    update_registered_parser(FeatureColumns, _parse_feature_columns)
    for model in (ToLevels, FillCategory, RareLevels):
        update_registered_converter(
            model, _alias(model), _columnwise_shape, _convert_columnwise, parser=_parse_columnwise
        )
    for model, convert in ((ToFloat, _convert_to_float), (SignedLog, _convert_signed_log)):
        update_registered_converter(model, _alias(model), _same_shape, convert)
    update_registered_converter(Bins, _alias(Bins), _same_shape, _convert_bins)
    update_registered_converter(
        DateParts, _alias(DateParts), _date_parts_shape, _convert_date_parts
    )
    for selector in (VarianceFilter, CorrelationFilter, MutualInfoSelector):
        update_registered_converter(selector, _alias(selector), _selected_shape, _convert_selector)
    update_registered_converter(MissingFlags, _alias(MissingFlags), _flags_shape, _convert_flags)
    update_registered_converter(
        PolynomialTerms, _alias(PolynomialTerms), _terms_shape, _convert_terms
    )
    update_registered_converter(
        DummyClassifier,
        _alias(DummyClassifier),
        _classifier_shape,
        _convert_dummy_classifier,
        options={"zipmap": [True, False]},
    )
    update_registered_converter(
        DummyRegressor, _alias(DummyRegressor), _regressor_shape, _convert_dummy_regressor
    )
    _front_stock_converter(SimpleImputer, _convert_simple_imputer)
    _front_stock_converter(PowerTransformer, _convert_power_transformer, _power_shape)
    _front_stock_converter(OneHotEncoder, _convert_one_hot)
    _front_stock_converter(OrdinalEncoder, _convert_ordinal)
    for regressor in TREE_REGRESSORS:
        _front_stock_converter(regressor, _convert_tree_regressor, _tree_regressor_shape)
    for classifier in TREE_CLASSIFIERS:
        _front_stock_converter(classifier, _convert_tree_classifier, _tree_classifier_shape)


def _alias(model: type) -> str:
    return f"{_ALIAS_PREFIX}{model.__name__}"


def _front_stock_converter(
    model: type, convert: Callable[..., None], shape: Callable[..., None] | None = None
) -> None:
    """Puts ``convert`` (and ``shape``) in front of skl2onnx's converter (and shape calculator)
    for ``model``, keeping its options; each receives the stock one as its last argument."""
    from skl2onnx import update_registered_converter
    from skl2onnx._supported_operators import sklearn_operator_name_map
    from skl2onnx.common._registration import get_converter, get_shape_calculator

    alias = sklearn_operator_name_map[model]
    stock_convert, stock_shape = get_converter(alias), get_shape_calculator(alias)

    def converter(scope: Any, operator: Any, container: Any) -> None:
        convert(scope, operator, container, stock_convert)

    def calculator(operator: Any) -> None:
        if shape is None:
            stock_shape(operator)
        else:
            shape(operator, stock_shape)

    update_registered_converter(
        model, alias, calculator, converter, options=stock_convert.get_allowed_options()
    )


# -- graph building helpers ------------------------------------------------------------------


def _node(
    scope: Any,
    container: Any,
    op_type: str,
    inputs: list[str],
    *,
    output: str | None = None,
    domain: str = "",
    version: int | None = None,
    **attributes: Any,
) -> str:
    """Adds one node and returns its output name."""
    name = output or scope.get_unique_variable_name(op_type.lower())
    container.add_node(
        op_type,
        inputs,
        [name],
        op_domain=domain,
        op_version=version,
        name=scope.get_unique_operator_name(op_type),
        **attributes,
    )
    return name


def _constant(scope: Any, container: Any, values: Any, *, seed: str = "const") -> str:
    """An initializer holding ``values``: numbers keep their dtype, objects become text."""
    from onnx import TensorProto
    from onnx.helper import np_dtype_to_tensor_dtype

    array = np.asarray(values)
    name = scope.get_unique_variable_name(seed)
    if array.dtype.kind in "OUS":
        content = [str(value).encode("utf-8") for value in array.ravel()]
        container.add_initializer(name, TensorProto.STRING, list(array.shape), content)
    else:
        tensor_type = np_dtype_to_tensor_dtype(array.dtype)
        container.add_initializer(name, tensor_type, list(array.shape), array.ravel().tolist())
    return name


def _is_text(variable: Any) -> bool:
    from skl2onnx.common.data_types import StringTensorType

    return isinstance(variable.type, StringTensorType)


def _is_double(variable: Any) -> bool:
    from skl2onnx.common.data_types import DoubleTensorType

    return isinstance(variable.type, DoubleTensorType)


def _width(variable: Any) -> int | None:
    shape = variable.type.shape
    return shape[1] if len(shape) == 2 and isinstance(shape[1], int) else None


def _column(scope: Any, container: Any, name: str, index: int) -> str:
    """Column ``index`` of a 2-D tensor, kept 2-D."""
    indices = _constant(scope, container, np.asarray([index], dtype=np.int64), seed="index")
    return _node(scope, container, "Gather", [name, indices], axis=1)


def _side_by_side(scope: Any, container: Any, names: list[str], *, output: str) -> None:
    if len(names) == 1:
        _node(scope, container, "Identity", names, output=output)
    else:
        _node(scope, container, "Concat", names, output=output, axis=1)


def _text_missing(scope: Any, container: Any, name: str) -> str:
    """Boolean mask of the cells holding the missing-text marker."""
    marker = _constant(scope, container, np.asarray([MISSING_TEXT], dtype=object), seed="missing")
    return _node(scope, container, "Equal", [name, marker])


def _number_missing(scope: Any, container: Any, name: str) -> str:
    """Boolean mask of NaN and +/-inf cells."""
    nan = _node(scope, container, "IsNaN", [name])
    inf = _node(scope, container, "IsInf", [name])
    return _node(scope, container, "Or", [nan, inf])


def _nan(scope: Any, container: Any) -> str:
    return _constant(scope, container, np.asarray([np.nan]), seed="nan")


def _inf_to_nan(scope: Any, container: Any, name: str, *, output: str) -> None:
    inf = _node(scope, container, "IsInf", [name])
    _node(scope, container, "Where", [inf, _nan(scope, container), name], output=output)


def _require_double(variable: Any, step: str) -> None:
    if not _is_double(variable):
        raise _NotConvertible(step, NEEDS_NUMBERS)


# -- parsers and shapes ----------------------------------------------------------------------

# Steps handed the raw column inputs one by one rather than stacked into one tensor: level
# handling keeps text and number columns apart, flags read both, encoders take many inputs,
# and nested column groups select by name.
_READS_COLUMNS_APART: tuple[type, ...] = (
    ColumnTransformer,
    FillCategory,
    MissingFlags,
    OneHotEncoder,
    OrdinalEncoder,
    RareLevels,
    ToLevels,
)


def _declare_concat(scope: Any, variables: list[Any]) -> Any:
    """Stacks variables side by side with skl2onnx's concat, which casts to the widest type."""
    operator = scope.declare_local_operator("SklearnConcat")
    operator.inputs = variables
    output = scope.declare_local_variable("stacked", variables[0].type.__class__([None, None]))
    operator.outputs.append(output)
    return output


def _parse_feature_columns(
    scope: Any, model: Any, inputs: list[Any], custom_parsers: Any = None
) -> list[Any]:
    """FeatureColumns picks its raw columns by name among the one-column graph inputs."""
    from skl2onnx._parse import _parse_sklearn

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
            selected = [_declare_concat(scope, selected)]
        outputs.append(_parse_sklearn(scope, transformer, selected, custom_parsers)[0])
    return outputs if len(outputs) == 1 else [_declare_concat(scope, outputs)]


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
    from skl2onnx.common.data_types import StringTensorType

    model = operator.raw_operator
    if len(operator.inputs) != model.n_features_in_:
        raise _NotConvertible(type(model).__name__, ONE_COLUMN_INPUTS)
    for index, (source, output) in enumerate(zip(operator.inputs, operator.outputs, strict=True)):
        if _width(source) != 1:
            raise _NotConvertible(type(model).__name__, ONE_COLUMN_INPUTS)
        rows = source.get_first_dimension()
        to_text = isinstance(model, RareLevels) and _groups_numbers(model, index, source)
        output.type = (StringTensorType if to_text else source.type.__class__)([rows, 1])


def _same_shape(operator: Any) -> None:
    source = operator.inputs[0]
    source_type = source.type
    operator.outputs[0].type = source_type.__class__(
        [source.get_first_dimension(), source_type.shape[1]]
    )


def _selected_shape(operator: Any) -> None:
    source = operator.inputs[0]
    kept = int(np.count_nonzero(operator.raw_operator.get_support()))
    operator.outputs[0].type = source.type.__class__([source.get_first_dimension(), kept])


def _flags_shape(operator: Any) -> None:
    from skl2onnx.common.data_types import DoubleTensorType

    widths = [_width(variable) for variable in operator.inputs]
    total = sum(width for width in widths if width is not None)
    rows = operator.inputs[0].get_first_dimension()
    operator.outputs[0].type = DoubleTensorType([rows, None if None in widths else total])


def _date_parts_shape(operator: Any) -> None:
    from skl2onnx.common.data_types import DoubleTensorType

    model, source = operator.raw_operator, operator.inputs[0]
    width = model.n_features_in_ * len(model.parts)
    operator.outputs[0].type = DoubleTensorType([source.get_first_dimension(), width])


def _terms_shape(operator: Any) -> None:
    source = operator.inputs[0]
    terms = len(operator.raw_operator.terms_)
    operator.outputs[0].type = source.type.__class__([source.get_first_dimension(), terms])


def _classifier_shape(operator: Any) -> None:
    from skl2onnx.common.data_types import Int64TensorType, StringTensorType

    model, source = operator.raw_operator, operator.inputs[0]
    rows = source.get_first_dimension()
    integer_labels = np.asarray(model.classes_).dtype.kind in "iub"
    operator.outputs[0].type = (Int64TensorType if integer_labels else StringTensorType)([rows])
    operator.outputs[1].type = source.type.__class__([rows, len(model.classes_)])


def _regressor_shape(operator: Any) -> None:
    source = operator.inputs[0]
    operator.outputs[0].type = source.type.__class__([source.get_first_dimension(), 1])


# -- level steps, one column at a time -------------------------------------------------------


def _column_name(model: Any, index: int) -> str:
    names = getattr(model, "feature_names_in_", None)
    return str(names[index]) if names is not None else f"#{index}"


def _groups_numbers(model: RareLevels, index: int, source: Any) -> bool:
    """Whether RareLevels turns number column ``index`` into text (it has a rare group)."""
    grouped = len(model.frequent_levels_[index]) < len(model.levels_[index])
    return grouped and not _is_text(source)


def _convert_columnwise(scope: Any, operator: Any, container: Any) -> None:
    model = operator.raw_operator
    convert = _COLUMN_CONVERTERS[type(model)]
    for index, (source, output) in enumerate(zip(operator.inputs, operator.outputs, strict=True)):
        convert(scope, container, model, index, source, output.full_name)


def _levels_column(
    scope: Any, container: Any, model: ToLevels, index: int, source: Any, output: str
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
    scope: Any, container: Any, model: FillCategory, index: int, source: Any, output: str
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
    scope: Any, container: Any, model: RareLevels, index: int, source: Any, output: str
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
    scope: Any, container: Any, model: RareLevels, index: int, source: Any, output: str
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
    ToLevels: _levels_column,
    FillCategory: _fill_column,
    RareLevels: _rare_column,
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


# -- dates -----------------------------------------------------------------------------------


class _Doubles:
    """Arithmetic on double tensors where a plain number stands for a one-value constant, so
    the calendar formulas below read as formulas."""

    def __init__(self, scope: Any, container: Any) -> None:
        self.scope = scope
        self.container = container
        self._constants: dict[float, str] = {}

    def __call__(self, op_type: str, *inputs: str | float, **attributes: Any) -> str:
        names = [self._named(value) for value in inputs]
        return _node(self.scope, self.container, op_type, names, **attributes)

    def floor_div(self, numerator: str, denominator: float) -> str:
        """Integer division; exact on whole-number doubles far below 2**53, as all are here."""
        return self("Floor", self("Div", numerator, denominator))

    def _named(self, value: str | float) -> str:
        if isinstance(value, str):
            return value
        if value not in self._constants:
            array = np.asarray([value], dtype=np.float64)
            self._constants[value] = _constant(self.scope, self.container, array, seed="number")
        return self._constants[value]


def _convert_date_parts(scope: Any, operator: Any, container: Any) -> None:
    """DateParts on epoch days (as onnx_input_values writes a date column): each column's
    parts side by side, in DateParts's order; a missing date gives NaN in every part."""
    source, model = operator.inputs[0], operator.raw_operator
    _require_double(source, "DateParts")
    ops = _Doubles(scope, container)
    blocks = []
    for index, reference in enumerate(model.reference_days_):
        days = _column(scope, container, source.full_name, index)
        days = ops("Where", ops("IsInf", days), math.nan, days)  # DateParts reads +/-inf as NaT
        blocks.extend(_date_parts(ops, days, tuple(model.parts), reference=float(reference)))
    _side_by_side(scope, container, blocks, output=operator.outputs[0].full_name)


def _date_parts(ops: _Doubles, days: str, parts: tuple[str, ...], *, reference: float) -> list[str]:
    """Each part as pandas gives it: weekday counts from Monday = 0, 1970-01-01 a Thursday."""
    whole = ops("Floor", days)
    civil = _civil_date(ops, whole) if {"year", "month", "day"} & set(parts) else {}
    found = []
    for part in parts:
        if part in civil:
            found.append(civil[part])
        elif part == "weekday":
            shifted = ops("Add", whole, 3.0)
            found.append(ops("Sub", shifted, ops("Mul", ops.floor_div(shifted, 7.0), 7.0)))
        elif part == "hour":
            found.append(_hour(ops, days, whole))
        else:  # days_since
            found.append(ops("Sub", days, reference))
    return found


def _civil_date(ops: _Doubles, whole: str) -> dict[str, str]:
    """Year, month and day of whole epoch days by Howard Hinnant's civil_from_days, which
    counts 400-year eras of 146097 days from 0000-03-01; NaN stays NaN."""
    z = ops("Add", whole, 719_468.0)
    era = ops.floor_div(z, 146_097.0)
    day_of_era = ops("Sub", z, ops("Mul", era, 146_097.0))  # [0, 146096]
    without_leap_days = ops(
        "Add",
        ops("Sub", day_of_era, ops.floor_div(day_of_era, 1_460.0)),
        ops("Sub", ops.floor_div(day_of_era, 36_524.0), ops.floor_div(day_of_era, 146_096.0)),
    )
    year_of_era = ops.floor_div(without_leap_days, 365.0)  # [0, 399]
    year_days = ops(
        "Add",
        ops("Mul", year_of_era, 365.0),
        ops("Sub", ops.floor_div(year_of_era, 4.0), ops.floor_div(year_of_era, 100.0)),
    )
    day_of_year = ops("Sub", day_of_era, year_days)  # [0, 365], from March 1
    month_from_march = ops.floor_div(ops("Add", ops("Mul", day_of_year, 5.0), 2.0), 153.0)
    month_start = ops.floor_div(ops("Add", ops("Mul", month_from_march, 153.0), 2.0), 5.0)
    day = ops("Add", ops("Sub", day_of_year, month_start), 1.0)
    march_to_december = ops("Less", month_from_march, 10.0)
    month = ops(
        "Where",
        march_to_december,
        ops("Add", month_from_march, 3.0),
        ops("Sub", month_from_march, 9.0),
    )
    march_year = ops("Add", year_of_era, ops("Mul", era, 400.0))
    # January and February belong to the next calendar year; NaN compares false and stays NaN
    year = ops("Where", march_to_december, march_year, ops("Add", march_year, 1.0))
    return {"year": year, "month": month, "day": day}


def _hour(ops: _Doubles, days: str, whole: str) -> str:
    """How many of the day's hour starts (1:00 to 23:00) the date has reached. Each start is
    written as epoch_days writes a time on the hour, one rounded division of whole
    nanoseconds, so such a time meets its own hour however the day's fraction rounds. Only a
    time under about a microsecond before the hour (or midnight) reads as that hour: its epoch
    days are the same double."""
    from onnx import TensorProto

    starts = np.arange(1, 24, dtype=np.float64).reshape(1, -1) * _NANOSECONDS_PER_HOUR
    offsets = _constant(ops.scope, ops.container, starts, seed="hours")
    midnight = ops("Mul", whole, _NANOSECONDS_PER_DAY)  # whole nanoseconds, exact
    bounds = ops("Div", ops("Add", midnight, offsets), _NANOSECONDS_PER_DAY)
    reached = ops("Cast", ops("GreaterOrEqual", days, bounds), to=TensorProto.DOUBLE)
    axes = _constant(ops.scope, ops.container, np.asarray([1], dtype=np.int64), seed="axes")
    hour = ops("ReduceSum", reached, axes, keepdims=1)
    return ops("Where", ops("IsNaN", days), days, hour)


# -- dummy estimators ------------------------------------------------------------------------


def _constant_rows(scope: Any, container: Any, operator: Any, row: np.ndarray) -> str:
    """``row`` repeated once per input row, in the input's float type."""
    source = operator.inputs[0].full_name
    dtype = np.float64 if _is_double(operator.inputs[0]) else np.float32
    values = _constant(scope, container, row.astype(dtype).reshape(1, -1), seed="row")
    shape = _node(scope, container, "Shape", [source])
    start = _constant(scope, container, np.asarray([0], dtype=np.int64), seed="start")
    end = _constant(scope, container, np.asarray([1], dtype=np.int64), seed="end")
    rows = _node(scope, container, "Slice", [shape, start, end])
    width = _constant(scope, container, np.asarray([row.size], dtype=np.int64), seed="width")
    target = _node(scope, container, "Concat", [rows, width], axis=0)
    return _node(scope, container, "Expand", [values, target])


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


def _add_labels(scope: Any, container: Any, operator: Any, probabilities: str) -> None:
    """The label output: the most probable class (the first one on a tie, as numpy picks)."""
    classes = np.asarray(operator.raw_operator.classes_)
    labels = classes.astype(np.int64) if classes.dtype.kind in "iub" else classes.astype(object)
    picked = _node(scope, container, "ArgMax", [probabilities], axis=1, keepdims=0)
    table = _constant(scope, container, labels, seed="classes")
    _node(scope, container, "Gather", [table, picked], output=operator.outputs[0].full_name)


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


class _IntegerFlags:
    """A container that writes 0/1 integers where a converter passes Python booleans in an
    integer list attribute: skl2onnx 1.20 does so for HistGradientBoosting's missing-value
    routing, and onnx 1.19+ refuses booleans there."""

    def __init__(self, container: Any) -> None:
        self._container = container

    def __getattr__(self, name: str) -> Any:
        return getattr(self._container, name)

    def add_node(self, op_type: str, inputs: Any, outputs: Any, **attributes: Any) -> Any:
        fixed = {key: _integers(value) for key, value in attributes.items()}
        return self._container.add_node(op_type, inputs, outputs, **fixed)


def _integers(value: Any) -> Any:
    if not isinstance(value, list) or not any(isinstance(item, bool) for item in value):
        return value
    if not all(isinstance(item, int | np.integer) for item in value):
        return value
    return [int(item) for item in value]


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


# -- trees in double ------------------------------------------------------------------------


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
    for estimator in getattr(model, "estimators_", [model]):
        tree = estimator.tree_
        if tree.n_outputs != 1:
            raise _NotConvertible(type(model).__name__, SEVERAL_OUTPUTS)
        left = np.asarray(tree.children_left)
        missing = getattr(tree, "missing_go_to_left", np.zeros(tree.node_count, dtype=np.uint8))
        values = np.asarray(tree.value, dtype=np.float64)[:, 0, :]
        for target in range(values.shape[1]):
            forest.add(
                target=target,
                is_leaf=left == -1,
                children=(left, np.asarray(tree.children_right)),
                feature=np.asarray(tree.feature),
                threshold=np.asarray(tree.threshold, dtype=np.float64),
                missing_left=np.asarray(missing),
                value=values[:, target],
            )
    return forest


def _boosted_trees(model: Any) -> _Forest:
    """HistGradientBoosting's predictors, one target per tree of an iteration (one per class
    for multiclass); its baseline is added after the sum."""
    forest = _empty_forest()
    for predictors in model._predictors:
        for target, predictor in enumerate(predictors):
            nodes = predictor.nodes
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
    baseline = np.asarray(model._baseline_prediction, dtype=np.float64).reshape(1, targets)
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
        stock(scope, operator, _IntegerFlags(container))
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
        trees=len(getattr(model, "estimators_", [model])),
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
        version=TARGET_OPSET["ai.onnx.ml"],  # raised to TREE_ENSEMBLE_OPSET after conversion
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
        stock(scope, operator, _IntegerFlags(container))
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
        trees=len(getattr(model, "estimators_", [model])),
        output=operator.outputs[1].full_name,
    )
