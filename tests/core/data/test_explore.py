"""Tests for the Explore page computations, checked against direct pandas computations."""

from __future__ import annotations

import json
import time
from dataclasses import asdict

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2_contingency

from core.data import explore
from core.data.explore import (
    category_counts,
    correlations,
    datetime_counts,
    guess_task,
    missing_pattern,
    numeric_summary,
    scatter_sample,
    target_analysis,
)
from core.data.schema import ColumnSchema

EVIL = "<img src=x onerror=alert(2)>"


def _schema(frame: pd.DataFrame, roles: dict[str, str]) -> list[ColumnSchema]:
    return [ColumnSchema(str(c), str(frame[c].dtype), roles[c]) for c in frame.columns]  # type: ignore[arg-type]


def _as_json(result: object) -> str:
    return json.dumps(asdict(result), allow_nan=False)  # type: ignore[call-overload]


@pytest.fixture
def wide_frame() -> pd.DataFrame:
    """20,000 rows x 22 columns of every kind, with missing values."""
    rng = np.random.default_rng(1)
    n = 20_000
    data: dict[str, object] = {}
    for i in range(8):
        values = rng.normal(i, 1 + i, n)
        values[rng.random(n) < 0.05] = np.nan
        data[f"num{i}"] = values
    data["int0"] = rng.integers(0, 5, n)
    for i in range(6):
        levels = rng.choice([f"lvl{j}" for j in range(3 + 5 * i)], n).astype(object)
        levels[rng.random(n) < 0.03] = None
        data[f"cat{i}"] = levels
    data["flag"] = rng.random(n) < 0.3
    data["ts"] = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 800, n), unit="D")
    data["tstz"] = pd.Timestamp("2020-01-01", tz="Europe/Paris") + pd.to_timedelta(
        rng.integers(0, 10_000, n), unit="h"
    )
    data["id"] = [f"id{i}" for i in range(n)]
    data[EVIL] = rng.normal(size=n)
    data["target"] = rng.integers(0, 2, n)
    return pd.DataFrame(data)


def _wide_schema(frame: pd.DataFrame) -> list[ColumnSchema]:
    def role(name: str) -> str:
        if name.startswith(("num", "int")) or name == EVIL:
            return "numeric"
        if name.startswith("cat"):
            return "categorical"
        return {"flag": "boolean", "ts": "datetime", "tstz": "datetime", "id": "id"}.get(
            name, "target"
        )

    return _schema(frame, {c: role(c) for c in frame.columns})


# ---------------------------------------------------------------- numeric_summary


def test_numeric_summary_matches_pandas(small_frame: pd.DataFrame) -> None:
    summary = numeric_summary(small_frame, column="income")
    income = small_frame["income"].dropna()
    q1, q3 = income.quantile([0.25, 0.75])
    low, high = q1 - 1.5 * (q3 - q1), q3 + 1.5 * (q3 - q1)
    assert summary.count == len(income)
    assert summary.missing == 40
    assert summary.mean == pytest.approx(income.mean())
    assert summary.std == pytest.approx(income.std())
    assert summary.quantiles["50%"] == pytest.approx(income.median())
    assert summary.quantiles["99%"] == pytest.approx(income.quantile(0.99))
    assert summary.quantiles["min"] == income.min() and summary.quantiles["max"] == income.max()
    assert summary.lower_bound == pytest.approx(low) and summary.upper_bound == pytest.approx(high)
    assert summary.outlier_count == int(((income < low) | (income > high)).sum())
    assert sum(summary.bin_counts) == len(income)
    assert summary.bin_counts == np.histogram(income, bins=summary.bin_edges)[0].tolist()
    assert sorted(summary.values) == sorted(income.tolist()) and not summary.sampled
    _as_json(summary)


