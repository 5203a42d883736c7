"""The custom feature transformers: sklearn's estimator checks, then each one's own promises."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator
from sklearn.preprocessing import OneHotEncoder
from sklearn.utils.estimator_checks import parametrize_with_checks

from core.prep import transformers
from core.prep.transformers.catalog import (
    SINGLE_MODULE,
    SKOPS_TRUSTED_TYPES,
    STUDIO_TRANSFORMERS,
    STUDIO_TYPES,
)
from core.prep.transformers.columns import FeatureColumns, onehot_column_name, unique_names
from core.prep.transformers.dates import DATE_PARTS, DateParts
from core.prep.transformers.inputs import level_text
from core.prep.transformers.levels import RARE_LEVEL, FillCategory, RareLevels, ToLevels
from core.prep.transformers.missing import KNNImpute, MissingFlags
from core.prep.transformers.numeric import Bins, PolynomialTerms, SignedLog, ToFloat
from core.prep.transformers.selection import CorrelationFilter, MutualInfoSelector, VarianceFilter
from core.prep.transformers.target import TargetEncoding, target_kind
from core.train.model_files import TRUSTED_TYPES
from core.train.onnx.studio_steps import (
    STUDIO_CONVERSIONS,
    UNCONVERTIBLE_STEPS,
    Converter,
    NoConverter,
    Parser,
)

INF = np.inf
NAN = np.nan


# scikit-learn's estimator checks run on each of these; every studio transformer is here, or in
# NOT_CHECKED with the reason (test_every_studio_transformer_is_checked)
CHECKED_ESTIMATORS = [
    ToFloat(),
    ToLevels(),
    FillCategory(),
    FillCategory(strategy="constant", fill_value=0.0),
    RareLevels(),
    MissingFlags(),
    KNNImpute(),
    SignedLog(),
    Bins(),
    Bins(n_bins=3, strategy="uniform"),
    PolynomialTerms(),
    PolynomialTerms(degree=3, interaction_only=True),
    DateParts(),
    DateParts(parts=DATE_PARTS),
    TargetEncoding(),
    VarianceFilter(),
    CorrelationFilter(),
    MutualInfoSelector(k=2),
]
NOT_CHECKED = {
    FeatureColumns: "a ColumnTransformer that only renames clashing outputs (unique_names, below)",
}


@parametrize_with_checks(CHECKED_ESTIMATORS)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


# -- the one list of studio transformers ----------------------------------------------------


@pytest.mark.parametrize("transformer", STUDIO_TRANSFORMERS, ids=lambda t: t.__name__)
def test_every_studio_transformer_is_checked(transformer):
    checked = any(type(estimator) is transformer for estimator in CHECKED_ESTIMATORS)
    assert checked or NOT_CHECKED.get(transformer), (
        f"add {transformer.__name__} to CHECKED_ESTIMATORS, or to NOT_CHECKED with the reason"
    )


@pytest.mark.parametrize("member", STUDIO_TYPES, ids=lambda t: t.__name__)
def test_every_studio_type_can_be_loaded_from_a_model_file_old_or_new(member):
    # today's files name it by its family module; files saved before the split by the package
    now = f"{member.__module__}.{member.__name__}"
    before = f"core.prep.transformers.{member.__name__}"
    assert now.startswith("core.prep.transformers.") and now != before
    assert {now, before} <= set(TRUSTED_TYPES)
    # skops imports the module a file names and reads the name from it: both give this type
    for name in (now, before):
        module, _, attribute = name.rpartition(".")
        assert getattr(importlib.import_module(module), attribute) is member, name


@pytest.mark.parametrize("transformer", STUDIO_TRANSFORMERS, ids=lambda t: t.__name__)
def test_every_studio_transformer_has_an_onnx_converter_or_a_reason_for_none(transformer):
    conversion = STUDIO_CONVERSIONS.get(transformer)
    assert conversion is not None, (
        f"{transformer.__name__} needs an entry in STUDIO_CONVERSIONS "
        "(core/train/onnx/studio_steps.py): a Converter, or NoConverter with the reason"
    )
    if isinstance(conversion, NoConverter):
        assert conversion.reason.strip()
        assert transformer in UNCONVERTIBLE_STEPS
    elif isinstance(conversion, Converter):
        assert callable(conversion.shape) and callable(conversion.convert)
    else:
        assert isinstance(conversion, Parser) and callable(conversion.parse)


def test_the_onnx_table_and_the_allowlist_hold_nothing_but_studio_transformers():
    assert set(STUDIO_CONVERSIONS) == set(STUDIO_TRANSFORMERS)
    assert set(STUDIO_TYPES) == {*STUDIO_TRANSFORMERS, onehot_column_name}
    now = {f"{member.__module__}.{member.__name__}" for member in STUDIO_TYPES}
    before = {f"{SINGLE_MODULE}.{member.__name__}" for member in STUDIO_TYPES}
    assert set(SKOPS_TRUSTED_TYPES) == now | before
    assert len(SKOPS_TRUSTED_TYPES) == 2 * len(STUDIO_TYPES)


def test_every_estimator_the_package_defines_is_listed():
    defined = {
        member
        for family in pkgutil.iter_modules(transformers.__path__, f"{transformers.__name__}.")
        for _, member in inspect.getmembers(importlib.import_module(family.name), inspect.isclass)
        if issubclass(member, BaseEstimator) and member.__module__ == family.name
    }
    assert defined == set(STUDIO_TRANSFORMERS), "list the new transformer in STUDIO_TRANSFORMERS"


def _column(transformer, values, **frame_kwargs) -> np.ndarray:
    frame = pd.DataFrame({"x": values}, **frame_kwargs)
    return np.asarray(transformer.fit(frame).transform(frame))[:, 0]


# -- type coercion ---------------------------------------------------------------------------


def test_to_float_makes_junk_text_none_and_infinities_missing():
    values = pd.Series([1, "2.5", None, "abc", True, INF, -INF, {"a": 1}], dtype=object)
    out = _column(ToFloat(), values)
    np.testing.assert_array_equal(out, [1.0, 2.5, NAN, NAN, 1.0, NAN, NAN, NAN])


def test_to_float_reads_bools_nullable_integers_and_dates():
    frame = pd.DataFrame(
        {
            "flag": [True, False],
            "count": pd.array([3, None], dtype="Int64"),
            "day": pd.to_datetime(["1970-01-02", None]),
        }
    )
    out = ToFloat().fit(frame).transform(frame)
    np.testing.assert_array_equal(out, [[1.0, 3.0, 1.0], [0.0, NAN, NAN]])


def test_to_levels_whole_numbers_are_one_level_whatever_their_type():
    train = pd.DataFrame({"zip": [94107, 10001, 94107]})
    levels = ToLevels().fit(train)
    served = pd.DataFrame({"zip": [94107.0, NAN]})
    np.testing.assert_array_equal(levels.transform(served)[:, 0], [94107.0, NAN])
    as_text = pd.DataFrame({"zip": pd.Series(["94107", "abc"], dtype=object)})
    np.testing.assert_array_equal(levels.transform(as_text)[:, 0], [94107.0, NAN])


def test_to_levels_turns_mixed_values_into_text_with_nan_for_missing():
    values = pd.Series(["a", None, NAN, True, 3, 2.5, pd.NA], dtype=object)
    out = _column(ToLevels(), values)
    assert list(out[[0, 3, 4, 5]]) == ["a", "True", "3", "2.5"]
    assert all(isinstance(value, float) and np.isnan(value) for value in out[[1, 2, 6]])


def test_to_levels_text_mode_and_booleans_read_as_words():
    frame = pd.DataFrame({"n": [1.0, 2.0], "flag": [True, False]})
    out = ToLevels(text=True).fit_transform(frame)
    assert out.to_numpy().tolist() == [["1", "True"], ["2", "False"]]


def test_to_levels_keeps_number_columns_float_next_to_text_columns():
    frame = pd.DataFrame({"n": [1.0, NAN], "s": ["a", None]})
    out = ToLevels().fit_transform(frame)
    assert out.iloc[:, 0].dtype == np.float64
    assert out.iloc[:, 1].tolist()[0] == "a"


def test_level_text_and_onehot_names():
    assert level_text(3.0) == "3"
    assert level_text(0.5) == "0.5"
    assert level_text("north") == "north"
    assert onehot_column_name("zip", 94107.0) == "zip_94107"


# -- missing values and rare levels ----------------------------------------------------------


def test_fill_category_most_frequent_breaks_ties_in_text_order():
    values = pd.Series(["b", "a", "b", "a", None], dtype=object)
    out = _column(FillCategory(), values)
    assert out[-1] == "a"


def test_fill_category_all_missing_column_gets_the_fill_value():
    out = _column(FillCategory(fill_value="(missing)"), pd.Series([None, None], dtype=object))
    assert list(out) == ["(missing)", "(missing)"]


def test_fill_category_text_fill_turns_a_number_column_to_text_in_every_batch():
    filler = FillCategory(strategy="constant", fill_value="(missing)")
    filler.fit(pd.DataFrame({"x": [1.0, NAN]}))
    with_gap = np.asarray(filler.transform(pd.DataFrame({"x": [2.0, NAN]})))
    without_gap = np.asarray(filler.transform(pd.DataFrame({"x": [2.0, 3.0]})))
    assert list(with_gap[:, 0]) == ["2", "(missing)"]
    assert list(without_gap[:, 0]) == ["2", "3"]


def test_fill_category_rejects_an_unknown_strategy():
    with pytest.raises(ValueError, match="Unknown fill strategy"):
        FillCategory(strategy="mean").fit(pd.DataFrame({"x": ["a"]}))


def test_rare_levels_group_by_share_and_unseen_levels_join_the_group():
    train = pd.DataFrame({"x": ["a"] * 50 + ["b"] * 45 + ["c"] * 5})
    rare = RareLevels(min_frequency=0.1).fit(train)
    out = np.asarray(rare.transform(pd.DataFrame({"x": ["a", "c", "zzz", None]})))
    assert list(out[:3, 0]) == ["a", RARE_LEVEL, RARE_LEVEL]
    assert pd.isna(out[3, 0])


def test_rare_levels_max_categories_keeps_the_most_frequent():
    train = pd.DataFrame({"x": ["a"] * 5 + ["b"] * 4 + ["c"] * 3 + ["d"] * 2})
    out = np.asarray(RareLevels(max_categories=3).fit_transform(train))
    assert set(out[:, 0]) == {"a", "b", RARE_LEVEL}


def test_rare_levels_without_a_group_pass_unseen_levels_through():
    rare = RareLevels(min_frequency=1).fit(pd.DataFrame({"x": ["a", "b"]}))
    assert np.asarray(rare.transform(pd.DataFrame({"x": ["new"]})))[0, 0] == "new"


def test_rare_levels_on_numbers_group_into_text_consistently():
    train = pd.DataFrame({"x": [1.0] * 9 + [2.0]})
    rare = RareLevels(min_frequency=0.2).fit(train)
    both = rare.transform(pd.DataFrame({"x": [1.0, 2.0]}))
    assert list(np.asarray(both)[:, 0]) == ["1", RARE_LEVEL]
    assert np.asarray(rare.transform(pd.DataFrame({"x": [1.0]})))[0, 0] == "1"


def test_missing_flags_mark_none_nan_nat_and_infinity():
    frame = pd.DataFrame(
        {
            "n": [1.0, NAN, INF],
            "s": pd.Series(["a", None, "b"], dtype=object),
            "d": pd.to_datetime(["2024-01-01", None, "2024-01-02"]),
        }
    )
    flags = MissingFlags().fit(frame)
    np.testing.assert_array_equal(flags.transform(frame), [[0, 0, 0], [1, 1, 1], [1, 0, 0]])
    assert list(flags.get_feature_names_out()) == ["n__missing", "s__missing", "d__missing"]


def test_knn_impute_fills_from_neighbours_and_treats_infinity_as_missing():
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0, 10.0], "b": [1.0, 2.0, INF, 10.0]})
    out = KNNImpute(n_neighbors=2).fit(frame).transform(frame)
    assert np.isfinite(out).all()
    assert out[2, 1] == pytest.approx(1.5)


def test_knn_impute_fits_on_a_sample_of_large_tables():
    frame = pd.DataFrame({"a": np.arange(500.0), "b": np.arange(500.0)})
    imputer = KNNImpute(max_rows=50).fit(frame)
    assert imputer.imputer_.n_features_in_ == 2
    assert len(imputer.imputer_._fit_X) == 50


# -- numeric transforms ----------------------------------------------------------------------


def test_signed_log_is_safe_for_zero_negative_and_infinite_values():
    out = _column(SignedLog(), [0.0, np.e - 1, -(np.e - 1), NAN, INF])
    np.testing.assert_allclose(out[:3], [0.0, 1.0, -1.0])
    assert np.isnan(out[3])
    assert out[4] == INF


def test_bins_quantile_and_uniform_edges():
    values = np.arange(100.0)
    quantile = _column(Bins(n_bins=4), values)
    assert sorted(set(quantile)) == [0.0, 1.0, 2.0, 3.0]
    assert (np.bincount(quantile.astype(int)) == 25).all()
    uniform = _column(Bins(n_bins=2, strategy="uniform"), [0.0, 1.0, 9.0, 10.0])
    np.testing.assert_array_equal(uniform, [0.0, 0.0, 1.0, 1.0])


def test_bins_keep_missing_missing_and_cope_with_constant_and_empty_columns():
    out = _column(Bins(), [1.0, NAN, INF, 1.0])
    np.testing.assert_array_equal(out, [0.0, NAN, NAN, 0.0])
    assert np.isnan(_column(Bins(), [NAN, NAN])).all()


@pytest.mark.parametrize("n_bins", [1, 2.5, True])
def test_bins_reject_bad_bin_counts(n_bins):
    with pytest.raises(ValueError, match="n_bins"):
        Bins(n_bins=n_bins).fit(pd.DataFrame({"x": [1.0, 2.0]}))


def test_polynomial_terms_names_and_values():
    frame = pd.DataFrame({"age": [2.0, 3.0], "income": [5.0, 7.0]})
    terms = PolynomialTerms().fit(frame)
    assert list(terms.get_feature_names_out()) == ["age^2", "age*income", "income^2"]
    np.testing.assert_array_equal(terms.transform(frame), [[4, 10, 25], [9, 21, 49]])
    only = PolynomialTerms(degree=3, interaction_only=True).fit(frame)
    assert list(only.get_feature_names_out()) == ["age*income"]


# -- dates -----------------------------------------------------------------------------------


def test_date_parts_from_datetimes_with_missing():
    moments = pd.to_datetime(["2024-03-15 13:00", None, "2024-03-10"], format="ISO8601")
    frame = pd.DataFrame({"d": moments})
    parts = DateParts(parts=DATE_PARTS).fit(frame)
    out = parts.transform(frame)
    np.testing.assert_allclose(out[0], [2024, 3, 15, 4, 13, 5.0 + 13 / 24])
    assert np.isnan(out[1]).all()
    assert list(parts.get_feature_names_out()) == [f"d__{part}" for part in DATE_PARTS]


def test_date_parts_from_iso_strings_with_offsets_and_junk():
    frame = pd.DataFrame({"d": ["2024-01-01T00:00:00+02:00", "not a date", None, "2024-01-03"]})
    out = DateParts(parts=("year", "day", "days_since")).fit_transform(frame)
    np.testing.assert_array_equal(out[0], [2023, 31, 0.0])
    assert np.isnan(out[1]).all() and np.isnan(out[2]).all()
    assert out[3, 2] == pytest.approx(2 + 2 / 24)


def test_date_parts_reference_is_learned_in_fit_and_accepts_timezones_and_units():
    train = pd.DataFrame({"d": pd.to_datetime(["2024-01-01", "2024-01-11"]).as_unit("us")})
    parts = DateParts(parts=("days_since",)).fit(train)
    later = pd.DataFrame({"d": pd.to_datetime(["2024-02-01"]).tz_localize("UTC")})
    assert parts.transform(later)[0, 0] == 31.0
    np.testing.assert_array_equal(parts.reference_days_, [19723.0])


def test_date_parts_all_missing_column_and_numbers_as_epoch_days():
    empty = pd.DataFrame({"d": pd.Series([None, None], dtype=object)})
    assert np.isnan(DateParts().fit_transform(empty)).all()
    days = DateParts(parts=("year", "days_since")).fit_transform(pd.DataFrame({"d": [0.0, 366.0]}))
    np.testing.assert_array_equal(days, [[1970, 0], [1971, 366]])


def test_date_parts_reject_an_unknown_part():
    with pytest.raises(ValueError, match="Unknown date part 'week'"):
        DateParts(parts=("week",)).fit(pd.DataFrame({"d": ["2024-01-01"]}))


# -- target encoding -------------------------------------------------------------------------


def test_target_kind():
    assert target_kind([0, 1, 1]) == "binary"
    assert target_kind(["a", "b", "c"]) == "multiclass"
    assert target_kind([0.5, 1.0]) == "continuous"
    assert target_kind(np.arange(100)) == "continuous"
    with pytest.raises(ValueError, match="Complex data not supported"):
        target_kind(np.array([1j]))


def test_target_encoding_works_on_one_row_and_with_a_class_rarer_than_the_folds():
    one = pd.DataFrame({"x": ["a"]})
    assert TargetEncoding().fit_transform(one, [1]).shape == (1, 1)
    frame = pd.DataFrame({"x": ["a", "b"] * 10})
    y = [0] * 19 + [1]
    encoder = TargetEncoding()
    assert encoder.fit_transform(frame, y).shape == (20, 1)
    assert list(encoder.get_feature_names_out()) == ["x"]


def test_target_encoding_is_cross_fitted_and_deterministic():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.choice(list("abcdefgh"), 200)})
    y = rng.integers(0, 2, 200)
    first = TargetEncoding().fit_transform(frame, y)
    second = TargetEncoding().fit_transform(frame, y)
    np.testing.assert_array_equal(first, second)
    encoder = TargetEncoding().fit(frame, y)
    assert not np.allclose(first, encoder.transform(frame))


def test_target_encoding_reads_many_integer_values_as_a_regression_target():
    frame = pd.DataFrame({"x": ["a", "b"] * 50})
    encoder = TargetEncoding().fit(frame, np.arange(100))
    assert encoder.encoder_.target_type_ == "continuous"
    assert encoder.transform(pd.DataFrame({"x": ["unseen"]})).shape == (1, 1)


# -- names and selection ---------------------------------------------------------------------


def test_unique_names_numbers_repeats_without_new_clashes():
    assert unique_names(["a", "b", "a", "a__2", "a"]) == ["a", "b", "a__3", "a__2", "a__4"]


def test_feature_columns_make_clashing_output_names_unique():
    frame = pd.DataFrame({"sex": ["female", "male"], "sex_female": [1.0, 2.0]})
    columns = FeatureColumns(
        [
            ("encode", OneHotEncoder(sparse_output=False), ["sex"]),
            ("keep", "passthrough", ["sex_female"]),
        ],
        verbose_feature_names_out="{feature_name}",
    ).set_output(transform="pandas")
    out = columns.fit_transform(frame)
    assert list(out.columns) == ["sex_female", "sex_male", "sex_female__2"]
    assert out["sex_female__2"].tolist() == [1.0, 2.0]


def test_variance_filter_drops_constant_columns_without_warnings():
    frame = pd.DataFrame({"c": [0.1] * 5, "v": [1.0, 2.0, 3.0, 4.0, 5.0], "e": [NAN] * 5})
    selector = VarianceFilter().fit(frame)
    assert list(selector.get_feature_names_out()) == ["v"]


def test_variance_filter_keeps_everything_when_nothing_varies():
    frame = pd.DataFrame({"a": [1.0], "b": [2.0]})
    assert VarianceFilter().fit(frame).get_support().all()


def test_correlation_filter_drops_the_later_column_of_a_correlated_pair():
    rng = np.random.default_rng(0)
    base = rng.normal(size=200)
    frame = pd.DataFrame(
        {
            "a": base,
            "b": rng.normal(size=200),
            "a_again": -2 * base + 1,
            "constant": 1.0,
            "gaps": np.where(np.arange(200) % 50 == 0, NAN, base),
        }
    )
    selector = CorrelationFilter(threshold=0.95).fit(frame)
    assert list(selector.get_feature_names_out()) == ["a", "b", "constant"]


def test_mutual_info_selector_keeps_the_informative_columns():
    rng = np.random.default_rng(0)
    signal = rng.normal(size=300)
    frame = pd.DataFrame({"noise": rng.normal(size=300), "signal": signal, "nan": NAN})
    y = (signal > 0).astype(int)
    assert list(MutualInfoSelector(k=1).fit(frame, y).get_feature_names_out()) == ["signal"]
    regression = MutualInfoSelector(k=1).fit(frame, signal * 3.3)
    assert list(regression.get_feature_names_out()) == ["signal"]


def test_mutual_info_selector_with_k_above_the_columns_or_tiny_tables_keeps_all():
    frame = pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 1.0]})
    assert MutualInfoSelector(k=5).fit(frame, [0, 1]).get_support().all()
