"""The feature spec: defaults, every option, validation messages, edge frames, fuzzing."""

from __future__ import annotations

import copy
import dataclasses
import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from core.data.schema import ColumnSchema
from core.prep import features
from core.prep.features import (
    FeatureSpec,
    FeatureSpecError,
    build_feature_pipeline,
    count_unseen_categories,
    default_feature_spec,
    describe_feature_spec,
    validate_feature_spec,
)
from core.prep.transformers import RARE_LEVEL, SKOPS_TRUSTED_TYPES

TARGET = "default"
N_ROWS = 400

EXAMPLE_SPEC = {
    "columns": {
        "age": {
            "impute": "median",
            "missing_indicator": False,
            "transform": "none",
            "scale": "standard",
            "bins": None,
        },
        "annual_income": {
            "impute": "median",
            "missing_indicator": True,
            "transform": "log",
            "scale": "robust",
            "bins": None,
        },
        "credit_score": {"impute": "mean", "bins": {"strategy": "quantile", "n_bins": 5}},
        "sex": {
            "impute": "most_frequent",
            "encode": "onehot",
            "min_frequency": 0.01,
            "max_categories": 20,
        },
        "region": {"impute": "constant", "fill_value": "(missing)", "encode": "target"},
        "education": {"encode": "ordinal"},
        "application_date": {
            "date_parts": ["year", "month", "weekday", "hour", "days_since"],
        },
        "applicant_id": {"drop": True},
    },
    "interactions": {"columns": ["age", "annual_income"], "degree": 2},
    "selection": {
        "variance_threshold": 0.0,
        "correlation_threshold": 0.95,
        "mutual_info_top_k": None,
    },
}


def credit_frame(n_rows: int = N_ROWS, seed: int = 0) -> pd.DataFrame:
    """A seeded credit-like table with gaps, an infinity, a rare level and a free-text column."""
    rng = np.random.default_rng(seed)
    income = rng.lognormal(10.8, 0.5, n_rows)
    income[rng.choice(n_rows, 30, replace=False)] = np.nan
    income[0] = np.inf
    sex = rng.choice(["female", "male"], n_rows).astype(object)
    sex[rng.choice(n_rows, 10, replace=False)] = None
    region = rng.choice(["north", "south", "east", "west"], n_rows, p=[0.4, 0.3, 0.29, 0.01])
    region = region.astype(object)
    region[rng.choice(n_rows, 8, replace=False)] = np.nan
    dates = pd.Series(pd.date_range("2022-01-01", periods=n_rows, freq="7h"))
    dates[rng.choice(n_rows, 5, replace=False)] = pd.NaT
    return pd.DataFrame(
        {
            "applicant_id": [f"A{i:06d}" for i in range(n_rows)],
            "application_date": dates,
            "age": rng.integers(18, 80, n_rows),
            "annual_income": income,
            "credit_score": rng.normal(680, 60, n_rows).round(),
            "sex": sex,
            "region": region,
            "education": rng.choice(["high_school", "bachelor", "master"], n_rows),
            "has_guarantor": rng.random(n_rows) < 0.2,
            "notes": [f"customer note number {i} " * 3 for i in range(n_rows)],
            TARGET: rng.integers(0, 2, n_rows),
        }
    )


CREDIT_SCHEMA = [
    ColumnSchema("applicant_id", "string", "id"),
    ColumnSchema("application_date", "timestamp[ns]", "datetime"),
    ColumnSchema("age", "int64", "numeric"),
    ColumnSchema("annual_income", "double", "numeric"),
    ColumnSchema("credit_score", "double", "numeric"),
    ColumnSchema("sex", "string", "categorical"),
    ColumnSchema("region", "string", "categorical"),
    ColumnSchema("education", "string", "categorical"),
    ColumnSchema("has_guarantor", "bool", "boolean"),
    ColumnSchema("notes", "string", "text"),
    ColumnSchema(TARGET, "int64", "numeric"),
]


@pytest.fixture
def credit() -> tuple[pd.DataFrame, pd.Series]:
    frame = credit_frame()
    return frame.drop(columns=[TARGET]), frame[TARGET]


def fitted(spec: dict, frame: pd.DataFrame, y=None, *, schema=None, target=TARGET):
    pipeline = build_feature_pipeline(spec, schema=schema or CREDIT_SCHEMA, target=target)
    return pipeline, pipeline.fit_transform(frame, y)


def with_columns(spec_columns: dict, **sections) -> dict:
    return {"columns": spec_columns, **sections}