def test_numeric_summary_box_whiskers_and_outliers() -> None:
    frame = pd.DataFrame({"x": [1.0, 2, 3, 4, 5, 6, 7, 8, 100, np.inf, np.nan]})
    summary = numeric_summary(frame, column="x")
    assert summary.count == 9 and summary.missing == 1 and summary.infinite == 1
    assert summary.outlier_count == 1
    assert summary.box is not None
    assert summary.box.upper_whisker == 8.0 and summary.box.lower_whisker == 1.0


def test_numeric_summary_integer_values_get_one_bin_each() -> None:
    frame = pd.DataFrame({"x": [0, 1, 1, 2, 2, 2, 5]})
    summary = numeric_summary(frame, column="x")
    assert summary.bin_edges[0] == -0.5 and len(summary.bin_counts) == 6
    assert summary.bin_counts == [1, 2, 3, 0, 0, 1]


def test_numeric_summary_samples_large_columns_deterministically() -> None:
    frame = pd.DataFrame({"x": np.random.default_rng(0).normal(size=150_000)})
    first = numeric_summary(frame, column="x")
    second = numeric_summary(frame, column="x")
    assert first.sampled and len(first.values) == explore.MAX_VALUES
    assert first.values == second.values
    assert first.count == 150_000 and sum(first.bin_counts) == 150_000


@pytest.mark.parametrize(
    "values", [[np.nan, np.nan], [None, None], [], [7.5]], ids=["nan", "none", "empty", "one"]
)
def test_numeric_summary_degenerate_columns(values: list[object]) -> None:
    frame = pd.DataFrame({"x": pd.Series(values, dtype=float)})
    summary = numeric_summary(frame, column="x")
    assert summary.count == len([v for v in values if v is not None and not pd.isna(v)])
    assert summary.std is None and summary.outlier_count == 0
    _as_json(summary)


def test_numeric_summary_unknown_column_says_so(small_frame: pd.DataFrame) -> None:
    with pytest.raises(KeyError, match="No column named 'nope'"):
        numeric_summary(small_frame, column="nope")


# ---------------------------------------------------------------- category_counts


def test_category_counts_match_value_counts(small_frame: pd.DataFrame) -> None:
    frame = small_frame.assign(region=small_frame["region"].astype(object))
    frame.loc[:9, "region"] = None
    counts = category_counts(frame, column="region", top_k=2)
    expected = frame["region"].value_counts()
    assert counts.levels == expected.index[:2].tolist()
    assert counts.counts == expected.iloc[:2].tolist()
    assert counts.other_count == int(expected.iloc[2:].sum()) and counts.other_levels == 2
    assert counts.missing == 10 and counts.total == 500 and counts.distinct == 4


def test_category_counts_huge_cardinality_and_labels() -> None:
    frame = pd.DataFrame({"id": [f"u{i}" for i in range(50_000)], "f": [1.0, 2.5] * 25_000})
    counts = category_counts(frame, column="id")
    assert counts.distinct == 50_000 and len(counts.levels) == 20
    assert counts.other_levels == 49_980 and counts.other_count == 49_980
    assert category_counts(frame, column="f").levels == ["1", "2.5"]


@pytest.mark.parametrize(
    "series",
    [
        pd.Series([None, None], dtype=object),
        pd.Series([np.nan], dtype=float),
        pd.Series([True, False, True]),
        pd.Series(["a", pd.NA], dtype="string"),
    ],
    ids=["all-null", "single-nan", "bool", "string-dtype"],
)
def test_category_counts_edge_columns(series: pd.Series) -> None:
    counts = category_counts(pd.DataFrame({EVIL: series}), column=EVIL)
    assert counts.column == EVIL
    assert sum(counts.counts) + counts.other_count + counts.missing == len(series)
    _as_json(counts)


# ---------------------------------------------------------------- datetime_counts


