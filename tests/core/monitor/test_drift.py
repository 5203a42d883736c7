"""Tests for data drift: statistics checked against scipy, verdicts, bad input, the profile."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon

from core.monitor import drift
from core.monitor.drift import (
    DRIFT_METHODS,
    ColumnPair,
    DriftError,
    category_counts,
    compute_drift,
    compute_drift_against,
    drift_method,
    numeric_values,
    profile_reference,
)

TOLERANCE = 1e-10


def _close(ours: float | None, theirs: float) -> bool:
    assert ours is not None
    return math.isclose(ours, theirs, rel_tol=TOLERANCE, abs_tol=1e-15)


def _numbers(reference: np.ndarray, current: np.ndarray) -> ColumnPair:
    return ColumnPair(numeric_values(pd.Series(reference)), numeric_values(pd.Series(current)))


def _categories(reference: list, current: list) -> ColumnPair:
    return ColumnPair(category_counts(pd.Series(reference)), category_counts(pd.Series(current)))


def _score(name: str, pair: ColumnPair) -> tuple[float, float | None]:
    return DRIFT_METHODS[name].compute(pair)


def _normal(n: int, shift: float = 0.0, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(shift, 1.0, n).round(3)


def _choice(n: int, shares: list[float], seed: int = 0) -> list[str]:
    return list(np.random.default_rng(seed).choice(list("abcd")[: len(shares)], n, p=shares))


# -- statistics against scipy -------------------------------------------------------------------


def test_ks_asymptotic_above_ten_thousand_values_equals_scipy() -> None:
    reference, current = _normal(20_000), _normal(15_000, shift=0.03, seed=1)
    statistic, p_value = _score("ks", _numbers(reference, current))
    theirs = stats.ks_2samp(reference, current, method="asymp")
    assert _close(statistic, theirs.statistic) and _close(p_value, theirs.pvalue)
    assert 1e-6 < p_value < 0.5  # a p-value worth comparing, not 0 or 1


def test_ks_exact_up_to_ten_thousand_values_equals_scipy() -> None:
    reference, current = _normal(300), _normal(200, shift=0.2, seed=1)
    statistic, p_value = _score("ks", _numbers(reference, current))
    theirs = stats.ks_2samp(reference, current, method="exact")
    assert _close(statistic, theirs.statistic) and _close(p_value, theirs.pvalue)


def test_wasserstein_is_scipys_normed_by_the_reference_std_ignoring_missing() -> None:
    reference, current = _normal(5_000), _normal(4_000, shift=0.3, seed=1) * 1.5
    with_gaps = np.concatenate((reference, [np.nan, np.inf, -np.inf]))
    distance, p_value = _score("wasserstein", _numbers(with_gaps, current))
    expected = stats.wasserstein_distance(reference, current) / np.std(reference)
    assert p_value is None and _close(distance, expected)


def test_chi_square_is_scipys_goodness_of_fit_to_the_reference_shares() -> None:
    reference = _choice(3_000, [0.4, 0.3, 0.2, 0.1])
    current = _choice(2_000, [0.35, 0.3, 0.25, 0.1], seed=1)
    statistic, p_value = _score("chisquare", _categories(reference, current))
    observed = pd.Series(current).value_counts().sort_index().to_numpy()
    shares = pd.Series(reference).value_counts(normalize=True).sort_index().to_numpy()
    theirs = stats.chisquare(observed, shares * len(current))
    assert _close(statistic, theirs.statistic) and _close(p_value, theirs.pvalue)


def test_z_test_matches_the_two_by_two_chi_square_without_correction() -> None:
    reference = ["yes"] * 620 + ["no"] * 380
    current = ["yes"] * 540 + ["no"] * 460
    statistic, p_value = _score("z", _categories(reference, current))
    theirs = stats.chi2_contingency([[620, 380], [540, 460]], correction=False)
    assert _close(statistic**2, theirs.statistic) and _close(p_value, theirs.pvalue)


def test_jensen_shannon_on_evidentlys_sturges_bins_equals_scipy() -> None:
    reference, current = _normal(5_000), _normal(3_000, shift=0.25, seed=1)
    distance, _ = _score("jensenshannon", _numbers(reference, current))
    edges = np.histogram_bin_edges(np.concatenate((reference, current)), bins="sturges")
    ours_binned = _numbers(reference, current).binned()
    theirs_binned = np.histogram(reference, edges)[0], np.histogram(current, edges)[0]
    assert all(np.array_equal(a, b) for a, b in zip(ours_binned, theirs_binned, strict=True))
    assert _close(distance, jensenshannon(*theirs_binned))


def test_integer_columns_bin_at_least_one_wide_as_numpy_does() -> None:
    rng = np.random.default_rng(3)
    reference, current = rng.integers(0, 30, 4_000), rng.integers(0, 33, 4_000)
    edges = np.histogram_bin_edges(np.concatenate((reference, current)), bins="sturges")
    binned = _numbers(reference, current).binned()
    assert len(binned[0]) == len(edges) - 1
    assert np.array_equal(binned[1], np.histogram(current, edges)[0])


def test_jensen_shannon_of_categories_equals_scipy() -> None:
    reference, current = _choice(3_000, [0.4, 0.3, 0.3]), _choice(2_000, [0.2, 0.3, 0.5], seed=1)
    distance, _ = _score("jensenshannon", _categories(reference, current))
    keys = ["a", "b", "c"]
    theirs = jensenshannon([reference.count(k) for k in keys], [current.count(k) for k in keys])
    assert _close(distance, theirs)


def test_psi_by_hand_with_an_empty_bin_floored() -> None:
    reference = ["a"] * 50 + ["b"] * 30 + ["c"] * 20
    current = ["a"] * 40 + ["b"] * 30 + ["c"] * 30
    psi, _ = _score("psi", _categories(reference, current))
    by_hand = (0.5 - 0.4) * math.log(0.5 / 0.4) + (0.2 - 0.3) * math.log(0.2 / 0.3)
    assert _close(psi, by_hand)
    with_new = current + ["d"] * 10  # the reference has no "d": its share becomes 0.0001
    psi, _ = _score("psi", _categories(reference, with_new))
    shares = np.array([40, 30, 30, 10]) / 110
    by_hand = sum(
        (r - c) * math.log(r / c) for r, c in zip([0.5, 0.3, 0.2, 0.0001], shares, strict=True)
    )
    assert _close(psi, by_hand)


def test_l_infinity_is_the_largest_share_difference() -> None:
    reference = ["a"] * 50 + ["b"] * 50
    current = ["a"] * 20 + ["b"] * 60 + ["c"] * 20
    distance, _ = _score("linf", _categories(reference, current))
    assert _close(distance, 0.3)


# -- verdicts and the default methods ------------------------------------------------------------


def _frame(n: int, *, shift: float = 0.0, shares: list[float] | None = None, seed: int = 0):
    return pd.DataFrame(
        {
            "amount": _normal(n, shift, seed),
            "region": _choice(n, shares or [0.4, 0.3, 0.2, 0.1], seed),
        }
    )


@pytest.mark.parametrize(
    ("rows", "numeric", "categorical"),
    [(5_000, "wasserstein", "jensenshannon"), (800, "ks", "chisquare")],
)
def test_shifted_data_drifts_and_a_fresh_sample_does_not(rows, numeric, categorical) -> None:
    reference = _frame(rows)
    same = compute_drift(reference, _frame(rows, seed=1))
    moved = compute_drift(reference, _frame(rows, shift=1.0, shares=[0.1, 0.2, 0.3, 0.4], seed=1))
    assert [c.method for c in moved.columns] == [numeric, categorical]
    assert moved.drifted_columns == ("amount", "region") and moved.dataset_drift
    assert moved.drift_share == 1.0
    assert same.drifted_columns == () and not same.dataset_drift and same.drift_share == 0.0


def test_default_methods_follow_evidentlys_rules() -> None:
    rng = np.random.default_rng(0)
    large = pd.DataFrame(
        {
            "term": rng.choice([12, 24, 36, 48, 60], 2_000),
            "flag": rng.choice([True, False], 2_000),
            "income": rng.normal(size=2_000),
        }
    )
    report = compute_drift(large, large)
    assert {c.column: c.method for c in report.columns} == {
        "term": "jensenshannon",
        "flag": "jensenshannon",
        "income": "wasserstein",
    }
    assert "Only 5 distinct numbers" in (report.column("term").note or "")
    small = compute_drift(large.head(500), large.tail(500))
    methods = {c.column: c.method for c in small.columns}
    assert methods == {"term": "chisquare", "flag": "z", "income": "ks"}


def test_one_method_for_all_kinds_it_applies_to_and_a_note_for_the_others() -> None:
    reference, current = _frame(3_000), _frame(3_000, seed=1)
    report = compute_drift(reference, current, method="ks")
    assert [c.method for c in report.columns] == ["ks", "jensenshannon"]
    assert drift.METHOD_NOT_FOR_KIND.format(
        title="Kolmogorov–Smirnov test", kind="categorical"
    ) in (report.notes)
    per_column = compute_drift(reference, current, methods={"region": "psi"}, method="psi")
    assert [c.method for c in per_column.columns] == ["psi", "psi"]


def test_thresholds_change_the_verdict_and_the_share_threshold_the_dataset_drift() -> None:
    reference, current = _frame(3_000), _frame(3_000, shift=0.15, seed=1)
    default = compute_drift(reference, current)
    assert default.column("amount").drifted and not default.column("region").drifted
    assert default.drift_share == 0.5 and default.dataset_drift  # 0.5 >= 0.5
    assert not compute_drift(reference, current, share_threshold=0.6).dataset_drift
    loose = compute_drift(reference, current, thresholds={"amount": 0.5})
    assert loose.column("amount").threshold == 0.5 and not loose.column("amount").drifted
    strict = compute_drift(reference, current, threshold=0.001)
    assert strict.drifted_columns == ("amount", "region")


def test_a_new_method_is_one_decorated_function() -> None:
    @drift_method("mean_gap", title="Mean gap", kinds=("numeric",), threshold=0.5)
    def mean_gap(pair: ColumnPair) -> tuple[float, None]:
        reference, current = pair.numbers()
        means = [np.average(v.values, weights=v.counts) for v in (reference, current)]
        return abs(means[0] - means[1]), None

    try:
        report = compute_drift(_frame(2_000), _frame(2_000, shift=1.0), method="mean_gap")
        assert report.column("amount").method == "mean_gap" and report.column("amount").drifted
    finally:
        DRIFT_METHODS.pop("mean_gap")


# -- bad input -----------------------------------------------------------------------------------


def test_a_column_missing_from_the_current_data_is_reported_and_the_rest_compared() -> None:
    reference = _frame(2_000)
    current = _frame(2_000, shift=1.0, seed=1).drop(columns=["region"])
    report = compute_drift(reference, current)
    assert report.missing_columns == ("region",)
    assert drift.MISSING_COLUMN.format(column="region") in report.notes
    assert [c.column for c in report.columns] == ["amount"] and report.drift_share == 1.0
    assert "'region'" in drift.MISSING_COLUMN.format(column="region")


def test_an_empty_current_window_or_reference_is_a_clear_error() -> None:
    reference = _frame(100)
    with pytest.raises(DriftError, match="The current data has no rows"):
        compute_drift(reference, reference.head(0))
    with pytest.raises(DriftError, match="The current data has no rows"):
        compute_drift_against(profile_reference(reference), reference.iloc[:0])
    with pytest.raises(DriftError, match="The reference data has no rows"):
        compute_drift(reference.head(0), reference)


@pytest.mark.parametrize("rows", [5_000, 50])
def test_a_constant_column_drifts_only_when_its_value_changes(rows: int) -> None:
    reference = pd.DataFrame({"rate": [3.5] * rows, "kind": ["x"] * rows})
    same = compute_drift(reference, reference.head(rows // 2))
    changed = compute_drift(reference, pd.DataFrame({"rate": [4.0] * 10, "kind": ["y"] * 10}))
    assert same.drifted_columns == () and changed.drifted_columns == ("rate", "kind")
    for report in (same, changed):
        for column in report.columns:
            assert column.statistic is not None and not math.isnan(column.statistic)
            assert column.p_value is None or not math.isnan(column.p_value)
        json.dumps(report.to_dict(), allow_nan=False)


def test_a_handful_of_reference_rows_uses_small_sample_tests_and_says_so() -> None:
    reference = pd.DataFrame({"amount": [1.0, 2.5, 3.0, 4.2, 5.1, 6.3], "region": list("aabbcc")})
    current = _frame(500, shift=10.0, seed=1)
    report = compute_drift(reference, current)
    assert [c.method for c in report.columns] == ["ks", "chisquare"]
    assert "only 6 values" in (report.column("amount").note or "")
    assert "suits small samples" in (report.column("amount").note or "")
    assert report.column("amount").drifted and report.column("region").drifted
    distance = compute_drift(reference, current, method="wasserstein").column("amount")
    assert distance.method == "wasserstein" and "noisy on so few" in (distance.note or "")


def test_new_categories_are_counted_and_chi_square_becomes_infinite() -> None:
    reference = pd.DataFrame({"region": list("abab") * 100})
    current = pd.DataFrame({"region": list("abcc") * 10})
    column = compute_drift(reference, current).column("region")
    assert column.method == "chisquare" and column.drifted and column.p_value == 0.0
    assert column.new_category_rate == 0.5 and "50.0% of current values" in (column.note or "")
    assert column.to_dict()["statistic"] is None  # JSON has no infinity


def test_an_all_missing_current_column_counts_as_drifted() -> None:
    reference = _frame(2_000)
    current = _frame(2_000, seed=1).assign(amount=np.nan)
    column = compute_drift(reference, current).column("amount")
    assert column.drifted and column.statistic is None and column.current_missing == 1.0
    assert "Every current value is missing" in (column.note or "")


def test_missing_values_are_left_out_and_their_rates_reported() -> None:
    reference, current = _frame(2_000), _frame(2_000, seed=1)
    current.loc[:499, "amount"] = np.nan
    current.loc[:999, "region"] = None
    report = compute_drift(reference, current)
    assert report.column("amount").current_missing == 0.25
    assert report.column("region").current_missing == 0.5
    assert report.drifted_columns == ()


def test_dates_and_identifiers_are_skipped_with_a_note() -> None:
    reference = _frame(300).assign(
        when=pd.date_range("2024-01-01", periods=300, freq="D"), customer=np.arange(300)
    )
    report = compute_drift(reference, reference, roles={"customer": "id"})
    assert [c.column for c in report.columns] == ["amount", "region"]
    assert "'when' holds dates or times; drift is not computed for them." in report.notes
    assert "'customer' is an identifier column; drift is not computed for it." in report.notes


def test_text_in_a_numeric_current_column_counts_as_missing_with_a_note() -> None:
    reference = _frame(2_000)
    current = _frame(2_000, seed=1).astype({"amount": object})
    current.loc[:9, "amount"] = "n/a"
    column = compute_drift(reference, current).column("amount")
    assert "10 current values are not numbers" in (column.note or "")
    assert column.current_missing == 10 / 2_000 and not column.drifted


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"method": "nope"}, "There is no drift method called 'nope'"),
        ({"methods": {"region": "ks"}}, "Kolmogorov–Smirnov test compares numeric columns"),
        ({"threshold": -1}, "must be a positive number"),
        ({"threshold": float("nan")}, "must be a positive number"),
        ({"method": "ks", "threshold": 5}, "its threshold must be between 0 and 1"),
        ({"share_threshold": 2}, "between 0 and 1"),
        ({"columns": ["amount", "nope"]}, "The reference has no column 'nope'"),
    ],
)
def test_bad_options_are_clear_errors(options: dict, message: str) -> None:
    with pytest.raises(DriftError, match=message):
        compute_drift(_frame(100), _frame(100), **options)


# -- the reference profile -----------------------------------------------------------------------


def test_a_profile_gives_the_same_report_as_compute_drift_window_after_window() -> None:
    reference = _frame(5_000).assign(day=pd.date_range("2024-01-01", periods=5_000, freq="h"))
    profile = profile_reference(reference)
    for seed, shift in [(1, 0.0), (2, 0.5), (3, 2.0)]:
        window = _frame(200, shift=shift, seed=seed)
        assert compute_drift_against(profile, window) == compute_drift(reference, window)
    only = compute_drift_against(profile, _frame(200, seed=4), columns=["region"])
    assert [c.column for c in only.columns] == ["region"]


def test_the_report_is_plain_json() -> None:
    moved = _frame(2_000, shift=1.0, shares=[0.1, 0.2, 0.3, 0.4], seed=1)
    report = compute_drift(_frame(2_000), moved).to_dict()
    text = json.dumps(report, allow_nan=False)
    payload = json.loads(text)
    assert payload["drifted_columns"] == 2 and payload["compared_columns"] == 2
    assert (
        payload["columns"][0]["measure"] == "distance" and payload["columns"][0]["p_value"] is None
    )
    assert payload["rows_reference"] == 2_000 and payload["dataset_drift"] is True