def spec_error(spec: dict, *, schema=None, target=TARGET) -> str:
    with pytest.raises(FeatureSpecError) as raised:
        validate_feature_spec(spec, schema=schema or CREDIT_SCHEMA, target=target)
    return str(raised.value)


# -- defaults --------------------------------------------------------------------------------


def test_default_spec_keeps_numeric_categorical_boolean_and_dates_only():
    spec = default_feature_spec(CREDIT_SCHEMA, target=TARGET)
    assert set(spec["columns"]) == {
        "application_date",
        "age",
        "annual_income",
        "credit_score",
        "sex",
        "region",
        "education",
        "has_guarantor",
    }
    assert spec["columns"]["age"] == {
        "impute": "median",
        "missing_indicator": False,
        "transform": "none",
        "scale": "standard",
        "bins": None,
    }
    assert spec["columns"]["sex"]["encode"] == "onehot"
    assert spec["columns"]["sex"]["min_frequency"] == 0.01
    assert json.loads(json.dumps(spec)) == spec


def test_default_spec_fits_and_names_features_readably(credit):
    frame, y = credit
    spec = default_feature_spec(CREDIT_SCHEMA, target=TARGET)
    pipeline, out = fitted(spec, frame, y)
    names = list(out.columns)
    for expected in ["age", "annual_income", "sex_female", "sex_male", "region_north"]:
        assert expected in names
    assert "application_date__month" in names
    assert "has_guarantor_True" in names
    assert f"region_{RARE_LEVEL}" in names  # "west" is under 1% of rows
    assert not any(name.startswith(("applicant_id", "notes", TARGET)) for name in names)
    assert list(pipeline.get_feature_names_out()) == names
    assert len(set(names)) == len(names)
    assert np.isfinite(out.to_numpy()).all()
    assert pipeline.transform(frame.head(3)).shape == (3, out.shape[1])


def test_default_spec_without_a_target_keeps_that_column_as_a_feature():
    spec = default_feature_spec(CREDIT_SCHEMA, target=None)
    assert TARGET in spec["columns"]


# -- every option ----------------------------------------------------------------------------


def test_the_documented_example_spec(credit):
    frame, y = credit
    pipeline, out = fitted(EXAMPLE_SPEC, frame, y)
    names = list(out.columns)
    assert "annual_income__missing" in names
    assert "application_date__hour" in names
    assert "age*annual_income" in names
    assert "age^2" in names
    assert "region" in names
    assert "education" in names
    assert "sex_female" in names or "sex_male" in names
    assert np.isfinite(out.to_numpy()).all()
    assert set(out["credit_score"]) <= {0.0, 1.0, 2.0, 3.0, 4.0}
    assert set(out["education"]) == {0.0, 1.0, 2.0}
    assert out["annual_income__missing"].sum() == 31  # 30 gaps and one infinity


def test_the_spec_is_parsed_once_into_a_frozen_feature_spec(credit):
    frame, y = credit
    spec = FeatureSpec.from_dict(EXAMPLE_SPEC, schema=CREDIT_SCHEMA, target=TARGET)
    assert [column.name for column in spec.kept] == [
        name for name, options in EXAMPLE_SPEC["columns"].items() if not options.get("drop")
    ]
    assert spec.interactions is not None and spec.interactions.columns == ("age", "annual_income")
    assert spec.selection.correlation_threshold == 0.95
    assert FeatureSpec.from_dict(spec.to_dict(), schema=CREDIT_SCHEMA, target=TARGET) == spec
    assert json.loads(json.dumps(spec.to_dict())) == spec.to_dict()
    parsed = build_feature_pipeline(spec).fit_transform(frame, y)
    _, from_json = fitted(EXAMPLE_SPEC, frame, y)
    pd.testing.assert_frame_equal(parsed, from_json)
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.selection = spec.selection  # type: ignore[misc]


@pytest.mark.parametrize("impute", ["mean", "median", "most_frequent", "constant", "knn", "none"])
@pytest.mark.parametrize("transform", ["none", "log", "yeo_johnson"])
@pytest.mark.parametrize("scale", ["none", "standard", "minmax", "robust"])
def test_numeric_options(credit, impute, transform, scale):
    frame, y = credit
    options = {"impute": impute, "transform": transform, "scale": scale, "fill_value": -1}
    _, out = fitted(with_columns({"annual_income": options, "age": {}}), frame)
    income = out["annual_income"].to_numpy()
    if impute == "none":
        assert np.isnan(income).sum() == 31
    else:
        assert np.isfinite(income).all()


