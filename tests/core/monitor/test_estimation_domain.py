"""The domain classifier's shortcuts against the library steps they replace: the rank AUC is
scikit-learn's roc_auc_score, the driving features scored in one call are the per-feature
loop's, and the small early-stopped boosted trees tell a window from the reference as well as
boosted trees of LightGBM's size (what NannyML uses) do."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

from core.monitor.estimation import multivariate
from core.monitor.estimation.multivariate import IMPORTANCE_ROWS, rank_auc


def test_rank_auc_is_scikit_learns_roc_auc_with_ties():
    rng = np.random.default_rng(0)
    for rows in (2, 7, 1000):
        labels = np.r_[0, 1, rng.integers(0, 2, rows - 2)]
        for scores in (rng.random(rows), rng.integers(0, 4, rows).astype(float)):
            assert rank_auc(labels, scores) == pytest.approx(roc_auc_score(labels, scores), 1e-12)
    assert np.isnan(rank_auc(np.zeros(5), rng.random(5)))


def _shifted(rng, rows, scale=1.0, correlation=0.8):
    x = rng.normal(size=(rows, 4))
    x[:, 1] = correlation * x[:, 0] + np.sqrt(1 - correlation**2) * x[:, 1]
    return x * scale


def test_driving_features_scored_at_once_are_the_per_feature_loop():
    rng = np.random.default_rng(1)
    rows = np.vstack([_shifted(rng, 1500), _shifted(rng, 1500, correlation=-0.8)])
    labels = np.r_[np.zeros(1500), np.ones(1500)]
    model = HistGradientBoostingClassifier(max_iter=20, random_state=0).fit(rows, labels)
    fast = multivariate._shuffled_loss(model, rows, labels, np.random.default_rng(5))

    loop_rng = np.random.default_rng(5)
    kept = loop_rng.choice(len(rows), IMPORTANCE_ROWS, replace=False)
    features, kept_labels = rows[kept], labels[kept]
    base = roc_auc_score(kept_labels, model.predict_proba(features)[:, 1])
    lost = []
    for column in range(features.shape[1]):
        shuffled = features.copy()
        shuffled[:, column] = loop_rng.permutation(shuffled[:, column])
        lost.append(base - roc_auc_score(kept_labels, model.predict_proba(shuffled)[:, 1]))
    np.testing.assert_allclose(fast, np.clip(lost, 0.0, None), atol=1e-12)
    assert set(np.argsort(-fast)[:2]) == {0, 1}  # the flipped pair drives it


def _lightgbm_sized_auc(reference, window, seed=0):
    """NannyML's classifier size (100 rounds of 31 leaves at rate 0.1, no early stop) in
    scikit-learn, cross-validated on the same balanced sample as the studio's."""
    sample = np.random.default_rng(seed)
    size = min(len(window), len(reference), multivariate.DOMAIN_ROWS)
    left = reference[sample.choice(len(reference), size, replace=False)]
    right = window[sample.choice(len(window), size, replace=False)]
    features, labels = np.vstack([left, right]), np.r_[np.zeros(size), np.ones(size)]
    scores = np.zeros(len(labels))
    for train, test in StratifiedKFold(3, shuffle=True, random_state=seed).split(features, labels):
        model = HistGradientBoostingClassifier(max_iter=100, early_stopping=False)
        scores[test] = model.fit(features[train], labels[train]).predict_proba(features[test])[:, 1]
    return roc_auc_score(labels, scores)


def test_small_early_stopped_trees_tell_windows_apart_as_lightgbm_sized_ones_do():
    rng = np.random.default_rng(2)
    reference = _shifted(rng, 20_000)
    windows = {
        "calm": _shifted(rng, 5000),
        "crowded": _shifted(rng, 5000, scale=0.85),
        "flipped": _shifted(rng, 5000, correlation=-0.8),
    }
    for name, window in windows.items():
        ours, _ = multivariate._cross_validated(reference, window)
        theirs = _lightgbm_sized_auc(reference, window)
        assert abs(ours - theirs) <= 0.02, (name, ours, theirs)
        if name == "calm":
            assert ours < 0.53
        else:
            assert ours > 0.55
