"""Small builders of ONNX graph nodes shared by the converters, and why a step cannot convert."""

from __future__ import annotations

from typing import Any

import numpy as np

from core.train.onnx import compat
from core.train.onnx.runtime import MISSING_TEXT

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
_ALIAS_PREFIX = "MlopsStudio"


class _NotConvertible(Exception):
    """A step of the pipeline that the ONNX graph cannot reproduce exactly."""

    def __init__(self, step: str, detail: str) -> None:
        super().__init__(f"{step}: {detail}")
        self.step = step
        self.detail = detail


def _alias(model: type) -> str:
    return f"{_ALIAS_PREFIX}{model.__name__}"


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
    return compat.is_string_tensor(variable)


def _is_double(variable: Any) -> bool:
    return compat.is_double_tensor(variable)


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


def _same_shape(operator: Any) -> None:
    source = operator.inputs[0]
    source_type = source.type
    operator.outputs[0].type = source_type.__class__(
        [source.get_first_dimension(), source_type.shape[1]]
    )


def _classifier_shape(operator: Any) -> None:
    model, source = operator.raw_operator, operator.inputs[0]
    rows = source.get_first_dimension()
    integer_labels = np.asarray(model.classes_).dtype.kind in "iub"
    operator.outputs[0].type = (
        compat.int64_tensor([rows]) if integer_labels else compat.string_tensor([rows])
    )
    operator.outputs[1].type = source.type.__class__([rows, len(model.classes_)])


def _regressor_shape(operator: Any) -> None:
    source = operator.inputs[0]
    operator.outputs[0].type = source.type.__class__([source.get_first_dimension(), 1])


def _column_name(model: Any, index: int) -> str:
    names = getattr(model, "feature_names_in_", None)
    return str(names[index]) if names is not None else f"#{index}"


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


def _add_labels(scope: Any, container: Any, operator: Any, probabilities: str) -> None:
    """The label output: the most probable class (the first one on a tie, as numpy picks)."""
    classes = np.asarray(operator.raw_operator.classes_)
    labels = classes.astype(np.int64) if classes.dtype.kind in "iub" else classes.astype(object)
    picked = _node(scope, container, "ArgMax", [probabilities], axis=1, keepdims=0)
    table = _constant(scope, container, labels, seed="classes")
    _node(scope, container, "Gather", [table, picked], output=operator.outputs[0].full_name)
