"""Validation gates: configurable pass/fail checks on a model version, each with its numbers."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from core.data.quality import LEAKAGE_MIN_ROWS, LEAKAGE_MIN_STRENGTH
from core.review.leakage import LeakSuspect
from core.review.security.membership import DEFAULT_MAX_ADVANTAGE
from core.review.segments import Segment
from core.train.evaluate import HIGHER_IS_BETTER
from core.words import metric as _label

GATE_METRIC = {"binary": "roc_auc", "multiclass": "f1", "regression": "r2"}
DEFAULT_THRESHOLD = {"binary": 0.70, "multiclass": 0.50, "regression": 0.30}
TOO_GOOD_SCORE = 0.999
BAD_CONFIG = "Gate setting {name!r} must be {kind}, not {value!r}."
LEAKAGE_ADVICE = (
    "A column recorded after the outcome (a time to the event, a later measurement) or derived "
    "from the target leaks it: drop it in Prepare and retrain, or, if it is known to be "
    "available when predicting, approve with a reason that says so."
)


class GateError(ValueError):
    """A gate configuration that cannot be used."""


@dataclass(frozen=True)
class GateConfig:
    """Thresholds for the gates; ``None`` switches a gate off."""

    metric: str = "roc_auc"
    min_metric: float | None = 0.70
    max_overfit_gap: float | None = 0.05
    min_lift_over_baseline: float | None = 0.02
    champion_tolerance: float | None = 0.01
    max_calibration_error: float | None = 0.10
    segment_columns: tuple[str, ...] = ()
    min_segment_metric: float | None = 0.60
    min_segment_rows: int = 50
    max_feature_strength: float | None = LEAKAGE_MIN_STRENGTH
    too_good_score: float | None = TOO_GOOD_SCORE
    max_membership_advantage: float | None = DEFAULT_MAX_ADVANTAGE

    @classmethod
    def defaults(cls, task: str, *, segment_columns: tuple[str, ...] = ()) -> GateConfig:
        threshold = DEFAULT_THRESHOLD[task]
        return cls(
            metric=GATE_METRIC[task],
            min_metric=threshold,
            max_overfit_gap=0.05 if task != "regression" else 0.10,
            max_calibration_error=0.10 if task != "regression" else None,
            segment_columns=segment_columns,
            min_segment_metric=round(threshold - 0.10, 2),
        )

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["segment_columns"] = list(self.segment_columns)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GateConfig:
        values = {key: data[key] for key in cls.__dataclass_fields__ if key in data}
        for key, value in values.items():
            if key in ("metric", "segment_columns", "min_segment_rows"):
                continue
            if value is not None and not isinstance(value, int | float):
                raise GateError(BAD_CONFIG.format(name=key, kind="a number or null", value=value))
        values["segment_columns"] = tuple(values.get("segment_columns") or ())
        return cls(**values)


@dataclass(frozen=True)
class Evidence:
    """The numbers the gates judge, all on the version's own holdout (train for the gap)."""

    holdout: float
    train: float
    baseline: float
    champion: float | None = None
    champion_label: str | None = None
    calibration_error: float | None = None
    segments: tuple[Segment, ...] = field(default=())
    holdout_rows: int = 0
    leak_suspects: tuple[LeakSuspect, ...] | None = None  # None: not looked for
    # the membership-inference attack's advantage and what chance gives on as many rows
    membership_advantage: float | None = None  # None: not measured
    membership_chance: float = 0.0


@dataclass(frozen=True)
class GateResult:
    """One gate: passed (True/False) or not applicable (None), with the value and the bar."""

    name: str
    title: str
    passed: bool | None
    value: float | None
    threshold: float | None
    message: str

    def to_dict(self) -> dict[str, Any]:
        return _json_ready(asdict(self))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GateResult:
        return cls(**{key: data[key] for key in cls.__dataclass_fields__})


def _json_ready(data: dict[str, Any]) -> dict[str, Any]:
    return {
        key: (None if isinstance(value, float) and not np.isfinite(value) else value)
        for key, value in data.items()
    }


def _better(value: float, than: float, metric: str) -> float:
    """How much better ``value`` is than ``than`` (positive = better), whatever the direction."""
    return value - than if HIGHER_IS_BETTER[metric] else than - value


