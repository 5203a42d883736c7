"""The committed sample datasets: reproducible, and carrying the promised gaps, bias and drift."""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

SAMPLE_DATA = Path(__file__).resolve().parents[1] / "sample_data"
FILES = ["credit.csv", "credit_production.csv", "credit_production_labels.csv", "houses.csv"]
CREDIT_NUMERIC = [
    "age",
    "annual_income",
    "loan_amount",
    "loan_term_months",
    "interest_rate",
    "credit_score",
    "num_credit_lines",
    "debt_to_income",
    "years_employed",
    "num_late_payments",
    "savings_balance",
]
CREDIT_CATEGORICAL = [
    "sex",
    "age_band",
    "marital_status",
    "education",
    "employment_type",
    "home_ownership",
    "region",
    "loan_purpose",
]
NOT_FEATURES = ["applicant_id", "application_date", "default"]


def load_generator() -> ModuleType:
    """Import sample_data/generate.py by path (it is a script, not a package)."""
    name = "sample_data_generate"
    spec = importlib.util.spec_from_file_location(name, SAMPLE_DATA / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is built
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[name]
    return module


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def credit() -> pd.DataFrame:
    return pd.read_csv(SAMPLE_DATA / "credit.csv")


@pytest.fixture(scope="module")
def production() -> pd.DataFrame:
    return pd.read_csv(SAMPLE_DATA / "credit_production.csv")


@pytest.fixture(scope="module")
def production_labels() -> pd.DataFrame:
    return pd.read_csv(SAMPLE_DATA / "credit_production_labels.csv")


@pytest.fixture(scope="module")
def houses() -> pd.DataFrame:
    return pd.read_csv(SAMPLE_DATA / "houses.csv")


def model_features(frame: pd.DataFrame, categories: pd.DataFrame) -> pd.DataFrame:
    """Raw columns as a tree model takes them: text as categoricals with the training levels."""
    features = frame.drop(columns=[c for c in NOT_FEATURES if c in frame])
    for column in CREDIT_CATEGORICAL:
        levels = sorted(categories[column].dropna().unique())
        features[column] = pd.Categorical(features[column], categories=levels)
    features["has_guarantor"] = features["has_guarantor"].astype(int)
    return features


def test_regenerating_reproduces_the_committed_files_byte_for_byte(tmp_path: Path) -> None:
    written = load_generator().write_all(tmp_path)
    assert sorted(path.name for path in written) == sorted(FILES)
    for name in FILES:
        assert sha256(tmp_path / name) == sha256(SAMPLE_DATA / name), name


def test_sample_data_stays_small() -> None:
    total = sum((SAMPLE_DATA / name).stat().st_size for name in FILES)
    assert total < 6_000_000


def test_credit_has_the_promised_columns_and_kinds(credit: pd.DataFrame) -> None:
    assert len(credit) >= 20_000
    assert 20 <= credit.shape[1] <= 25
    assert credit["applicant_id"].str.fullmatch(r"A\d{6}").all()
    dates = pd.to_datetime(credit["application_date"], format="%Y-%m-%d")
    assert 700 <= (dates.max() - dates.min()).days <= 740
    for column in CREDIT_NUMERIC:
        assert pd.api.types.is_numeric_dtype(credit[column]), column
    for column in CREDIT_CATEGORICAL:
        assert credit[column].dtype == object, column
    assert credit["has_guarantor"].dtype == bool
    assert set(credit["default"].unique()) == {0, 1}
    assert 0.20 <= credit["default"].mean() <= 0.25


def test_age_band_is_derived_from_age(credit: pd.DataFrame) -> None:
    bands = pd.cut(
        credit["age"],
        bins=[17, 25, 35, 45, 55, 65, 200],
        labels=["18-25", "26-35", "36-45", "46-55", "56-65", "66+"],
    )
    assert (bands.astype(str) == credit["age_band"]).all()


def test_credit_has_missing_values_where_promised(credit: pd.DataFrame) -> None:
    missing = credit.isna().mean()
    assert missing["annual_income"] == pytest.approx(0.05, abs=0.01)
    assert missing["years_employed"] == pytest.approx(0.08, abs=0.01)
    assert missing["savings_balance"] == pytest.approx(0.03, abs=0.01)
    assert 0.01 < missing["employment_type"] < 0.06
    assert missing[["credit_score", "sex", "age_band", "default"]].eq(0).all()


def test_credit_has_exact_duplicates_and_otherwise_unique_ids(credit: pd.DataFrame) -> None:
    assert 0.01 <= credit.duplicated().mean() <= 0.02
    assert credit.drop_duplicates()["applicant_id"].is_unique


def test_production_batch_drifts(credit: pd.DataFrame, production: pd.DataFrame) -> None:
    assert len(production) == 6_000
    assert list(production.columns) == [c for c in credit.columns if c != "default"]
    assert production["application_date"].min() > credit["application_date"].max()
    assert "crypto" in set(production["loan_purpose"]) - set(credit["loan_purpose"])
    before, after = credit[CREDIT_NUMERIC].mean(), production[CREDIT_NUMERIC].mean()
    assert after["annual_income"] < 0.9 * before["annual_income"]
    assert after["loan_amount"] > 1.05 * before["loan_amount"]
    assert after["interest_rate"] > before["interest_rate"] + 1.5
    assert after["credit_score"] < before["credit_score"] - 15
    assert production["annual_income"].isna().mean() > 2 * credit["annual_income"].isna().mean()


def test_production_labels_join_on_applicant_id(
    production: pd.DataFrame, production_labels: pd.DataFrame
) -> None:
    assert list(production_labels.columns) == ["applicant_id", "default"]
    assert production_labels["applicant_id"].is_unique
    joined = production.merge(production_labels, on="applicant_id", validate="one_to_one")
    assert len(joined) == len(production)
    assert set(joined["default"].unique()) == {0, 1}


def test_planted_bias_shows_in_label_rates(credit: pd.DataFrame) -> None:
    by_sex = credit.groupby("sex")["default"].mean()
    assert by_sex["female"] - by_sex["male"] >= 0.05
    youngest = credit["age_band"] == "18-25"
    assert credit.loc[youngest, "default"].mean() - credit.loc[~youngest, "default"].mean() >= 0.07


def test_no_single_numeric_feature_leaks_the_label(credit: pd.DataFrame) -> None:
    for column in CREDIT_NUMERIC:
        known = credit[column].notna()
        auc = roc_auc_score(credit.loc[known, "default"], credit.loc[known, column])
        assert max(auc, 1 - auc) < 0.9, column


def test_a_good_model_scores_realistically_and_decays_in_production(
    credit: pd.DataFrame, production: pd.DataFrame, production_labels: pd.DataFrame
) -> None:
    features, labels = model_features(credit, credit), credit["default"]
    train_x, test_x, train_y, test_y = train_test_split(
        features, labels, test_size=0.25, stratify=labels, random_state=0
    )
    model = HistGradientBoostingClassifier(max_iter=150, learning_rate=0.05, random_state=0)
    model.fit(train_x, train_y)
    holdout_auc = roc_auc_score(test_y, model.predict_proba(test_x)[:, 1])
    assert 0.78 <= holdout_auc <= 0.90

    later = production.merge(production_labels, on="applicant_id")
    later_scores = model.predict_proba(model_features(later, credit))[:, 1]
    assert roc_auc_score(later["default"], later_scores) < holdout_auc - 0.02


def test_houses_is_a_regression_table_with_gaps(houses: pd.DataFrame) -> None:
    assert 7_000 <= len(houses) <= 9_000
    assert 12 <= houses.shape[1] <= 15
    assert houses["house_id"].is_unique
    assert pd.to_datetime(houses["sale_date"], format="%Y-%m-%d").notna().all()
    for column in ["neighbourhood", "house_type", "condition", "heating"]:
        assert houses[column].dtype == object, column
    assert houses.isna().any(axis=0).sum() >= 3
    assert houses["price"].notna().all() and (houses["price"] > 0).all()
    log_price = np.log(houses["price"])
    assert np.corrcoef(log_price, np.log(houses["living_area_sqm"]))[0, 1] > 0.4
