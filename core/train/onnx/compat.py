"""The ONNX export's only door into skl2onnx: its private pieces (operator aliases, stock
converters and shape calculators, the sklearn parser, tensor types, its concat operator), the
opset workaround and a container fix, behind a check that skl2onnx and onnx are versions the
studio is tested with. No other module imports skl2onnx, so an upgrade is checked here (and in
tests/core/train/onnx/test_compat.py) rather than found broken in a conversion.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import numpy as np

from core.review.explain import sklearn_internals

# The versions the studio is tested with, lower bound included and upper bound excluded;
# pyproject.toml's dependencies declare the same ranges (a test checks that they agree).
TESTED_VERSIONS: dict[str, tuple[str, str]] = {
    "scikit-learn": sklearn_internals.TESTED_RANGE,
    "skl2onnx": ("1.17", "1.21"),
    "onnx": ("1.16", "1.24"),
    "onnxruntime": ("1.18", "1.33"),
}
# What a conversion relies on beyond the fenced scikit-learn reads (core/review/explain/
# sklearn_internals.py); ONNX Runtime is the serving side, checked only by the tests.
CHECKED_FOR_EXPORT = ("skl2onnx", "onnx")
UNTESTED_VERSION = (
    "{package} {found} is outside the versions the studio is tested with ({tested}), so no "
    "ONNX copy is made; the skops file is the model. Install a tested version: "
    "pip install '{package}{tested}'."
)
NOT_INSTALLED = "{package} is not installed, so no ONNX copy is made; the skops file is the model."
_RELEASE = re.compile(r"\d+(?:\.\d+)*")


class UntestedVersion(RuntimeError):
    """skl2onnx or onnx is missing, or outside the versions the export is tested with."""


def tested_range(package: str) -> str:
    """The tested range as pip writes it, e.g. ``>=1.17,<1.21``."""
    low, high = TESTED_VERSIONS[package]
    return f">={low},<{high}"


def check_versions(
    packages: tuple[str, ...] = CHECKED_FOR_EXPORT,
    *,
    installed: Callable[[str], str] | None = None,
) -> None:
    """Raise UntestedVersion naming the tested range if a package is missing or outside it;
    ``installed`` reads a package's version (importlib.metadata's by default)."""
    read = installed or version
    for package in packages:
        try:
            found = read(package)
        except PackageNotFoundError as error:
            raise UntestedVersion(NOT_INSTALLED.format(package=package)) from error
        low, high = (_release(bound) for bound in TESTED_VERSIONS[package])
        if not low <= _release(found) < high:
            tested = tested_range(package)
            raise UntestedVersion(
                UNTESTED_VERSION.format(package=package, found=found, tested=tested)
            )


def _release(text: str) -> tuple[int, ...]:
    """The leading release numbers: 1.21.0rc1 -> (1, 21, 0), so a pre-release of the first
    untested version counts as untested."""
    found = _RELEASE.match(text.strip())
    return tuple(int(part) for part in found.group(0).split(".")) if found else ()


# -- skl2onnx's API, public and private --------------------------------------------------------


def convert_sklearn(
    model: Any, *, initial_types: list[tuple[str, Any]], target_opset: dict, options: Any
) -> Any:
    from skl2onnx import convert_sklearn as convert

    return convert(model, initial_types=initial_types, target_opset=target_opset, options=options)


def float32_cast() -> Any:
    """skl2onnx's scikit-learn step that casts its input to float32."""
    from skl2onnx.sklapi import CastTransformer

    return CastTransformer(dtype=np.float32)


def register_converter(
    model: type,
    alias: str,
    shape: Callable[..., None],
    convert: Callable[..., None],
    *,
    parser: Callable[..., Any] | None = None,
    options: dict[str, Any] | None = None,
) -> None:
    from skl2onnx import update_registered_converter

    update_registered_converter(model, alias, shape, convert, parser=parser, options=options)


def register_parser(model: type, parse: Callable[..., Any]) -> None:
    from skl2onnx import update_registered_parser

    update_registered_parser(model, parse)


def parse_sklearn(scope: Any, model: Any, inputs: list[Any], custom_parsers: Any) -> list[Any]:
    """skl2onnx's own parser for a scikit-learn model, called from a custom parser."""
    from skl2onnx._parse import _parse_sklearn

    return list(_parse_sklearn(scope, model, inputs, custom_parsers))


def double_tensor(shape: list[Any]) -> Any:
    from skl2onnx.common.data_types import DoubleTensorType

    return DoubleTensorType(shape)


def string_tensor(shape: list[Any]) -> Any:
    from skl2onnx.common.data_types import StringTensorType

    return StringTensorType(shape)


def int64_tensor(shape: list[Any]) -> Any:
    from skl2onnx.common.data_types import Int64TensorType

    return Int64TensorType(shape)


def is_string_tensor(variable: Any) -> bool:
    from skl2onnx.common.data_types import StringTensorType

    return isinstance(variable.type, StringTensorType)


def is_double_tensor(variable: Any) -> bool:
    from skl2onnx.common.data_types import DoubleTensorType

    return isinstance(variable.type, DoubleTensorType)


def front_stock_converter(
    model: type, convert: Callable[..., None], shape: Callable[..., None] | None = None
) -> None:
    """Puts ``convert`` (and ``shape``) in front of skl2onnx's converter (and shape calculator)
    for ``model``, keeping its options; each receives the stock one as its last argument."""
    alias, stock_convert, stock_shape = stock_converter(model)

    def converter(scope: Any, operator: Any, container: Any) -> None:
        convert(scope, operator, container, stock_convert)

    def calculator(operator: Any) -> None:
        if shape is None:
            stock_shape(operator)
        else:
            shape(operator, stock_shape)

    register_converter(
        model, alias, calculator, converter, options=stock_convert.get_allowed_options()
    )


def stock_converter(model: type) -> tuple[str, Any, Callable[[Any], None]]:
    """skl2onnx's operator alias, converter and shape calculator for a scikit-learn model."""
    from skl2onnx._supported_operators import sklearn_operator_name_map
    from skl2onnx.common._registration import get_converter, get_shape_calculator

    alias = sklearn_operator_name_map[model]
    return alias, get_converter(alias), get_shape_calculator(alias)


def declare_concat(scope: Any, variables: list[Any]) -> Any:
    """Stacks variables side by side with skl2onnx's concat, which casts to the widest type."""
    operator = scope.declare_local_operator("SklearnConcat")
    operator.inputs = variables
    output = scope.declare_local_variable("stacked", variables[0].type.__class__([None, None]))
    operator.outputs.append(output)
    return output


# -- the opset workaround and a container fix ------------------------------------------------


# ONNX Runtime 1.32 runs newer opsets, but skl2onnx 1.20 is tested up to opset 21-22 and writes
# the ML domain up to 3. TreeEnsemble, which keeps thresholds and leaf values in double, needs
# ML opset 5: it is added as if it were version 3, and the model's ML opset raised afterwards.
TARGET_OPSET = {"": 21, "ai.onnx.ml": 3}
TREE_ENSEMBLE_OPSET = 5


def raise_opset_for_tree_ensembles(model: Any) -> None:
    """TreeEnsemble exists from ML opset 5, which skl2onnx 1.20 will not write itself."""
    if not any(node.op_type == "TreeEnsemble" for node in model.graph.node):
        return
    for opset in model.opset_import:
        if opset.domain == "ai.onnx.ml":
            opset.version = max(opset.version, TREE_ENSEMBLE_OPSET)


class IntegerFlags:
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
