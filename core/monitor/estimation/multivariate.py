"""Drift across features jointly, which per-feature tests miss (e.g. two features whose
correlation flips while each keeps its own distribution):

- a domain classifier: how well a model tells the window's rows from reference rows
  (cross-validated ROC AUC of gradient-boosted trees, as NannyML's; 0.5 = cannot tell), with
  the features it leans on;
- a PCA reconstruction error: PCA fitted on the reference keeps its main directions; rows that
  break the reference's correlations are reconstructed worse, and rows crowded onto those
  directions (spread collapsing) better, so the error is checked against a band on both sides.

Each threshold is learned from reference chunks compared with the rest of the reference.

The reconstruction error is NannyML's DataReconstructionDriftCalculator's quantity, computed
the same way (missing numbers as the reference mean, missing categories as the reference's most
frequent level, categories as their reference frequency and unseen ones as 0, standard scaling,
PCA keeping 65% of the variance, the mean Euclidean distance to the reconstruction, alert
outside mean +- 3 std); tests/bench/bench_estimation.py checks it against NannyML per chunk.
Two differences, both deliberate: the band comes from random reference chunks scaled to the
window's rows (a window's rows vary with the traffic; NannyML needs chunks of one fixed size),
and at most 250 levels per column keep their frequency (rarer ones count as unseen)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import rankdata
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import StratifiedKFold

from core.monitor.estimation.bands import SIGMAS, Spread, spread_of
from core.monitor.estimation.encoding import FrameEncoder

# At most this many window rows (and as many reference rows) train the domain classifier: its
# AUC is then known to about +-0.01, and a window of a million rows costs what 5,000 cost.
DOMAIN_ROWS = 5_000
DOMAIN_FOLDS = 2
# Gradient-boosted trees (scikit-learn's histogram boosting), as NannyML's domain classifier
# (LightGBM: 100 rounds of 31 leaves at rate 0.1), but smaller and stopped early: trees of 8
# leaves at rate 0.3, stopped when the loss on a tenth of the training rows held aside has not
# improved for 5 rounds. On 5,000 rows a fold the bigger model overfits, so this one agrees
# with NannyML's AUC as well or better (tests/bench/bench_estimation.py), and a window that
# cannot be told from the reference stops after ~5-10 rounds instead of 100: a tree's cost is
# mostly per split, so ~5x less per fit, and two folds instead of three.
DOMAIN_ROUNDS = 100
DOMAIN_LEAVES = 8
DOMAIN_RATE = 0.3
DOMAIN_PATIENCE = 5
# held-out rows of each fold's model each feature is shuffled in, to measure what drives it
# (1,000 rows over the two folds, as over three folds before)
IMPORTANCE_ROWS = 500
DOMAIN_CHUNKS = 5
PCA_VARIANCE = 0.65  # share of the reference's variance the kept components explain (NannyML's)
PCA_ROWS = 100_000
PCA_CHUNK_ROWS = 1_000
MIN_ROWS = 50
TOP_FEATURES = 5


@dataclass(frozen=True)
class JointDrift:
    """One window's joint-drift figure against its learned threshold, and what drives it."""

    method: str  # "domain_classifier" or "reconstruction_error"
    value: float
    threshold: float
    drifted: bool
    features: dict[str, float]  # the features that drive it, largest share first
    lower: float | None = None  # a band's lower edge, for a figure that drifts both ways

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


# -- domain classifier -------------------------------------------------------------------------


@dataclass(frozen=True)
class DomainReference:
    """Reference rows (as codes) to compare windows with, and the AUC spread between chunks of
    the reference itself."""

    encoder: FrameEncoder
    rows: np.ndarray
    spread: Spread

    def check(self, window: pd.DataFrame, *, seed: int = 0) -> JointDrift:
        """The window's AUC against the threshold, and (when it drifted: on a calm window they
        would be noise, and they cost a fifth of the check) the features that drive it."""
        auc, held_out = _cross_validated(self.rows, self.encoder.codes(window), seed=seed)
        rows = min(len(window), DOMAIN_ROWS)
        # a few reference chunks can understate the spread: never below chance's own
        half_width = max(self.spread.half_width(rows), SIGMAS * _chance_auc_std(rows))
        threshold = max(self.spread.mean + half_width, 0.5)
        drifted = auc > threshold
        ranked = _ranked(self.encoder.columns, _drivers(held_out, seed)) if drifted else {}
        return JointDrift("domain_classifier", auc, threshold, drifted, ranked)


