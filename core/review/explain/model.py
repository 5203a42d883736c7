"""What is explained: the task, the pipeline's fitted final model, its classes and the rows."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from core.review.explain.result import (
    NOT_A_PIPELINE,
    NOT_FITTED,
    UNKNOWN_CLASS,
    UNKNOWN_TASK,
    ExplainError,
    json_value,
)

TASKS = ("binary", "multiclass", "regression")


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


def _class_text(pipeline: Any, class_index: int) -> str:
    return str(json_value(pipeline.classes_[class_index]))