def test_datetime_counts_by_day_match_pandas() -> None:
    stamps = pd.Series(pd.date_range("2024-03-01", periods=30 * 24, freq="h"))
    counts = datetime_counts(pd.DataFrame({"t": stamps}), column="t")
    expected = stamps.dt.floor("D").value_counts().sort_index()
    assert counts.period == "day"
    assert counts.starts == [d.strftime("%Y-%m-%d") for d in expected.index]
    assert counts.counts == expected.tolist()
    assert counts.first == "2024-03-01T00:00:00" and counts.timezone is None


@pytest.mark.parametrize(
    ("years", "period", "freq"), [(2, "week", "W-SUN"), (10, "month", "M"), (100, "year", "Y")]
)
def test_datetime_counts_choose_period(years: int, period: str, freq: str) -> None:
    rng = np.random.default_rng(0)
    start = pd.Timestamp("1800-01-01") if years >= 100 else pd.Timestamp("2015-06-03")
    stamps = pd.Series(start + pd.to_timedelta(rng.integers(0, years * 365, 5_000), unit="D"))
    counts = datetime_counts(pd.DataFrame({"t": stamps}), column="t")
    expected = stamps.dt.to_period(freq).dt.start_time.value_counts()
    assert counts.period == period
    assert 15 <= len(counts.counts) <= explore.MAX_BUCKETS
    observed = {s: c for s, c in zip(counts.starts, counts.counts, strict=True) if c}
    assert observed == {d.strftime("%Y-%m-%d"): c for d, c in expected.items()}
    if period == "week":
        assert all(pd.Timestamp(s).dayofweek == 0 for s in counts.starts)


def test_datetime_counts_use_the_columns_own_clock() -> None:
    utc = pd.Series(pd.to_datetime(["2024-01-01 23:30", "2024-01-02 10:00"]).tz_localize("UTC"))
    frame = pd.DataFrame({"t": utc.dt.tz_convert("Europe/Paris")})
    counts = datetime_counts(frame, column="t")
    assert counts.timezone == "Europe/Paris"
    assert counts.starts == ["2024-01-02"] and counts.counts == [2]


@pytest.mark.parametrize(
    "series",
    [
        pd.Series([pd.NaT, pd.NaT], dtype="datetime64[ns]"),
        pd.Series([pd.Timestamp("2024-05-05 12:00", tz="UTC")]),
        pd.Series([pd.Timestamp("2024-05-05").date(), None], dtype=object),
        pd.Series(pd.to_datetime(["2020-01-01", None]).as_unit("us")),
    ],
    ids=["all-null", "single-tz", "date-objects", "microseconds"],
)
def test_datetime_counts_edge_columns(series: pd.Series) -> None:
    counts = datetime_counts(pd.DataFrame({EVIL: series}), column=EVIL)
    assert sum(counts.counts) + counts.missing == len(series)
    _as_json(counts)


# ---------------------------------------------------------------- correlations


@pytest.fixture
def numeric_frame() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    n = 2_000
    a = rng.normal(size=n)
    frame = pd.DataFrame(
        {
            "a": a,
            "b": 2 * a + rng.normal(size=n),
            "c": np.exp(a) + rng.normal(scale=0.1, size=n),
            "d": rng.integers(0, 10, n),
            "const": np.ones(n),
            "empty": np.full(n, np.nan),
            "label": rng.choice(["x", "y"], n),
        }
    )
    frame.loc[rng.choice(n, 200, replace=False), "b"] = np.nan
    frame.loc[rng.choice(n, 300, replace=False), "c"] = np.nan
    return frame


def _numeric_schema(frame: pd.DataFrame) -> list[ColumnSchema]:
    return _schema(frame, {c: "categorical" if c == "label" else "numeric" for c in frame})


def test_pearson_matches_pandas_with_missing_values(numeric_frame: pd.DataFrame) -> None:
    result = correlations(numeric_frame, schema=_numeric_schema(numeric_frame), method="pearson")
    assert result.columns == ["a", "b", "c", "d"]
    assert result.left_out == {"const": explore.CONSTANT, "empty": explore.CONSTANT}
    expected = numeric_frame[result.columns].corr(method="pearson").to_numpy()
    np.testing.assert_allclose(np.array(result.matrix, dtype=float), expected, atol=1e-10)
    assert not result.sampled and result.rows_used == len(numeric_frame)


