"""What an explanation is: the Explanation result, its errors and its JSON values."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from core.review.explain.features import FeatureMap

UNKNOWN_TASK = "Unknown task {task!r}; choose one of binary, multiclass or regression."
NOT_A_PIPELINE = (
    "Explanations need the fitted model pipeline (feature steps, then the model), not {found}."
)
NOT_FITTED = "The model pipeline has not been fitted yet, so there is nothing to explain."
NO_ROWS = "There are no rows to explain. Choose a dataset version with rows."
NO_PROBABILITIES = (
    "{model} does not give probabilities (it has no predict_proba), so its {what} cannot be "
    "computed. Retrain with a model that gives probabilities, such as logistic regression."
)
UNKNOWN_CLASS = "{value!r} is not a class this model predicts; its classes are {classes}."
UNKNOWN_FEATURE = "{feature!r} is not one of the model's input columns. Choose from: {choices}."
UNKNOWN_COLUMNS = "The row holds columns the model was not trained on: {columns}."
BAD_VALUE = "Column {feature!r} holds {kind} values; {value!r} cannot be read as one."
ADDITIVITY_FAILED = (
    "The {explainer} explainer's values do not add up to the model's output (largest gap "
    "{gap:.3g}), so they are not shown. Please report this model type."
)
BAD_CACHE = "The saved explanation is incomplete or inconsistent ({problem}); compute it again."

Predict = Callable[[pd.DataFrame], np.ndarray]


class ExplainError(ValueError):
    """A model or input that cannot be explained as asked; the message says what to do."""


# -- the result ------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Explanation:
    """SHAP values of some rows, in the raw columns' names and in the model's encoded features.

    ``values[i].sum() + base_value == outputs[i]``: the model's output for row i in the space
    ``output`` names (a probability, log-odds, a decision score or the predicted value).
    """

    task: str
    explainer: str
    output: str
    base_value: float
    features: list[str]
    values: np.ndarray
    data: pd.DataFrame
    encoded_features: list[str]
    encoded_values: np.ndarray
    outputs: np.ndarray
    target_class: Any = None
    notes: list[str] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return int(self.values.shape[0])

    def mean_abs(self) -> list[tuple[str, float]]:
        """Global importance: mean |SHAP| of each raw column, largest first."""
        means = np.abs(self.values).mean(axis=0) if self.rows else np.zeros(len(self.features))
        pairs = [(name, float(value)) for name, value in zip(self.features, means, strict=True)]
        return sorted(pairs, key=lambda pair: -pair[1])

    def local(self, index: int) -> dict[str, Any]:
        """One row's explanation, JSON-ready, for a waterfall."""
        return {
            "output": self.output,
            "base_value": self.base_value,
            "output_value": float(self.outputs[index]),
            "features": list(self.features),
            "values": [float(value) for value in self.values[index]],
            "data": [json_value(value) for value in self.data.iloc[index]],
        }

    def points(self) -> ExplanationPoints:
        """The explained rows as the SHAP charts draw them."""
        return ExplanationPoints(
            output=self.output,
            features=tuple(self.features),
            values=np.asarray(self.values, dtype=float).reshape(-1, len(self.features)),
            cells=tuple(
                tuple(json_value(value) for value in row) for row in self.data.itertuples(False)
            ),
        )

    def _about(self) -> dict[str, Any]:
        """What was explained and how, as JSON: the head of both stored forms."""
        return {
            "task": self.task,
            "explainer": self.explainer,
            "output": self.output,
            "base_value": self.base_value,
            "target_class": json_value(self.target_class),
            "features": list(self.features),
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the values, the rows and the global importance."""
        return {
            **self._about(),
            "values": self.values.tolist(),
            "data": [[json_value(value) for value in row] for row in self.data.itertuples(False)],
            "outputs": self.outputs.tolist(),
            "importance": [list(pair) for pair in self.mean_abs()],
            "notes": list(self.notes),
        }

    def to_frames(self) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
        """Frames for Parquet and the rest for JSON; columns are positional so any name works."""
        values = pd.DataFrame(self.values, columns=[f"f{i}" for i in range(len(self.features))])
        values["output"] = self.outputs
        encoded = pd.DataFrame(
            self.encoded_values, columns=[f"e{i}" for i in range(len(self.encoded_features))]
        )
        meta = {
            **self._about(),
            "encoded_features": list(self.encoded_features),
            "notes": list(self.notes),
        }
        frames = {"values": values, "encoded": encoded, "data": self.data.reset_index(drop=True)}
        return frames, meta

    @classmethod
    def from_frames(cls, frames: dict[str, pd.DataFrame], meta: dict[str, Any]) -> Explanation:
        try:
            features = [str(name) for name in meta["features"]]
            encoded_features = [str(name) for name in meta["encoded_features"]]
            values = frames["values"]
            encoded, data = frames["encoded"], frames["data"]
            explanation = cls(
                task=str(meta["task"]),
                explainer=str(meta["explainer"]),
                output=str(meta["output"]),
                base_value=float(meta["base_value"]),
                features=features,
                values=values[[f"f{i}" for i in range(len(features))]].to_numpy(dtype=float),
                data=data,
                encoded_features=encoded_features,
                encoded_values=encoded[[f"e{i}" for i in range(len(encoded_features))]]
                .to_numpy(dtype=float)
                .reshape(len(encoded), len(encoded_features)),
                outputs=values["output"].to_numpy(dtype=float),
                target_class=meta.get("target_class"),
                notes=list(meta.get("notes") or []),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise ExplainError(BAD_CACHE.format(problem=f"missing {error}")) from error
        if not len(values) == len(encoded) == len(data):
            raise ExplainError(BAD_CACHE.format(problem="row counts differ"))
        return explanation


@dataclass(frozen=True, eq=False)
class ExplanationPoints:
    """Each explained row's SHAP values (rows × features) and its cells as JSON values (a date
    as ISO text, a missing value as None): what the beeswarm and dependence charts draw."""

    output: str
    features: tuple[str, ...]
    values: np.ndarray
    cells: tuple[tuple[Any, ...], ...]

    @property
    def rows(self) -> int:
        return int(self.values.shape[0])

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ExplanationPoints:
        """From ``Explanation.to_dict()`` (or any dict with features, values and data)."""
        features = tuple(str(name) for name in data.get("features") or ())
        values = np.asarray(data.get("values") or [], dtype=float)
        values = values.reshape(-1, len(features)) if features else np.empty((0, 0))
        cells = data.get("data") or [[None] * len(features)] * len(values)
        return cls(
            output=str(data.get("output") or ""),
            features=features,
            values=values,
            cells=tuple(tuple(row) for row in cells),
        )


@dataclass(frozen=True, eq=False)
class _Inputs:
    """What every explainer is given."""

    pipeline: Pipeline
    rows: pd.DataFrame
    background: pd.DataFrame
    mapping: FeatureMap
    class_index: int
    task: str
    n_jobs: int
    seed: int


@dataclass(frozen=True, eq=False)
class _Explained:
    """What one explainer returns, before the raw-column aggregation."""

    output: str
    base_value: float
    encoded_features: list[str]
    encoded_values: np.ndarray
    outputs: np.ndarray
    notes: list[str] = field(default_factory=list)


# -- JSON ------------------------------------------------------------------------------------


def json_value(value: Any) -> Any:
    """A cell or label as JSON: numbers (NaN as None), booleans, ISO dates, otherwise text."""
    if value is None:
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        number = float(value)
        return number if math.isfinite(number) else None
    if isinstance(value, pd.Timestamp | datetime | date | np.datetime64):
        moment = pd.Timestamp(value)
        return None if pd.isna(moment) else moment.isoformat()
    if pd.api.types.is_scalar(value) and pd.isna(value):
        return None
    return str(value)