@pytest.mark.parametrize("strategy", ["quantile", "uniform"])
def test_bins(credit, strategy):
    frame, _ = credit
    options = {"bins": {"strategy": strategy, "n_bins": 4}}
    _, out = fitted(with_columns({"credit_score": options}), frame)
    assert set(out["credit_score"]) <= {0.0, 1.0, 2.0, 3.0}


def test_constant_fill_for_numbers(credit):
    frame, _ = credit
    spec = with_columns({"annual_income": {"impute": "constant", "fill_value": -1}})
    _, out = fitted(spec, frame)
    assert (out["annual_income"] == -1).sum() == 31


@pytest.mark.parametrize("impute", ["most_frequent", "constant", "none"])
@pytest.mark.parametrize("encode", ["onehot", "ordinal", "target"])
def test_categorical_options(credit, impute, encode):
    frame, y = credit
    options = {"impute": impute, "encode": encode}
    pipeline, out = fitted(with_columns({"region": options, "sex": options}), frame, y)
    assert np.isfinite(out.to_numpy()).all()
    served = frame.head(4).assign(region=["north", "mars", None, np.nan])
    assert pipeline.transform(served).shape == (4, out.shape[1])


def test_onehot_groups_rare_levels_and_caps_the_number_of_columns(credit):
    frame, _ = credit
    options = {"encode": "onehot", "min_frequency": 0.05}
    _, out = fitted(with_columns({"region": options}), frame)
    assert list(out.columns) == ["region_(other)", "region_east", "region_north", "region_south"]
    capped = {"encode": "onehot", "max_categories": 2}
    _, out = fitted(with_columns({"region": capped}), frame)
    assert list(out.columns) == ["region_(other)", "region_north"]


def test_constant_fill_for_categories_is_its_own_level(credit):
    frame, _ = credit
    options = {"impute": "constant", "fill_value": "(missing)", "encode": "onehot"}
    _, out = fitted(with_columns({"region": options}), frame)
    assert out["region_(missing)"].sum() == 8


def test_ordinal_order_unseen_and_missing_become_minus_one(credit):
    frame, _ = credit
    options = {"encode": "ordinal", "order": ["high_school", "bachelor", "master"]}
    pipeline, out = fitted(with_columns({"education": options}), frame)
    expected = frame["education"].map({"high_school": 0, "bachelor": 1, "master": 2})
    np.testing.assert_array_equal(out["education"], expected)
    served = frame.head(2).assign(education=["phd", None])
    most_frequent = expected[frame["education"] == frame["education"].mode()[0]].iloc[0]
    assert pipeline.transform(served)["education"].tolist() == [-1.0, most_frequent]
    none_imputed = {**options, "impute": "none"}
    pipeline, _ = fitted(with_columns({"education": none_imputed}), frame)
    assert pipeline.transform(served)["education"].tolist() == [-1.0, -1.0]


def test_ordinal_order_of_numbers_matches_integer_levels():
    frame = pd.DataFrame({"grade": [1, 2, 3, 2]})
    schema = [ColumnSchema("grade", "int64", "categorical")]
    spec = with_columns({"grade": {"encode": "ordinal", "order": [3, 2, 1]}})
    _, out = fitted(spec, frame, schema=schema, target=None)
    assert out["grade"].tolist() == [2.0, 1.0, 0.0, 1.0]


def test_target_encoding_of_a_multiclass_target_gives_one_column_per_class(credit):
    frame, _ = credit
    y = pd.Series(np.random.default_rng(1).choice(["a", "b", "c"], len(frame)))
    _, out = fitted(with_columns({"region": {"encode": "target"}}), frame, y)
    assert list(out.columns) == ["region_a", "region_b", "region_c"]


@pytest.mark.parametrize("impute", ["mean", "median", "most_frequent", "constant", "none"])
def test_date_parts_from_datetimes_and_iso_text(credit, impute):
    frame, _ = credit
    frame = frame.assign(iso=frame["application_date"].dt.strftime("%Y-%m-%dT%H:%M:%S"))
    schema = [*CREDIT_SCHEMA, ColumnSchema("iso", "string", "categorical")]
    parts = {"date_parts": ["year", "day", "days_since"], "impute": impute, "scale": "minmax"}
    spec = with_columns({"application_date": parts, "iso": parts})
    _, out = fitted(spec, frame, schema=schema)
    assert list(out.columns) == [
        "application_date__year",
        "application_date__day",
        "application_date__days_since",
        "iso__year",
        "iso__day",
        "iso__days_since",
    ]
    if impute != "none":
        assert np.isfinite(out.to_numpy()).all()