def test_pearson_treats_infinity_as_missing(numeric_frame: pd.DataFrame) -> None:
    frame = numeric_frame.copy()
    frame.loc[:4, "a"] = np.inf
    result = correlations(frame, schema=_numeric_schema(frame), method="pearson")
    expected = frame.replace(np.inf, np.nan)[result.columns].corr().to_numpy()
    np.testing.assert_allclose(np.array(result.matrix, dtype=float), expected, atol=1e-10)


def test_spearman_matches_pandas_without_missing_values(numeric_frame: pd.DataFrame) -> None:
    frame = numeric_frame.fillna(0.0)
    result = correlations(frame, schema=_numeric_schema(frame), method="spearman")
    expected = frame[result.columns].corr(method="spearman").to_numpy()
    np.testing.assert_allclose(np.array(result.matrix, dtype=float), expected, atol=1e-10)


def test_cramers_v_on_a_known_table() -> None:
    table = np.array([[30, 10, 5], [10, 25, 20]])
    rows = [(r, c) for r in range(2) for c in range(3) for _ in range(table[r, c])]
    frame = pd.DataFrame(rows, columns=["smoker", "region"]).astype(str)
    result = correlations(
        frame, schema=_schema(frame, dict.fromkeys(frame, "categorical")), method="cramers_v"
    )
    n = table.sum()
    chi2 = chi2_contingency(table, correction=False)[0]
    phi2 = max(0.0, chi2 / n - (1 * 2) / (n - 1))
    r_c, k_c = 2 - 1 / (n - 1), 3 - 4 / (n - 1)
    assert result.matrix[0][1] == pytest.approx(np.sqrt(phi2 / (min(r_c, k_c) - 1)))
    assert result.matrix[0][0] == 1.0 and result.matrix[1][0] == result.matrix[0][1]


def test_cramers_v_extremes_and_boolean_columns() -> None:
    rng = np.random.default_rng(0)
    a = rng.choice(["p", "q", "r"], 5_000)
    frame = pd.DataFrame({"a": a, "copy": a, "noise": rng.choice(["u", "v"], 5_000)})
    frame["flag"] = frame["a"] == "p"
    roles = {"a": "categorical", "copy": "categorical", "noise": "categorical", "flag": "boolean"}
    result = correlations(frame, schema=_schema(frame, roles), method="cramers_v")
    matrix = dict(zip(result.columns, result.matrix, strict=True))
    assert matrix["a"][1] == pytest.approx(1.0)
    assert matrix["a"][2] < 0.05
    assert matrix["flag"][0] == pytest.approx(1.0, abs=1e-3)


def test_correlations_cap_columns_and_keep_the_target() -> None:
    rng = np.random.default_rng(0)
    target = rng.normal(size=1_000)
    noise = rng.normal(size=1_000)
    data = {f"c{i}": target * i + noise * 10 for i in range(50)}
    frame = pd.DataFrame({**data, "y": target})
    schema = _schema(frame, {c: "target" if c == "y" else "numeric" for c in frame})
    result = correlations(frame, schema=schema, method="pearson")
    assert len(result.columns) == explore.MAX_CORRELATION_COLUMNS and "y" in result.columns
    assert set(result.left_out) == {f"c{i}" for i in range(11)}
    assert set(result.left_out.values()) == {explore.OVER_CAP}


def test_correlations_cap_levels_for_huge_cardinality(wide_frame: pd.DataFrame) -> None:
    schema = _wide_schema(wide_frame)
    schema = [c if c.name != "id" else ColumnSchema("id", "str", "categorical") for c in schema]
    result = correlations(wide_frame, schema=schema, method="cramers_v")
    assert "id" in result.columns and "target" in result.columns
    _as_json(result)