GateCheck = Callable[[GateConfig, Evidence], GateResult]
GATES: dict[str, GateCheck] = {}


def gate(name: str) -> Callable[[GateCheck], GateCheck]:
    """Register a gate; adding one is one decorated function. Gates run, and are shown, in the
    order they are registered: the order a reviewer reads them."""

    def register(check: GateCheck) -> GateCheck:
        GATES[name] = check
        return check

    return register


def check_gates(config: GateConfig, evidence: Evidence) -> list[GateResult]:
    """Every gate's verdict, in the order a reviewer reads them."""
    return [check(config, evidence) for check in GATES.values()]


def all_passed(results: Sequence[GateResult]) -> bool:
    return all(result.passed is not False for result in results)


def _off(name: str, title: str, why: str = "switched off") -> GateResult:
    return GateResult(name, title, None, None, None, f"Not checked: {why}.")


@gate("min_metric")
def _min_metric(config: GateConfig, evidence: Evidence) -> GateResult:
    title = f"Holdout {_label(config.metric)}"
    if config.min_metric is None:
        return _off("min_metric", title)
    passed = _better(evidence.holdout, config.min_metric, config.metric) >= 0
    word = "at least" if HIGHER_IS_BETTER[config.metric] else "at most"
    message = f"{evidence.holdout:.4f} on the holdout; the bar is {word} {config.min_metric:.4f}."
    return GateResult("min_metric", title, passed, evidence.holdout, config.min_metric, message)


@gate("max_overfit_gap")
def _overfit(config: GateConfig, evidence: Evidence) -> GateResult:
    title = "Overfitting (train vs holdout gap)"
    if config.max_overfit_gap is None:
        return _off("max_overfit_gap", title)
    gap = _better(evidence.train, evidence.holdout, config.metric)
    passed = gap <= config.max_overfit_gap
    message = (
        f"{_label(config.metric)} is {evidence.train:.4f} on training rows and "
        f"{evidence.holdout:.4f} on the holdout: a gap of {gap:.4f} "
        f"(allowed {config.max_overfit_gap:.4f})."
    )
    return GateResult("max_overfit_gap", title, passed, gap, config.max_overfit_gap, message)


@gate("min_lift_over_baseline")
def _baseline(config: GateConfig, evidence: Evidence) -> GateResult:
    title = "Beats the baseline"
    if config.min_lift_over_baseline is None:
        return _off("min_lift_over_baseline", title)
    lift = _better(evidence.holdout, evidence.baseline, config.metric)
    passed = lift >= config.min_lift_over_baseline
    message = (
        f"The dummy baseline scores {evidence.baseline:.4f}; this model is better by {lift:.4f} "
        f"(needed {config.min_lift_over_baseline:.4f})."
    )
    return GateResult(
        "min_lift_over_baseline", title, passed, lift, config.min_lift_over_baseline, message
    )


@gate("champion_tolerance")
def _champion(config: GateConfig, evidence: Evidence) -> GateResult:
    title = "Not worse than the champion"
    if config.champion_tolerance is None:
        return _off("champion_tolerance", title)
    if evidence.champion is None:
        return _off("champion_tolerance", title, "there is no champion to compare with yet")
    change = _better(evidence.holdout, evidence.champion, config.metric)
    passed = change >= -config.champion_tolerance
    message = (
        f"The champion ({evidence.champion_label}) scores {evidence.champion:.4f} on this "
        f"holdout; this version {'gains' if change >= 0 else 'loses'} {abs(change):.4f} "
        f"(a loss of up to {config.champion_tolerance:.4f} is tolerated)."
    )
    return GateResult(
        "champion_tolerance", title, passed, change, -config.champion_tolerance, message
    )


@gate("max_calibration_error")
def _calibration(config: GateConfig, evidence: Evidence) -> GateResult:
    title = "Calibration error"
    if config.max_calibration_error is None:
        return _off("max_calibration_error", title)
    if evidence.calibration_error is None:
        return _off("max_calibration_error", title, "the model gives no probabilities")
    passed = evidence.calibration_error <= config.max_calibration_error
    message = (
        f"Expected calibration error {evidence.calibration_error:.4f} "
        f"(allowed {config.max_calibration_error:.4f})."
    )
    return GateResult(
        "max_calibration_error",
        title,
        passed,
        evidence.calibration_error,
        config.max_calibration_error,
        message,
    )