def test_missing_indicators_for_every_kind(credit):
    frame, _ = credit
    spec = with_columns(
        {
            "annual_income": {"missing_indicator": True},
            "sex": {"missing_indicator": True},
            "application_date": {"missing_indicator": True},
        }
    )
    _, out = fitted(spec, frame)
    assert out["annual_income__missing"].sum() == 31
    assert out["sex__missing"].sum() == 10
    assert out["application_date__missing"].sum() == 5


def test_interactions_use_each_column_prepared_by_its_own_options(credit):
    frame, _ = credit
    spec = with_columns(
        {"age": {"scale": "none"}, "credit_score": {"scale": "none"}},
        interactions={"columns": ["age", "credit_score"], "degree": 3, "interaction_only": True},
    )
    _, out = fitted(spec, frame)
    assert list(out.columns) == ["age", "credit_score", "age*credit_score"]
    np.testing.assert_allclose(out["age*credit_score"], out["age"] * out["credit_score"])


def test_selection_steps(credit):
    frame, y = credit
    frame = frame.assign(constant=1.0, age_twice=frame["age"] * 2)
    schema = [
        *CREDIT_SCHEMA,
        ColumnSchema("constant", "double", "numeric"),
        ColumnSchema("age_twice", "double", "numeric"),
    ]
    spec = with_columns(
        {"age": {}, "constant": {}, "age_twice": {}, "credit_score": {}, "sex": {}},
        selection={"variance_threshold": 0.0, "correlation_threshold": 0.95},
    )
    _, out = fitted(spec, frame, schema=schema)
    assert list(out.columns) == ["age", "credit_score", "sex_female"]
    top = copy.deepcopy(spec)
    top["selection"]["mutual_info_top_k"] = 1
    _, out = fitted(top, frame, y, schema=schema)
    assert out.shape[1] == 1


# -- edge frames -----------------------------------------------------------------------------


def test_one_row_frame_fits_with_every_kind_of_step(credit):
    frame, y = credit
    spec = copy.deepcopy(EXAMPLE_SPEC)
    spec["columns"]["credit_score"]["transform"] = "yeo_johnson"
    spec["columns"]["age"]["impute"] = "knn"
    spec["selection"]["mutual_info_top_k"] = 3
    _, out = fitted(spec, frame.iloc[[1]], y.iloc[[1]])
    assert len(out) == 1


def test_all_null_columns_are_filled_with_a_constant_instead_of_failing(credit):
    frame, y = credit
    frame = frame.assign(
        annual_income=np.nan,
        sex=None,
        application_date=pd.NaT,
        region=pd.Series([None] * len(frame), dtype=object),
    )
    spec = copy.deepcopy(EXAMPLE_SPEC)
    spec["columns"]["application_date"]["impute"] = "median"
    pipeline, out = fitted(spec, frame, y)
    assert np.isfinite(out.to_numpy()).all()
    assert pipeline.transform(credit[0]).shape == out.shape


def test_constant_columns_infinities_and_missing_do_not_warn(credit):
    frame, y = credit
    frame = frame.assign(age=7, credit_score=np.where(np.arange(len(frame)) % 2, np.inf, -np.inf))
    spec = copy.deepcopy(EXAMPLE_SPEC)
    spec["selection"]["mutual_info_top_k"] = 4
    _, out = fitted(spec, frame, y)
    assert np.isfinite(out.to_numpy()).all()


def test_unicode_and_look_alike_column_names():
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0], "a ": ["x", "y", "x"], "É": [3.0, np.nan, 1.0]})
    schema = [
        ColumnSchema("a", "double", "numeric"),
        ColumnSchema("a ", "string", "categorical"),
        ColumnSchema("É", "double", "numeric"),
    ]
    spec = default_feature_spec(schema, target=None)
    _, out = fitted(spec, frame, schema=schema, target=None)
    assert list(out.columns) == ["a", "É", "a _x", "a _y"]


def test_clashing_output_names_get_a_numbered_suffix():
    frame = pd.DataFrame({"sex": ["female", "male"], "sex_female": [5.0, 6.0]})
    schema = [
        ColumnSchema("sex", "string", "categorical"),
        ColumnSchema("sex_female", "double", "numeric"),
    ]
    spec = with_columns({"sex": {}, "sex_female": {}})
    _, out = fitted(spec, frame, schema=schema, target=None)
    assert list(out.columns) == ["sex_female", "sex_male", "sex_female__2"]
    assert out["sex_female__2"].tolist() == [5.0, 6.0]


