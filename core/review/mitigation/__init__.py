"""Fairness mitigation: fairlearn's threshold optimizer and exponentiated gradient as new runs."""

from core.review.mitigation.candidates import (
    trade_off,
)
from core.review.mitigation.choices import (
    ALREADY_MITIGATED,
    BINARY_ONLY,
    CONSTRAINT_DISPARITY,
    CONSTRAINT_TITLES,
    CONSTRAINTS,
    GRADIENT_NOTES,
    METHOD_TITLES,
    METHODS,
    MITIGATED_TAG,
    NO_FEATURES,
    NO_SAMPLE_WEIGHT,
    NOT_A_MODEL,
    PERFORMANCE_METRIC,
    SUPPORTED,
    THRESHOLD_NOTES,
    UNKNOWN_CONSTRAINT,
    UNKNOWN_FEATURES,
    UNKNOWN_METHOD,
    UNSUPPORTED,
    Progress,
    check_choice,
)
from core.review.mitigation.measuring import (
    Candidate,
    constraint_disparities,
)
from core.review.mitigation.runs import (
    mitigate,
)

__all__ = [
    "ALREADY_MITIGATED",
    "BINARY_ONLY",
    "CONSTRAINTS",
    "CONSTRAINT_DISPARITY",
    "CONSTRAINT_TITLES",
    "Candidate",
    "GRADIENT_NOTES",
    "METHODS",
    "METHOD_TITLES",
    "MITIGATED_TAG",
    "NOT_A_MODEL",
    "NO_FEATURES",
    "NO_SAMPLE_WEIGHT",
    "PERFORMANCE_METRIC",
    "Progress",
    "SUPPORTED",
    "THRESHOLD_NOTES",
    "UNKNOWN_CONSTRAINT",
    "UNKNOWN_FEATURES",
    "UNKNOWN_METHOD",
    "UNSUPPORTED",
    "check_choice",
    "constraint_disparities",
    "mitigate",
    "trade_off",
]
