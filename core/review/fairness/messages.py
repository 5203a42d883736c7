"""What a fairness report tells the user: its error and warning sentences, and FairnessError."""

from __future__ import annotations

NO_SENSITIVE = "Choose at least one sensitive feature to compare groups on."
NO_ROWS = "There are no rows to compare."
UNKNOWN_TASK = "The task must be one of {choices}, not '{task}'."
ROW_MISMATCH = (
    "The sensitive features have {sensitive} rows but there are {predicted} predictions; give "
    "one row of sensitive features per prediction."
)
SINGLE_GROUP = (
    "Sensitive feature '{feature}' has a single group ('{group}'), so there is nothing to "
    "compare. Pick another column."
)
TOO_MANY_GROUPS = (
    "Sensitive feature '{feature}' has {count} groups (more than {limit}). Pick a column of "
    "categories or bands, e.g. age_band rather than age."
)
CLASSIFICATION_ONLY = (
    "{metrics} are classification metrics, but this is a regression model; its groups are "
    "compared on MAE and RMSE."
)
REGRESSION_ONLY = (
    "{metrics} are regression metrics, but this is a {task} model; choose from {choices}."
)
UNKNOWN_METRIC = "There is no fairness metric called '{metric}'. Choose from: {choices}."
NEEDS_BINARY_FOR_SCORES = "ROC AUC by group needs a binary task; the scores were not used."
NEEDS_SCORE = "ROC AUC by group needs the model's scores (y_score) as well as its predictions."
NEEDS_POSITIVE = "Cannot tell which of the labels {labels} is the positive class; pass pos_label."
NOT_BINARY = "A binary task has two labels, but these predictions hold {count}: {labels}."
UNKNOWN_POSITIVE = "The positive label '{label}' is neither in the labels nor the predictions."
NOT_FINITE = "Regression fairness needs finite targets and predictions; {count} rows are missing."
BAD_CONFIDENCE = "The confidence must be between 0 and 1 (e.g. 0.95), not '{value}'."
BAD_N_BOOT = "n_boot must be 0 (no intervals) or more, not '{value}'."
BAD_SCORES = "y_score must hold one score per prediction ({rows}), not {shape}."
SMALL_GROUP = (
    "Group '{group}' of {feature} has {count} rows: its interval is wide; treat its numbers "
    "with care."
)
UNDEFINED_METRIC = "Group '{group}' of {feature} has no {what}, so its {metric} is undefined."
TOO_FEW = (
    "In {feature}, {count} rest on too few rows to trust (under {minimum} of the rows they "
    "count): {examples}. They, and any gap between groups that rests on them, are hatched in "
    "the charts; read them with caution."
)
TOO_FEW_EXAMPLE = "'{group}' ({metrics}: {shortfall})"
RESTS_ON = "rests on group '{group}', which has {shortfall}"
BINARY_ONLY = (
    "{metrics} and the demographic parity and equalized odds gaps need a binary task; this "
    "{task} model is compared by group on accuracy only."
)
MULTICLASS_LEFT_OUT = "Selection rate, true and false positive rates, precision"
TOO_MANY_INTERSECTIONS = (
    "{feature} makes {count} groups (more than {limit}), so intersectional groups are left out."
)


class FairnessError(ValueError):
    """A fairness question that cannot be answered as asked; the message says what to change."""