def test_mixed_types_in_one_categorical_column():
    frame = pd.DataFrame({"mixed": pd.Series([True, "yes", 3, 3.0, None, np.nan], dtype=object)})
    schema = [ColumnSchema("mixed", "string", "categorical")]
    spec = with_columns({"mixed": {"impute": "none"}})
    _, out = fitted(spec, frame, schema=schema, target=None)
    assert out.shape == (6, 4)  # "3", "True", "yes" and missing


# -- predict time ----------------------------------------------------------------------------


def test_unseen_categories_are_handled_and_counted(credit):
    frame, y = credit
    spec = copy.deepcopy(EXAMPLE_SPEC)
    spec["columns"]["has_guarantor"] = {}
    pipeline, out = fitted(spec, frame, y)
    served = frame.head(5).assign(
        sex=["female", "robot", "robot", None, "male"],
        region=["mars", "north", "north", "north", None],
        education=["phd", "master", "master", "master", "master"],
    )
    assert pipeline.transform(served).shape == (5, out.shape[1])
    assert count_unseen_categories(pipeline, served) == {
        "sex": 2,
        "region": 1,
        "education": 1,
        "has_guarantor": 0,
    }


def test_unseen_categories_are_counted_inside_a_model_pipeline(credit):
    frame, y = credit
    spec = default_feature_spec(CREDIT_SCHEMA, target=TARGET)
    model = Pipeline(
        [
            ("features", build_feature_pipeline(spec, schema=CREDIT_SCHEMA, target=TARGET)),
            ("model", LogisticRegression(max_iter=500)),
        ]
    ).fit(frame, y)
    served = frame.head(3).assign(region=["north", "atlantis", "atlantis"])
    assert model.predict(served).shape == (3,)
    counts = count_unseen_categories(model, served.drop(columns=["sex"]))
    assert counts["region"] == 2
    assert "sex" not in counts


def test_spec_json_round_trip_gives_identical_output(credit):
    frame, y = credit
    spec = copy.deepcopy(EXAMPLE_SPEC)
    spec["columns"]["age"]["impute"] = "knn"
    spec["selection"]["mutual_info_top_k"] = 10
    original = copy.deepcopy(spec)
    _, first = fitted(spec, frame, y)
    assert spec == original  # building never edits the spec it was given
    _, second = fitted(json.loads(json.dumps(spec)), frame, y)
    pd.testing.assert_frame_equal(first, second)
    refit = clone(build_feature_pipeline(spec, schema=CREDIT_SCHEMA, target=TARGET))
    pd.testing.assert_frame_equal(first, refit.fit_transform(frame, y))


def test_fitted_pipeline_round_trips_through_skops_with_the_listed_types(credit):
    sio = pytest.importorskip("skops.io")
    frame, y = credit
    spec = copy.deepcopy(EXAMPLE_SPEC)
    spec["columns"]["age"]["impute"] = "knn"
    spec["selection"]["mutual_info_top_k"] = 8
    pipeline, out = fitted(spec, frame, y)
    data = sio.dumps(pipeline)
    untrusted = set(sio.get_untrusted_types(data=data)) - set(SKOPS_TRUSTED_TYPES)
    assert untrusted <= {"numpy.dtype", "sklearn.model_selection._split.StratifiedKFold"}
    loaded = sio.loads(data, trusted=[*SKOPS_TRUSTED_TYPES, *untrusted])
    pd.testing.assert_frame_equal(loaded.transform(frame), pipeline.transform(frame))


# -- validation ------------------------------------------------------------------------------


def test_target_encoding_without_a_target_says_so():
    message = spec_error(with_columns({"region": {"encode": "target"}}), target=None)
    assert message == features.TARGET_ENCODING_NEEDS_TARGET.format(column="region")


def test_mutual_info_without_a_target_says_so():
    spec = with_columns({"age": {}}, selection={"mutual_info_top_k": 3})
    assert spec_error(spec, target=None) == features.MUTUAL_INFO_NEEDS_TARGET


def test_unknown_column_suggests_close_names():
    message = spec_error(with_columns({"agee": {}}))
    assert message == features.UNKNOWN_COLUMN.format(column="agee", hint=" Did you mean 'age'?")


def test_unknown_option_suggests_close_names():
    message = spec_error(with_columns({"age": {"scaling": "standard"}}))
    hint = " Did you mean 'scale'?"
    assert message == features.UNKNOWN_OPTION.format(column="age", option="scaling", hint=hint)


