"""Direct loss estimation (DLE) for regression: a model of the served model's absolute and
squared error, fitted on its holdout from the inputs and the prediction, gives each window's
expected MAE and RMSE without a single label.

It assumes no concept drift: the error the model makes on given inputs is what it was on the
holdout, so only the mix of inputs may change."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingRegressor
from threadpoolctl import threadpool_limits

from core.monitor.estimation.bands import Spread, chunk_spread
from core.monitor.estimation.cbpe import Estimate
from core.monitor.estimation.encoding import FrameEncoder, fit_encoder

REGRESSION_METRICS = ("mae", "rmse")
CHUNK_ROWS = 500


@dataclass(frozen=True)
class RegressionReference:
    """The error models (kept in memory only: refitted from the holdout when needed) and each
    metric's realized spread over holdout chunks."""

    encoder: FrameEncoder
    absolute: HistGradientBoostingRegressor
    squared: HistGradientBoostingRegressor
    spreads: dict[str, Spread]
    reference: dict[str, float]

    def expected_errors(
        self, inputs: pd.DataFrame, predictions: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Each row's expected absolute and squared error."""
        features = _features(self.encoder, inputs, predictions)
        with threadpool_limits(limits=1, user_api="openmp"):
            absolute = np.clip(self.absolute.predict(features), 0.0, None)
            squared = np.clip(self.squared.predict(features), 0.0, None)
        return absolute, squared

    def estimate(self, inputs: pd.DataFrame, predictions: np.ndarray) -> list[Estimate]:
        absolute, squared = self.expected_errors(inputs, predictions)
        values = {"mae": float(absolute.mean()), "rmse": math.sqrt(float(squared.mean()))}
        return [self._banded(name, value, len(predictions)) for name, value in values.items()]

    def _banded(self, name: str, value: float, rows: int) -> Estimate:
        width = self.spreads[name].half_width(rows)
        return Estimate(
            name, value, max(value - width, 0.0), value + width, self.reference[name], True
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "spreads": {k: v.to_dict() for k, v in self.spreads.items()},
            "reference": self.reference,
        }


def fit_dle(
    inputs: pd.DataFrame,
    predictions: np.ndarray,
    labels: np.ndarray,
    *,
    roles: dict[str, str] | None = None,
    chunk_rows: int = CHUNK_ROWS,
    seed: int = 0,
) -> RegressionReference:
    """Fit the error models on the holdout (inputs, the model's predictions, true values)."""
    encoder = fit_encoder(inputs, roles=roles)
    features = _features(encoder, inputs, predictions)
    error = np.asarray(labels, dtype=float) - np.asarray(predictions, dtype=float)
    # one thread: the monitor runs beside the service and the jobs, and OpenMP threads that
    # wait for busy cores cost far more than they save on a holdout's few thousand rows
    with threadpool_limits(limits=1, user_api="openmp"):
        absolute = _error_model(encoder, seed).fit(features, np.abs(error))
        squared = _error_model(encoder, seed).fit(features, error**2)
    spreads = {
        "mae": chunk_spread(len(error), chunk_rows, lambda rows: float(np.abs(error[rows]).mean())),
        "rmse": chunk_spread(
            len(error), chunk_rows, lambda rows: math.sqrt(float((error[rows] ** 2).mean()))
        ),
    }
    reference = {
        "mae": float(np.abs(error).mean()),
        "rmse": math.sqrt(float((error**2).mean())),
    }
    return RegressionReference(encoder, absolute, squared, spreads, reference)


def _error_model(encoder: FrameEncoder, seed: int) -> HistGradientBoostingRegressor:
    categorical = [False] * len(encoder.numeric) + [True] * len(encoder.categorical) + [False]
    return HistGradientBoostingRegressor(
        max_iter=100,
        learning_rate=0.1,
        min_samples_leaf=20,
        categorical_features=categorical if any(categorical) else None,
        random_state=seed,
    )


def _features(encoder: FrameEncoder, inputs: pd.DataFrame, predictions: np.ndarray) -> np.ndarray:
    return np.column_stack([encoder.codes(inputs), np.asarray(predictions, dtype=float)])
