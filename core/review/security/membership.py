"""Membership inference: how well a loss-threshold attack tells the training rows from the
holdout rows, i.e. how much the model leaks who was in its training data."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from core.train.training import TrainingData

DEFAULT_MAX_ADVANTAGE = 0.15
MAX_ROWS = 2_000  # rows of each side: enough to see a leak, cheap to score
CURVE_POINTS = 200
# the two-sample Kolmogorov-Smirnov critical value at 95 %: the advantage chance alone gives
KS_95 = 1.358
MIN_PROBABILITY = 1e-12


@dataclass(frozen=True)
class MembershipInference:
    """The attack: a row is guessed a member (a training row) when the model's loss on it is
    below a threshold. ``advantage`` is the best, over thresholds, of true-positive rate minus
    false-positive rate (the Kolmogorov-Smirnov distance between the two loss distributions;
    0 = no leak, 1 = every member told apart); ``chance`` is what two samples of these sizes
    from one distribution reach 95 % of the time."""

    signal: str
    advantage: float
    chance: float
    attack_auc: float
    train_rows: int
    holdout_rows: int
    bar: float | None
    curve_fpr: tuple[float, ...]
    curve_tpr: tuple[float, ...]

    @property
    def leaks(self) -> bool:
        """An advantage above the bar and beyond what chance gives on this many rows."""
        return self.bar is not None and self.advantage > max(self.bar, self.chance)

    def sentence(self) -> str:
        verdict = (
            "above the bar"
            if self.leaks
            else "within the bar"
            if self.bar is None or self.advantage <= self.bar
            else "above the bar but within what chance gives on this many rows"
        )
        bar = "" if self.bar is None else f" (bar {self.bar:.2f})"
        return (
            f"A {self.signal} attack tells training rows from holdout rows with an advantage "
            f"of {self.advantage:.3f}{bar}, {verdict}; chance alone reaches {self.chance:.3f} "
            f"on {self.train_rows:,} + {self.holdout_rows:,} rows."
        )

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["curve_fpr"], data["curve_tpr"] = list(self.curve_fpr), list(self.curve_tpr)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MembershipInference:
        values = {key: data[key] for key in cls.__dataclass_fields__}
        values["curve_fpr"] = tuple(values["curve_fpr"])
        values["curve_tpr"] = tuple(values["curve_tpr"])
        return cls(**values)


def membership_inference(
    pipeline: Any,
    *,
    X_train: pd.DataFrame,
    y_train: pd.Series,
    X_holdout: pd.DataFrame,
    y_holdout: pd.Series,
    task: str,
    bar: float | None = DEFAULT_MAX_ADVANTAGE,
    max_rows: int = MAX_ROWS,
    seed: int = 0,
) -> MembershipInference:
    """The loss-threshold attack on up to ``max_rows`` rows of each side."""
    from sklearn.metrics import roc_auc_score, roc_curve

    rng = np.random.default_rng(seed)
    X_in, y_in = _sample(X_train, y_train, max_rows, rng)
    X_out, y_out = _sample(X_holdout, y_holdout, max_rows, rng)
    if len(X_in) == 0 or len(X_out) == 0:
        raise ValueError("Membership inference needs training and holdout rows.")
    signal, loss_in = _losses(pipeline, X_in, y_in, task)
    _, loss_out = _losses(pipeline, X_out, y_out, task)
    members = np.r_[np.ones(len(loss_in)), np.zeros(len(loss_out))]
    score = -np.r_[loss_in, loss_out]  # a lower loss looks more like a member
    fpr, tpr, _ = roc_curve(members, score)
    step = max(1, len(fpr) // CURVE_POINTS)
    n, m = len(loss_in), len(loss_out)
    return MembershipInference(
        signal=signal,
        advantage=float(max(0.0, np.max(tpr - fpr))),
        chance=float(KS_95 * math.sqrt((n + m) / (n * m))),
        attack_auc=float(roc_auc_score(members, score)),
        train_rows=n,
        holdout_rows=m,
        bar=bar,
        curve_fpr=tuple(float(v) for v in [*fpr[::step], 1.0]),
        curve_tpr=tuple(float(v) for v in [*tpr[::step], 1.0]),
    )


def membership_on_split(
    pipeline: Any, data: TrainingData, *, bar: float | None
) -> MembershipInference:
    """The attack on the run's own split: its training rows against its holdout rows."""
    return membership_inference(
        pipeline,
        X_train=data.X_train,
        y_train=data.y_train,
        X_holdout=data.X_holdout,
        y_holdout=data.y_holdout,
        task=data.task,
        bar=bar,
        seed=data.seed,
    )


def _sample(
    X: pd.DataFrame, y: pd.Series, most: int, rng: np.random.Generator
) -> tuple[pd.DataFrame, pd.Series]:
    if len(X) <= most:
        return X, y
    chosen = np.sort(rng.choice(len(X), most, replace=False))
    return X.iloc[chosen], y.iloc[chosen]


def _losses(pipeline: Any, X: pd.DataFrame, y: pd.Series, task: str) -> tuple[str, np.ndarray]:
    """(signal name, each row's loss): log loss of the true class, squared error for regression,
    0/1 error for a classifier without probabilities."""
    if task == "regression":
        predicted = np.asarray(pipeline.predict(X), dtype=np.float64)
        return "squared-error", (predicted - y.to_numpy(dtype=np.float64)) ** 2
    if not hasattr(pipeline, "predict_proba"):
        predicted = np.asarray(pipeline.predict(X))
        return "error", (predicted != y.to_numpy()).astype(np.float64)
    probabilities = np.asarray(pipeline.predict_proba(X), dtype=np.float64)
    index = pd.Index(list(pipeline.classes_)).get_indexer(y.to_numpy())
    true_class = np.where(
        index >= 0, probabilities[np.arange(len(y)), np.clip(index, 0, None)], 0.0
    )
    return "log-loss", -np.log(np.clip(true_class, MIN_PROBABILITY, 1.0))