def test_correlations_reject_unknown_method(small_frame: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="Unknown correlation method 'kendall'"):
        correlations(small_frame, schema=[], method="kendall")  # type: ignore[arg-type]


@pytest.mark.parametrize("method", ["pearson", "spearman", "cramers_v"])
def test_correlations_single_row_and_all_null(method: str) -> None:
    frame = pd.DataFrame({"a": [1.0], "b": [np.nan], EVIL: ["x"], "c": [None]})
    roles = {"a": "numeric", "b": "numeric", EVIL: "categorical", "c": "categorical"}
    result = correlations(frame, schema=_schema(frame, roles), method=method)  # type: ignore[arg-type]
    assert result.columns == [] and result.matrix == []
    assert set(result.left_out) == ({"a", "b"} if method != "cramers_v" else {EVIL, "c"})


# ---------------------------------------------------------------- missing_pattern


def test_missing_pattern_matches_pandas(wide_frame: pd.DataFrame) -> None:
    pattern = missing_pattern(wide_frame)
    expected = wide_frame.isna()
    assert pattern.fractions == pytest.approx(expected.mean().tolist())
    assert pattern.missing_counts == expected.sum().tolist()
    assert pattern.matrix_columns == [c for c in wide_frame if expected[c].any()]
    assert len(pattern.matrix) == explore.MAX_MATRIX_ROWS == len(pattern.matrix_rows)
    first = pattern.matrix_rows[0]
    assert pattern.matrix[0] == expected.loc[first, pattern.matrix_columns].tolist()
    top = expected[pattern.matrix_columns].value_counts().head(explore.MAX_PATTERNS)
    assert pattern.pattern_counts == top.tolist()
    assert pattern.pattern_masks[0] == list(top.index[0])


def test_missing_pattern_without_missing_values_and_empty_frames() -> None:
    full = missing_pattern(pd.DataFrame({"a": [1, 2], EVIL: ["x", "y"]}))
    assert full.matrix_columns == [] and full.pattern_counts == [2]
    assert full.pattern_masks == [[]] and full.fractions == [0.0, 0.0]
    empty = missing_pattern(pd.DataFrame({"a": pd.Series([], dtype=float)}))
    assert empty.rows == 0 and empty.pattern_counts == [] and empty.fractions == [0.0]
    _as_json(empty)


def test_missing_pattern_with_more_than_64_columns() -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(1_000, 70))).add_prefix("c")
    frame[frame > 1.5] = np.nan
    pattern = missing_pattern(frame)
    top = frame.isna()[pattern.matrix_columns].value_counts().head(explore.MAX_PATTERNS)
    assert pattern.pattern_counts == top.tolist()


# ---------------------------------------------------------------- scatter_sample


def test_scatter_sample_drops_missing_and_samples(small_frame: pd.DataFrame) -> None:
    sample = scatter_sample(small_frame, x="age", y="income", color="region")
    present = small_frame.dropna(subset=["age", "income"])
    assert sample.rows == len(present) and not sample.sampled
    assert sample.y_values == present["income"].tolist()
    assert sample.color_kind == "categorical" and set(sample.color_values) <= {
        "north",
        "south",
        "east",
        "west",
    }
    small = scatter_sample(small_frame, x="age", y="income", max_points=50)
    assert small.sampled and len(small.x_values) == 50 and small.color_values == []
    assert small == scatter_sample(small_frame, x="age", y="income", max_points=50)


def test_scatter_sample_datetimes_numeric_color_and_same_column() -> None:
    stamps = pd.date_range("2024-01-01", periods=30, freq="D", tz="America/New_York")
    frame = pd.DataFrame({"t": stamps, "v": np.arange(30.0), "w": np.linspace(0, 1, 30)})
    frame.loc[3, "w"] = np.nan
    sample = scatter_sample(frame, x="t", y="v", color="w")
    assert sample.x_values[0] == "2024-01-01T00:00:00"
    assert sample.color_kind == "numeric" and sample.color_values[3] is None
    same = scatter_sample(frame, x="v", y="v")
    assert same.x_values == same.y_values
    _as_json(sample)


