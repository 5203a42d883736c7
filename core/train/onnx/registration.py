"""Teaching skl2onnx the studio's converters, once per process."""

from __future__ import annotations

import functools

from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.impute import SimpleImputer
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, PowerTransformer

from core.prep.transformers import STUDIO_TRANSFORMERS
from core.train.onnx import compat
from core.train.onnx.graph import _alias, _classifier_shape, _regressor_shape
from core.train.onnx.sklearn_steps import (
    _convert_dummy_classifier,
    _convert_dummy_regressor,
    _convert_one_hot,
    _convert_ordinal,
    _convert_power_transformer,
    _convert_simple_imputer,
    _power_shape,
)
from core.train.onnx.studio_steps import STUDIO_CONVERSIONS, Converter, Parser
from core.train.onnx.trees import (
    TREE_CLASSIFIERS,
    TREE_REGRESSORS,
    _convert_tree_classifier,
    _convert_tree_regressor,
    _tree_classifier_shape,
    _tree_regressor_shape,
)


@functools.cache
def _register_converters() -> None:
    """Teach skl2onnx the studio's transformers, once per process. For SimpleImputer,
    PowerTransformer, the encoders and the tree models, a front here handles double inputs
    exactly and leaves the rest to skl2onnx's own converter. The registry is skl2onnx's, so
    this holds for every conversion in the process."""
    for step in STUDIO_TRANSFORMERS:
        conversion = STUDIO_CONVERSIONS.get(step)
        if isinstance(conversion, Parser):
            compat.register_parser(step, conversion.parse)
        elif isinstance(conversion, Converter):
            compat.register_converter(
                step, _alias(step), conversion.shape, conversion.convert, parser=conversion.parser
            )
    compat.register_converter(
        DummyClassifier,
        _alias(DummyClassifier),
        _classifier_shape,
        _convert_dummy_classifier,
        options={"zipmap": [True, False]},
    )
    compat.register_converter(
        DummyRegressor, _alias(DummyRegressor), _regressor_shape, _convert_dummy_regressor
    )
    compat.front_stock_converter(SimpleImputer, _convert_simple_imputer)
    compat.front_stock_converter(PowerTransformer, _convert_power_transformer, _power_shape)
    compat.front_stock_converter(OneHotEncoder, _convert_one_hot)
    compat.front_stock_converter(OrdinalEncoder, _convert_ordinal)
    for regressor in TREE_REGRESSORS:
        compat.front_stock_converter(regressor, _convert_tree_regressor, _tree_regressor_shape)
    for classifier in TREE_CLASSIFIERS:
        compat.front_stock_converter(classifier, _convert_tree_classifier, _tree_classifier_shape)
