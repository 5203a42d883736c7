"""The user's words for the studio's internal names: models, metrics, options, tasks, times."""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

MISSING = "-"
# a date or time as ISO text: 2025-01-01, 2025-01-01T03:04:05.123+00:00
# a column's storage type (Arrow's or pandas' name) by how it starts
_DTYPES = (
    (("bool",), "yes/no"),
    (("int", "uint"), "whole number"),
    (("double", "float", "halffloat", "decimal"), "decimal number"),
    (("large_string", "string", "utf8", "large_utf8", "object"), "text"),
    (("dictionary",), "text (categories)"),
    (("timestamp", "datetime"), "date and time"),
    (("date",), "date"),
    (("time",), "time of day"),
    (("duration", "timedelta"), "duration"),
)
_ISO_DATE = re.compile(
    r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([+-]\d{2}:\d{2}|Z)?)?$"
)
# Every metric a person reads: what training scores, what fairness compares by group and the
# gaps between groups, and what monitoring watches on a live deployment.
METRICS: dict[str, str] = {
    "accuracy": "Accuracy",
    "balanced_accuracy": "Balanced accuracy",
    "precision": "Precision",
    "recall": "Recall",
    "f1": "F1",
    "roc_auc": "ROC AUC",
    "pr_auc": "PR AUC",
    "log_loss": "Log loss",
    "brier": "Brier score",
    "mae": "MAE",
    "rmse": "RMSE",
    "r2": "R²",
    "mape": "MAPE",
    # how strongly one feature alone tells the target (Explore's and Review's leakage checks)
    "abs_corr": "Absolute correlation",
    "cramers_v": "Cramér's V",
    # fairness, by group
    "selection_rate": "Selection rate",
    "true_positive_rate": "True positive rate",
    "false_positive_rate": "False positive rate",
    # fairness, the gaps between groups
    "demographic_parity_difference": "Demographic parity difference",
    "demographic_parity_ratio": "Demographic parity ratio",
    "equalized_odds_difference": "Equalized odds difference",
    "equalized_odds_ratio": "Equalized odds ratio",
    "true_positive_rate_difference": "True positive rate difference",
    "false_positive_rate_difference": "False positive rate difference",
    "accuracy_difference": "Accuracy difference",
    "accuracy_ratio": "Accuracy ratio",
    "mae_difference": "MAE gap (max − min)",
    "rmse_difference": "RMSE gap (max − min)",
    # monitoring a deployment
    "error_rate": "Error rate",
    "latency_p99_ms": "p99 latency (ms)",
    "requests_per_minute": "Requests per minute",
    "unseen_rate": "Unseen-category rate",
    "drift_share": "Drift share",
    "performance": "Live performance",
    "estimated_performance": "Estimated performance",
    "multivariate_drift": "Joint drift (domain classifier)",
    "quality_failures": "Failed quality tests",
}
# metrics named after a person keep the capital inside a sentence: "the Brier score"
_NAMED_AFTER_PEOPLE = {"brier", "cramers_v"}
# The feature spec's options (Prepare) and the other choices people pick from a list.
OPTIONS: dict[str, str] = {
    "none": "none",
    "mean": "mean",
    "median": "median",
    "most_frequent": "most frequent value",
    "constant": "a fixed value",
    "knn": "the most similar rows (k-NN)",
    "standard": "standard (mean 0, SD 1)",
    "minmax": "min–max (0 to 1)",
    "robust": "robust (median and IQR)",
    "log": "signed log",
    "yeo_johnson": "Yeo-Johnson",
    "onehot": "one-hot",
    "ordinal": "ordinal",
    "target": "target encoding",
    "year": "year",
    "month": "month",
    "day": "day",
    "weekday": "weekday",
    "hour": "hour",
    "days_since": "days since the earliest date",
    "quantile": "quantile",
    "uniform": "equal-width",
    # cleaning steps (Prepare): outlier methods and filter operators
    "iqr": "IQR fences",
    "zscore": "z-score",
    "isolation_forest": "isolation forest",
    "in": "is one of",
    "not_in": "is not one of",
    "is_missing": "is missing",
    "not_missing": "is not missing",
    "contains": "contains",
    "starts_with": "starts with",
}
MITIGATION_METHODS: dict[str, str] = {
    "threshold_optimizer": "Threshold optimizer",
    "exponentiated_gradient": "Exponentiated gradient",
}
MITIGATION_CONSTRAINTS: dict[str, str] = {
    "demographic_parity": "demographic parity",
    "equalized_odds": "equalized odds",
    "true_positive_rate_parity": "true positive rate parity",
    "false_positive_rate_parity": "false positive rate parity",
}
TUNING_STRATEGIES: dict[str, str] = {
    "none": "No tuning (defaults)",
    "grid": "Grid search",
    "random": "Random search",
    "halving": "Successive halving",
    "bayes": "Bayesian (Optuna TPE)",
}
TASKS: dict[str, str] = {
    "binary": "binary classification",
    "multiclass": "multiclass classification",
    "regression": "regression",
}
REVIEW_STATES: dict[str, str] = {
    "not reviewed": "not reviewed",
    "approve": "approved",
    "approved": "approved",
    "changes": "changes requested",
    "changes requested": "changes requested",
    "reject": "rejected",
    "rejected": "rejected",
}
# Hyperparameters as the catalog's search spaces name them.
PARAMS: dict[str, str] = {
    "C": "C",
    "class_weight": "class weight",
    "alpha": "alpha",
    "l1_ratio": "L1 ratio",
    "n_neighbors": "neighbours",
    "weights": "neighbour weights",
    "max_depth": "maximum depth",
    "min_samples_leaf": "minimum rows per leaf",
    "n_estimators": "trees",
    "max_features": "features per split",
    "learning_rate": "learning rate",
    "max_leaf_nodes": "maximum leaves",
    "l2_regularization": "L2 regularization",
}
PARAM_VALUES: dict[str, str] = {
    "balanced": "balanced",
    "sqrt": "square root of all",
    "uniform": "equal",
    "distance": "by distance",
}