@pytest.mark.parametrize(
    ("spec", "target", "expected"),
    [
        (
            with_columns({TARGET: {}}),
            TARGET,
            features.TARGET_IN_SPEC.format(column=TARGET),
        ),
        (
            with_columns({"notes": {"encode": "onehot"}}),
            TARGET,
            features.TEXT_NOT_SUPPORTED.format(column="notes"),
        ),
        (
            with_columns({"notes": {}}),
            TARGET,
            features.TEXT_NOT_SUPPORTED.format(column="notes"),
        ),
        (
            with_columns({"credit_score": {"bins": {"n_bins": 1}}}),
            TARGET,
            features.BAD_N_BINS.format(column="credit_score", value=1),
        ),
        (
            with_columns({"credit_score": {"bins": {"n_bins": 4, "edges": [1]}}}),
            TARGET,
            features.BAD_BINS.format(column="credit_score", value={"n_bins": 4, "edges": [1]}),
        ),
        (
            with_columns({"age": {"scale": "zscore"}}),
            TARGET,
            features.BAD_CHOICE.format(
                column="age",
                option="scale",
                choices="none, standard, minmax, robust",
                value="zscore",
            ),
        ),
        (
            with_columns({"sex": {"scale": "standard"}}),
            TARGET,
            features.OPTION_NOT_FOR_KIND.format(
                column="sex", kind="categorical", option="scale", allowed="numeric or datetime"
            ),
        ),
        (
            with_columns({"sex": {"impute": "median"}}),
            TARGET,
            features.BAD_CHOICE.format(
                column="sex",
                option="impute",
                choices="most_frequent, constant, none",
                value="median",
            ),
        ),
        (
            with_columns({"age": {"missing_indicator": "yes"}}),
            TARGET,
            features.NOT_A_FLAG.format(column="age", option="missing_indicator", value="yes"),
        ),
        (
            with_columns({"age": {"impute": "constant", "fill_value": "zero"}}),
            TARGET,
            features.BAD_FILL_VALUE.format(column="age", expected="a number", value="zero"),
        ),
        (
            with_columns({"sex": {"encode": "target", "min_frequency": 0.1}}),
            TARGET,
            features.OPTION_NEEDS_ENCODING.format(
                column="sex", option="min_frequency", encodings="onehot or ordinal"
            ),
        ),
        (
            with_columns({"sex": {"min_frequency": 1.5}}),
            TARGET,
            features.BAD_MIN_FREQUENCY.format(column="sex", value=1.5),
        ),
        (
            with_columns({"sex": {"max_categories": 1}}),
            TARGET,
            features.BAD_MAX_CATEGORIES.format(column="sex", value=1),
        ),
        (
            with_columns({"sex": {"encode": "ordinal", "order": ["a", "a"]}}),
            TARGET,
            features.BAD_ORDER.format(column="sex", value=["a", "a"]),
        ),
        (
            with_columns({"application_date": {"date_parts": ["week"]}}),
            TARGET,
            features.BAD_DATE_PARTS.format(
                column="application_date", choices=", ".join(features.DATE_PARTS), value=["week"]
            ),
        ),
        (
            with_columns({"age": {"date_parts": ["year"]}}),
            TARGET,
            features.DATE_PARTS_NEED_DATES.format(column="age", dtype="int64"),
        ),
        (
            with_columns({"age": {"drop": True}}),
            TARGET,
            features.NO_FEATURES,
        ),
        (
            with_columns({}),
            TARGET,
            features.NO_FEATURES,
        ),
        (
            with_columns({"age": {}, "sex": {}}, interactions={"columns": ["age", "sex"]}),
            TARGET,
            features.BAD_INTERACTION_COLUMNS.format(
                problem="'sex' is not a numeric column kept by the spec"
            ),
        ),
        (
            with_columns({"age": {}}, interactions={"columns": ["age"], "degree": 4}),
            TARGET,
            features.BAD_DEGREE.format(value=4),
        ),
        (
            with_columns({"age": {}}, selection={"correlation_threshold": 1.5}),
            TARGET,
            features.BAD_THRESHOLD.format(
                option="correlation_threshold", low=0.0, high=1.0, value=1.5
            ),
        ),
        (
            with_columns({"age": {}}, selection={"mutual_info_top_k": 0}),
            TARGET,
            features.BAD_TOP_K.format(value=0),
        ),
        (
            with_columns({"age": {}}, extras={}),
            TARGET,
            features.UNKNOWN_SECTION.format(section="extras"),
        ),
        ({"age": {}}, TARGET, features.NO_COLUMNS_SECTION),
        ({"columns": []}, TARGET, features.NO_COLUMNS_SECTION),
        (
            with_columns({"age": "median"}),
            TARGET,
            features.OPTIONS_NOT_OBJECT.format(column="age", found="text"),
        ),
    ],
)
def test_validation_messages(spec, target, expected):
    assert spec_error(spec, target=target) == expected


