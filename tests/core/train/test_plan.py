"""Validation plans: task detection, target checks, holdouts, folds that respect groups and time."""

import numpy as np
import pandas as pd
import pytest

from core.train import plan as plans
from core.train.plan import PlanError, ValidationPlan, check_target, cv_folds, detect_task


def _frame(n: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "shop": rng.choice([f"s{i}" for i in range(12)], n),
            "day": pd.date_range("2024-01-01", periods=n, freq="D")[rng.permutation(n)],
            "label": rng.choice(["yes", "no"], n, p=[0.3, 0.7]),
            "kind": rng.choice(["a", "b", "c"], n),
            "price": rng.normal(100, 10, n),
        }
    )


@pytest.mark.parametrize(
    ("values", "task"),
    [
        ([0, 1, 1, 0], "binary"),
        (["yes", "no", "no"], "binary"),
        ([True, False, True], "binary"),
        (["a", "b", "c", "a"], "multiclass"),
        ([1, 2, 3, 1, 2, 3] * 20, "multiclass"),
        (list(np.linspace(0, 1, 100)), "regression"),
        (list(range(500)), "regression"),
    ],
)
def test_detect_task(values, task):
    assert detect_task(pd.Series(values)) == task


def test_one_class_target_is_refused():
    frame = pd.DataFrame({"x": [1, 2, 3], "y": [1, 1, 1]})
    with pytest.raises(PlanError, match="only one value"):
        check_target(frame, "y", "binary")


def test_missing_target_values_are_counted_and_the_fix_named():
    frame = pd.DataFrame({"x": [1, 2, 3, 4], "y": [1, None, 0, None]})
    with pytest.raises(PlanError, match="missing in 2 of 4 rows.*Drop those rows"):
        check_target(frame, "y", "binary")
    kept = plans.drop_missing_target(frame, "y")
    assert len(kept) == 2
    check_target(kept, "y", "binary")


def test_text_regression_target_is_refused_with_an_example():
    frame = pd.DataFrame({"x": [1, 2, 3], "y": ["1.5", "abc", "2"]})
    with pytest.raises(PlanError, match="numeric target.*'abc'"):
        check_target(frame, "y", "regression")


def test_unknown_target_lists_the_columns():
    with pytest.raises(PlanError, match="not in the data.*x"):
        check_target(pd.DataFrame({"x": [1, 2]}), "nope", "binary")


def test_holdout_is_stratified_and_disjoint():
    frame = _frame(400)
    split = plans.split_holdout(frame, "label", "binary", ValidationPlan(holdout=0.25))
    assert set(split.train).isdisjoint(split.holdout)
    assert len(split.train) + len(split.holdout) == len(frame)
    share = (frame.loc[split.holdout, "label"] == "yes").mean()
    assert abs(share - (frame["label"] == "yes").mean()) < 0.02


def test_same_seed_same_split_other_seed_other_split():
    frame = _frame()
    first = plans.split_holdout(frame, "label", "binary", ValidationPlan(seed=1))
    again = plans.split_holdout(frame, "label", "binary", ValidationPlan(seed=1))
    other = plans.split_holdout(frame, "label", "binary", ValidationPlan(seed=2))
    assert np.array_equal(first.holdout, again.holdout)
    assert not np.array_equal(first.holdout, other.holdout)


def test_group_plan_keeps_each_group_on_one_side():
    frame = _frame(300)
    plan = ValidationPlan(folds=4, group_column="shop")
    split = plans.split_holdout(frame, "label", "binary", plan)
    train_groups = set(frame.loc[split.train, "shop"])
    assert train_groups.isdisjoint(set(frame.loc[split.holdout, "shop"]))
    train = frame.iloc[split.train].reset_index(drop=True)
    for fit, check in cv_folds(train, "label", "binary", plan):
        assert set(train.loc[fit, "shop"]).isdisjoint(set(train.loc[check, "shop"]))


def test_time_plan_holds_out_the_latest_rows_and_never_trains_on_the_future():
    frame = _frame(300)
    plan = ValidationPlan(folds=3, time_column="day")
    split = plans.split_holdout(frame, "label", "binary", plan)
    assert frame.loc[split.train, "day"].max() < frame.loc[split.holdout, "day"].min()
    train = frame.iloc[split.train].reset_index(drop=True)
    folds = cv_folds(train, "label", "binary", plan)
    assert len(folds) == 3
    for fit, check in folds:
        assert train.loc[fit, "day"].max() < train.loc[check, "day"].min()


def test_stratified_folds_keep_the_class_share():
    frame = _frame(500)
    folds = cv_folds(frame, "label", "binary", ValidationPlan(folds=5))
    assert len(folds) == 5
    for _, check in folds:
        assert abs((frame.loc[check, "label"] == "yes").mean() - 0.3) < 0.06


def test_regression_uses_plain_kfold():
    frame = _frame(100)
    folds = cv_folds(frame, "price", "regression", ValidationPlan(folds=4))
    covered = np.sort(np.concatenate([check for _, check in folds]))
    assert np.array_equal(covered, np.arange(100))


def test_too_few_rows_for_the_folds():
    frame = _frame(7)
    with pytest.raises(PlanError, match="too few for 5-fold"):
        cv_folds(frame, "price", "regression", ValidationPlan(folds=5))


def test_a_class_smaller_than_the_folds_is_named():
    frame = _frame(100)
    frame.loc[:2, "kind"] = "rare"
    with pytest.raises(PlanError, match="Class 'rare' has only 3 training row.*3 fold"):
        cv_folds(frame, "kind", "multiclass", ValidationPlan(folds=5))


def test_too_few_groups():
    frame = _frame(100)
    frame["shop"] = np.where(np.arange(100) < 50, "a", "b")
    with pytest.raises(PlanError, match="2 distinct value"):
        cv_folds(frame, "label", "binary", ValidationPlan(folds=5, group_column="shop"))


@pytest.mark.parametrize(
    ("plan", "message"),
    [
        (ValidationPlan(folds=1), "from 2 to 20"),
        (ValidationPlan(holdout=0.9), "between 0.05 and 0.5"),
        (ValidationPlan(group_column="nope"), "group column 'nope'"),
        (ValidationPlan(time_column="label"), "cannot be the target"),
    ],
)
def test_bad_plans(plan, message):
    with pytest.raises(PlanError, match=message):
        plans.split_holdout(_frame(), "label", "binary", plan)


def test_plan_round_trips_and_describes_itself():
    plan = ValidationPlan(folds=3, holdout=0.1, time_column="day", seed=7)
    assert ValidationPlan.from_dict(plan.to_dict()) == plan
    assert "time-ordered" in plan.describe("binary")
    assert "stratified 5-fold" in ValidationPlan().describe("binary")
