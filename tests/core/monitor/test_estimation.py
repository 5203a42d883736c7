"""Monitoring before labels on simulated data where the truth is known: CBPE and DLE land within
their bands under covariate shift, the domain classifier and PCA see a joint shift no single
feature shows and stay quiet on reference-like rows, and the quality tests catch each fault."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.linear_model import LinearRegression, LogisticRegression

from core.monitor.drift import compute_drift
from core.monitor.estimation.cbpe import fit_cbpe, predicted_positions, realized_metrics
from core.monitor.estimation.dle import fit_dle
from core.monitor.estimation.encoding import fit_encoder
from core.monitor.estimation.multivariate import fit_domain, fit_reconstruction
from core.monitor.estimation.quality import fit_quality


def _classification(rng, rows, spread=1.0):
    x = rng.normal(0.0, spread, size=(rows, 2))
    chance = 1 / (1 + np.exp(-(1.5 * x[:, 0] - x[:, 1])))
    return pd.DataFrame(x, columns=["a", "b"]), (rng.random(rows) < chance).astype(int)


def test_cbpe_estimates_accuracy_under_covariate_shift_within_its_band():
    rng = np.random.default_rng(0)
    X, y = _classification(rng, 4000)
    model = LogisticRegression().fit(X, y)
    holdout_X, holdout_y = _classification(rng, 4000)
    reference = fit_cbpe(model.predict_proba(holdout_X), holdout_y)
    # the inputs crowd towards the boundary, so accuracy falls; P(y | x) stays the same
    for spread in (1.0, 0.4):
        window_X, window_y = _classification(rng, 3000, spread)
        scores = model.predict_proba(window_X)
        predicted = predicted_positions(scores, None)
        truth = realized_metrics(window_y, predicted, scores)
        for estimate in reference.estimate(scores, predicted):
            assert estimate.lower <= truth[estimate.metric] <= estimate.upper, (spread, estimate)
    assert truth["accuracy"] < reference.reference["accuracy"] - 0.05  # a real drop was seen


def test_dle_estimates_mae_and_rmse_under_covariate_shift_within_its_band():
    rng = np.random.default_rng(1)

    def frame(rows, shift=0.0):
        x = rng.normal(shift, 1.0, size=(rows, 2))
        noise = rng.normal(0, 0.2 + np.abs(x[:, 0]), rows)  # the error grows with |a|
        return pd.DataFrame(x, columns=["a", "b"]), 2 * x[:, 0] - x[:, 1] + noise

    X, y = frame(4000)
    model = LinearRegression().fit(X, y)
    holdout_X, holdout_y = frame(4000)
    reference = fit_dle(holdout_X, model.predict(holdout_X), holdout_y)
    window_X, window_y = frame(3000, shift=1.0)
    predicted = model.predict(window_X)
    error = window_y - predicted
    truth = {"mae": np.abs(error).mean(), "rmse": np.sqrt((error**2).mean())}
    for estimate in reference.estimate(window_X, predicted):
        assert estimate.lower <= truth[estimate.metric] <= estimate.upper, estimate
        assert estimate.dropped  # the error grew well past the holdout's
    assert truth["mae"] > reference.reference["mae"] * 1.3


def _correlated(rng, rows, correlation):
    cov = [[1.0, correlation], [correlation, 1.0]]
    x = rng.multivariate_normal([0, 0], cov, size=rows)
    return pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "c": rng.normal(size=rows)})


def test_joint_drift_sees_a_flipped_correlation_no_single_feature_shows():
    rng = np.random.default_rng(2)
    reference = _correlated(rng, 6000, 0.8)
    encoder = fit_encoder(reference)
    domain = fit_domain(encoder, reference)
    pca = fit_reconstruction(encoder, reference)
    flipped = _correlated(rng, 1500, -0.8)
    same = _correlated(rng, 1500, 0.8)
    assert not compute_drift(reference, flipped).dataset_drift
    assert not any(column.drifted for column in compute_drift(reference, flipped).columns)
    seen = domain.check(flipped)
    assert seen.drifted and seen.value > 0.6
    assert set(list(seen.features)[:2]) == {"a", "b"}
    assert pca.check(flipped).drifted
    assert not domain.check(same).drifted
    assert not pca.check(same).drifted


def _failed(reference, window):
    return {(t.column, t.test) for t in reference.run(window) if not t.passed}


def test_quality_tests_catch_each_fault_and_pass_reference_like_rows():
    rng = np.random.default_rng(3)

    def frame(rows):
        return pd.DataFrame(
            {
                "age": rng.integers(18, 90, rows).astype(float),
                "city": rng.choice(["Oslo", "Lima", "Pune"], rows),
                "score": rng.normal(size=rows),
            }
        )

    reference = fit_quality(frame(5000))
    assert _failed(reference, frame(800)) == set()
    window = frame(800)
    window.loc[:200, "age"] = np.nan
    assert _failed(reference, window) == {("age", "missing share")}
    window = frame(800)
    window.loc[:100, "age"] = 150.0
    assert _failed(reference, window) == {("age", "value range")}
    window = frame(800)
    window.loc[:100, "city"] = "Atlantis"
    assert _failed(reference, window) == {("city", "new categories")}
    window = frame(800).astype({"score": object})
    window.loc[:10, "score"] = "n/a"
    assert ("score", "type") in _failed(reference, window)
    assert _failed(reference, frame(800).drop(columns="city")) == {("city", "column present")}


def _mixed(rng, rows, *, spread=1.0, cities=("Oslo", "Lima", "Pune")):
    frame = _correlated(rng, rows, 0.8) * spread
    frame["city"] = rng.choice(cities, rows, p=[0.6, 0.3, 0.1])
    frame.loc[rng.random(rows) < 0.05, "c"] = np.nan
    frame.loc[rng.random(rows) < 0.05, "city"] = np.nan
    return frame


def _library_errors(reference: pd.DataFrame, window: pd.DataFrame) -> np.ndarray:
    """NannyML's DataReconstructionDriftCalculator's per-row error, rebuilt from scikit-learn
    the way it does it: impute (mean, most frequent), count-encode normalised, scale, PCA."""
    from sklearn.decomposition import PCA
    from sklearn.impute import SimpleImputer
    from sklearn.preprocessing import StandardScaler

    numeric = ["a", "b", "c"]
    mean = SimpleImputer(strategy="mean").fit(reference[numeric])
    mode = SimpleImputer(strategy="most_frequent").fit(reference[["city"]].astype(object))

    def encoded(frame, shares):
        out = pd.DataFrame(mean.transform(frame[numeric]), columns=numeric)
        city = mode.transform(frame[["city"]].astype(object))[:, 0]
        out["city"] = pd.Series(city).map(shares).fillna(0.0).to_numpy(dtype=float)
        return out.to_numpy()

    shares = pd.Series(mode.transform(reference[["city"]].astype(object))[:, 0])
    shares = shares.value_counts(normalize=True).to_dict()
    scaler = StandardScaler().fit(encoded(reference, shares))
    pca = PCA(n_components=0.65, svd_solver="full").fit(
        scaler.transform(encoded(reference, shares))
    )
    scaled = scaler.transform(encoded(window, shares))
    return np.linalg.norm(scaled - pca.inverse_transform(pca.transform(scaled)), axis=1)


def test_reconstruction_error_is_nannymls_quantity_with_missing_and_unseen_values():
    rng = np.random.default_rng(5)
    reference = _mixed(rng, 4000)
    window = _mixed(
        rng, 600, cities=("Oslo", "Lima", "Atlantis")
    )  # a category the reference never saw
    pca = fit_reconstruction(fit_encoder(reference), reference)
    ours, _ = pca.errors(window)
    assert pca.kept == 2
    np.testing.assert_allclose(ours, _library_errors(reference, window), atol=1e-9)


def test_reconstruction_error_falls_below_its_band_when_the_spread_collapses():
    rng = np.random.default_rng(6)
    reference = _mixed(rng, 6000)
    pca = fit_reconstruction(fit_encoder(reference), reference)
    crowded = pca.check(_mixed(rng, 1500, spread=0.5))  # rows crowd onto the main directions
    assert crowded.drifted and crowded.lower is not None and crowded.value < crowded.lower
    calm = pca.check(_mixed(rng, 1500))
    assert not calm.drifted and calm.lower is not None
    assert calm.lower <= calm.value <= calm.threshold
