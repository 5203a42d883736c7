"""The drift method registry: K-S, Wasserstein, PSI, Jensen–Shannon, chi-square, Z, L-inf."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from core.monitor.drift.values import FEW_VALUES, KINDS, ColumnPair, Kind

SMALL_REFERENCE = 1000  # at most this many reference values: tests (p-values), not distances

BINARY_VALUES = 2  # ... and with at most two, on small samples, by a Z-test of proportions

EXACT_KS_VALUES = 10_000  # scipy's ks_2samp(method="auto") is exact up to this sample size
WASSERSTEIN_MIN_STD = 0.001  # Evidently's floor, so a constant reference still gives a distance
PSI_FLOOR = 0.0001  # PSI's stand-in for an empty bin (a smaller one when the data need it)


Score = tuple[float, float | None]  # (statistic, p-value or None for a distance)


@dataclass(frozen=True)
class DriftMethod:
    """A drift method: which columns it compares, how, and when its result means drift.

    A test gives a p-value and flags drift when p < threshold; a distance flags drift when the
    distance >= threshold. (Evidently's K-S flags p <= threshold; that differs only when the
    p-value equals the threshold exactly.)
    """

    name: str
    title: str
    kinds: tuple[Kind, ...]
    compute: Callable[[ColumnPair], Score] = field(repr=False)
    threshold: float
    test: bool

    def drifted(self, statistic: float, p_value: float | None, threshold: float) -> bool:
        if self.test:
            return p_value is not None and p_value < threshold
        return statistic >= threshold


DRIFT_METHODS: dict[str, DriftMethod] = {}


def drift_method(
    name: str, *, title: str, kinds: tuple[Kind, ...], threshold: float, test: bool = False
) -> Callable[[Callable[[ColumnPair], Score]], Callable[[ColumnPair], Score]]:
    """Register a drift method under ``name``; adding one is one decorated function."""

    def register(compute: Callable[[ColumnPair], Score]) -> Callable[[ColumnPair], Score]:
        DRIFT_METHODS[name] = DriftMethod(name, title, kinds, compute, threshold, test)
        return compute

    return register


@drift_method("ks", title="Kolmogorov–Smirnov test", kinds=("numeric",), threshold=0.05, test=True)
def kolmogorov_smirnov(pair: ColumnPair) -> Score:
    """Two-sided two-sample KS, p-value as scipy.stats.ks_2samp(method="auto") gives it.

    Up to 10,000 values a side scipy computes the exact p-value on the values themselves;
    above that, the statistic comes from the two CDFs and the p-value from Smirnov's asymptotic
    distribution, as scipy's method="asymp" does.
    """
    from scipy import stats  # only where a p-value is needed: importing it takes ~0.5 s

    reference, current = pair.numbers()
    if max(reference.total, current.total) <= EXACT_KS_VALUES:
        with warnings.catch_warnings():  # scipy says when it falls back to asymptotic; fine
            warnings.simplefilter("ignore", RuntimeWarning)
            result = stats.ks_2samp(reference.expanded(), current.expanded())
        return float(result.statistic), float(result.pvalue)
    _, reference_cdf, current_cdf = pair.cdfs()
    statistic = float(np.max(np.abs(reference_cdf - current_cdf)))
    larger, smaller = sorted((float(reference.total), float(current.total)), reverse=True)
    effective = np.round(larger * smaller / (larger + smaller))
    return statistic, float(np.clip(stats.kstwo.sf(statistic, effective), 0.0, 1.0))


@drift_method(
    "wasserstein", title="Wasserstein distance (normed)", kinds=("numeric",), threshold=0.1
)
def wasserstein(pair: ColumnPair) -> Score:
    """scipy.stats.wasserstein_distance divided by the reference's standard deviation.

    The divisor is at least 0.001 (as in Evidently), so a constant reference that stays
    constant gives 0 and one whose value changes gives a large distance, never a division by 0.
    """
    reference, _ = pair.numbers()
    grid, reference_cdf, current_cdf = pair.cdfs()
    distance = float(np.sum(np.abs(reference_cdf[:-1] - current_cdf[:-1]) * np.diff(grid)))
    return distance / max(reference.std, WASSERSTEIN_MIN_STD), None


@drift_method("psi", title="Population stability index", kinds=KINDS, threshold=0.1)
def population_stability_index(pair: ColumnPair) -> Score:
    """sum((r - c) * ln(r / c)) over the bins, empty bins given a small share as Evidently does."""
    reference, current = (_with_floor(_shares(counts)) for counts in pair.binned())
    return float(np.sum((reference - current) * np.log(reference / current))), None


@drift_method("jensenshannon", title="Jensen–Shannon distance", kinds=KINDS, threshold=0.1)
def jensen_shannon(pair: ColumnPair) -> Score:
    """scipy.spatial.distance.jensenshannon (natural log) of the two binned distributions."""
    reference, current = (_shares(counts) for counts in pair.binned())
    middle = (reference + current) / 2
    divergence = np.sum(_relative_entropy(reference, middle) + _relative_entropy(current, middle))
    return float(np.sqrt(max(divergence / 2, 0.0))), None


@drift_method(
    "chisquare", title="chi-square test", kinds=("categorical",), threshold=0.05, test=True
)
def chi_square(pair: ColumnPair) -> Score:
    """Pearson's goodness of fit of the current counts to the reference's shares.

    scipy.stats.chisquare(current, reference * n_current / n_reference). A category the
    reference never had makes the statistic infinite (p = 0); one category only gives p = 1.
    """
    reference, current = pair.per_value()
    if len(reference) <= 1:
        return 0.0, 1.0
    expected = reference * (current.sum() / reference.sum())
    if np.any(current[expected == 0] > 0):
        return math.inf, 0.0
    from scipy import stats

    seen = expected > 0
    statistic = float(np.sum((current[seen] - expected[seen]) ** 2 / expected[seen]))
    return statistic, float(stats.chi2.sf(statistic, len(reference) - 1))


@drift_method("z", title="Z-test of proportions", kinds=("categorical",), threshold=0.05, test=True)
def z_test(pair: ColumnPair) -> Score:
    """Two-proportion Z-test of the first category's share against all others (two-valued data)."""
    reference, current = pair.per_value()
    n_reference, n_current = int(reference.sum()), int(current.sum())
    reference_share = 1 - reference[0] / n_reference
    current_share = 1 - current[0] / n_current
    pooled = (reference_share * n_reference + current_share * n_current) / (n_reference + n_current)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / n_reference + 1 / n_current))
    if spread == 0:  # one value only, the same on both sides
        return 0.0, 1.0
    statistic = float((reference_share - current_share) / spread)
    from scipy import stats

    return statistic, float(2 * stats.norm.sf(abs(statistic)))


