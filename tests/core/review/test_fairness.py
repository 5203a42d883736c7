"""Tests for fairness by group: numbers checked against fairlearn, intervals, bad input."""

from __future__ import annotations

import json
import math
from functools import cache, partial
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import (
    MetricFrame,
    demographic_parity_difference,
    demographic_parity_ratio,
    equalized_odds_difference,
    equalized_odds_ratio,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)
from sklearn.metrics import (
    accuracy_score,
    mean_absolute_error,
    precision_score,
    roc_auc_score,
    root_mean_squared_error,
)

from core.data.schema import ColumnSchema
from core.review import fairness
from core.review.fairness import FairnessError, disparity_key, fairness_report

CREDIT = Path(__file__).resolve().parents[3] / "sample_data" / "credit.csv"
TOLERANCE = 1e-12
FAIRLEARN_DISPARITIES = {
    "demographic_parity_difference": demographic_parity_difference,
    "demographic_parity_ratio": demographic_parity_ratio,
    "equalized_odds_difference": equalized_odds_difference,
    "equalized_odds_ratio": equalized_odds_ratio,
}


@cache
def _credit_rows() -> pd.DataFrame:
    return pd.read_csv(CREDIT, nrows=3000, usecols=["sex", "age_band", "default"])


def _scored(labels: tuple[str, str] = ("0", "1")) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Credit rows with a seeded score that favours men, and the predictions it makes."""
    frame = _credit_rows()
    rng = np.random.default_rng(0)
    score = np.clip(0.25 + 0.1 * (frame["sex"] == "female") + rng.normal(0, 0.2, len(frame)), 0, 1)
    predicted = (score > 0.4).astype(int)
    return frame, predicted, score


def _close(ours: float, theirs: float) -> bool:
    return math.isclose(ours, theirs, rel_tol=TOLERANCE, abs_tol=TOLERANCE)


def _frame_rows(frame: MetricFrame) -> list[tuple[str, pd.Series]]:
    return [
        (index if isinstance(index, str) else " · ".join(index), row)
        for index, row in frame.by_group.iterrows()
    ]


# -- against fairlearn -----------------------------------------------------------------------


@pytest.mark.parametrize("feature", ["sex", "age_band", ["sex", "age_band"]])
def test_group_metrics_equal_metricframe_by_group(feature: str | list[str]) -> None:
    frame, predicted, score = _scored()
    truth = frame["default"].to_numpy()
    report = fairness_report(
        truth, predicted, sensitive=frame[["sex", "age_band"]], task="binary", y_score=score
    )
    metrics = {
        "selection_rate": selection_rate,
        "true_positive_rate": true_positive_rate,
        "false_positive_rate": false_positive_rate,
        "accuracy": accuracy_score,
        "precision": partial(precision_score, zero_division=np.nan),
    }
    theirs = MetricFrame(
        metrics=metrics, y_true=truth, y_pred=predicted, sensitive_features=frame[feature]
    )
    auc = MetricFrame(
        metrics=roc_auc_score, y_true=truth, y_pred=score, sensitive_features=frame[feature]
    ).by_group
    name = feature if isinstance(feature, str) else " × ".join(feature)
    ours = report.groups_of(name)
    assert [group.group for group in ours] == [label for label, _ in _frame_rows(theirs)]
    for group, (_, row), expected_auc in zip(ours, _frame_rows(theirs), auc, strict=True):
        for metric in metrics:
            assert _close(group.metrics[metric], row[metric]), (group.group, metric)
        assert _close(group.metrics["roc_auc"], expected_auc)
    for metric in metrics:
        assert _close(report.overall[metric], theirs.overall[metric])
    assert [group.count for group in ours] == frame.groupby(feature).size().tolist()


@pytest.mark.parametrize("feature", ["sex", "age_band", ["sex", "age_band"]])
def test_disparities_equal_fairlearn(feature: str | list[str]) -> None:
    frame, predicted, _ = _scored()
    truth = frame["default"].to_numpy()
    report = fairness_report(truth, predicted, sensitive=frame[["sex", "age_band"]], task="binary")
    name = feature if isinstance(feature, str) else " × ".join(feature)
    for disparity, function in FAIRLEARN_DISPARITIES.items():
        expected = function(truth, predicted, sensitive_features=frame[feature])
        assert _close(report.disparities[disparity_key(disparity, name)], expected), disparity
        assert _close(report.disparities_of(name)[disparity], expected)
    tpr = MetricFrame(
        metrics=true_positive_rate,
        y_true=truth,
        y_pred=predicted,
        sensitive_features=frame[feature],
    )
    assert _close(report.disparities_of(name)["true_positive_rate_difference"], tpr.difference())


def test_string_labels_take_the_second_sorted_label_as_positive() -> None:
    frame, predicted, _ = _scored()
    truth = np.where(frame["default"] == 1, "yes", "no")
    guess = np.where(predicted == 1, "yes", "no")
    report = fairness_report(truth, guess, sensitive=frame[["sex"]], task="binary", n_boot=0)
    theirs = MetricFrame(
        metrics={
            "selection_rate": partial(selection_rate, pos_label="yes"),
            "true_positive_rate": partial(true_positive_rate, pos_label="yes"),
        },
        y_true=truth,
        y_pred=guess,
        sensitive_features=frame["sex"],
    )
    assert report.positive_label == "yes"
    for group, (_, row) in zip(report.groups_of("sex"), _frame_rows(theirs), strict=True):
        assert _close(group.metrics["selection_rate"], row["selection_rate"])
        assert _close(group.metrics["true_positive_rate"], row["true_positive_rate"])


def test_regression_mae_and_rmse_by_group_equal_sklearn() -> None:
    frame = _credit_rows()
    rng = np.random.default_rng(1)
    truth = rng.normal(100_000, 25_000, len(frame))
    guess = truth + rng.normal(0, 5_000, len(frame)) * np.where(frame["sex"] == "female", 2, 1)
    report = fairness_report(truth, guess, sensitive=frame[["sex", "age_band"]], task="regression")
    theirs = MetricFrame(
        metrics={"mae": mean_absolute_error, "rmse": root_mean_squared_error},
        y_true=truth,
        y_pred=guess,
        sensitive_features=frame["sex"],
    )
    assert report.metrics == ("mae", "rmse")
    for group, (_, row) in zip(report.groups_of("sex"), _frame_rows(theirs), strict=True):
        assert _close(group.metrics["mae"], row["mae"])
        assert _close(group.metrics["rmse"], row["rmse"])
        low, high = group.intervals["rmse"]
        assert low <= group.metrics["rmse"] <= high
    gaps = report.disparities_of("sex")
    assert _close(gaps["mae_difference"], theirs.difference()["mae"])
    assert _close(gaps["rmse_difference"], theirs.difference()["rmse"])
    assert report.groups_of("sex × age_band")


# -- intervals -------------------------------------------------------------------------------


def _synthetic(rows: int, *, seed: int) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    group = rng.choice(["a", "b"], rows)
    truth = rng.integers(0, 2, rows)
    guess = (rng.random(rows) < np.where(group == "a", 0.3, 0.5)).astype(int)
    return truth, guess, pd.DataFrame({"group": group})


def test_intervals_contain_the_estimate_and_narrow_with_more_rows() -> None:
    widths = []
    for rows in (400, 8000):
        truth, guess, sensitive = _synthetic(rows, seed=rows)
        report = fairness_report(truth, guess, sensitive=sensitive, task="binary", n_boot=200)
        for group in report.groups:
            for metric, value in group.metrics.items():
                low, high = group.intervals[metric]
                assert low <= value <= high, (rows, group.group, metric)
        low, high = report.disparity_intervals[
            disparity_key("demographic_parity_difference", "group")
        ]
        assert (
            low
            <= report.disparities[disparity_key("demographic_parity_difference", "group")]
            <= high
        )
        a = report.groups_of("group")[0].intervals["selection_rate"]
        widths.append(a[1] - a[0])
    assert widths[1] < widths[0] / 2


def test_intervals_repeat_with_the_seed() -> None:
    truth, guess, sensitive = _synthetic(500, seed=3)
    first = fairness_report(truth, guess, sensitive=sensitive, task="binary", seed=7)
    again = fairness_report(truth, guess, sensitive=sensitive, task="binary", seed=7)
    other = fairness_report(truth, guess, sensitive=sensitive, task="binary", seed=8)
    assert first.groups[0].intervals == again.groups[0].intervals
    assert first.groups[0].intervals != other.groups[0].intervals
    none = fairness_report(truth, guess, sensitive=sensitive, task="binary", n_boot=0)
    assert none.groups[0].intervals == {} and none.disparity_intervals == {}


# -- groups and warnings ---------------------------------------------------------------------


def test_a_group_under_ten_rows_is_kept_marked_small_and_warned_about() -> None:
    truth, guess, sensitive = _synthetic(600, seed=4)
    sensitive.loc[:6, "group"] = "rare"
    report = fairness_report(truth, guess, sensitive=sensitive, task="binary")
    rare = next(group for group in report.groups if group.group == "rare")
    big = next(group for group in report.groups if group.group == "a")
    assert rare.small and rare.count == 7 and not big.small
    expected = (
        "Group 'rare' of group has 7 rows: its interval is wide; treat its numbers with care."
    )
    assert expected == fairness.SMALL_GROUP.format(group="rare", feature="group", count=7)
    assert expected in report.warnings
    width = {
        g.group: g.intervals["accuracy"][1] - g.intervals["accuracy"][0] for g in report.groups
    }
    assert width["rare"] > 3 * width["a"]


def test_a_single_group_is_refused() -> None:
    truth, guess, _ = _synthetic(50, seed=5)
    sensitive = pd.DataFrame({"country": ["NL"] * 50})
    with pytest.raises(FairnessError) as raised:
        fairness_report(truth, guess, sensitive=sensitive, task="binary")
    assert str(raised.value) == fairness.SINGLE_GROUP.format(feature="country", group="NL")
    assert "Pick another column" in str(raised.value)


def test_too_many_groups_are_refused() -> None:
    truth, guess, _ = _synthetic(500, seed=6)
    sensitive = pd.DataFrame({"age": np.arange(500) % 70})
    with pytest.raises(FairnessError, match="age_band rather than age"):
        fairness_report(truth, guess, sensitive=sensitive, task="binary")


def test_missing_values_form_their_own_group() -> None:
    truth, guess, _ = _synthetic(300, seed=7)
    sensitive = pd.DataFrame({"sex": np.where(np.arange(300) % 3 == 0, None, "x")})
    sensitive.loc[1, "sex"] = "y"
    report = fairness_report(truth, guess, sensitive=sensitive, task="binary")
    assert [g.group for g in report.groups] == ["(missing)", "x", "y"]
    assert report.groups[0].count == 100


def test_intersectional_groups_come_after_each_feature() -> None:
    frame, predicted, _ = _scored()
    sensitive = frame[["sex", "age_band"]]
    report = fairness_report(frame["default"], predicted, sensitive=sensitive, task="binary")
    assert report.partitions == ("sex", "age_band", "sex × age_band")
    assert "female · 18-25" in {group.group for group in report.groups_of("sex × age_band")}
    assert disparity_key("equalized_odds_ratio", "sex × age_band") in report.disparities
    alone = fairness_report(
        frame["default"], predicted, sensitive=sensitive, task="binary", intersectional=False
    )
    assert alone.partitions == ("sex", "age_band")


def test_an_undefined_rate_is_nan_with_a_warning_and_null_in_json() -> None:
    truth = np.array([0, 0, 0, 0, 1, 1, 0, 1] * 5)
    guess = np.array([0, 1, 0, 0, 1, 0, 1, 1] * 5)
    sensitive = pd.DataFrame({"g": ["a", "a", "a", "a", "b", "b", "b", "b"] * 5})
    report = fairness_report(truth, guess, sensitive=sensitive, task="binary")
    assert math.isnan(report.groups_of("g")[0].metrics["true_positive_rate"])
    assert any("no actual positives" in warning for warning in report.warnings)
    data = report.to_dict()
    json.dumps(data, allow_nan=False)
    assert data["groups"][0]["metrics"]["true_positive_rate"] is None
    assert data["by_feature"]["g"]["demographic_parity_difference"] == pytest.approx(
        demographic_parity_difference(truth, guess, sensitive_features=sensitive["g"])
    )


# -- the rows behind each figure -------------------------------------------------------------


def _few_predicted_positives() -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Group 'a': 200 rows, 60 predicted positive; group 'b': 50 rows, 2 predicted positive."""
    truth = np.array([1, 0] * 100 + [1, 0] * 25)
    guess = np.array([1] * 60 + [0] * 140 + [1, 1] + [0] * 48)
    return truth, guess, pd.DataFrame({"g": ["a"] * 200 + ["b"] * 50})


