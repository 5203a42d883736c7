"""Tuning: each strategy searches over fixed folds, records its trials, prunes and keeps budgets."""

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeRegressor

from core.train.catalog import Choice, FloatRange, IntRange
from core.train.tuning import (
    Budget,
    TuningError,
    best_so_far,
    halving_schedule,
    tune,
)


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(0)
    n = 600
    X = pd.DataFrame(rng.normal(size=(n, 5)), columns=list("abcde"))
    y = pd.Series((X["a"] + 0.5 * X["b"] + rng.normal(scale=1.0, size=n) > 0).astype(int))
    folds = list(StratifiedKFold(4, shuffle=True, random_state=0).split(X, y))
    return X, y, folds


def _maker(params):
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=500, **params))


SPACE = {"C": FloatRange(1e-4, 10.0, log=True, grid=(1e-4, 1e-3, 0.01, 0.1, 1.0, 10.0))}


@pytest.mark.parametrize("strategy", ["grid", "random", "halving", "bayes"])
def test_each_strategy_records_trials_and_finds_a_good_c(problem, strategy):
    X, y, folds = problem
    seen = []
    result = tune(
        _maker,
        X,
        y,
        folds=folds,
        space=SPACE,
        strategy=strategy,
        metric="roc_auc",
        task="binary",
        budget=Budget(trials=8),
        on_trial=lambda trial, best: seen.append((trial, best)),
    )
    assert len(seen) == len(result.trials) >= 3
    assert [t.number for t in result.trials] == list(range(len(result.trials)))
    assert result.best_score > 0.75
    assert result.best_params["C"] >= 1e-3
    done = [t for t in result.trials if t.status == "done"]
    assert all(len(t.fold_scores) == len(folds) for t in done if t.rows == len(X))


def test_grid_matches_sklearn_grid_search_on_the_same_folds(problem):
    from sklearn.model_selection import GridSearchCV

    X, y, folds = problem
    ours = tune(
        _maker, X, y, folds=folds, space=SPACE, strategy="grid", metric="roc_auc", task="binary"
    )
    theirs = GridSearchCV(
        _maker({}), {"logisticregression__C": list(SPACE["C"].grid)}, cv=folds, scoring="roc_auc"
    ).fit(X, y)
    assert ours.best_score == pytest.approx(theirs.best_score_, rel=1e-9)
    assert ours.best_params["C"] == theirs.best_params_["logisticregression__C"]


def test_loss_metrics_are_kept_in_their_own_units_and_minimised():
    rng = np.random.default_rng(1)
    X = pd.DataFrame({"x": rng.uniform(0, 10, 300)})
    y = pd.Series(np.sin(X["x"]) + rng.normal(scale=0.1, size=300))
    folds = [(np.arange(0, 200), np.arange(200, 300)), (np.arange(100, 300), np.arange(0, 100))]
    result = tune(
        lambda params: DecisionTreeRegressor(random_state=0, **params),
        X,
        y,
        folds=folds,
        space={"max_depth": IntRange(1, 8, grid=(1, 2, 4, 8))},
        strategy="grid",
        metric="rmse",
        task="regression",
    )
    assert all(t.score > 0 for t in result.trials)
    assert result.best_score == min(t.score for t in result.trials)
    assert result.best_params["max_depth"] >= 4
    curve = best_so_far(result.trials, "rmse")
    assert curve == sorted(curve, reverse=True)


def test_hopeless_trials_are_pruned(problem):
    X, y, folds = problem
    from sklearn.tree import DecisionTreeClassifier

    # five good settings first, then two stumps that cannot catch up
    space = {"max_depth": Choice((4, 4, 4, 4, 4, 1, 1))}
    result = tune(
        lambda params: DecisionTreeClassifier(random_state=0, **params),
        X,
        y,
        folds=folds,
        space=space,
        strategy="grid",
        metric="roc_auc",
        task="binary",
    )
    statuses = [t.status for t in result.trials]
    assert "pruned" in statuses[5:]
    pruned = [t for t in result.trials if t.status == "pruned"]
    assert all(len(t.fold_scores) < len(folds) for t in pruned)