# ---------------------------------------------------------------- guess_task & target_analysis


@pytest.mark.parametrize(
    ("values", "task"),
    [
        ([0, 1, 1, None], "binary"),
        (["yes", "no"], "binary"),
        ([True, False], "binary"),
        ([1, 2, 3, 4], "multiclass"),
        (["a", "b", "c"], "multiclass"),
        (list(range(25)), "regression"),
        (np.linspace(0, 1, 100), "regression"),
        ([None, None], "binary"),
    ],
)
def test_guess_task(values: list[object], task: str) -> None:
    assert guess_task(pd.Series(values)) == task


def test_binary_target_numeric_feature_histograms(small_frame: pd.DataFrame) -> None:
    schema = _schema(small_frame, {c: "numeric" for c in small_frame})
    result = target_analysis(small_frame, target="target", feature="income", schema=schema)
    assert result.task == "binary" and result.classes == ["0", "1"]
    assert result.positive_class == "1" and result.feature_kind == "numeric"
    assert result.histograms is not None and result.levels is None and result.binned is None
    present = small_frame.dropna(subset=["income"])
    per_class = present["target"].value_counts().sort_index().tolist()
    assert [sum(row) for row in result.histograms.counts] == per_class
    assert result.rows == len(present) and result.missing == 40
    _as_json(result)


def test_binary_target_categorical_feature_rates(small_frame: pd.DataFrame) -> None:
    frame = small_frame.assign(churn=np.where(small_frame["target"] == 1, "yes", "no"))
    schema = _schema(frame, {c: "categorical" for c in frame})
    result = target_analysis(frame, target="churn", feature="region", schema=schema)
    assert result.positive_class == "yes" and result.levels is not None
    expected = frame.groupby("region")["target"].agg(["mean", "size"])
    for level, rate, count in zip(
        result.levels.levels, result.levels.positive_rates, result.levels.counts, strict=True
    ):
        assert rate == pytest.approx(expected.loc[level, "mean"])
        assert count == expected.loc[level, "size"]
    assert result.levels.overall == pytest.approx(frame["target"].mean())


def test_multiclass_target_class_mix_matches_crosstab(wide_frame: pd.DataFrame) -> None:
    result = target_analysis(
        wide_frame, target="int0", feature="cat1", schema=_wide_schema(wide_frame)
    )
    assert result.task == "multiclass" and result.classes == ["0", "1", "2", "3", "4"]
    assert result.levels is not None
    table = pd.crosstab(wide_frame["cat1"], wide_frame["int0"])
    for level, row in zip(result.levels.levels, result.levels.class_counts, strict=True):
        assert row == table.loc[level].tolist()


def test_multiclass_target_pools_rare_classes() -> None:
    frame = pd.DataFrame({"y": [f"k{i % 15}" for i in range(300)], "x": np.arange(300.0)})
    result = target_analysis(frame, target="y", feature="x", schema=[])
    assert len(result.classes) == explore.MAX_CLASSES + 1 and result.classes[-1] == "(other)"
    assert result.histograms is not None
    assert sum(map(sum, result.histograms.counts)) == 300


def test_regression_target_numeric_feature_binned_means() -> None:
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 10, 5_000)
    frame = pd.DataFrame({"x": x, "y": 3 * x + rng.normal(size=5_000)})
    result = target_analysis(frame, target="y", feature="x", schema=[])
    assert result.task == "regression" and result.binned is not None
    binned = result.binned
    bins = pd.cut(frame["x"], binned.bin_edges, include_lowest=True)
    expected = frame.groupby(bins, observed=False)["y"].mean().tolist()
    np.testing.assert_allclose(np.array(binned.means, dtype=float), expected, rtol=1e-9)
    assert len(binned.sample_x) == explore.TARGET_POINTS