def test_each_group_keeps_the_rows_behind_its_rates() -> None:
    truth, guess, sensitive = _few_predicted_positives()
    report = fairness_report(truth, guess, sensitive=sensitive, task="binary", n_boot=0)
    a, b = report.groups_of("g")
    assert a.counts == fairness.GroupCounts(
        rows=200, predicted_positives=60, actual_positives=100, true_positives=30, correct=100
    )
    assert (b.counts.predicted_positives, b.counts.actual_negatives) == (2, 25)
    assert b.counts.false_positives == 1
    assert b.basis("selection_rate").text == "2 of 50 rows predicted positive"
    assert b.basis("true_positive_rate").text == "1 of 25 actual positives predicted positive"
    assert b.basis("precision").short == "1 of 2"
    assert b.basis("accuracy").text == "25 of 50 rows right"


def test_a_parity_ratio_resting_on_two_predicted_positives_is_flagged() -> None:
    truth, guess, sensitive = _few_predicted_positives()
    report = fairness_report(truth, guess, sensitive=sensitive, task="binary", n_boot=0)
    a, b = report.groups_of("g")
    assert not b.small  # 50 rows: the group is big enough, its predicted positives are not
    assert [name for name in b.metrics if b.too_few(name)] == ["selection_rate", "precision"]
    assert not any(a.too_few(name) for name in a.metrics)
    assert b.shortfall("selection_rate") == "only 2 predicted positives"
    caution = "rests on group 'b', which has only 2 predicted positives"
    assert report.caution("g", "demographic_parity_ratio") == caution
    assert report.caution("g", "true_positive_rate_difference") is None
    assert report.cautions() == {
        "g": {"demographic_parity_difference": caution, "demographic_parity_ratio": caution}
    }
    note = fairness.TOO_FEW.format(
        feature="g",
        count="2 figures",
        minimum=fairness.MIN_COUNT,
        examples="'b' (selection rate and precision: only 2 predicted positives)",
    )
    assert note in report.warnings


