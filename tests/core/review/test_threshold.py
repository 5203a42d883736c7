"""The decision threshold: the holdout trade-off (checked against scikit-learn), suggestions,
and keeping the chosen cut-off with a version that is not yet approved."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest
from sklearn.metrics import precision_recall_curve

from core.review.threshold import describe, holdout_curve, set_threshold, threshold_curve
from core.settings import database_path
from core.train.registry import find_model_version


@pytest.fixture(scope="module")
def home(tmp_path_factory, loans_studio):
    return loans_studio(tmp_path_factory.mktemp("threshold") / "studio", rows=400, seed=6)


def test_the_curve_matches_scikit_learns_precision_and_recall():
    rng = np.random.default_rng(3)
    truth = rng.choice(["no", "yes"], 500, p=[0.8, 0.2])
    scores = np.clip((truth == "yes") * 0.3 + rng.random(500) * 0.7, 0, 1).round(3)
    curve = threshold_curve(truth, scores, positive="yes", negative="no")
    precision, recall, thresholds = precision_recall_curve(truth == "yes", scores)
    expected = {round(t, 6): (p, r) for t, p, r in zip(thresholds, precision, recall, strict=False)}
    for point in curve.points:
        if round(point.threshold, 6) in expected:
            p, r = expected[round(point.threshold, 6)]
            assert point.precision == pytest.approx(p) and point.recall == pytest.approx(r)
    assert curve.positives == int((truth == "yes").sum()) and curve.rows == 500
    point = curve.at(0.5)
    assert point.predicted_positive == int((scores >= 0.5).sum())
    assert point.true_positive == int(((scores >= 0.5) & (truth == "yes")).sum())


def test_suggestions_pick_the_best_f1_and_the_cheapest_mistakes():
    truth = np.array([1, 1, 1, 0, 0, 0, 0, 0])
    scores = np.array([0.9, 0.6, 0.3, 0.5, 0.2, 0.2, 0.1, 0.05])
    curve = threshold_curve(truth, scores, positive=1, negative=0)
    # from 0.3 up: 4 called, all 3 positives caught (F1 0.86, better than 0.6's 0.8)
    assert curve.best_f1().threshold == 0.3
    # a false alarm costing 10 misses: call only 0.6 and up (no false alarm, 1 miss)
    cheap = curve.least_cost(false_alarm=10, miss=1)
    assert cheap.threshold == 0.6 and cheap.false_positive == 0 and cheap.false_negative == 1
    with pytest.raises(ValueError, match="positive numbers"):
        curve.least_cost(false_alarm=0, miss=1)


def test_a_version_keeps_its_threshold_until_it_is_approved(home):
    version = find_model_version(home, "loans@1")
    curve = holdout_curve(home, version)
    assert curve.rows > 50 and curve.points
    best = curve.best_f1()
    kept = set_threshold(home, version, best.threshold, basis="best F1 on the holdout", actor="t")
    assert kept.decision_threshold == best.threshold
    assert describe(kept).endswith("best F1 on the holdout")
    with sqlite3.connect(database_path(home)) as db:
        (action,) = db.execute(
            "SELECT action FROM audit_events WHERE action = 'model.threshold'"
        ).fetchone()
    assert action == "model.threshold"
    with pytest.raises(ValueError, match="between 0 and 1"):
        set_threshold(home, kept, 1.5, basis="typed", actor="t")
    cleared = set_threshold(home, kept, None, basis="", actor="t")
    assert cleared.decision_threshold is None and describe(cleared).startswith("the most probable")
