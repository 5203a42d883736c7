"""Training: from a dataset version, target and recipe to tracked, evaluated, saved runs."""

from core.train.training.data import (
    TrainingData,
    holdout_for_run,
    preflight,
    request_for_run,
    run_data,
    training_data,
)
from core.train.training.job import (
    submit_training,
    train_job,
)
from core.train.training.request import (
    Progress,
    TrainOutcome,
    TrainRequest,
    leaderboard_row,
)
from core.train.training.runs import (
    NO_MODELS_LEFT,
    chosen_models,
    cross_validated_metrics,
    train,
    train_model,
)

__all__ = [
    "NO_MODELS_LEFT",
    "Progress",
    "TrainOutcome",
    "TrainRequest",
    "TrainingData",
    "chosen_models",
    "cross_validated_metrics",
    "holdout_for_run",
    "leaderboard_row",
    "preflight",
    "request_for_run",
    "run_data",
    "submit_training",
    "train",
    "train_job",
    "train_model",
    "training_data",
]