def test_failing_trials_are_recorded_and_the_search_goes_on(problem):
    X, y, folds = problem
    space = {"solver": Choice(("lbfgs", "nonsense"))}
    result = tune(
        _maker, X, y, folds=folds, space=space, strategy="grid", metric="roc_auc", task="binary"
    )
    failed = [t for t in result.trials if t.status == "failed"]
    assert len(failed) == 1 and failed[0].error
    assert result.best_params == {"solver": "lbfgs"}


def test_every_trial_failing_is_a_clear_error(problem):
    X, y, folds = problem
    with pytest.raises(TuningError, match="Every trial of Logistic failed"):
        tune(
            _maker,
            X,
            y,
            folds=folds,
            space={"solver": Choice(("bad",))},
            strategy="grid",
            metric="roc_auc",
            task="binary",
            model_title="Logistic",
        )


def test_time_budget_stops_the_search(problem):
    X, y, folds = problem
    result = tune(
        _maker,
        X,
        y,
        folds=folds,
        space=SPACE,
        strategy="random",
        metric="roc_auc",
        task="binary",
        budget=Budget(trials=10_000, seconds=0.5),
    )
    assert 1 <= len(result.trials) < 200
    assert result.seconds < 5


def test_bad_budget_and_strategy():
    with pytest.raises(TuningError, match="at least 1 trial"):
        Budget(trials=0)
    with pytest.raises(TuningError, match="must be one of"):
        tune(
            _maker,
            pd.DataFrame(),
            pd.Series(dtype=int),
            folds=[],
            space=SPACE,
            strategy="magic",
            metric="roc_auc",
            task="binary",
        )


def test_halving_schedule_ends_on_all_rows():
    schedule = halving_schedule(36, 10_000)
    assert schedule[0][0] == 36
    assert schedule[-1][1] == 10_000
    assert [count for count, _ in schedule] == [36, 12, 4, 2]
    assert halving_schedule(1, 500) == [(1, 500)]


class _Slow(LogisticRegression):
    """A model whose fit costs time in proportion to its rows, like a real model at scale."""

    def fit(self, X, y, sample_weight=None):
        import time

        time.sleep(len(X) * 0.0004)
        return super().fit(X, y, sample_weight)


WIDE_SPACE = {
    "C": FloatRange(1e-4, 10.0, log=True, grid=tuple(np.logspace(-4, 1, 12))),
    "fit_intercept": Choice((True, False)),
}


@pytest.mark.parametrize("strategy", ["grid", "random", "halving", "bayes"])
def test_the_trial_budget_bounds_every_strategy(problem, strategy):
    X, y, folds = problem
    result = tune(
        _maker,
        X,
        y,
        folds=folds,
        space=WIDE_SPACE,
        strategy=strategy,
        metric="roc_auc",
        task="binary",
        budget=Budget(trials=10),
    )
    assert 3 <= len(result.trials) <= 10  # halving once ran 30 + 10 + 4 + 2 = 46


@pytest.mark.parametrize("strategy", ["grid", "random", "halving", "bayes"])
def test_the_time_budget_bounds_the_search_and_its_final_fit(problem, strategy):
    import time

    X, y, folds = problem
    seconds = 2.0
    started = time.monotonic()
    result = tune(
        lambda params: make_pipeline(StandardScaler(), _Slow(max_iter=500, **params)),
        X,
        y,
        folds=folds,
        space=WIDE_SPACE,
        strategy=strategy,
        metric="roc_auc",
        task="binary",
        budget=Budget(trials=500, seconds=seconds),
    )
    final = make_pipeline(StandardScaler(), _Slow(max_iter=500, **result.best_params)).fit(X, y)
    assert final is not None and len(result.trials) >= 2
    assert time.monotonic() - started <= seconds * 1.15  # each 4-fold trial takes ~0.7 s
