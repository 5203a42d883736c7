"""The one registry of the user's words: every model, metric, option, strategy and task the
studio shows has words; parameters, times and numbers read as people write them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core import words
from core.jobs.kinds import JOB_KINDS, JOB_TITLES
from core.monitor.alerts import METRICS as ALERT_METRICS
from core.monitor.drift.methods import DRIFT_METHODS
from core.prep.features.spec import ENCODINGS, IMPUTE_CHOICES, SCALERS, TRANSFORMS
from core.prep.steps.filters import OPERATORS
from core.prep.transformers import BIN_STRATEGIES, DATE_PARTS
from core.review.fairness.metrics import _METRICS as FAIRNESS_METRICS
from core.review.fairness.metrics import DISPARITY_SOURCES
from core.review.mitigation import CONSTRAINTS, METHODS
from core.train.catalog import CATALOG
from core.train.evaluate import TASK_METRICS, TASKS
from core.train.tuning import STRATEGIES


def test_every_model_is_called_by_its_catalog_title() -> None:
    for name, spec in CATALOG.items():
        assert words.model(name) == spec.title
    assert words.model("logistic_regression") == "Logistic regression"
    assert words.model("logistic_regression+threshold_optimizer") == (
        "Logistic regression + threshold optimizer"
    )


def test_every_metric_the_studio_computes_has_a_label() -> None:
    scored = {name for names in TASK_METRICS.values() for name in names}
    by_group = {name for metrics in FAIRNESS_METRICS.values() for name in metrics}
    gaps = set(DISPARITY_SOURCES)
    assert scored | by_group | gaps | set(ALERT_METRICS) <= set(words.METRICS)
    assert words.metric("roc_auc") == "ROC AUC"
    assert words.metric("selection_rate") == "Selection rate"
    assert words.metric("demographic_parity_difference (sex)") == (
        "Demographic parity difference (sex)"
    )
    assert words.metric("a_metric_added_later") == "A metric added later"


def test_a_metric_in_a_sentence_keeps_its_acronyms_and_names() -> None:
    assert words.metric_in_sentence("true_positive_rate") == "true positive rate"
    assert words.metric_in_sentence("roc_auc") == "ROC AUC"
    assert words.metric_in_sentence("f1") == "F1"
    assert words.metric_in_sentence("r2") == "R²"
    assert words.metric_in_sentence("brier") == "Brier score"


def test_every_option_the_feature_spec_and_the_cleaning_steps_take_has_words() -> None:
    offered = {
        *(choice for choices in IMPUTE_CHOICES.values() for choice in choices),
        *TRANSFORMS,
        *SCALERS,
        *ENCODINGS,
        *DATE_PARTS,
        *BIN_STRATEGIES,
        *OPERATORS,
        "iqr",
        "zscore",
        "isolation_forest",
    }
    plain = {option for option in offered if option.isalpha() or not option[0].isalnum()}
    assert offered - plain <= set(words.OPTIONS), "an option with an underscore needs words"
    assert words.option("most_frequent") == "most frequent value"
    assert words.option("yeo_johnson") == "Yeo-Johnson"
    assert words.option("onehot") == "one-hot"
    assert words.option("target") == "target encoding"


def test_the_prepare_page_offers_only_options_with_words() -> None:
    from app.prepare import features

    for choices in (features.IMPUTE, features.SCALE, features.TRANSFORM, features.ENCODE):
        assert set(choices) <= set(words.OPTIONS)
    assert set(features.DATE_PARTS) <= set(words.OPTIONS)


def test_strategies_tasks_methods_and_jobs_have_words() -> None:
    assert set(STRATEGIES) == set(words.TUNING_STRATEGIES)
    assert words.strategy("halving") == "Successive halving"
    assert set(TASKS) == set(words.TASKS)
    assert words.task("binary") == "binary classification"
    assert set(METHODS) | set(CONSTRAINTS) <= set(words.MITIGATION_METHODS) | set(
        words.MITIGATION_CONSTRAINTS
    )
    for name, method in DRIFT_METHODS.items():
        assert words.drift_method(name) == method.title
    assert {words.job(kind) for kind in JOB_KINDS} == set(JOB_TITLES.values())
    assert words.review_state("approve") == "approved"


@pytest.mark.parametrize(
    ("settings", "said"),
    [
        ({"C": 0.01, "class_weight": None}, "C = 0.01, class weight: none"),
        ({"estimator__C": 1.0}, "C = 1"),
        (
            {"n_estimators": 200, "max_features": "sqrt"},
            "features per split: square root of all, trees = 200",
        ),
        (
            {"learning_rate": 0.1234567, "max_depth": None},
            "learning rate = 0.1235, maximum depth: none",
        ),
        ({"fit_intercept": True}, "fit intercept: yes"),
        ({}, "defaults"),
        (None, "defaults"),
    ],
)
def test_parameters_read_as_a_sentence(settings, said) -> None:
    assert words.params(settings) == said


def test_numbers_lose_the_decimals_of_whole_numbers() -> None:
    assert words.number(3) == "3"
    assert words.number(3.0) == "3"
    assert words.number(12_000) == "12,000"
    assert words.number(0.012345) == "0.01235"
    assert words.number(1234.5678) == "1,234.6"
    assert words.number(None) == "-"
    assert words.number(float("nan")) == "-"
    assert words.number(True) == "yes"


def test_a_stored_time_reads_in_minutes_and_utc() -> None:
    assert words.when("2026-01-02T03:04:05.123456+00:00") == "2026-01-02 03:04 UTC"
    assert words.when("2026-01-02T04:04:05+01:00") == "2026-01-02 03:04 UTC"
    assert words.when("2026-01-02T03:04:05", seconds=True) == "2026-01-02 03:04:05 UTC"
    assert words.when(datetime(2026, 1, 2, 3, 4, tzinfo=UTC)) == "2026-01-02 03:04 UTC"
    assert words.when(0.0) == "1970-01-01 00:00 UTC"
    assert words.when(None) == words.when("") == "-"
    assert words.when("not a time") == "not a time"


def test_a_time_from_the_users_data_keeps_its_own_precision() -> None:
    assert words.moment("2025-01-01T00:00:00") == "2025-01-01"
    assert words.moment("2025-01-01T03:04:05") == "2025-01-01 03:04:05"
    assert words.moment("20240101") == "20240101"  # a number, not a date
    assert words.moment("north") == "north"


def test_a_storage_type_reads_as_what_it_holds() -> None:
    assert words.dtype("double") == "decimal number"
    assert words.dtype("int64") == "whole number"
    assert words.dtype("large_string") == "text"
    assert words.dtype("timestamp[ns]") == "date and time"
    assert words.dtype("date32[day]") == "date"
    assert words.dtype("bool") == "yes/no"