def test_the_counts_and_flags_round_trip_through_json() -> None:
    truth, guess, sensitive = _few_predicted_positives()
    report = fairness_report(truth, guess, sensitive=sensitive, task="binary", n_boot=0)
    saved = json.loads(json.dumps(report.to_dict()))
    assert saved["groups"][1]["counts"]["predicted_positives"] == 2
    assert saved["groups"][1]["too_few"] == ["selection_rate", "precision"]
    assert saved["cautions"]["g"]["demographic_parity_ratio"].startswith("rests on group 'b'")
    loaded = fairness.FairnessReport.from_dict(saved)
    assert loaded.groups == report.groups
    assert loaded.to_dict() == saved


def test_a_report_saved_before_counts_reads_back_as_it_was() -> None:
    truth, guess, sensitive = _few_predicted_positives()
    saved = fairness_report(truth, guess, sensitive=sensitive, task="binary", n_boot=0).to_dict()
    del saved["cautions"]
    for group in saved["groups"]:
        del group["counts"], group["too_few"]
    saved["groups"][1]["small"] = True
    loaded = fairness.FairnessReport.from_dict(saved)
    assert loaded.to_dict() == saved
    a, b = loaded.groups
    assert a.counts is None and a.basis("selection_rate") is None
    assert b.too_few("selection_rate") and not a.too_few("selection_rate")  # from "small"
    assert b.shortfall("selection_rate") == "only 50 rows"