@pytest.mark.parametrize(("spec", "found"), [(None, "null"), ([], "a list"), ("{}", "text")])
def test_a_spec_that_is_not_an_object(spec, found):
    assert spec_error(spec) == features.SPEC_NOT_OBJECT.format(found=found)
    assert '{"columns": {"age": {}}}' in spec_error(spec)


def test_too_many_interaction_terms_are_refused():
    names = [f"x{i}" for i in range(30)]
    schema = [ColumnSchema(name, "double", "numeric") for name in names]
    spec = with_columns({name: {} for name in names}, interactions={"columns": names, "degree": 3})
    assert spec_error(spec, schema=schema).startswith("interactions: 30 columns at degree 3")


def test_dropped_text_and_id_columns_are_fine(credit):
    frame, y = credit
    spec = with_columns({"notes": {"drop": True}, "applicant_id": {"drop": True}, "age": {}})
    _, out = fitted(spec, frame, y)
    assert list(out.columns) == ["age"]


def test_describe_feature_spec_reads_like_a_sentence_per_column():
    lines = describe_feature_spec(EXAMPLE_SPEC, schema=CREDIT_SCHEMA)
    assert len(lines) == len(EXAMPLE_SPEC["columns"]) + 2
    by_column = {line.split(":")[0]: line for line in lines}
    assert by_column["applicant_id"] == "applicant_id: dropped"
    assert "signed log" in by_column["annual_income"]
    assert "was-missing" in by_column["annual_income"]
    assert "5 quantile bins" in by_column["credit_score"]
    assert "1% of rows grouped as other" in by_column["sex"]
    assert "average target" in by_column["region"]
    assert "unseen levels become -1" in by_column["education"]
    assert "days since the earliest date" in by_column["application_date"]
    assert lines[-2].startswith("Interactions: products and powers up to degree 2 of age")
    assert "correlated above 0.95" in lines[-1]
    assert describe_feature_spec(EXAMPLE_SPEC) == lines  # the options alone tell the kinds


# -- fuzzing ---------------------------------------------------------------------------------

_FLOATS = st.one_of(
    st.floats(min_value=-1e6, max_value=1e6),
    st.sampled_from([np.nan, np.inf, -np.inf, 0.0]),
)
_LEVELS = st.one_of(st.sampled_from(["a", "b", "É", "", " a"]), st.none(), st.just(np.nan))
_ROLES = ["numeric", "categorical", "boolean", "datetime", "text", "id"]


@st.composite
def _column(draw, role: str, n_rows: int) -> tuple[pd.Series, str]:
    if role == "numeric":
        if draw(st.booleans()):
            values = draw(st.lists(st.integers(-5, 5), min_size=n_rows, max_size=n_rows))
            return pd.Series(values, dtype="int64"), "int64"
        values = draw(st.lists(_FLOATS, min_size=n_rows, max_size=n_rows))
        return pd.Series(values, dtype="float64"), "double"
    if role == "boolean":
        values = draw(
            st.lists(st.sampled_from([True, False, None]), min_size=n_rows, max_size=n_rows)
        )
        return pd.Series(values, dtype=object), "bool"
    if role == "datetime":
        days = draw(
            st.lists(st.one_of(st.integers(0, 20_000), st.none()), min_size=n_rows, max_size=n_rows)
        )
        moments = pd.to_datetime([None if d is None else d for d in days], unit="D")
        if draw(st.booleans()):
            text = pd.Series(moments.strftime("%Y-%m-%dT%H:%M:%S"), dtype=object)
            return text.where(pd.notna(moments), None), "string"
        return pd.Series(moments), "timestamp[ns]"
    values = draw(st.lists(_LEVELS, min_size=n_rows, max_size=n_rows))
    return pd.Series(values, dtype=object), "string"