def fit_domain(encoder: FrameEncoder, reference: pd.DataFrame, *, seed: int = 0) -> DomainReference:
    """Keep a sample of the reference and learn the no-drift AUC from its own chunks."""
    codes = encoder.codes(reference)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(codes))
    size = max(min(DOMAIN_ROWS, len(codes) // (DOMAIN_CHUNKS + 1)), MIN_ROWS // 2)
    kept = codes[order[: max(DOMAIN_ROWS, size * DOMAIN_CHUNKS)]]
    aucs = []
    for chunk in range(DOMAIN_CHUNKS):
        first, last = size * (chunk + 1), size * (chunk + 2)
        inside = order[first:last]
        others = np.concatenate([order[:first], order[last:]])  # no sort of every row
        if len(inside) < 2 or len(others) < 2:
            continue
        auc, _ = _cross_validated(codes[others], codes[inside], seed=seed + chunk)
        aucs.append(auc)
    return DomainReference(encoder, kept, spread_of(aucs, size))


HeldOut = list[tuple[HistGradientBoostingClassifier, np.ndarray, np.ndarray]]


def domain_auc(
    reference: np.ndarray, window: np.ndarray, *, seed: int = 0
) -> tuple[float, np.ndarray]:
    """Cross-validated ROC AUC of telling ``window`` rows from ``reference`` rows (balanced
    samples of at most DOMAIN_ROWS each), and how much each feature drives it (the held-out
    AUC lost when that feature is shuffled)."""
    auc, held_out = _cross_validated(reference, window, seed=seed)
    return auc, _drivers(held_out, seed)


def _cross_validated(
    reference: np.ndarray, window: np.ndarray, *, seed: int = 0
) -> tuple[float, HeldOut]:
    """The cross-validated AUC, and each fold's model with its held-out rows and labels."""
    rng = np.random.default_rng(seed)
    size = min(len(window), len(reference), DOMAIN_ROWS)
    left = reference[rng.choice(len(reference), size, replace=False)]
    right = window[rng.choice(len(window), size, replace=False)]
    features = _filled(np.vstack([left, right]), reference)
    labels = np.r_[np.zeros(size), np.ones(size)]
    scores = np.zeros(len(labels))
    held_out: HeldOut = []
    folds = StratifiedKFold(DOMAIN_FOLDS, shuffle=True, random_state=seed)
    for train, test in folds.split(features, labels):
        model = HistGradientBoostingClassifier(
            max_iter=DOMAIN_ROUNDS,
            max_leaf_nodes=DOMAIN_LEAVES,
            learning_rate=DOMAIN_RATE,
            early_stopping=True,
            n_iter_no_change=DOMAIN_PATIENCE,
            random_state=seed,
        ).fit(features[train], labels[train])
        scores[test] = model.predict_proba(features[test])[:, 1]
        held_out.append((model, features[test], labels[test]))
    return rank_auc(labels, scores), held_out


def _drivers(held_out: HeldOut, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.mean([_shuffled_loss(m, rows, labels, rng) for m, rows, labels in held_out], axis=0)


def _chance_auc_std(rows: int) -> float:
    """The standard deviation of the ROC AUC of a scorer that cannot tell two samples of
    ``rows`` rows each apart (Mann-Whitney's U under the null)."""
    rows = max(rows, 1)
    return math.sqrt((2 * rows + 1) / (12 * rows * rows))


def _shuffled_loss(
    model: HistGradientBoostingClassifier,
    features: np.ndarray,
    labels: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Per feature, the held-out AUC lost when its column is shuffled (0 when none is lost).
    The rows and each feature's shuffled copy are scored in one call: a boosted model's
    prediction walks every tree once per call, so one call instead of one per feature."""
    if len(features) > IMPORTANCE_ROWS:
        kept = rng.choice(len(features), IMPORTANCE_ROWS, replace=False)
        features, labels = features[kept], labels[kept]
    if len(np.unique(labels)) < 2:
        return np.zeros(features.shape[1])
    copies = np.tile(features, (features.shape[1] + 1, 1))
    rows = len(features)
    for column in range(features.shape[1]):
        part = copies[rows * (column + 1) : rows * (column + 2)]
        part[:, column] = rng.permutation(part[:, column])
    scores = model.predict_proba(copies)[:, 1].reshape(-1, rows)
    aucs = np.array([rank_auc(labels, row) for row in scores])
    return np.clip(aucs[0] - aucs[1:], 0.0, None)


def rank_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """ROC AUC of 0/1 ``labels`` as Mann-Whitney's U from average ranks (ties count a half):
    scikit-learn's roc_auc_score gives the same value (a test checks) but validates its
    input at every call, which cost more than the ranks themselves here."""
    ranks = rankdata(scores)
    positive = labels == 1
    ones = int(positive.sum())
    zeros = len(labels) - ones
    if ones == 0 or zeros == 0:
        return math.nan
    return float((ranks[positive].sum() - ones * (ones + 1) / 2) / (ones * zeros))


def _filled(values: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Missing values as a value below every reference value, so trees can split them off."""
    with np.errstate(all="ignore"):
        low = np.nanmin(reference, axis=0) if len(reference) else np.zeros(values.shape[1])
    low = np.where(np.isfinite(low), low, 0.0) - 1.0
    return np.where(np.isnan(values), low, values)


# -- PCA reconstruction ------------------------------------------------------------------------


@dataclass(frozen=True)
class ReconstructionReference:
    """The reference's centring, scaling and kept PCA components (plain arrays), each feature's
    mean squared residual on the reference, and the error's spread over reference chunks."""

    encoder: FrameEncoder
    mean: np.ndarray
    scale: np.ndarray
    components: np.ndarray  # (kept, features)
    residual: np.ndarray  # mean squared residual per feature on the reference
    spread: Spread

    def errors(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Each row's reconstruction error and each feature's squared residuals."""
        values = self.encoder.frequency(frame)
        values = np.where(np.isnan(values), self.mean, values)
        return _errors((values - self.mean) / self.scale, self.components)

    @property
    def kept(self) -> int:
        """How many principal components explain PCA_VARIANCE of the reference."""
        return int(self.components.shape[0])

    def check(self, window: pd.DataFrame) -> JointDrift:
        """The window's mean error against the band: above it the window breaks the reference's
        correlations, below it its rows crowd onto the reference's main directions."""
        errors, squared = self.errors(window)
        value = float(errors.mean())
        upper = self.spread.upper(len(window))
        lower = max(self.spread.mean - self.spread.half_width(len(window)), 0.0)
        # the features whose residual moved the way the error moved drive it
        moved = squared.mean(axis=0) - self.residual
        moved = moved if value >= self.spread.mean else -moved
        ranked = _ranked(self.encoder.columns, np.clip(moved, 0.0, None))
        drifted = not lower <= value <= upper
        return JointDrift("reconstruction_error", value, upper, drifted, ranked, lower)


def fit_reconstruction(
    encoder: FrameEncoder, reference: pd.DataFrame, *, seed: int = 0
) -> ReconstructionReference:
    values = encoder.frequency(reference)
    rng = np.random.default_rng(seed)
    if len(values) > PCA_ROWS:
        values = values[rng.choice(len(values), PCA_ROWS, replace=False)]
    mean = np.nanmean(values, axis=0) if len(values) else np.zeros(values.shape[1])
    mean = np.where(np.isfinite(mean), mean, 0.0)
    values = np.where(np.isnan(values), mean, values)
    scale = values.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    scaled = (values - mean) / scale
    _, singular, vt = np.linalg.svd(scaled - scaled.mean(axis=0), full_matrices=False)
    share = np.cumsum(singular**2) / max(float((singular**2).sum()), 1e-12)
    kept = int(np.searchsorted(share, PCA_VARIANCE) + 1)
    components = vt[:kept]
    errors, squared = _errors(scaled, components)
    size = max(min(PCA_CHUNK_ROWS, len(errors) // 10), 1)
    order = rng.permutation(len(errors))
    chunks = [errors[order[i : i + size]].mean() for i in range(0, len(order) - size + 1, size)]
    return ReconstructionReference(
        encoder, mean, scale, components, squared.mean(axis=0), spread_of(chunks, size)
    )


def _errors(scaled: np.ndarray, components: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    residual = scaled - (scaled @ components.T) @ components
    squared = residual**2
    return np.sqrt(squared.sum(axis=1)), squared


def _ranked(columns: tuple[str, ...], weights: np.ndarray) -> dict[str, float]:
    total = float(weights.sum())
    if total <= 0:
        return {}
    order = np.argsort(-weights)[:TOP_FEATURES]
    return {columns[i]: float(weights[i] / total) for i in order if weights[i] > 0}
