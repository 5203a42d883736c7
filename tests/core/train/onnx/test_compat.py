"""The ONNX export's door into skl2onnx: tested versions, each private piece, the opset fix."""

from __future__ import annotations

import ast
import re
import tomllib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import onnx
import pandas as pd
import pytest
from onnx import TensorProto, helper
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import Pipeline
from sklearn.tree import DecisionTreeRegressor

from core.prep.transformers import FeatureColumns, ToFloat
from core.train.onnx import compat, export_onnx, onnx_predict
from core.train.onnx.export import _convert

ROOT = Path(__file__).resolve().parents[4]
FIX = "update core/train/onnx/compat.py"


def _declared() -> dict[str, str]:
    """pyproject.toml's dependencies: name -> version specifier."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    found = {}
    for line in project["dependencies"]:
        name, spec = re.match(r"([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?(.*)", line).groups()
        found[name.lower()] = spec.replace(" ", "")
    return found


@pytest.mark.parametrize("package", sorted(compat.TESTED_VERSIONS))
def test_pyproject_declares_the_tested_ranges(package: str) -> None:
    assert _declared().get(package) == compat.tested_range(package), (
        f"pyproject.toml and compat.TESTED_VERSIONS disagree on {package}"
    )


@pytest.mark.parametrize("package", sorted(compat.TESTED_VERSIONS))
def test_the_installed_versions_are_the_tested_ones(package: str) -> None:
    compat.check_versions((package,))


@pytest.mark.parametrize("found", ["1.21.0", "1.21.0rc1", "2.0", "1.16.9", "0.9"])
def test_a_version_outside_the_range_is_refused_naming_the_range(found: str) -> None:
    with pytest.raises(compat.UntestedVersion) as raised:
        compat.check_versions(("skl2onnx",), installed=lambda _: found)
    message = str(raised.value)
    assert f"skl2onnx {found}" in message and ">=1.17,<1.21" in message


@pytest.mark.parametrize("found", ["1.17", "1.17.0", "1.20.0", "1.20.9.post1"])
def test_a_version_inside_the_range_passes(found: str) -> None:
    compat.check_versions(("skl2onnx",), installed=lambda _: found)


def test_a_missing_package_is_refused() -> None:
    def missing(package: str) -> str:
        raise PackageNotFoundError(package)

    with pytest.raises(compat.UntestedVersion, match="onnx is not installed"):
        compat.check_versions(("onnx",), installed=missing)


def test_an_untested_skl2onnx_means_no_onnx_copy_and_says_why(monkeypatch) -> None:
    monkeypatch.setattr(
        compat, "version", lambda package: "9.0" if package == "onnx" else version(package)
    )
    frame = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0]})
    pipeline = Pipeline([("model", LinearRegression())]).fit(frame, [0.0, 1.0, 2.0, 3.0])
    result = export_onnx(pipeline, frame, task="regression")
    assert not result.ok
    assert result.reason == compat.UNTESTED_VERSION.format(
        package="onnx", found="9.0", tested=compat.tested_range("onnx")
    )


def test_only_compat_imports_skl2onnx() -> None:
    offenders = []
    for path in sorted((ROOT / "core").rglob("*.py")):
        if path == ROOT / "core" / "train" / "onnx" / "compat.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            if any(name.split(".")[0] == "skl2onnx" for name in names):
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == [], f"import skl2onnx only in core/train/onnx/compat.py: {offenders}"


# -- each private piece, on the installed skl2onnx --------------------------------------------


@pytest.mark.parametrize("model", [SimpleImputer, DecisionTreeRegressor])
def test_stock_converters_are_found_by_alias(model: type) -> None:
    try:
        alias, convert, shape = compat.stock_converter(model)
    except (ImportError, KeyError) as error:
        pytest.fail(f"skl2onnx moved its operator table or registry ({error}); {FIX}")
    assert isinstance(alias, str) and callable(convert) and callable(shape)
    assert isinstance(convert.get_allowed_options(), dict | type(None)), FIX


def test_tensor_types_are_built_and_recognised() -> None:
    text, double = compat.string_tensor([None, 1]), compat.double_tensor([None, 1])
    assert compat.is_string_tensor(SimpleNamespace(type=text))
    assert not compat.is_string_tensor(SimpleNamespace(type=double))
    assert compat.is_double_tensor(SimpleNamespace(type=double))
    assert list(compat.int64_tensor([None]).shape) == [None]


def test_a_feature_columns_pipeline_converts_through_the_sklearn_parser_and_concat() -> None:
    """FeatureColumns's parser hands each group to skl2onnx's own parser (parse_sklearn) and
    stacks two columns with skl2onnx's concat (declare_concat)."""
    frame = pd.DataFrame({"a": [0.5, 1.5, np.nan, 3.0], "b": [1.0, 0.0, 2.0, 5.0]})
    columns = FeatureColumns([("numbers", ToFloat(), ["a", "b"])])
    pipeline = Pipeline(
        [("columns", columns), ("fill", SimpleImputer()), ("model", LinearRegression())]
    )
    pipeline.fit(frame, [1.0, 2.0, 3.0, 4.0])
    data = _convert(pipeline, [("a", "number"), ("b", "number")])
    expected = pipeline.predict(frame)
    assert np.allclose(onnx_predict(data, frame, task="regression"), expected, atol=1e-9)


def test_tree_ensembles_get_the_ml_opset_they_need() -> None:
    frame = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0]})
    pipeline = Pipeline([("model", DecisionTreeRegressor())]).fit(frame, [0.0, 1.0, 4.0, 9.0])
    model = onnx.load_from_string(_convert(pipeline, [("x", "number")]))
    ml = {opset.domain: opset.version for opset in model.opset_import}["ai.onnx.ml"]
    assert ml == compat.TREE_ENSEMBLE_OPSET
    assert {opset.domain: opset.version for opset in model.opset_import}[""] == (
        compat.TARGET_OPSET[""]
    )


def test_the_opset_is_left_alone_without_tree_ensembles() -> None:
    node = helper.make_node("Identity", ["x"], ["y"])
    value = helper.make_tensor_value_info("x", TensorProto.DOUBLE, [None, 1])
    graph = helper.make_graph(
        [node], "g", [value], [helper.make_tensor_value_info("y", TensorProto.DOUBLE, [None, 1])]
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("ai.onnx.ml", 3)])
    compat.raise_opset_for_tree_ensembles(model)
    assert model.opset_import[0].version == 3


def test_integer_flags_turn_boolean_lists_into_integers() -> None:
    added = {}

    class Container:
        name = "inner"

        def add_node(self, op_type, inputs, outputs, **attributes):
            added.update(attributes)

    flags = compat.IntegerFlags(Container())
    flags.add_node("TreeEnsembleRegressor", ["x"], ["y"], tracks=[True, False, 1], names=["a"])
    assert added == {"tracks": [1, 0, 1], "names": ["a"]}
    assert all(type(item) is int for item in added["tracks"])
    assert flags.name == "inner"
