"""Explanations by row chunk on a real two-process Dask LocalCluster: the same SHAP values as
here, the chunks spread over both workers; the sampled explainer stays in one piece here."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier

from core.jobs.compute import DaskBackend, compute_backend
from core.review.explain import explain
from core.review.explain.shap_values import CHUNK_ROWS
from tests.core.review.test_explain import _fit, _frame


@pytest.mark.slow
@pytest.mark.parametrize(
    ("model", "chunks"),
    [
        (HistGradientBoostingClassifier(max_iter=30, random_state=0), 3),
        (RandomForestClassifier(n_estimators=15, random_state=0), 3),
        (LogisticRegression(max_iter=2000), 3),
        (KNeighborsClassifier(n_neighbors=15), 0),
    ],
    ids=["hist_gradient_boosting", "random_forest", "logistic", "knn"],
)
def test_chunks_explained_on_the_cluster_equal_explaining_here(
    cluster_settings, model, chunks
) -> None:
    frame, y, _ = _frame(n=2 * CHUNK_ROWS + 50, seed=4)
    pipeline = _fit(frame, y, model)
    here = explain(pipeline, frame, task="binary", background=frame, max_rows=len(frame))
    with compute_backend(cluster_settings) as backend:
        assert isinstance(backend, DaskBackend)
        there = explain(
            pipeline, frame, task="binary", background=frame, max_rows=len(frame), backend=backend
        )
        placement = backend.placement()
    # equal to the last bits but one: a worker (one BLAS/OpenMP thread) may add up a row's
    # terms in another order than this process, which moves the 16th digit (seen: 2.5e-15)
    assert there.explainer == here.explainer
    assert there.base_value == pytest.approx(here.base_value, rel=1e-12, abs=1e-15)
    np.testing.assert_allclose(there.values, here.values, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(there.outputs, here.outputs, rtol=1e-12, atol=1e-14)
    assert there.features == here.features and there.notes == here.notes
    assert backend.tasks_run == chunks
    assert len(placement.workers) == (2 if chunks else 0)
