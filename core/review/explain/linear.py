"""Exact linear SHAP against the background mean, for scikit-learn's linear models."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from core.review.explain.features import _encoded
from core.review.explain.model import _class_text, sample_rows
from core.review.explain.result import _Explained, _Inputs

LINEAR_BACKGROUND = 1000

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
