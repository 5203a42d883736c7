"""The whole holdout evaluation of a fitted pipeline: metrics, plots and cost together."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from core.train.evaluate.metrics import compute_metrics
from core.train.evaluate.plot_kinds import PlotData, _json_ready
from core.train.evaluate.plots import plot_data
from core.train.evaluate.scoring import decision_scores, predictions


@dataclass(frozen=True)
class Evaluation:
    """Metrics and plot data of one model on one holdout: plain data, rendered in app/."""

    task: str
    metrics: dict[str, float]
    plots: PlotData

    def to_dict(self) -> dict[str, Any]:
        """The run record's JSON; NaN metrics become None."""
        metrics = _json_ready(self.metrics)
        return {"task": self.task, "metrics": metrics, "plots": self.plots.to_dict()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Evaluation:
        """Read a stored evaluation back (None metrics, i.e. JSON null, stay None)."""
        plots = PlotData.from_dict(data.get("plots") or {})
        return cls(
            task=str(data.get("task", "")), metrics=dict(data.get("metrics") or {}), plots=plots
        )


def evaluate(
    pipeline: Any,
    frame: pd.DataFrame,
    y_true: pd.Series,
    *,
    task: str,
    max_points: int = 2000,
) -> Evaluation:
    """Score a fitted pipeline on held-out rows; classes come from ``pipeline.classes_``."""
    predicted, probabilities = predictions(pipeline, frame, task=task)
    classes = [] if task == "regression" else np.asarray(pipeline.classes_).tolist()
    scores = None
    if task != "regression" and probabilities is None:
        scores = decision_scores(pipeline, frame)
    metrics = compute_metrics(
        y_true,
        predicted=predicted,
        probabilities=probabilities,
        classes=classes,
        task=task,
        scores=scores,
    )
    plots = plot_data(
        y_true,
        predicted=predicted,
        probabilities=probabilities,
        classes=classes,
        task=task,
        max_points=max_points,
        scores=scores,
    )
    return Evaluation(task=task, metrics=metrics, plots=plots)
