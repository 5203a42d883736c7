"""What the feature spec tells the user: its error sentences, and FeatureSpecError."""

from __future__ import annotations


class FeatureSpecError(ValueError):
    """The feature spec cannot be used with this dataset; the message says what to change."""


SPEC_NOT_OBJECT = (
    'The feature spec must be a JSON object such as {{"columns": {{"age": {{}}}}}}, not {found}.'
)
NO_COLUMNS_SECTION = (
    'The feature spec needs a "columns" object naming the columns to use, '
    'such as {{"columns": {{"age": {{}}}}}}.'
)
UNKNOWN_SECTION = (
    "Unknown feature spec section {section!r}; the sections are "
    '"columns", "interactions" and "selection".'
)
SECTION_NOT_OBJECT = '"{section}" must be a JSON object{nullable}, not {found}.'
UNKNOWN_COLUMN = "Column {column!r} is not in the dataset.{hint}"
UNSELECTABLE_NAME = (
    "Column {column!r} ends with a NUL character, which scikit-learn cannot select by name. "
    "Rename the column in the dataset first."
)
TARGET_IN_SPEC = (
    "Column {column!r} is the target, so it cannot also be a feature. "
    "Remove it from the feature spec."
)
OPTIONS_NOT_OBJECT = (
    'Column {column!r}: its options must be a JSON object such as {{"impute": "median"}}, '
    "not {found}."
)
UNKNOWN_OPTION = "Column {column!r}: unknown option {option!r}.{hint}"
OPTION_NOT_FOR_KIND = (
    "Column {column!r} is used as a {kind} feature; option {option!r} applies only to "
    "{allowed} features."
)
BAD_CHOICE = "Column {column!r}: {option} must be one of {choices}, not {value!r}."
NOT_A_FLAG = "Column {column!r}: {option} must be true or false, not {value!r}."
BAD_FILL_VALUE = "Column {column!r}: fill_value must be {expected}, not {value!r}."
BAD_BINS = (
    'Column {column!r}: bins must be null or an object like {{"strategy": "quantile", '
    '"n_bins": 5}}, not {value!r}.'
)
BAD_N_BINS = "Column {column!r}: n_bins must be a whole number from 2 to 100, not {value!r}."
BAD_MIN_FREQUENCY = (
    "Column {column!r}: min_frequency must be null, a share of rows between 0 and 1 "
    "(0.01 = 1%) or a whole number of rows of at least 1, not {value!r}."
)
BAD_MAX_CATEGORIES = (
    "Column {column!r}: max_categories must be null or a whole number of at least 2, not {value!r}."
)
OPTION_NEEDS_ENCODING = "Column {column!r}: {option} applies only with encode {encodings}."
BAD_ORDER = (
    "Column {column!r}: order must be null or a list of distinct levels, lowest first, "
    'such as ["low", "medium", "high"], not {value!r}.'
)
BAD_DATE_PARTS = (
    "Column {column!r}: date_parts must be a non-empty list of distinct parts from "
    "{choices}, not {value!r}."
)
DATE_PARTS_NEED_DATES = (
    "Column {column!r} holds {dtype} values; date_parts applies only to date columns "
    "or to text holding ISO dates."
)
TARGET_ENCODING_NEEDS_TARGET = (
    "Target encoding of column {column!r} needs a target. Choose the target column first, "
    "or use onehot or ordinal encoding."
)
TEXT_NOT_SUPPORTED = (
    "Column {column!r} holds free text, which the feature spec cannot turn into features "
    'yet. Drop it ({{"drop": true}}) or change its role to categorical.'
)
NO_FEATURES = (
    "The feature spec keeps no columns, so a model would have nothing to learn from. "
    "Keep at least one column."
)
UNKNOWN_SECTION_OPTION = "{section}: unknown option {option!r}.{hint}"
BAD_INTERACTION_COLUMNS = (
    "interactions: columns must be a list of distinct numeric columns that the spec keeps; "
    "{problem}."
)
BAD_INTERACTION_ONLY = "interactions: interaction_only must be true or false, not {value!r}."
BAD_DEGREE = "interactions: degree must be 2 or 3, not {value!r}."
TOO_MANY_TERMS = (
    "interactions: {columns} columns at degree {degree} make {terms} new features; the limit "
    "is {limit}. Choose fewer columns or a lower degree."
)
BAD_THRESHOLD = "selection: {option} must be null or a number from {low} to {high}, not {value!r}."
BAD_TOP_K = (
    "selection: mutual_info_top_k must be null or a whole number of at least 1, not {value!r}."
)
MUTUAL_INFO_NEEDS_TARGET = (
    "selection: mutual_info_top_k ranks features by what they tell about the target; "
    "choose the target column first, or set it to null."
)