def test_the_model_card_marks_a_gap_that_rests_on_too_few_rows() -> None:
    from core.review import card

    truth, guess, sensitive = _few_predicted_positives()
    report = fairness_report(truth, guess, sensitive=sensitive, task="binary", n_boot=0)
    rows = dict(card._fairness_rows(SimpleNamespace(fairness=report)))  # type: ignore[arg-type]
    caution = "(caution: rests on group 'b', which has only 2 predicted positives)"
    assert rows["Demographic parity ratio (g)"].endswith(caution)
    assert "caution" not in rows["Equalized odds ratio (g)"]


def test_groups_with_enough_rows_carry_no_caution() -> None:
    truth, guess, sensitive = _synthetic(2000, seed=11)
    report = fairness_report(truth, guess, sensitive=sensitive, task="binary", n_boot=0)
    assert report.cautions() == {}
    assert not any("too few rows" in warning for warning in report.warnings)


def test_regression_and_multiclass_groups_count_rows_and_right_answers() -> None:
    sensitive = pd.DataFrame({"g": ["a"] * 30 + ["b"] * 5})
    values = np.linspace(0, 1, 35)
    regression = fairness_report(values, values, sensitive=sensitive, task="regression")
    assert regression.groups[1].basis("mae").text == "5 rows"
    assert regression.groups[1].too_few("mae")
    labels = np.array(["x", "y", "z"] * 10 + ["x"] * 5)
    guesses = np.where(np.arange(35) % 4 == 0, "y", labels)
    multiclass = fairness_report(labels, guesses, sensitive=sensitive, task="multiclass")
    a = multiclass.groups[0]
    assert a.basis("accuracy").text == f"{a.counts.correct} of 30 rows right"
    assert a.counts.correct == int((labels[:30] == guesses[:30]).sum())


# -- tasks and bad input ---------------------------------------------------------------------


