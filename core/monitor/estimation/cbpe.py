"""Confidence-based performance estimation (CBPE) for classifiers: the served version's
probabilities, calibrated on its holdout, give each window's expected confusion matrix and so
its expected accuracy, precision, recall, F1 and ROC AUC without a single label.

It assumes no concept drift: the chance of each class given the inputs is what it was on the
holdout, so only the mix of inputs may change (covariate shift)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.isotonic import IsotonicRegression

from core.monitor.estimation.bands import Spread, chunk_spreads

CLASSIFIER_METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc")
CHUNK_ROWS = 500
MIN_ROWS = 30


@dataclass(frozen=True)
class Calibrator:
    """An isotonic map from a raw probability to a calibrated one, kept as data (its knots)."""

    x: tuple[float, ...]
    y: tuple[float, ...]

    def apply(self, scores: np.ndarray) -> np.ndarray:
        if not self.x:
            return np.asarray(scores, dtype=float)
        return np.interp(scores, self.x, self.y)

    def to_dict(self) -> dict[str, list[float]]:
        return {"x": list(self.x), "y": list(self.y)}


@dataclass(frozen=True)
class Estimate:
    """A metric's estimate for one window with its band (estimate +- the reference spread)."""

    metric: str
    value: float
    lower: float
    upper: float
    reference: float  # the metric on the reference (holdout)
    lower_is_better: bool = False

    @property
    def dropped(self) -> bool:
        """The reference value lies outside the band on the good side: performance fell."""
        if self.lower_is_better:
            return self.reference < self.lower
        return self.reference > self.upper

    def to_dict(self) -> dict[str, Any]:
        data = {name: getattr(self, name) for name in self.__dataclass_fields__}
        data["dropped"] = self.dropped
        return data


@dataclass(frozen=True)
class ClassifierReference:
    """What CBPE learned on the holdout: one calibrator per class (the positive class only for
    a binary model) and each metric's realized spread over holdout chunks."""

    classes: int
    threshold: float | None
    calibrators: tuple[Calibrator, ...]
    spreads: dict[str, Spread]
    reference: dict[str, float]

    def calibrated(self, scores: np.ndarray) -> np.ndarray:
        """(rows, classes) calibrated probabilities from the raw ones."""
        if self.classes == 2:
            positive = np.clip(self.calibrators[0].apply(scores[:, 1]), 0.0, 1.0)
            return np.column_stack([1 - positive, positive])
        columns = [c.apply(scores[:, i]) for i, c in enumerate(self.calibrators)]
        found = np.clip(np.column_stack(columns), 1e-9, None)
        return found / found.sum(axis=1, keepdims=True)

    def estimate(self, scores: np.ndarray, predicted: np.ndarray) -> list[Estimate]:
        """Each metric's estimate for a window of raw probabilities and predicted class
        positions."""
        values = expected_metrics(self.calibrated(scores), scores, predicted)
        return [self._banded(name, value, len(predicted)) for name, value in values.items()]

    def _banded(self, name: str, value: float, rows: int) -> Estimate:
        width = self.spreads[name].half_width(rows)
        low, high = max(value - width, 0.0), min(value + width, 1.0)
        return Estimate(name, value, low, high, self.reference[name])

    def to_dict(self) -> dict[str, Any]:
        return {
            "classes": self.classes,
            "threshold": self.threshold,
            "calibrators": [c.to_dict() for c in self.calibrators],
            "spreads": {k: v.to_dict() for k, v in self.spreads.items()},
            "reference": self.reference,
        }


def predicted_positions(scores: np.ndarray, threshold: float | None) -> np.ndarray:
    """Each row's class position as the service decides it (the binary threshold, else argmax)."""
    if threshold is not None and scores.shape[1] == 2:
        return (scores[:, 1] >= threshold).astype(int)
    return np.asarray(scores.argmax(axis=1), dtype=int)