_NUMERIC_OPTIONS = {
    "impute": st.sampled_from(["mean", "median", "most_frequent", "constant", "knn", "none"]),
    "fill_value": st.sampled_from([0, -1.5]),
    "missing_indicator": st.booleans(),
    "transform": st.sampled_from(["none", "log", "yeo_johnson"]),
    "scale": st.sampled_from(["none", "standard", "minmax", "robust"]),
    "bins": st.one_of(
        st.none(),
        st.fixed_dictionaries(
            {"strategy": st.sampled_from(["quantile", "uniform"]), "n_bins": st.integers(2, 6)}
        ),
    ),
}
_CATEGORICAL_OPTIONS = {
    "impute": st.sampled_from(["most_frequent", "constant", "none"]),
    "fill_value": st.sampled_from(["(missing)", "a"]),
    "missing_indicator": st.booleans(),
    "encode": st.sampled_from(["onehot", "ordinal", "target"]),
    "min_frequency": st.sampled_from([None, 0.2, 2]),
    "max_categories": st.sampled_from([None, 2, 3]),
    "order": st.sampled_from([None, ["a", "b"], [1, 2]]),
}
_DATETIME_OPTIONS = {
    "date_parts": st.lists(st.sampled_from(list(features.DATE_PARTS)), min_size=1, unique=True),
    "impute": st.sampled_from(["mean", "median", "most_frequent", "constant", "none"]),
    "missing_indicator": st.booleans(),
    "scale": st.sampled_from(["none", "standard", "minmax", "robust"]),
}
_OPTIONS_BY_ROLE = {
    "numeric": _NUMERIC_OPTIONS,
    "categorical": _CATEGORICAL_OPTIONS,
    "boolean": _CATEGORICAL_OPTIONS,
    "datetime": _DATETIME_OPTIONS,
    "id": {"drop": st.booleans()},
    "text": {"drop": st.booleans()},
}
# anything, including values and options that do not fit the column: must be a FeatureSpecError
_ANY_OPTION = {
    **_NUMERIC_OPTIONS,
    **_CATEGORICAL_OPTIONS,
    **_DATETIME_OPTIONS,
    "impute": st.sampled_from(["bogus", "knn", "mean"]),
    "fill_value": st.sampled_from([0, "(missing)", None]),
    "n_bins": st.just(3),
    "drop": st.sampled_from([True, "yes"]),
}


@st.composite
def _options(draw, role: str) -> dict:
    pool = _OPTIONS_BY_ROLE[role]
    chosen = draw(st.lists(st.sampled_from(sorted(pool)), max_size=4, unique=True))
    options = {option: draw(pool[option]) for option in chosen}
    if draw(st.integers(0, 9)) == 0:
        option = draw(st.sampled_from(sorted(_ANY_OPTION)))
        options[option] = draw(_ANY_OPTION[option])
    return options


@st.composite
def _frames_and_specs(draw):
    n_rows = draw(st.integers(1, 12))
    names = draw(st.lists(st.text(min_size=1, max_size=3), min_size=1, max_size=4, unique=True))
    columns, schema, spec_columns = {}, [], {}
    for name in names:
        role = draw(st.sampled_from(_ROLES))
        columns[name], dtype = draw(_column(role, n_rows))
        schema.append(ColumnSchema(name, dtype, role))
        if draw(st.integers(0, 4)) > 0:
            spec_columns[name] = draw(_options(role))
    kept = [c.name for c in schema if c.role == "numeric" and c.name in spec_columns]
    interactions = None
    if kept and draw(st.booleans()):
        interactions = {"columns": kept[:2], "degree": draw(st.sampled_from([2, 3]))}
    selection = {
        "variance_threshold": draw(st.sampled_from([None, 0.0, 0.5])),
        "correlation_threshold": draw(st.sampled_from([None, 0.9])),
        "mutual_info_top_k": draw(st.sampled_from([None, 2])),
    }
    target = draw(st.sampled_from([None, "binary", "continuous"]))
    y = None
    if target == "binary":
        labels = st.lists(st.sampled_from(["yes", "no"]), min_size=n_rows, max_size=n_rows)
        y = pd.Series(draw(labels))
    elif target == "continuous":
        y = pd.Series(draw(st.lists(st.floats(-100, 100), min_size=n_rows, max_size=n_rows)))
    spec = {"columns": spec_columns, "interactions": interactions, "selection": selection}
    return pd.DataFrame(columns), schema, spec, ("__target__" if y is not None else None), y


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_frames_and_specs())
def test_any_frame_and_spec_either_works_or_raises_feature_spec_error(case):
    frame, schema, spec, target, y = case
    try:
        pipeline = build_feature_pipeline(spec, schema=schema, target=target)
    except FeatureSpecError:
        return
    out = pipeline.fit_transform(frame, y)
    assert len(out) == len(frame)
    assert len(set(out.columns)) == out.shape[1]
    served = frame.iloc[::-1].reset_index(drop=True)
    for name in served.columns:
        if served[name].dtype == object and len(served):
            served.loc[0, name] = "never seen"
    assert pipeline.transform(served).shape == out.shape
    assert set(count_unseen_categories(pipeline, served)) <= set(frame.columns)
