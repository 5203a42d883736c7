"""Validation gates and error analysis on constructed evidence and predictions."""

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from core.review.gates import Evidence, GateConfig, GateError, all_passed, check_gates
from core.review.leakage import FILLED_IN, LeakSuspect
from core.review.segments import Segment, calibration_error, segment_labels, segment_performance


def _by_name(results):
    return {result.name: result for result in results}


def test_a_good_model_passes_every_gate():
    config = GateConfig.defaults("binary", segment_columns=("sex",))
    evidence = Evidence(
        holdout=0.82,
        train=0.85,
        baseline=0.5,
        champion=0.81,
        champion_label="m v1",
        calibration_error=0.03,
        segments=(
            Segment("sex", "female", 400, 0.80, None, None),
            Segment("sex", "male", 380, 0.84, None, None),
        ),
        membership_advantage=0.04,
        membership_chance=0.06,
    )
    results = check_gates(config, evidence)
    assert all(result.passed for result in results)
    assert all_passed(results)


@pytest.mark.parametrize(
    ("change", "failing"),
    [
        ({"holdout": 0.65, "train": 0.66, "champion": 0.65}, "min_metric"),
        ({"train": 0.99}, "max_overfit_gap"),
        ({"baseline": 0.81}, "min_lift_over_baseline"),
        ({"champion": 0.86}, "champion_tolerance"),
        ({"calibration_error": 0.2}, "max_calibration_error"),
    ],
)
def test_each_gate_fails_on_its_own_problem(change, failing):
    values = {
        "holdout": 0.82,
        "train": 0.84,
        "baseline": 0.5,
        "champion": 0.82,
        "champion_label": "m v1",
        "calibration_error": 0.02,
    }
    results = _by_name(check_gates(GateConfig.defaults("binary"), Evidence(**{**values, **change})))
    assert results[failing].passed is False
    assert [name for name, r in results.items() if r.passed is False] == [failing]
    assert results[failing].message


def test_a_weak_segment_fails_and_is_named():
    config = GateConfig.defaults("binary", segment_columns=("age_band",))
    segments = (
        Segment("age_band", "18-25", 120, 0.55, None, None),
        Segment("age_band", "26-35", 300, 0.8, None, None),
        Segment("age_band", "tiny", 5, 0.1, None, None),
    )
    evidence = Evidence(holdout=0.8, train=0.8, baseline=0.5, segments=segments)
    gate = _by_name(check_gates(config, evidence))["min_segment_metric"]
    assert gate.passed is False
    assert "18-25" in gate.message and "tiny" not in gate.message


def test_regression_gates_use_r2_and_skip_calibration():
    config = GateConfig.defaults("regression")
    results = _by_name(check_gates(config, Evidence(holdout=0.6, train=0.65, baseline=-0.01)))
    assert config.metric == "r2"
    assert results["max_calibration_error"].passed is None
    assert results["champion_tolerance"].passed is None
    assert "no champion" in results["champion_tolerance"].message
    assert results["min_metric"].passed is True


def test_lower_is_better_metrics_are_judged_the_right_way():
    config = GateConfig(
        metric="rmse",
        min_metric=10.0,
        max_overfit_gap=1.0,
        min_lift_over_baseline=1.0,
        max_calibration_error=None,
    )
    results = _by_name(check_gates(config, Evidence(holdout=8.0, train=7.5, baseline=12.0)))
    assert results["min_metric"].passed and results["max_overfit_gap"].passed
    assert results["min_lift_over_baseline"].passed
    worse = _by_name(check_gates(config, Evidence(holdout=11.0, train=5.0, baseline=11.5)))
    assert not worse["min_metric"].passed and not worse["max_overfit_gap"].passed


def test_config_round_trip_and_bad_values():
    config = GateConfig.defaults("binary", segment_columns=("sex",))
    assert GateConfig.from_dict(config.to_dict()) == config
    with pytest.raises(GateError, match="must be a number or null"):
        GateConfig.from_dict({"min_metric": "high"})


def test_segments_rank_the_weakest_first_and_bin_numbers():
    rng = np.random.default_rng(0)
    n = 2000
    X = pd.DataFrame({"group": rng.choice(["a", "b"], n), "income": rng.normal(50, 10, n)})
    y = pd.Series(rng.integers(0, 2, n))
    predicted = y.to_numpy().copy()
    bad = (X["group"] == "b").to_numpy() & (rng.random(n) < 0.4)
    predicted[bad] = 1 - predicted[bad]
    probabilities = np.column_stack([1 - predicted * 0.9, predicted * 0.9]).clip(0.05, 0.95)
    segments = segment_performance(
        X,
        y,
        predicted=predicted,
        probabilities=probabilities,
        classes=[0, 1],
        task="binary",
        metric="roc_auc",
    )
    assert (segments[0].column, segments[0].segment) == ("group", "b")
    assert segments[0].gap < 0 < segments[-1].gap or segments[-1].gap >= segments[0].gap
    incomes = [s for s in segments if s.column == "income"]
    assert len(incomes) == 4 and sum(s.count for s in incomes) == n
    labels = segment_labels(pd.Series([1.0, None, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0]))
    assert "(missing)" in set(labels)


def test_calibration_error_is_zero_for_calibrated_and_large_for_overconfident():
    rng = np.random.default_rng(1)
    p = rng.uniform(0, 1, 50_000)
    y = (rng.uniform(0, 1, p.size) < p).astype(int)
    calibrated = calibration_error(pd.Series(y), np.column_stack([1 - p, p]), [0, 1])
    assert calibrated < 0.02
    sharp = np.where(p > 0.5, 0.99, 0.01)
    assert calibration_error(pd.Series(y), np.column_stack([1 - sharp, sharp]), [0, 1]) > 0.15


def test_the_leakage_gate_names_its_suspects_and_a_score_too_good_to_be_true():
    config = GateConfig.defaults("binary")
    fine = {"holdout": 0.82, "train": 0.84, "baseline": 0.5, "holdout_rows": 400}

    def leakage(**change):
        evidence = Evidence(**{**fine, "leak_suspects": (), **change})
        return _by_name(check_gates(config, evidence))["leakage"]

    assert leakage().passed is True
    suspect = LeakSuspect("days_to_default", FILLED_IN, "ROC AUC", 0.998)
    named = leakage(leak_suspects=(suspect,))
    assert named.passed is False and named.value == 0.998
    assert "‘days_to_default’: whether it is filled in alone predicts the target" in named.message
    assert "drop it in Prepare" in named.message
    perfect = leakage(holdout=1.0, train=1.0)
    assert perfect.passed is False and "ROC AUC of 1.0000 is too good to be true" in perfect.message
    assert leakage(holdout=1.0, train=1.0, holdout_rows=20).passed is True  # too few rows to tell
    assert leakage(holdout=1.0, train=1.0, baseline=1.0).passed is True  # a trivial target
    unlooked = leakage(leak_suspects=None)
    assert unlooked.passed is True and unlooked.message.startswith("The holdout score is not")
    off = replace(config, max_feature_strength=None, too_good_score=None)
    assert _by_name(check_gates(off, Evidence(**fine)))["leakage"].passed is None
    kept = GateConfig.from_dict({**config.to_dict(), "too_good_score": 0.99})
    assert kept.too_good_score == 0.99 and GateConfig.from_dict({}).too_good_score == 0.999