def fit_cbpe(
    scores: np.ndarray,
    labels: np.ndarray,
    *,
    threshold: float | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> ClassifierReference:
    """Calibrate on the holdout (raw probabilities, true class positions) and learn the bands."""
    classes = scores.shape[1]
    wanted = [1] if classes == 2 else list(range(classes))
    calibrators = tuple(_calibrator(scores[:, c], labels == c) for c in wanted)
    predicted = predicted_positions(scores, threshold)
    spreads = chunk_spreads(
        len(labels),
        chunk_rows,
        lambda rows: realized_metrics(labels[rows], predicted[rows], scores[rows]),
    )
    reference = realized_metrics(labels, predicted, scores)
    return ClassifierReference(classes, threshold, calibrators, spreads, reference)


def _calibrator(scores: np.ndarray, hits: np.ndarray) -> Calibrator:
    model = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
    model.fit(scores, hits.astype(float))
    return Calibrator(
        tuple(float(v) for v in model.X_thresholds_), tuple(float(v) for v in model.y_thresholds_)
    )


# -- expected and realized metrics -------------------------------------------------------------


def expected_metrics(
    calibrated: np.ndarray, scores: np.ndarray, predicted: np.ndarray
) -> dict[str, float]:
    """Metrics of the expected confusion matrix: each row counts as its calibrated probability of
    being right (macro-averaged over classes one-vs-rest for more than two)."""
    rows = np.arange(len(predicted))
    accuracy = float(calibrated[rows, predicted].mean())
    wanted = [1] if calibrated.shape[1] == 2 else list(range(calibrated.shape[1]))
    parts = [_binary(calibrated[:, c], predicted == c, scores[:, c], expected=True) for c in wanted]
    return {"accuracy": accuracy, **_mean(parts)}


def realized_metrics(
    labels: np.ndarray, predicted: np.ndarray, scores: np.ndarray | None
) -> dict[str, float]:
    """The same metrics from true class positions."""
    accuracy = float((labels == predicted).mean()) if len(labels) else float("nan")
    classes = scores.shape[1] if scores is not None else int(max(labels.max(), predicted.max()) + 1)
    wanted = [1] if classes == 2 else list(range(classes))
    parts = [
        _binary(
            (labels == c).astype(float),
            predicted == c,
            None if scores is None else scores[:, c],
            expected=False,
        )
        for c in wanted
    ]
    return {"accuracy": accuracy, **_mean(parts)}


def _binary(
    truth: np.ndarray, chosen: np.ndarray, scores: np.ndarray | None, *, expected: bool
) -> dict[str, float]:
    """Precision, recall, F1 and ROC AUC where ``truth`` is 1/0 (realized) or a probability."""
    tp = float(truth[chosen].sum())
    fp = float((1 - truth[chosen]).sum())
    fn = float(truth[~chosen].sum())
    precision = tp / (tp + fp) if tp + fp > 0 else float("nan")
    recall = tp / (tp + fn) if tp + fn > 0 else float("nan")
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn > 0 else float("nan")
    auc = _auc(truth, scores) if scores is not None else float("nan")
    return {"precision": precision, "recall": recall, "f1": f1, "roc_auc": auc}


def _auc(truth: np.ndarray, scores: np.ndarray) -> float:
    """ROC AUC with each row weighted as positive by ``truth`` and negative by 1 - truth
    (exact for 0/1 truth; the expected ROC curve for probabilities, as CBPE draws it)."""
    order = np.argsort(-scores, kind="stable")
    positive = truth[order]
    negative = 1.0 - positive
    total_pos, total_neg = positive.sum(), negative.sum()
    if total_pos <= 0 or total_neg <= 0:
        return float("nan")
    # tied scores form one step of the curve
    ends = np.flatnonzero(np.diff(scores[order], append=np.nan) != 0)
    tpr = np.concatenate([[0.0], np.cumsum(positive)[ends] / total_pos])
    fpr = np.concatenate([[0.0], np.cumsum(negative)[ends] / total_neg])
    return float(np.trapezoid(tpr, fpr))


def _mean(parts: Sequence[dict[str, float]]) -> dict[str, float]:
    return {
        name: float(np.nanmean([part[name] for part in parts]))
        if any(np.isfinite(part[name]) for part in parts)
        else float("nan")
        for name in parts[0]
    }
