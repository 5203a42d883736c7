"""Typed plot data of a holdout, one frozen dataclass per chart; JSON via to_dict/from_dict."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

# A curve's points as JSON numbers: NaN and ±inf are kept as None so stored runs stay strict JSON.
Series = tuple[float | None, ...]


def _json_ready(value: Any) -> Any:
    """Plain lists, dicts, str, int, float and None: numpy unwrapped, NaN and ±inf as None."""
    if isinstance(value, dict):
        return {str(key): _json_ready(item) for key, item in value.items()}
    if isinstance(value, np.ndarray):
        return _json_ready(value.tolist())
    if isinstance(value, list | tuple):
        return [_json_ready(item) for item in value]
    if value is None or isinstance(value, bool | np.bool_):
        return None if value is None else bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        number = float(value)
        return number if math.isfinite(number) else None
    return str(value)


def series(values: Iterable[Any] | None) -> Series:
    """Numbers as a tuple of floats, NaN, ±inf and None as None."""
    if values is None:
        return ()
    return tuple(None if value is None else _json_ready(float(value)) for value in values)


def _counts(values: Iterable[Any] | None) -> tuple[int, ...]:
    return () if values is None else tuple(int(value) for value in values)


def _number(value: Any) -> float | None:
    return None if value is None else _json_ready(float(value))


def _section(data: Mapping[str, Any], key: str) -> Mapping[str, Any] | None:
    section = data.get(key)
    return section if section else None


@dataclass(frozen=True)
class ConfusionMatrix:
    """Row = actual class, column = predicted class, in ``labels`` order."""

    labels: tuple[str, ...]
    counts: tuple[tuple[int, ...], ...]

    def to_dict(self) -> dict[str, Any]:
        return {"labels": list(self.labels), "counts": [list(row) for row in self.counts]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ConfusionMatrix:
        rows = data.get("counts") or ()
        return cls(tuple(str(x) for x in data.get("labels") or ()), tuple(map(_counts, rows)))


@dataclass(frozen=True)
class RocCurve:
    label: str
    fpr: Series
    tpr: Series
    auc: float | None

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "fpr": list(self.fpr), "tpr": list(self.tpr), "auc": self.auc}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RocCurve:
        fpr, tpr = series(data.get("fpr")), series(data.get("tpr"))
        return cls(str(data.get("label", "")), fpr, tpr, _number(data.get("auc")))


@dataclass(frozen=True)
class RocPlot:
    """One curve per class against the rest (the positive class alone when binary)."""

    curves: tuple[RocCurve, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"curves": [curve.to_dict() for curve in self.curves]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RocPlot:
        return cls(tuple(RocCurve.from_dict(c) for c in data.get("curves") or () if c))


@dataclass(frozen=True)
class PrCurve:
    label: str
    recall: Series
    precision: Series
    average_precision: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "recall": list(self.recall),
            "precision": list(self.precision),
            "average_precision": self.average_precision,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PrCurve:
        return cls(
            label=str(data.get("label", "")),
            recall=series(data.get("recall")),
            precision=series(data.get("precision")),
            average_precision=_number(data.get("average_precision")),
        )


@dataclass(frozen=True)
class PrPlot:
    """Precision–recall curves; ``prevalence[i]`` is curve i's random-model baseline."""

    curves: tuple[PrCurve, ...]
    prevalence: Series

    def to_dict(self) -> dict[str, Any]:
        curves = [curve.to_dict() for curve in self.curves]
        return {"curves": curves, "prevalence": list(self.prevalence)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PrPlot:
        curves = tuple(PrCurve.from_dict(c) for c in data.get("curves") or () if c)
        return cls(curves, series(data.get("prevalence")))


@dataclass(frozen=True)
class CalibrationCurve:
    label: str
    mean_predicted: Series
    fraction_positive: Series
    count: tuple[int, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "mean_predicted": list(self.mean_predicted),
            "fraction_positive": list(self.fraction_positive),
            "count": list(self.count),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CalibrationCurve:
        return cls(
            label=str(data.get("label", "")),
            mean_predicted=series(data.get("mean_predicted")),
            fraction_positive=series(data.get("fraction_positive")),
            count=_counts(data.get("count")),
        )


@dataclass(frozen=True)
class CalibrationPlot:
    curves: tuple[CalibrationCurve, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"curves": [curve.to_dict() for curve in self.curves]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CalibrationPlot:
        return cls(tuple(CalibrationCurve.from_dict(c) for c in data.get("curves") or () if c))


@dataclass(frozen=True)
class GainCurve:
    """Share of positives captured (and lift) by the top-scored share of rows."""

    label: str
    fraction_targeted: Series
    fraction_captured: Series
    lift: Series

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "fraction_targeted": list(self.fraction_targeted),
            "fraction_captured": list(self.fraction_captured),
            "lift": list(self.lift),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GainCurve:
        return cls(
            label=str(data.get("label", "")),
            fraction_targeted=series(data.get("fraction_targeted")),
            fraction_captured=series(data.get("fraction_captured")),
            lift=series(data.get("lift")),
        )


@dataclass(frozen=True)
class ThresholdSweep:
    """Precision, recall and F1 at each threshold; ``scale`` is "probability" or "decision"."""

    threshold: Series
    precision: Series
    recall: Series
    f1: Series
    scale: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "threshold": list(self.threshold),
            "precision": list(self.precision),
            "recall": list(self.recall),
            "f1": list(self.f1),
            "scale": self.scale,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ThresholdSweep:
        return cls(
            threshold=series(data.get("threshold")),
            precision=series(data.get("precision")),
            recall=series(data.get("recall")),
            f1=series(data.get("f1")),
            scale=str(data.get("scale", "probability")),
        )


@dataclass(frozen=True)
class Residuals:
    predicted: Series
    residual: Series

    def to_dict(self) -> dict[str, Any]:
        return {"predicted": list(self.predicted), "residual": list(self.residual)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Residuals:
        return cls(series(data.get("predicted")), series(data.get("residual")))


@dataclass(frozen=True)
class PredictedVsActual:
    actual: Series
    predicted: Series

    def to_dict(self) -> dict[str, Any]:
        return {"actual": list(self.actual), "predicted": list(self.predicted)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PredictedVsActual:
        return cls(series(data.get("actual")), series(data.get("predicted")))


@dataclass(frozen=True)
class ResidualHistogram:
    """``len(edges) == len(counts) + 1``."""

    edges: Series
    counts: tuple[int, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"edges": list(self.edges), "counts": list(self.counts)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ResidualHistogram:
        return cls(series(data.get("edges")), _counts(data.get("counts")))


@dataclass(frozen=True)
class PlotData:
    """The data behind the evaluation charts; a chart that cannot be drawn is None."""

    confusion_matrix: ConfusionMatrix | None = None
    roc: RocPlot | None = None
    pr: PrPlot | None = None
    calibration: CalibrationPlot | None = None
    gain: GainCurve | None = None
    threshold: ThresholdSweep | None = None
    residuals: Residuals | None = None
    predicted_vs_actual: PredictedVsActual | None = None
    residual_histogram: ResidualHistogram | None = None

    def present(self) -> tuple[str, ...]:
        """The names of the charts that have data, in field order (the stored JSON's keys)."""
        return tuple(name for name in _KINDS if getattr(self, name) is not None)

    def to_dict(self) -> dict[str, Any]:
        """The stored JSON: only the charts that have data, keyed by field name."""
        return {name: getattr(self, name).to_dict() for name in self.present()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PlotData:
        """Read stored plot data back; unknown keys are ignored, empty sections are None."""
        found = {name: _section(data, name) for name in _KINDS}
        return cls(
            **{name: _KINDS[name].from_dict(section) for name, section in found.items() if section}
        )


_KINDS: dict[str, Any] = {
    "confusion_matrix": ConfusionMatrix,
    "roc": RocPlot,
    "pr": PrPlot,
    "calibration": CalibrationPlot,
    "gain": GainCurve,
    "threshold": ThresholdSweep,
    "residuals": Residuals,
    "predicted_vs_actual": PredictedVsActual,
    "residual_histogram": ResidualHistogram,
}