@gate("min_segment_metric")
def _segments(config: GateConfig, evidence: Evidence) -> GateResult:
    title = "Every segment meets the bar"
    if config.min_segment_metric is None or not config.segment_columns:
        return _off("min_segment_metric", title, "no segment columns chosen")
    judged = [
        s
        for s in evidence.segments
        if s.column in config.segment_columns
        and s.count >= config.min_segment_rows
        and s.value is not None
    ]
    if not judged:
        return _off("min_segment_metric", title, "no segment is large enough to judge")
    worst = min(judged, key=lambda s: _better(_value(s), 0.0, config.metric))
    bar = config.min_segment_metric
    failing = [s for s in judged if _better(_value(s), bar, config.metric) < 0]
    names = ", ".join(f"{s.column} = {s.segment} ({_value(s):.3f})" for s in failing[:5])
    message = (
        f"Weakest: {worst.column} = {worst.segment} with {_value(worst):.4f} on "
        f"{worst.count:,} rows; the bar is {config.min_segment_metric:.4f}."
        + (f" Below the bar: {names}." if failing else "")
    )
    return GateResult(
        "min_segment_metric",
        title,
        not failing,
        float(_value(worst)),
        config.min_segment_metric,
        message,
    )


def _value(segment: Segment) -> float:
    assert segment.value is not None  # only judged segments, which all have a value
    return segment.value


@gate("leakage")
def _leakage(config: GateConfig, evidence: Evidence) -> GateResult:
    """Fails on inputs suspected of leaking the target, or on a holdout score too good to be
    true; each half is checked when switched on (and, for the inputs, when they were looked at)."""
    title = "No sign of target leakage"
    bar = config.max_feature_strength
    suspects = evidence.leak_suspects if bar is not None else None
    problems = [suspect.sentence for suspect in suspects or ()]
    too_good = _too_good(config, evidence)
    if too_good:
        problems.append(
            f"the holdout {_label(config.metric)} of {evidence.holdout:.4f} is too good to be true "
            f"(at or above {config.too_good_score:.3f})"
        )
    if problems:
        message = "Suspected target leakage: " + "; ".join(problems) + ". " + LEAKAGE_ADVICE
        values = [s.strength for s in suspects or ()] + ([evidence.holdout] if too_good else [])
        return GateResult("leakage", title, False, max(values), bar, message)
    checked = []
    if suspects is not None and bar is not None:
        checked.append(
            "no input is flagged by the data checks or predicts the target alone (by its values "
            f"or by whether it is filled in) at {bar:.2f} or more"
        )
    if config.too_good_score is not None:
        checked.append("the holdout score is not too good to be true")
    if not checked:
        return _off("leakage", title)
    text = "; ".join(checked)
    message = text[0].upper() + text[1:] + "."
    return GateResult("leakage", title, True, None, bar, message)


def _too_good(config: GateConfig, evidence: Evidence) -> bool:
    """A near-perfect holdout score on enough rows, where the dummy baseline is not near
    perfect too (a trivial target is not a leak)."""
    bar = config.too_good_score
    if bar is None or not HIGHER_IS_BETTER[config.metric]:
        return False
    enough = evidence.holdout_rows >= LEAKAGE_MIN_ROWS
    return enough and evidence.holdout >= bar and evidence.baseline < bar


@gate("security")
def _security(config: GateConfig, evidence: Evidence) -> GateResult:
    """Fails when a loss-threshold attack tells training rows from holdout rows better than
    the bar allows, and better than chance on this many rows."""
    title = "Security: membership inference"
    bar = config.max_membership_advantage
    if bar is None:
        return _off("security", title)
    advantage = evidence.membership_advantage
    if advantage is None:
        return _off("security", title, "the attack was not run")
    passed = advantage <= max(bar, evidence.membership_chance)
    message = (
        f"An attacker comparing the model's loss tells training rows from holdout rows with an "
        f"advantage of {advantage:.3f} (true- minus false-positive rate at the best threshold; "
        f"allowed {bar:.3f}, chance alone reaches {evidence.membership_chance:.3f})."
        + (
            ""
            if passed
            else " The model remembers its training rows: regularise it (shallower trees, more "
            "neighbours, stronger penalty) or train on more rows, then review again."
        )
    )
    return GateResult("security", title, passed, advantage, bar, message)
