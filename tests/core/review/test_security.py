"""The security review: membership inference, robustness, exposure, integrity, gate and job."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.tree import DecisionTreeClassifier

from core.review.gates import Evidence, GateConfig, check_gates
from core.review.security import membership_inference, robustness


def noisy_rows(n: int, seed: int) -> tuple[pd.DataFrame, pd.Series]:
    """Two numbers and a category; the label follows x1 but 30 % of labels are flipped."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "x1": rng.normal(0, 1, n),
            "x2": rng.normal(0, 1, n),
            "kind": rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2]),
        }
    )
    label = (frame["x1"] > 0).astype(int)
    flip = rng.random(n) < 0.3
    return frame, pd.Series(np.where(flip, 1 - label, label), name="y")


def pipeline_of(estimator) -> Pipeline:
    prep = ColumnTransformer(
        [("num", StandardScaler(), ["x1", "x2"]), ("cat", OneHotEncoder(), ["kind"])]
    )
    return Pipeline([("prep", prep), ("model", estimator)])


@pytest.fixture(scope="module")
def rows():
    X_train, y_train = noisy_rows(1500, 1)
    X_holdout, y_holdout = noisy_rows(1500, 2)
    return X_train, y_train, X_holdout, y_holdout


def attack(model, rows):
    X_train, y_train, X_holdout, y_holdout = rows
    model.fit(X_train, y_train)
    return membership_inference(
        model,
        X_train=X_train,
        y_train=y_train,
        X_holdout=X_holdout,
        y_holdout=y_holdout,
        task="binary",
    )


def test_membership_inference_sees_an_overfitted_model_and_not_a_regularised_one(rows):
    overfitted = attack(pipeline_of(DecisionTreeClassifier(random_state=0)), rows)
    one_nn = attack(pipeline_of(KNeighborsClassifier(n_neighbors=1)), rows)
    regularised = attack(pipeline_of(LogisticRegression(C=0.1)), rows)
    # a tree grown to purity is right on every training row and wrong on ~40 % of new ones
    assert overfitted.advantage > 0.3 and overfitted.leaks
    assert one_nn.advantage > 0.3 and one_nn.attack_auc > 0.6
    assert regularised.advantage < 0.08 and not regularised.leaks
    assert regularised.advantage <= regularised.chance + 0.02
    assert "advantage of" in overfitted.sentence()
    assert len(overfitted.curve_fpr) == len(overfitted.curve_tpr) >= 2


def test_robustness_flips_a_knife_edge_model_and_not_a_stable_one(rows):
    X_train, y_train, X_holdout, _ = rows
    # a tree grown to purity on noisy labels: its regions are cut around single rows
    knife = pipeline_of(DecisionTreeClassifier(random_state=0)).fit(X_train, y_train)
    stable = pipeline_of(LogisticRegression(C=0.1)).fit(X_train, y_train)
    edgy = robustness(knife, X_holdout, training=X_train, task="binary", seed=3)
    calm = robustness(stable, X_holdout, training=X_train, task="binary", seed=3)
    assert edgy.flipped_share > 0.10 and edgy.fragile
    assert calm.flipped_share < 0.05 and not calm.fragile
    assert edgy.flipped_share > 10 * calm.flipped_share
    # the smallest change: a 1-NN on noisy labels flips at a far smaller scale
    assert edgy.median_smallest is not None
    assert calm.median_smallest is None or calm.median_smallest > edgy.median_smallest
    assert edgy.flip_rates[0] < edgy.flip_rates[-1]  # larger changes flip more
    assert set(edgy.numeric) == {"x1", "x2"} and edgy.categorical == ("kind",)
    assert type(edgy).from_dict(edgy.to_dict()) == edgy


def test_the_security_gate_fails_when_the_advantage_exceeds_its_bar():
    config = GateConfig.defaults("binary")
    base = {"holdout": 0.82, "train": 0.84, "baseline": 0.5, "holdout_rows": 2000}

    def security(**change):
        results = check_gates(config, Evidence(**{**base, **change}))
        return next(result for result in results if result.name == "security")

    leaking = security(membership_advantage=0.4, membership_chance=0.05)
    assert (
        leaking.passed is False and "0.400" in leaking.message and "regularise" in leaking.message
    )
    assert security(membership_advantage=0.05, membership_chance=0.05).passed is True
    # above the bar but within what chance gives on a small holdout: not a finding
    assert security(membership_advantage=0.2, membership_chance=0.25).passed is True
    assert security().passed is None
    off = check_gates(
        GateConfig(max_membership_advantage=None),
        Evidence(**base, membership_advantage=0.9),
    )
    assert next(r for r in off if r.name == "security").passed is None
