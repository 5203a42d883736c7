"""Cleaning steps: hand-checked results, clear refusals, edge-case frames and generated frames."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.pandas import column, data_frames, range_indexes

from core.prep import steps
from core.prep.steps import (
    CLEANING_STEPS,
    Cleaned,
    Param,
    StepError,
    StepOutcome,
    apply_step,
    check_step,
    cleaning_step,
    column_kinds,
    describe_step,
    outliers,
    registry,
)

STEP_NAMES = [
    "drop_columns",
    "drop_duplicates",
    "drop_missing",
    "filter_outliers",
    "parse_dates",
    "parse_numbers",
    "parse_booleans",
    "rename",
    "clip",
    "winsorize",
    "filter_rows",
]


def people() -> pd.DataFrame:
    """A small frame with one column of each kind, some missing values and one outlier."""
    return pd.DataFrame(
        {
            "annual_income": [50.0, np.nan, 52.0, 51.0, 49.0, 500.0, np.nan, 50.0],
            "age": [30, 41, 25, 30, 52, 38, 61, 30],
            "region": ["north", "south", None, "north", "east", "west", "south", "north"],
            "price": ["$1,234.50", "(12)", "€3", "1 000", "abc", None, "", "-7%"],
            "member": ["Yes", "no", " T ", "0", "maybe", None, "FALSE", "y"],
            "joined": [
                "2024-01-31",
                "31/01/2024",
                None,
                "",
                "2024-02-30",
                "2023-12-01",
                "2024-06-15",
                "2024-01-31",
            ],
            "signup": pd.date_range("2024-01-01", periods=8, freq="D"),
            "active": [True, False, True, True, False, True, False, True],
        }
    )


EXAMPLE_STEPS: list[dict[str, Any]] = [
    {"step": "drop_columns", "columns": ["price", "member"]},
    {"step": "drop_duplicates"},
    {"step": "drop_duplicates", "columns": ["region", "age"], "keep": "last"},
    {"step": "drop_missing", "columns": ["annual_income"]},
    {"step": "drop_missing", "columns": ["annual_income", "region"], "how": "all"},
    {"step": "filter_outliers", "columns": ["annual_income"]},
    {"step": "filter_outliers", "columns": ["annual_income", "age"], "method": "zscore"},
    {
        "step": "filter_outliers",
        "columns": ["annual_income", "age"],
        "method": "isolation_forest",
        "contamination": 0.1,
        "seed": 3,
    },
    {"step": "parse_dates", "column": "joined", "format": "%Y-%m-%d"},
    {"step": "parse_numbers", "column": "price"},
    {"step": "parse_booleans", "column": "member"},
    {"step": "rename", "mapping": {"annual_income": "income", "age": "years"}},
    {"step": "clip", "column": "age", "lower": 26, "upper": 60},
    {"step": "winsorize", "columns": ["annual_income"], "lower_quantile": 0.1},
    {"step": "filter_rows", "column": "region", "operator": "in", "value": ["north", "east"]},
    {"step": "filter_rows", "column": "signup", "operator": ">=", "value": "2024-01-03"},
]


def run(frame: pd.DataFrame, step: dict[str, Any]) -> StepOutcome:
    """Apply a step and check it left the input alone."""
    before = frame.copy(deep=True)
    outcome = apply_step(frame, step)
    pd.testing.assert_frame_equal(frame, before)
    return outcome


def refusal(frame: pd.DataFrame, step: dict[str, Any]) -> str:
    with pytest.raises(StepError) as caught:
        run(frame, step)
    return str(caught.value)


# --- the registry --------------------------------------------------------------------------


def test_registry_holds_every_step_in_order() -> None:
    assert list(CLEANING_STEPS) == STEP_NAMES
    for name, kind in CLEANING_STEPS.items():
        assert kind.name == name
        assert kind.label and kind.label[0].isupper()
        assert all(isinstance(param, Param) and param.help for param in kind.params.values())


def test_defaults_are_as_documented() -> None:
    def defaults(name: str) -> dict[str, Any]:
        params = CLEANING_STEPS[name].params.items()
        return {key: param.default for key, param in params if not param.required}

    assert defaults("drop_duplicates") == {"columns": None, "keep": "first"}
    assert defaults("drop_missing") == {"columns": None, "how": "any"}
    assert defaults("filter_outliers") == {
        "method": "iqr",
        "factor": None,
        "contamination": 0.01,
        "seed": 0,
    }
    assert defaults("parse_numbers") == {"thousands": ",", "decimal": ".", "strip": "$€£¥% "}
    assert defaults("parse_booleans") == {
        "true_values": ("true", "yes", "y", "1", "t"),
        "false_values": ("false", "no", "n", "0", "f"),
    }
    assert defaults("clip") == {"lower": None, "upper": None}
    assert defaults("winsorize") == {"lower_quantile": 0.01, "upper_quantile": 0.99}
    assert CLEANING_STEPS["filter_rows"].params["operator"].choices == steps.OPERATORS


def test_adding_a_step_is_one_decorated_function(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "CLEANING_STEPS", dict(CLEANING_STEPS))

    @cleaning_step(
        "add_one",
        label="Add one",
        params={"column": Param("column", steps.REQUIRED, "the column", kinds=("numeric",))},
        describe=lambda p: f"Add one to {p['column']}",
    )
    def add_one(frame: pd.DataFrame, *, column: str) -> Cleaned:
        return Cleaned(frame.assign(**{column: frame[column] + 1}), f"Added one to {column}.")

    outcome = apply_step(people(), {"step": "add_one", "column": "age"})
    assert outcome.frame["age"].tolist() == [31, 42, 26, 31, 53, 39, 62, 31]
    assert describe_step({"step": "add_one", "column": "age"}) == "Add one to age"
    assert "add_one" not in CLEANING_STEPS


# --- dropping ------------------------------------------------------------------------------


def test_drop_columns() -> None:
    outcome = run(people(), {"step": "drop_columns", "columns": ["price", "member"]})
    assert "price" not in outcome.frame and "member" not in outcome.frame
    assert outcome.columns_removed == ("price", "member")
    assert outcome.columns_added == ()
    assert outcome.rows_dropped == 0
    assert outcome.note == "Dropped 2 columns: price, member."


def test_drop_columns_refuses_to_drop_every_column() -> None:
    frame = pd.DataFrame({"a": [1], "b": [2]})
    assert refusal(frame, {"step": "drop_columns", "columns": ["a", "b"]}) == (
        steps.DROPS_ALL_COLUMNS
    )


def test_drop_duplicates_keeps_first_or_last() -> None:
    frame = pd.DataFrame({"a": [1, 1, 2, 1], "b": ["x", "x", "y", "z"]})
    first = run(frame, {"step": "drop_duplicates"})
    assert first.frame.to_dict("list") == {"a": [1, 2, 1], "b": ["x", "y", "z"]}
    assert first.note == "Dropped 1 duplicate row, keeping the first of each."
    last = run(frame, {"step": "drop_duplicates", "keep": "last"})
    assert last.frame.to_dict("list") == {"a": [1, 2, 1], "b": ["x", "y", "z"]}
    subset = run(frame, {"step": "drop_duplicates", "columns": ["a"], "keep": "last"})
    assert subset.frame.to_dict("list") == {"a": [2, 1], "b": ["y", "z"]}
    assert subset.note == "Dropped 2 duplicate rows (compared on a), keeping the last of each."
    assert list(subset.frame.index) == [0, 1]


def test_drop_missing_any_all_and_every_column() -> None:
    frame = pd.DataFrame({"income": [1.0, np.nan, 3.0, np.nan], "age": [np.nan, np.nan, 5, 6]})
    one = run(frame, {"step": "drop_missing", "columns": ["income"]})
    assert one.frame["income"].tolist() == [1.0, 3.0]
    assert (one.rows_before, one.rows_after, one.rows_dropped) == (4, 2, 2)
    assert one.note == "Dropped 2 rows with a missing income."
    every = run(frame, {"step": "drop_missing", "columns": ["income", "age"], "how": "all"})
    assert every.frame["income"].tolist()[0] == 1.0 and every.frame["age"].tolist()[1:] == [5, 6]
    assert every.rows_after == 3
    assert every.note == "Dropped 1 row with all of income, age missing."
    anywhere = run(frame, {"step": "drop_missing"})
    assert anywhere.frame.to_dict("list") == {"income": [3.0], "age": [5.0]}
    assert anywhere.note == "Dropped 3 rows with a missing value."


def test_a_step_that_drops_every_row_is_refused() -> None:
    frame = pd.DataFrame({"x": [np.nan] * 1234, "y": range(1234)})
    message = refusal(frame, {"step": "drop_missing", "columns": ["x"]})
    assert message == "This step would remove all 1,234 rows; loosen the condition."
    assert message == steps.DROPS_ALL_ROWS.format(rows=1234)
    one = pd.DataFrame({"x": [np.nan]})
    assert refusal(one, {"step": "drop_missing"}) == steps.DROPS_ONLY_ROW


# --- outliers ------------------------------------------------------------------------------


def test_iqr_drops_values_beyond_the_fences_and_keeps_missing() -> None:
    # quartiles of 1..9, 100 are 3.25 and 7.75, so the fences are -3.5 and 14.5
    values = [*range(1, 10), 100, np.nan, np.inf]
    frame = pd.DataFrame({"x": values, "row": range(len(values))})
    outcome = run(frame, {"step": "filter_outliers", "columns": ["x"]})
    assert outcome.frame["row"].tolist() == [0, 1, 2, 3, 4, 5, 6, 7, 8, 10]
    assert outcome.note == (
        "Dropped 2 rows with outliers in x (beyond 1.5 × IQR from the quartiles);"
        " rows with missing values were kept."
    )


def test_iqr_factor_and_any_column_rule() -> None:
    frame = pd.DataFrame({"x": [*range(1, 10), 100], "y": [0] * 9 + [0]})
    frame.loc[0, "y"] = 50
    outcome = run(frame, {"step": "filter_outliers", "columns": ["x", "y"], "factor": 30})
    assert outcome.rows_dropped == 1  # y's quartiles are 0 and 0, so 50 is out; x's 100 is in
    assert outcome.frame["x"].tolist() == [*range(2, 10), 100]


def test_zscore_uses_population_std_and_a_strict_threshold() -> None:
    # mean 1 and std 3, so 10 sits exactly 3 standard deviations out
    frame = pd.DataFrame({"x": [0.0] * 9 + [10.0, np.nan]})
    kept = run(frame, {"step": "filter_outliers", "columns": ["x"], "method": "zscore"})
    assert kept.rows_dropped == 0
    step = {"step": "filter_outliers", "columns": ["x"], "method": "zscore", "factor": 2.9}
    dropped = run(frame, step)
    assert dropped.rows_dropped == 1
    assert dropped.frame["x"].isna().sum() == 1
    assert "more than 2.9 standard deviations from the mean" in dropped.note


def test_constant_columns_have_no_outliers() -> None:
    frame = pd.DataFrame({"x": [0.1] * 50, "y": [7] * 50})
    for method in ("iqr", "zscore"):
        step = {"step": "filter_outliers", "columns": ["x", "y"], "method": method}
        assert run(frame, step).rows_dropped == 0


def test_isolation_forest_drops_the_odd_row_keeps_incomplete_rows_and_is_seeded() -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=300), "y": rng.normal(size=300)})
    frame.loc[0, ["x", "y"]] = [40.0, -40.0]
    frame.loc[1, "x"] = np.nan
    frame.loc[2, "y"] = np.inf
    frame["row"] = range(len(frame))
    step = {"step": "filter_outliers", "columns": ["x", "y"], "method": "isolation_forest"}
    outcome = run(frame, step)
    kept = set(outcome.frame["row"])
    assert 0 not in kept and 2 not in kept
    assert 1 in kept
    assert 2 <= outcome.rows_dropped <= 6
    assert "isolation forest, 1% contamination" in outcome.note
    again = run(frame, step)
    pd.testing.assert_frame_equal(outcome.frame, again.frame)


def test_isolation_forest_fits_on_a_sample_of_large_frames(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(outliers, "FOREST_SAMPLE_ROWS", 100)
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"x": np.append(rng.normal(size=999), 80.0)})
    step = {
        "step": "filter_outliers",
        "columns": ["x"],
        "method": "isolation_forest",
        "contamination": 0.05,
    }
    outcome = run(frame, step)
    assert 80.0 not in set(outcome.frame["x"])
    pd.testing.assert_frame_equal(outcome.frame, run(frame, step).frame)


def test_isolation_forest_leaves_tiny_frames_alone() -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0, 1000.0]})
    step = {"step": "filter_outliers", "columns": ["x"], "method": "isolation_forest"}
    assert run(frame, step).rows_dropped == 0


@pytest.mark.parametrize(
    ("settings_", "message"),
    [
        ({"factor": 0}, steps.FACTOR_NOT_POSITIVE.format(value=0)),
        ({"contamination": 0.7}, steps.CONTAMINATION_RANGE.format(value=0.7)),
        ({"contamination": 0}, steps.CONTAMINATION_RANGE.format(value=0)),
        ({"seed": -1}, steps.SEED_RANGE.format(value=-1)),
    ],
)
def test_outlier_settings_are_checked(settings_: dict[str, Any], message: str) -> None:
    step = {"step": "filter_outliers", "columns": ["annual_income"], **settings_}
    assert refusal(people(), step) == message


# --- fixing types --------------------------------------------------------------------------


def test_parse_dates_counts_values_that_do_not_match() -> None:
    outcome = run(people(), {"step": "parse_dates", "column": "joined", "format": "%Y-%m-%d"})
    parsed = outcome.frame["joined"]
    assert str(parsed.dtype) == "datetime64[ns]"
    assert parsed.tolist()[:2] == [pd.Timestamp("2024-01-31"), pd.NaT]
    assert parsed.isna().tolist() == [False, True, True, True, True, False, False, False]
    assert outcome.note == (
        "Read joined as dates (%Y-%m-%d); 2 values did not match and are now missing."
    )


def test_parse_dates_refuses_a_format_that_reads_nothing() -> None:
    step = {"step": "parse_dates", "column": "joined", "format": "%d.%m.%Y"}
    assert refusal(people(), step) == steps.DATE_FORMAT_READS_NOTHING.format(
        format="%d.%m.%Y", count=6, column="joined", example="2024-01-31"
    )


def test_parse_dates_refuses_a_broken_format() -> None:
    step = {"step": "parse_dates", "column": "joined", "format": "%Q"}
    assert refusal(people(), step).startswith("‘%Q’ is not a date format")
    no_codes = {"step": "parse_dates", "column": "joined", "format": "Y-m-d"}
    assert refusal(people(), no_codes) == steps.BAD_DATE_FORMAT.format(
        format="Y-m-d", reason="it has no % codes"
    )


def test_parse_dates_reads_numbers_offsets_and_leaves_dates_alone() -> None:
    numbers = pd.DataFrame({"day": [20240131, 20231201]})
    outcome = run(numbers, {"step": "parse_dates", "column": "day", "format": "%Y%m%d"})
    assert outcome.frame["day"].tolist() == [pd.Timestamp("2024-01-31"), pd.Timestamp("2023-12-01")]
    offsets = pd.DataFrame({"at": ["2024-01-01 10:00+0100", "2024-01-01 10:00+0200"]})
    step = {"step": "parse_dates", "column": "at", "format": "%Y-%m-%d %H:%M%z"}
    utc = run(offsets, step).frame["at"]
    assert utc.tolist() == [
        pd.Timestamp("2024-01-01 09:00", tz="UTC"),
        pd.Timestamp("2024-01-01 08:00", tz="UTC"),
    ]
    same = run(people(), {"step": "parse_dates", "column": "signup", "format": "%Y"})
    pd.testing.assert_frame_equal(same.frame, people())
    assert same.note == "signup already holds dates; nothing changed."


def test_parse_numbers_reads_currency_thousands_and_accounting_negatives() -> None:
    outcome = run(people(), {"step": "parse_numbers", "column": "price"})
    values = outcome.frame["price"]
    assert values.dtype == np.float64
    expected = [1234.5, -12.0, 3.0, 1000.0, np.nan, np.nan, np.nan, -7.0]
    np.testing.assert_array_equal(values.to_numpy(), np.array(expected))
    assert outcome.note == "Read price as numbers; 1 value could not be read and is now missing."


def test_parse_numbers_with_european_marks_and_whole_numbers() -> None:
    frame = pd.DataFrame({"amount": ["1.234,50", "€ 2,5", " 7 "], "count": ["1,000", "2", "-3"]})
    step = {"step": "parse_numbers", "column": "amount", "thousands": ".", "decimal": ","}
    assert run(frame, step).frame["amount"].tolist() == [1234.5, 2.5, 7.0]
    counts = run(frame, {"step": "parse_numbers", "column": "count"}).frame["count"]
    assert counts.dtype == np.int64
    assert counts.tolist() == [1000, 2, -3]


def test_parse_numbers_refuses_when_nothing_reads() -> None:
    frame = pd.DataFrame({"code": ["A1", "B2", None]})
    assert refusal(frame, {"step": "parse_numbers", "column": "code"}) == (
        steps.NUMBERS_READ_NOTHING.format(count=2, column="code", example="A1")
    )


@pytest.mark.parametrize(
    ("settings_", "message"),
    [
        ({"decimal": ""}, steps.BAD_DECIMAL.format(value='""')),
        ({"thousands": ".."}, steps.BAD_THOUSANDS.format(value='".."')),
        ({"thousands": "."}, steps.SAME_SEPARATORS.format(mark=".")),
        ({"strip": "$."}, steps.STRIPS_DECIMAL.format(mark=".")),
    ],
)
def test_number_separators_are_checked(settings_: dict[str, Any], message: str) -> None:
    step = {"step": "parse_numbers", "column": "price", **settings_}
    assert refusal(people(), step) == message


def test_parse_booleans_reads_words_in_any_case() -> None:
    outcome = run(people(), {"step": "parse_booleans", "column": "member"})
    assert outcome.frame["member"].tolist() == [True, False, True, False, None, None, False, True]
    assert outcome.frame["member"].dtype == object
    assert outcome.note == (
        "Read member as true/false; 1 value matched neither list (e.g. ‘maybe’) and is now missing."
    )


def test_parse_booleans_gives_bool_when_complete_and_takes_custom_words() -> None:
    frame = pd.DataFrame({"flag": [1.0, 0.0, 1.0], "answer": ["Oui", "non", "OUI"]})
    flags = run(frame, {"step": "parse_booleans", "column": "flag"}).frame["flag"]
    assert flags.dtype == bool and flags.tolist() == [True, False, True]
    step = {
        "step": "parse_booleans",
        "column": "answer",
        "true_values": ["oui"],
        "false_values": ["non"],
    }
    assert run(frame, step).frame["answer"].tolist() == [True, False, True]


def test_parse_booleans_checks_its_words() -> None:
    step = {"step": "parse_booleans", "column": "member", "true_values": ["yes", "Y"]}
    step["false_values"] = ["y "]
    assert refusal(people(), step) == steps.BOTH_TRUE_AND_FALSE.format(word="y")
    empty = {"step": "parse_booleans", "column": "member", "true_values": []}
    assert refusal(people(), empty) == steps.NO_BOOLEAN_WORDS.format(param="true_values")
    frame = pd.DataFrame({"size": ["small", "large"]})
    assert refusal(frame, {"step": "parse_booleans", "column": "size"}) == (
        steps.BOOLEANS_READ_NOTHING.format(count=2, column="size", example="small")
    )


# --- columns and values --------------------------------------------------------------------


def test_rename_and_swap() -> None:
    outcome = run(people(), {"step": "rename", "mapping": {"annual_income": "income"}})
    assert list(outcome.frame.columns)[0] == "income"
    assert outcome.columns_added == ("income",)
    assert outcome.columns_removed == ("annual_income",)
    assert outcome.note == "Renamed annual_income to income."
    swap = run(people(), {"step": "rename", "mapping": {"age": "region", "region": "age"}})
    assert swap.frame["age"].tolist() == people()["region"].tolist()


def test_rename_refuses_collisions_empty_names_and_unknown_columns() -> None:
    frame = people()
    clash = refusal(frame, {"step": "rename", "mapping": {"annual_income": "age"}})
    assert clash == steps.RENAME_COLLISION.format(name="age")
    blank = refusal(frame, {"step": "rename", "mapping": {"age": "  "}})
    assert blank == steps.EMPTY_NEW_NAME.format(old="age")
    assert refusal(frame, {"step": "rename", "mapping": {}}) == steps.EMPTY_MAPPING
    missing = refusal(frame, {"step": "rename", "mapping": {"agee": "years"}})
    assert missing == steps.UNKNOWN_COLUMN.format(
        column="agee", suggestion=steps.CLOSE_MATCHES.format(names="‘age’")
    )


def test_clip_bounds_values_and_keeps_integer_columns_integer() -> None:
    frame = pd.DataFrame({"x": [1.0, 5.0, 10.0, np.nan, np.inf, -np.inf], "n": [1, 5, 10, 2, 3, 4]})
    outcome = run(frame, {"step": "clip", "column": "x", "lower": 2, "upper": 8})
    np.testing.assert_array_equal(outcome.frame["x"], [2.0, 5.0, 8.0, np.nan, 8.0, 2.0])
    assert outcome.note == "Clipped 4 values of x to [2, 8]."
    ints = run(frame, {"step": "clip", "column": "n", "upper": 4.0}).frame["n"]
    assert ints.dtype == np.int64 and ints.tolist() == [1, 4, 4, 2, 3, 4]
    half = run(frame, {"step": "clip", "column": "n", "lower": 2.5}).frame["n"]
    assert half.tolist() == [2.5, 5, 10, 2.5, 3, 4]


def test_clip_checks_its_bounds() -> None:
    step = {"step": "clip", "column": "age", "lower": 9, "upper": 1}
    assert refusal(people(), step) == steps.BOUNDS_ORDER.format(lower=9, upper=1)
    assert refusal(people(), {"step": "clip", "column": "age"}) == steps.NO_BOUNDS


def test_winsorize_caps_at_quantiles_of_finite_values() -> None:
    frame = pd.DataFrame(
        {"x": [*map(float, range(101)), np.inf, np.nan], "n": [*range(101), 50, 50]}
    )
    step = {
        "step": "winsorize",
        "columns": ["x", "n"],
        "lower_quantile": 0.1,
        "upper_quantile": 0.9,
    }
    outcome = run(frame, step)
    x = outcome.frame["x"]
    assert x.min() == 10.0 and x.max() == 90.0 and x.isna().sum() == 1
    assert outcome.frame["n"].dtype == np.int64
    assert outcome.frame["n"].min() == 10 and outcome.frame["n"].max() == 90
    # x: 10 low, 10 high and the inf; n: 10 low and 10 high
    assert outcome.note == "Capped 41 values in x, n to their 0.1–0.9 quantiles."


@pytest.mark.parametrize(
    ("lower", "upper", "message"),
    [
        (-0.1, 0.9, steps.QUANTILE_RANGE.format(param="lower_quantile", value=-0.1)),
        (0.1, 1.5, steps.QUANTILE_RANGE.format(param="upper_quantile", value=1.5)),
        (0.5, 0.5, steps.QUANTILE_ORDER.format(lower=0.5, upper=0.5)),
        (0.9, 0.1, steps.QUANTILE_ORDER.format(lower=0.9, upper=0.1)),
    ],
)
def test_winsorize_checks_its_quantiles(lower: float, upper: float, message: str) -> None:
    step = {
        "step": "winsorize",
        "columns": ["age"],
        "lower_quantile": lower,
        "upper_quantile": upper,
    }
    assert refusal(people(), step) == message


# --- filtering rows ------------------------------------------------------------------------


def kept(frame: pd.DataFrame, column: str, operator: str, value: Any = None) -> list[int]:
    step = {"step": "filter_rows", "column": column, "operator": operator, "value": value}
    return run(frame.assign(row=range(len(frame))), step).frame["row"].tolist()


def test_filter_rows_numeric_comparisons() -> None:
    frame = people()
    assert kept(frame, "annual_income", ">", 50) == [2, 3, 5]
    assert kept(frame, "annual_income", ">=", 50) == [0, 2, 3, 5, 7]
    assert kept(frame, "annual_income", "<", 50.5) == [0, 4, 7]
    assert kept(frame, "annual_income", "<=", 49) == [4]
    assert kept(frame, "annual_income", "==", 50) == [0, 7]
    assert kept(frame, "annual_income", "!=", 50) == [1, 2, 3, 4, 5, 6]
    assert kept(frame, "age", "in", [30, 61]) == [0, 3, 6, 7]
    assert kept(frame, "age", "not_in", [30]) == [1, 2, 4, 5, 6]


def test_filter_rows_text_missing_and_search() -> None:
    frame = people()
    assert kept(frame, "region", "==", "north") == [0, 3, 7]
    assert kept(frame, "region", "!=", "north") == [1, 2, 4, 5, 6]
    assert kept(frame, "region", "in", ["east", "west"]) == [4, 5]
    assert kept(frame, "region", "is_missing") == [2]
    assert kept(frame, "region", "not_missing") == [0, 1, 3, 4, 5, 6, 7]
    assert kept(frame, "region", "contains", "th") == [0, 1, 3, 6, 7]
    assert kept(frame, "region", "starts_with", "s") == [1, 6]
    codes = pd.DataFrame({"zip": ["10115", "20095", None]})
    assert kept(codes, "zip", "==", 10115) == [0]
    assert kept(codes, "zip", "starts_with", 20) == [1]


def test_filter_rows_dates_and_booleans() -> None:
    frame = people()
    assert kept(frame, "signup", ">=", "2024-01-07") == [6, 7]
    assert kept(frame, "signup", "<", "2024-01-02T12:00") == [0, 1]
    assert kept(frame, "signup", "in", ["2024-01-01", "2024-01-08"]) == [0, 7]
    assert kept(frame, "active", "==", False) == [1, 4, 6]
    assert kept(frame, "active", "==", "true") == [0, 2, 3, 5, 7]
    aware = pd.DataFrame({"at": pd.date_range("2024-01-01", periods=3, freq="D", tz="UTC")})
    assert kept(aware, "at", ">", "2024-01-02") == [2]
    assert kept(aware, "at", ">", "2024-01-02T01:00+02:00") == [1, 2]
    objects = pd.DataFrame({"flag": [True, None, False]})
    assert kept(objects, "flag", "!=", True) == [1, 2]


def test_filter_rows_message_for_a_numeric_comparison_on_text() -> None:
    step = {"step": "filter_rows", "column": "region", "operator": ">", "value": 5}
    assert refusal(people(), step) == (
        "‘region’ holds text, so ‘>’ cannot compare it with 5; use == / in, or fix its type"
        " with parse_numbers first."
    )


@pytest.mark.parametrize(
    ("column_", "operator", "value", "message"),
    [
        ("age", "==", "old", steps.NEEDS_NUMBER),
        ("region", "==", True, steps.NEEDS_TEXT),
        ("signup", ">", "last week", steps.NEEDS_DATE),
        ("signup", "==", 5, steps.NEEDS_DATE),
        ("active", "==", 2, steps.NEEDS_BOOL),
        ("active", ">", True, steps.BOOL_ORDERING),
        ("age", "in", [3, "a"], steps.NEEDS_NUMBER),
        ("age", "in", 5, steps.NEEDS_LIST),
        ("age", "in", [], steps.EMPTY_LIST),
        ("age", ">", None, steps.NEEDS_VALUE),
        ("age", "contains", "3", steps.TEXT_SEARCH_ONLY),
        ("age", "==", [3], steps.ONE_VALUE),
    ],
)
def test_filter_rows_checks_values_against_the_column(
    column_: str, operator: str, value: Any, message: str
) -> None:
    step = {"step": "filter_rows", "column": column_, "operator": operator, "value": value}
    kind = column_kinds(people())[column_]
    # a list's first unfitting item is named, not the whole list
    shown = json.dumps(
        value[-1] if value and isinstance(value, list) and operator == "in" else value
    )
    expected = message.format(
        column=column_,
        operator=operator,
        value=shown,
        holds=steps.KIND_WORDS[kind],
    )
    assert refusal(people(), step) == expected


def test_filter_rows_refuses_to_drop_every_row() -> None:
    step = {"step": "filter_rows", "column": "age", "operator": ">", "value": 100}
    assert refusal(people(), step) == steps.DROPS_ALL_ROWS.format(rows=8)


# --- bad input -----------------------------------------------------------------------------


def test_unknown_step_lists_the_valid_ones() -> None:
    message = refusal(people(), {"step": "drop_everything"})
    assert message == steps.UNKNOWN_STEP.format(name="drop_everything", valid=", ".join(STEP_NAMES))


@pytest.mark.parametrize("step", [None, [], {}, {"step": 3}, {"columns": ["a"]}])
def test_something_that_is_not_a_step(step: Any) -> None:
    assert refusal(people(), step) == steps.NOT_A_STEP
    assert check_step(step, columns={}) == [steps.NOT_A_STEP]


def test_missing_extra_and_wrong_typed_settings() -> None:
    frame = people()
    assert refusal(frame, {"step": "clip", "lower": 1}) == steps.MISSING_PARAM.format(
        step="clip", param="column", help="the numeric column to clip"
    )
    assert refusal(frame, {"step": "drop_missing", "colums": ["age"]}) == (
        steps.EXTRA_PARAM.format(step="drop_missing", param="colums", valid="columns, how")
    )
    assert refusal(frame, {"step": "drop_missing", "columns": "age"}) == steps.WRONG_TYPE.format(
        param="columns", step="drop_missing", expected="a list of column names", value='"age"'
    )
    assert refusal(frame, {"step": "clip", "column": "age", "lower": "1"}) == (
        steps.WRONG_TYPE.format(param="lower", step="clip", expected="a finite number", value='"1"')
    )
    assert refusal(frame, {"step": "clip", "column": "age", "lower": True}).startswith(
        "‘lower’ of clip must be a finite number"
    )
    assert refusal(frame, {"step": "drop_duplicates", "keep": "middle"}) == (
        steps.BAD_CHOICE.format(
            param="keep", step="drop_duplicates", choices="first, last", value='"middle"'
        )
    )
    assert refusal(frame, {"step": "drop_missing", "columns": []}) == steps.NO_COLUMNS.format(
        param="columns", step="drop_missing"
    )
    assert refusal(frame, {"step": "drop_missing", "columns": ["age", "age"]}) == (
        steps.REPEATED_COLUMN.format(param="columns", step="drop_missing", column="age")
    )


def test_unknown_columns_name_close_matches() -> None:
    message = refusal(people(), {"step": "drop_missing", "columns": ["anual_income"]})
    assert message == (
        "There is no column ‘anual_income’ in this dataset (did you mean ‘annual_income’?);"
        " pick one of its columns."
    )
    none_close = refusal(people(), {"step": "drop_columns", "columns": ["zzz"]})
    assert none_close == steps.UNKNOWN_COLUMN.format(column="zzz", suggestion="")


def test_a_step_on_the_wrong_kind_of_column() -> None:
    message = refusal(people(), {"step": "clip", "column": "region", "lower": 1})
    assert message == steps.WRONG_KIND.format(
        column="region",
        holds="text",
        step="clip",
        needs="numbers",
        fix=steps.PARSE_NUMBERS_FIRST,
    )
    dates = refusal(people(), {"step": "winsorize", "columns": ["signup"]})
    assert dates == steps.WRONG_KIND.format(
        column="signup", holds="dates", step="winsorize", needs="numbers", fix=""
    )


def test_check_step_works_from_column_kinds_alone() -> None:
    columns = {"income": "numeric", "region": "string", "when": "datetime"}
    assert check_step({"step": "clip", "column": "income", "lower": 0}, columns=columns) == []
    problems = check_step(
        {"step": "filter_rows", "column": "region", "operator": ">", "value": 5}, columns=columns
    )
    assert problems == [steps.TEXT_ORDERING.format(column="region", operator=">", value="5")]
    several = check_step({"step": "winsorize", "columns": ["incom", "region"]}, columns=columns)
    assert len(several) == 2
    assert several[0].startswith("There is no column ‘incom’ in this dataset (did you mean")
    assert column_kinds(people()) == {
        "annual_income": "numeric",
        "age": "numeric",
        "region": "string",
        "price": "string",
        "member": "string",
        "joined": "string",
        "signup": "datetime",
        "active": "bool",
    }


# --- descriptions and JSON -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("step", "text"),
    [
        (
            {"step": "drop_missing", "columns": ["annual_income"]},
            "Drop rows where annual_income is missing",
        ),
        (
            {"step": "drop_missing", "columns": ["a", "b"], "how": "all"},
            "Drop rows where all of a, b are missing",
        ),
        ({"step": "drop_missing"}, "Drop rows with a missing value"),
        ({"step": "drop_duplicates"}, "Drop duplicate rows, keeping the first"),
        ({"step": "drop_columns", "columns": ["a", "b"]}, "Drop columns a, b"),
        (
            {"step": "filter_outliers", "columns": ["x"], "method": "zscore"},
            "Drop rows with outliers in x (more than 3 standard deviations from the mean)",
        ),
        (
            {"step": "parse_dates", "column": "d", "format": "%d/%m/%Y"},
            "Read d as dates in the format %d/%m/%Y",
        ),
        ({"step": "parse_numbers", "column": "p"}, "Read p as numbers"),
        ({"step": "parse_booleans", "column": "f"}, "Read f as true/false"),
        ({"step": "rename", "mapping": {"a": "b"}}, "Rename a to b"),
        ({"step": "clip", "column": "x", "lower": 0}, "Clip x to at least 0"),
        ({"step": "clip", "column": "x", "lower": 0, "upper": 1.5}, "Clip x to [0, 1.5]"),
        ({"step": "winsorize", "columns": ["x"]}, "Cap x at their 0.01 and 0.99 quantiles"),
        (
            {"step": "filter_rows", "column": "r", "operator": "==", "value": "north"},
            'Keep rows where r == "north"',
        ),
        (
            {"step": "filter_rows", "column": "r", "operator": "is_missing"},
            "Keep rows where r is missing",
        ),
        (
            {"step": "filter_rows", "column": "r", "operator": "not_in", "value": [1, 2]},
            "Keep rows where r is none of 1, 2",
        ),
        ({"step": "nope"}, "Unknown step ‘nope’"),
        ({"step": "clip", "column": 3}, "Clip values (settings need fixing)"),
        ("drop_missing", "Unreadable step"),
    ],
)
def test_describe_step(step: Any, text: str) -> None:
    assert describe_step(step) == text


@pytest.mark.parametrize("step", EXAMPLE_STEPS, ids=lambda step: step["step"])
def test_json_round_trip_gives_identical_output(step: dict[str, Any]) -> None:
    copied = json.loads(json.dumps(step))
    assert copied == step
    first, second = run(people(), step), run(people(), copied)
    pd.testing.assert_frame_equal(first.frame, second.frame)
    assert first.note == second.note
    assert describe_step(copied) == describe_step(step)


def test_tuples_and_lists_behave_the_same() -> None:
    as_tuple = {"step": "drop_missing", "columns": ("annual_income", "region")}
    as_list = json.loads(json.dumps(as_tuple))
    pd.testing.assert_frame_equal(run(people(), as_tuple).frame, run(people(), as_list).frame)


# --- edge-case frames ----------------------------------------------------------------------


def edge_frames() -> dict[str, pd.DataFrame]:
    base = people()
    return {
        "empty": base.iloc[0:0],
        "one row": base.iloc[[0]].reset_index(drop=True),
        "constant": base.assign(annual_income=7.0, age=3, region="x", price="1", member="y"),
        "all null": base.assign(
            annual_income=np.nan, region=None, price=None, member=None, joined=None
        ),
        "infinite": base.assign(annual_income=[np.inf, -np.inf, 1.0, 2.0, 3.0, np.nan, 5.0, 1e308]),
    }


@pytest.mark.parametrize("name", list(edge_frames()))
@pytest.mark.parametrize("step", EXAMPLE_STEPS, ids=lambda step: step["step"])
def test_edge_frames_give_a_result_or_a_step_error(name: str, step: dict[str, Any]) -> None:
    frame = edge_frames()[name]
    try:
        outcome = run(frame, step)
    except StepError:
        return
    assert len(outcome.frame) == outcome.rows_after <= outcome.rows_before == len(frame)
    assert isinstance(outcome.frame.index, pd.RangeIndex) or outcome.rows_dropped == 0


def test_edge_frames_specifics() -> None:
    frames = edge_frames()
    empty = run(frames["empty"], {"step": "filter_outliers", "columns": ["annual_income"]})
    assert empty.rows_after == 0
    nulls = run(frames["all null"], {"step": "parse_numbers", "column": "price"})
    assert nulls.frame["price"].isna().all() and nulls.note == "Read price as numbers."
    assert run(frames["constant"], {"step": "winsorize", "columns": ["age"]}).note == (
        "Capped 0 values in age to their 0.01–0.99 quantiles."
    )
    huge = run(frames["infinite"], {"step": "filter_outliers", "columns": ["annual_income"]})
    assert huge.frame["annual_income"].isna().sum() == 1


def test_look_alike_and_unicode_names_stay_apart() -> None:
    frame = pd.DataFrame({"a": [1, 2], "a ": [3, 4], "É": ["x", "y"], "e": [5, 6]})
    dropped = run(frame, {"step": "drop_columns", "columns": ["a "]})
    assert list(dropped.frame.columns) == ["a", "É", "e"]
    assert refusal(frame, {"step": "rename", "mapping": {"a": "a "}}) == (
        steps.RENAME_COLLISION.format(name="a ")
    )
    renamed = run(frame, {"step": "rename", "mapping": {"É": "é"}})
    assert list(renamed.frame.columns) == ["a", "a ", "é", "e"]
    message = refusal(frame, {"step": "clip", "column": "A", "lower": 0})
    assert message == steps.UNKNOWN_COLUMN.format(
        column="A", suggestion=steps.CLOSE_MATCHES.format(names="‘a’ or ‘a ’")
    )


# --- generated frames ----------------------------------------------------------------------

TEXTS = st.one_of(
    st.sampled_from(
        ["$1,234.50", "(12)", "yes", "No", " t ", "2024-01-31", "31/01/2024", "", " ", "north"]
    ),
    st.text(max_size=6),
    st.none(),
)
FRAMES = data_frames(
    columns=[
        column("x", dtype=float),
        column("n", dtype=np.int64),
        column("s", dtype=object, elements=TEXTS),
        column("d", dtype="datetime64[ns]"),
        column("b", dtype=bool),
        column("a ", dtype=float, elements=st.sampled_from([0.0, 1.0, np.nan, -2.5])),
        column("É", dtype=object, elements=st.sampled_from(["yes", "NO", None, "peut-être"])),
    ],
    index=range_indexes(max_size=25),
)
NUMERIC = ["x", "n", "a "]
ALL = ["x", "n", "s", "d", "b", "a ", "É"]
FINITE = st.floats(allow_nan=False, allow_infinity=False)
QUANTILE = st.floats(0, 1)


def _subset(columns: list[str]) -> st.SearchStrategy[list[str]]:
    return st.lists(st.sampled_from(columns), min_size=1, max_size=len(columns), unique=True)


def _step(name: str, **params: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({"step": st.just(name), **params})


def _filter(column_: str, operator: str, value: st.SearchStrategy[Any]) -> st.SearchStrategy:
    return _step("filter_rows", column=st.just(column_), operator=st.just(operator), value=value)


ISO_DATES = st.datetimes().map(lambda moment: moment.isoformat())
FILTERS = st.one_of(
    st.sampled_from(ALL).flatmap(
        lambda c: _filter(c, "is_missing", st.none()) | _filter(c, "not_missing", st.none())
    ),
    st.sampled_from(["==", "!=", ">", ">=", "<", "<="]).flatmap(
        lambda op: (
            _filter("x", op, FINITE) | _filter("n", op, st.integers()) | _filter("d", op, ISO_DATES)
        )
    ),
    st.sampled_from(["in", "not_in"]).flatmap(
        lambda op: (
            _filter("x", op, st.lists(FINITE, min_size=1, max_size=3))
            | _filter("s", op, st.lists(TEXTS.filter(lambda t: t is not None), min_size=1))
            | _filter("b", op, st.lists(st.booleans(), min_size=1, max_size=2))
        )
    ),
    st.sampled_from(["==", "!=", "contains", "starts_with"]).flatmap(
        lambda op: _filter("s", op, st.text(max_size=3))
    ),
    st.sampled_from(["==", "!="]).flatmap(lambda op: _filter("b", op, st.booleans())),
)
GENERATED_STEPS: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "drop_columns": _step("drop_columns", columns=_subset(ALL)),
    "drop_duplicates": _step(
        "drop_duplicates",
        columns=st.none() | _subset(ALL),
        keep=st.sampled_from(["first", "last"]),
    ),
    "drop_missing": _step(
        "drop_missing", columns=st.none() | _subset(ALL), how=st.sampled_from(["any", "all"])
    ),
    "filter_outliers": _step(
        "filter_outliers",
        columns=_subset(NUMERIC),
        method=st.sampled_from(["iqr", "zscore", "isolation_forest"]),
        factor=st.none() | st.floats(0.01, 10),
        contamination=st.floats(0.001, 0.5),
        seed=st.integers(0, 2**32 - 1),
    ),
    "parse_dates": _step(
        "parse_dates",
        column=st.sampled_from(["s", "n", "d", "x", "É"]),
        format=st.sampled_from(["%Y-%m-%d", "%d/%m/%Y", "%Y", "%Y%m%d %H:%M%z"]),
    ),
    "parse_numbers": _step(
        "parse_numbers",
        column=st.sampled_from(["s", "x", "É"]),
        thousands=st.sampled_from([",", ".", " ", ""]).filter(lambda t: t != "."),
        strip=st.sampled_from(["$€£¥% ", "", "()"]),
    ),
    "parse_booleans": _step(
        "parse_booleans",
        column=st.sampled_from(["s", "n", "x", "b", "É"]),
        true_values=st.sampled_from([["yes", "t"], ["1"], ["oui", "peut-être"]]),
        false_values=st.sampled_from([["no", "f"], ["0"], ["non"]]),
    ),
    "rename": _step(
        "rename",
        mapping=st.dictionaries(
            st.sampled_from(ALL), st.text(min_size=1, max_size=4).filter(str.strip), max_size=3
        ).filter(lambda mapping: bool(mapping)),
    ),
    "clip": _step(
        "clip",
        column=st.sampled_from(NUMERIC),
        lower=st.none() | FINITE,
        upper=st.none() | FINITE,
    ),
    "winsorize": _step(
        "winsorize",
        columns=_subset(NUMERIC),
        lower_quantile=QUANTILE,
        upper_quantile=QUANTILE,
    ),
    "filter_rows": FILTERS,
}


def test_every_step_has_a_generated_strategy() -> None:
    assert set(GENERATED_STEPS) == set(CLEANING_STEPS)


@pytest.mark.parametrize("name", STEP_NAMES)
def test_generated_frames_give_a_result_or_a_step_error(name: str) -> None:
    # database=None: nothing is written into the repository
    @settings(max_examples=50, deadline=None, database=None)
    @given(frame=FRAMES, step=GENERATED_STEPS[name])
    def check(frame: pd.DataFrame, step: dict[str, Any]) -> None:
        before = frame.copy(deep=True)
        try:
            outcome = apply_step(frame, step)
        except StepError as error:
            assert str(error)
            pd.testing.assert_frame_equal(frame, before)
            return
        pd.testing.assert_frame_equal(frame, before)
        assert len(outcome.frame) == outcome.rows_after <= outcome.rows_before == len(frame)
        assert outcome.note.endswith(".")
        again = apply_step(frame, json.loads(json.dumps(step)))
        pd.testing.assert_frame_equal(outcome.frame, again.frame)
        assert describe_step(step)

    check()


DATE_FORMATS = [
    "%Y-%m-%d",
    "%d/%m/%Y",
    "%Y%m%d",
    "%d/%m/%Y %H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%H:%M",
    "%m/%Y",
    "%d.%m.%y",
    "%b %d, %Y",
]
MOMENTS = st.datetimes(
    min_value=pd.Timestamp("1600-01-01").to_pydatetime(),
    max_value=pd.Timestamp("2300-01-01").to_pydatetime(),
)


def _date_texts(format: str) -> st.SearchStrategy[str]:
    """Dates written in ``format``, some with one character changed, and digit soup."""
    written = MOMENTS.map(lambda moment: moment.strftime(format))
    changed = st.tuples(written, st.integers(0, 30), st.sampled_from("0123456789 x")).map(
        lambda t: t[0][: t[1]] + t[2] + t[0][t[1] + 1 :]
    )
    return st.one_of(written, changed, st.text(alphabet="0123456789-/:T. ", max_size=20))


@settings(max_examples=50, deadline=None, database=None)
@given(data=st.data(), format=st.sampled_from(DATE_FORMATS))
def test_parse_dates_agrees_with_pandas(data: st.DataObject, format: str) -> None:
    """The fast Arrow path must give exactly what pandas' strptime gives."""
    texts = data.draw(st.lists(_date_texts(format), min_size=1, max_size=20))
    frame = pd.DataFrame({"when": pd.Series(texts, dtype=object)})
    expected = pd.to_datetime(frame["when"], format=format, errors="coerce")
    try:
        parsed = apply_step(frame, {"step": "parse_dates", "column": "when", "format": format})
    except StepError:
        assert expected.isna().all()
        return
    pd.testing.assert_series_equal(parsed.frame["when"], expected)
