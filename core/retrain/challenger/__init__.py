"""A retrain: champion rows plus fresh labels, a challenger judged on a new holdout, a decision."""

from core.retrain.challenger.decision import (
    awaiting_decision,
    keep_champion,
    promote,
)
from core.retrain.challenger.job import retrain_job
from core.retrain.challenger.planning import dry_run
from core.retrain.challenger.rows import (
    FreshData,
    fresh_data,
)
from core.retrain.challenger.runs import (
    JOB_KIND,
    JOBLESS_GRACE_S,
    MANUAL,
    MAX_LABELLED_ROWS,
    MIN_LABELLED_ROWS,
    MISSING_COLUMNS,
    NO_CHALLENGER,
    NO_DEPLOYMENT,
    NO_RETRAIN,
    NOTHING_TO_PROMOTE,
    TOO_FEW_LABELS,
    RetrainError,
    get_retrain,
    resume_retrains,
    retrains_of,
    start_retrain,
    submit,
)

__all__ = [
    "FreshData",
    "JOBLESS_GRACE_S",
    "JOB_KIND",
    "MANUAL",
    "MAX_LABELLED_ROWS",
    "MIN_LABELLED_ROWS",
    "MISSING_COLUMNS",
    "NOTHING_TO_PROMOTE",
    "NO_CHALLENGER",
    "NO_DEPLOYMENT",
    "NO_RETRAIN",
    "RetrainError",
    "TOO_FEW_LABELS",
    "awaiting_decision",
    "dry_run",
    "fresh_data",
    "get_retrain",
    "keep_champion",
    "promote",
    "resume_retrains",
    "retrain_job",
    "retrains_of",
    "start_retrain",
    "submit",
]