@drift_method("linf", title="L-infinity distance", kinds=("categorical",), threshold=0.1)
def l_infinity(pair: ColumnPair) -> Score:
    """The largest absolute difference between a category's share in the two samples."""
    reference, current = (_shares(counts) for counts in pair.per_value())
    return float(np.max(np.abs(reference - current))), None


def _relative_entropy(shares: np.ndarray, middle: np.ndarray) -> np.ndarray:
    """scipy.special.rel_entr where ``middle`` > 0 wherever ``shares`` is (the mean of the two):
    x * ln(x / y), and 0 where x is 0. Written out so drift does not import scipy for it."""
    found = np.zeros_like(shares)
    positive = shares > 0
    found[positive] = shares[positive] * np.log(shares[positive] / middle[positive])
    return found


def _shares(counts: np.ndarray) -> np.ndarray:
    return counts / counts.sum()


def _with_floor(shares: np.ndarray) -> np.ndarray:
    filled = shares.copy()
    smallest = float(filled[filled > 0].min())
    filled[filled == 0] = smallest / 10**6 if smallest <= PSI_FLOOR else PSI_FLOOR
    return filled


def default_method(pair: ColumnPair) -> str:
    """Evidently's choice: tests on small references, distances on large ones."""
    distinct = pair.distinct()
    small = pair.reference.total <= SMALL_REFERENCE
    if pair.reference.kind == "numeric" and distinct > FEW_VALUES:
        return "ks" if small else "wasserstein"
    if small:
        return "z" if distinct <= BINARY_VALUES else "chisquare"
    return "jensenshannon"