def test_regression_target_categorical_feature_boxes(small_frame: pd.DataFrame) -> None:
    schema = _schema(small_frame, {c: "categorical" for c in small_frame})
    result = target_analysis(small_frame, target="income", feature="region", schema=schema)
    assert result.levels is not None
    grouped = small_frame.groupby("region")["income"]
    for level, mean, box in zip(
        result.levels.levels, result.levels.means, result.levels.boxes, strict=True
    ):
        assert mean == pytest.approx(grouped.mean()[level])
        assert box is not None and box.median == pytest.approx(grouped.median()[level])


def test_target_against_datetime_features_is_by_period(wide_frame: pd.DataFrame) -> None:
    result = target_analysis(
        wide_frame, target="target", feature="tstz", schema=_wide_schema(wide_frame)
    )
    assert result.feature_kind == "datetime" and result.levels is not None
    assert result.levels.levels == sorted(result.levels.levels)
    assert sum(result.levels.counts) == len(wide_frame)


def test_target_analysis_edge_cases() -> None:
    frame = pd.DataFrame({"y": [1.0], EVIL: ["a"], "empty": [np.nan]})
    with pytest.raises(ValueError, match="same column"):
        target_analysis(frame, target="y", feature="y", schema=[])
    one = target_analysis(frame, target="y", feature=EVIL, schema=[])
    assert one.feature == EVIL and one.rows == 1 and one.levels is not None
    empty = target_analysis(frame, target="y", feature="empty", schema=[])
    assert empty.rows == 0 and empty.missing == 1 and empty.histograms is not None
    no_target = target_analysis(frame.assign(y=np.nan), target="y", feature=EVIL, schema=[])
    assert no_target.rows == 0 and no_target.classes == []
    for result in (one, empty, no_target):
        _as_json(result)


# ---------------------------------------------------------------- speed


def test_every_computation_is_fast_on_20k_rows(wide_frame: pd.DataFrame) -> None:
    schema = _wide_schema(wide_frame)
    calls = {
        "numeric": lambda: numeric_summary(wide_frame, column="num3"),
        "category": lambda: category_counts(wide_frame, column="id"),
        "datetime": lambda: datetime_counts(wide_frame, column="tstz"),
        "pearson": lambda: correlations(wide_frame, schema=schema, method="pearson"),
        "spearman": lambda: correlations(wide_frame, schema=schema, method="spearman"),
        "cramers_v": lambda: correlations(wide_frame, schema=schema, method="cramers_v"),
        "missing": lambda: missing_pattern(wide_frame),
        "scatter": lambda: scatter_sample(wide_frame, x="ts", y="num1", color="target"),
        "target": lambda: target_analysis(
            wide_frame, target="target", feature="cat5", schema=schema
        ),
    }
    for name, call in calls.items():
        best = min(_seconds(call) for _ in range(3))
        assert best < 0.5, f"{name} took {best:.3f} s on 20,000 rows"


def _seconds(call: object) -> float:
    start = time.perf_counter()
    call()  # type: ignore[operator]
    return time.perf_counter() - start


def test_pair_sample_is_seeded_capped_and_coloured() -> None:
    from core.data.explore import MAX_PAIR_COLUMNS, pair_sample

    rng = np.random.default_rng(1)
    frame = pd.DataFrame(rng.normal(size=(20_000, 8)), columns=[f"c{i}" for i in range(8)])
    frame["y"] = rng.integers(0, 2, 20_000)
    first = pair_sample(frame, columns=list(frame.columns[:8]), color="y", max_points=1_000)
    again = pair_sample(frame, columns=list(frame.columns[:8]), color="y", max_points=1_000)
    assert len(first.columns) == MAX_PAIR_COLUMNS and first.sampled and first.rows == 20_000
    assert all(len(values) == 1_000 for values in first.values)
    assert first == again and first.color_kind == "categorical"