def _plain(name: str) -> str:
    """A name nobody gave words yet, readable anyway: ``max_bins`` -> ``max bins``."""
    return str(name).replace("__", " ").replace("_", " ")


def model(name: str) -> str:
    """A catalog model's title (``Logistic regression``); the catalog owns it. A mitigated
    model, ``logistic_regression+threshold_optimizer``, is named with its method."""
    from core.train.catalog import CATALOG

    base, plus, method = str(name).partition("+")
    if plus:
        return f"{model(base)} + {mitigation(method).lower()}"
    spec = CATALOG.get(name)
    return spec.title if spec else _plain(name)


def drift_method(name: str) -> str:
    """A drift method's title (``Population stability index``); its registry owns it."""
    from core.monitor.drift.methods import DRIFT_METHODS

    method = DRIFT_METHODS.get(name)
    return method.title if method else _plain(name)


def dtype(name: str) -> str:
    """How a column is stored, in words: ``double`` -> ``decimal number``."""
    text = str(name)
    for prefixes, said in _DTYPES:
        if text.startswith(prefixes):
            return said
    return text


def mitigation(name: str) -> str:
    """A fairness mitigation method or constraint in words."""
    return MITIGATION_METHODS.get(name) or MITIGATION_CONSTRAINTS.get(name) or _plain(name)


def metric(name: str) -> str:
    """A metric's label (``ROC AUC``, ``Selection rate``); a fairness gap keyed by feature,
    ``demographic_parity_difference (sex)``, keeps its feature."""
    if name in METRICS:
        return METRICS[name]
    base, bracket, rest = str(name).partition(" (")
    if bracket and base in METRICS:
        return f"{METRICS[base]} ({rest}"
    return _plain(name).capitalize()


def metric_in_sentence(name: str) -> str:
    """A metric's label inside a sentence: ``true positive rate``, but ``ROC AUC``, ``F1`` and
    ``R²`` as they are."""
    label = metric(name)
    if name in _NAMED_AFTER_PEOPLE or not label[1:2].islower():
        return label
    return label[:1].lower() + label[1:]


def option(name: str) -> str:
    """A feature-spec or list option in words: ``most_frequent`` -> ``most frequent value``."""
    return OPTIONS.get(name) or _plain(name)