def test_classification_metrics_are_refused_for_regression() -> None:
    truth = np.linspace(0, 1, 40)
    sensitive = pd.DataFrame({"sex": ["f", "m"] * 20})
    with pytest.raises(FairnessError) as raised:
        fairness_report(
            truth, truth, sensitive=sensitive, task="regression", metrics=["selection_rate"]
        )
    assert str(raised.value) == fairness.CLASSIFICATION_ONLY.format(metrics="selection_rate")


def test_multiclass_is_compared_on_accuracy_with_a_warning() -> None:
    rng = np.random.default_rng(8)
    truth, guess = rng.integers(0, 3, 300), rng.integers(0, 3, 300)
    sensitive = pd.DataFrame({"sex": rng.choice(["f", "m"], 300)})
    report = fairness_report(
        truth, guess, sensitive=sensitive, task="multiclass", metrics=["accuracy", "selection_rate"]
    )
    assert report.metrics == ("accuracy",)
    assert report.warnings == (
        fairness.BINARY_ONLY.format(metrics="Selection rate", task="multiclass"),
    )
    default = fairness_report(truth, guess, sensitive=sensitive, task="multiclass", n_boot=0)
    assert "need a binary task" in default.warnings[0] and default.metrics == ("accuracy",)
    theirs = MetricFrame(
        metrics=accuracy_score, y_true=truth, y_pred=guess, sensitive_features=sensitive["sex"]
    )
    for group, expected in zip(report.groups, theirs.by_group, strict=True):
        assert _close(group.metrics["accuracy"], expected)
    assert set(report.disparities_of("sex")) == {"accuracy_difference", "accuracy_ratio"}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"task": "ranking"}, "The task must be one of"),
        ({"task": "binary", "n_boot": -1}, "n_boot must be"),
        ({"task": "binary", "confidence": 95}, "between 0 and 1"),
        ({"task": "binary", "metrics": ["mae"]}, "regression metrics"),
        ({"task": "binary", "metrics": ["roc_auc"]}, "needs the model's scores"),
        ({"task": "binary", "metrics": ["fairness"]}, "no fairness metric"),
    ],
)
def test_bad_options_get_a_clear_message(kwargs: dict, message: str) -> None:
    truth, guess, sensitive = _synthetic(60, seed=9)
    with pytest.raises(FairnessError, match=message):
        fairness_report(truth, guess, sensitive=sensitive, **kwargs)


def test_rows_must_line_up() -> None:
    truth, guess, sensitive = _synthetic(60, seed=10)
    with pytest.raises(FairnessError, match="one row of sensitive features per prediction"):
        fairness_report(truth, guess, sensitive=sensitive.iloc[:50], task="binary")
    with pytest.raises(FairnessError, match="at least one sensitive feature"):
        fairness_report(truth, guess, sensitive=sensitive[[]], task="binary")


# -- suggestions -----------------------------------------------------------------------------


def test_sensitive_features_are_suggested_by_name_and_role() -> None:
    schema = [
        ColumnSchema("applicant_id", "string", "id"),
        ColumnSchema("age", "int64", "numeric"),
        ColumnSchema("wage", "double", "numeric"),
        ColumnSchema("mortgage_type", "string", "categorical"),
        ColumnSchema("mortgage_category", "string", "categorical"),
        ColumnSchema("Gender", "string", "categorical"),
        ColumnSchema("maritalStatus", "string", "categorical"),
        ColumnSchema("ethnicity", "string", "categorical"),
        ColumnSchema("is_disabled", "bool", "boolean"),
        ColumnSchema("age_band", "string", "categorical"),
        ColumnSchema("race_score", "double", "numeric"),
    ]
    assert fairness.suggest_sensitive_features(schema) == [
        "age_band",
        "Gender",
        "maritalStatus",
        "ethnicity",
        "is_disabled",
    ]
    assert fairness.suggest_sensitive_features(schema[:3]) == []
    banded = [ColumnSchema("Age", "int64", "numeric"), ColumnSchema("agegroup", "string", "text")]
    assert fairness.suggest_sensitive_features(banded) == []
    banded[1] = ColumnSchema("AgeGroup", "string", "categorical")
    assert fairness.suggest_sensitive_features(banded) == ["AgeGroup"]


def test_labels_in_messages_are_written_as_the_user_wrote_them() -> None:
    """A numpy label reads '7', never np.int64(7); no message formats a Python repr."""
    truth, guess, sensitive = _synthetic(40, seed=12)
    with pytest.raises(FairnessError) as raised:
        fairness_report(truth, guess, sensitive=sensitive, task="binary", pos_label=np.int64(7))
    assert str(raised.value) == fairness.UNKNOWN_POSITIVE.format(label="7")
    templates = [value for name, value in vars(fairness.messages).items() if name.isupper()]
    assert templates and not any("!r}" in template for template in templates)
