"""fairlearn's private API, read in one module: a change in its shape fails here, by name."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fairlearn.postprocessing import ThresholdOptimizer
from fairlearn.reductions import DemographicParity, ExponentiatedGradient
from sklearn.linear_model import LogisticRegression

from core.review.fairlearn_internals import PMF_CHANGED, THRESHOLDER_TYPES, positive_probability

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def rows():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"x": rng.normal(size=300), "y": rng.normal(size=300)})
    groups = pd.Series(rng.choice(["a", "b"], 300))
    target = ((X["x"] + (groups == "a") * 0.5 + rng.normal(scale=0.5, size=300)) > 0).astype(int)
    return X, target, groups


def _probabilities(values: np.ndarray) -> bool:
    return bool(np.all((values > -1e-9) & (values < 1 + 1e-9)))


def test_a_threshold_optimizers_probability_is_one_per_row(rows):
    X, target, groups = rows
    model = LogisticRegression().fit(X, target)
    optimizer = ThresholdOptimizer(
        estimator=model, constraints="demographic_parity", prefit=True,
        predict_method="predict_proba",
    )  # fmt: skip
    optimizer.fit(X, target, sensitive_features=groups)
    probability = positive_probability(optimizer, X, sensitive_features=groups)
    assert probability.shape == (len(X),) and _probabilities(probability)


def test_a_reductions_probability_is_one_per_row(rows):
    X, target, groups = rows
    reduction = ExponentiatedGradient(LogisticRegression(), constraints=DemographicParity())
    reduction.fit(X, target, sensitive_features=groups)
    probability = positive_probability(reduction, X)
    assert probability.shape == (len(X),) and _probabilities(probability)


def test_a_changed_shape_is_named():
    class Changed:
        def _pmf_predict(self, rows):
            return np.zeros(len(rows))

    with pytest.raises(RuntimeError, match=re.escape("Changed._pmf_predict")):
        positive_probability(Changed(), [1, 2, 3])
    assert "fairlearn_internals.py" in PMF_CHANGED


@pytest.mark.parametrize("path", THRESHOLDER_TYPES)
def test_the_saved_thresholder_types_still_live_at_their_paths(path):
    module, _, name = path.rpartition(".")
    assert hasattr(importlib.import_module(module), name), f"fairlearn moved {path}"


def test_no_other_core_module_reads_fairlearns_private_state():
    readers = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "core").rglob("*.py")
        if "_pmf_predict" in path.read_text() and path.name != "fairlearn_internals.py"
    ]
    assert readers == []