def strategy(name: str) -> str:
    """A tuning strategy's label: ``halving`` -> ``Successive halving``."""
    return TUNING_STRATEGIES.get(name) or _plain(name).capitalize()


def task(name: str) -> str:
    """A task in words: ``binary`` -> ``binary classification``."""
    return TASKS.get(name) or _plain(name)


def job(kind: str) -> str:
    """What a job of ``kind`` is called (the job registry owns the titles)."""
    from core.jobs.kinds import job_title

    return job_title(kind)


def review_state(name: str) -> str:
    """A version's review state (or the decision that set it) in words."""
    return REVIEW_STATES.get(name) or _plain(name)


def param(name: str) -> str:
    """A hyperparameter's name in words; a nested one (``estimator__C``) by its own name."""
    own = str(name).rsplit("__", 1)[-1]
    return PARAMS.get(own) or _plain(own)


def value(item: Any) -> str:
    """A setting's value as people read it: ``none``, ``yes``, ``0.01``, ``balanced``."""
    if item is None:
        return "none"
    if isinstance(item, bool):
        return "yes" if item else "no"
    if isinstance(item, numbers.Number):
        return number(item)
    if isinstance(item, str):
        return PARAM_VALUES.get(item) or _plain(item)
    if isinstance(item, Mapping):
        return params(item)
    if isinstance(item, list | tuple | set | frozenset):
        return ", ".join(value(part) for part in item) or "none"
    return str(item)


def params(settings: Mapping[str, Any] | None) -> str:
    """Hyperparameters in one line: ``C = 0.01, class weight: none`` (``=`` before a number,
    ``:`` before words); ``defaults`` when there are none."""
    if not settings:
        return "defaults"
    parts = []
    for name, item in sorted(settings.items()):
        numeric = isinstance(item, numbers.Number) and not isinstance(item, bool)
        joint = " = " if numeric else ": "
        parts.append(f"{param(name)}{joint}{value(item)}")
    return ", ".join(parts)


def number(item: Any, *, digits: int = 4) -> str:
    """A number as people read it: whole numbers without decimals (``3``, ``12,000``), others to
    ``digits`` significant digits (``0.01235``); ``-`` for nothing."""
    if item is None or isinstance(item, str):
        return MISSING if item is None or item == "" else item
    if isinstance(item, bool):
        return "yes" if item else "no"
    as_float = float(item)
    if math.isnan(as_float):
        return MISSING
    if math.isinf(as_float):
        return "∞" if as_float > 0 else "−∞"
    if as_float.is_integer() and abs(as_float) < 1e15:
        return f"{int(as_float):,}"
    if abs(as_float) >= 10 ** (digits - 1):
        return f"{as_float:,.1f}".removesuffix(".0")
    return f"{as_float:.{digits}g}"


def when(stamp: str | datetime | float | None, *, seconds: bool = False) -> str:
    """A stored time as people read it: ``2026-01-02 03:04 UTC`` (``03:04:05`` with
    ``seconds``); ``-`` for none. ISO text, a datetime or epoch seconds."""
    if stamp is None or stamp == "":
        return MISSING
    if isinstance(stamp, int | float):
        moment = datetime.fromtimestamp(float(stamp), UTC)
    elif isinstance(stamp, datetime):
        moment = stamp
    else:
        try:
            moment = datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
        except ValueError:
            return str(stamp)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC" if seconds else "%Y-%m-%d %H:%M UTC")


def moment(item: Any) -> str:
    """A date or time from the user's own data (no zone assumed): ``2025-01-01`` at midnight,
    else ``2025-01-01 03:04:05``; anything that is not a time as it is."""
    if isinstance(item, datetime):
        found = item
    elif not _ISO_DATE.match(str(item)):
        return str(item)
    else:
        try:
            found = datetime.fromisoformat(str(item))
        except ValueError:
            return str(item)
    if (found.hour, found.minute, found.second, found.microsecond) == (0, 0, 0, 0):
        return found.strftime("%Y-%m-%d")
    return found.strftime("%Y-%m-%d %H:%M:%S")
