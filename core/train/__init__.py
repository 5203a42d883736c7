"""Training: model catalog, validation plans, tuning, evaluation, tracking and the registry."""
