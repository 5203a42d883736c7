"""What drift tells the user: its error and note sentences, and DriftError."""

from __future__ import annotations

from collections.abc import Sequence

EMPTY_CURRENT = (
    "The current data has no rows, so there is nothing to compare with the reference. Pass a "
    "window that holds at least one row."
)
EMPTY_REFERENCE = (
    "The reference data has no rows. Drift is measured against a reference such as the "
    "training data; pass one that holds rows."
)
UNKNOWN_COLUMN = "The reference has no column {column!r}. Its columns are: {columns}."
MISSING_COLUMN = (
    "The current data has no column {column!r}, which the reference has: its drift is not "
    "computed and it is left out of the drift share. Check that the current data is complete."
)
UNKNOWN_METHOD = "There is no drift method called {method!r}. Choose from: {choices}."
WRONG_KIND = "{title} compares {kinds} columns, but {column!r} is {kind}. Choose from: {choices}."
BAD_THRESHOLD = "A drift threshold must be a positive number, not {value!r}."
BAD_P_THRESHOLD = "{title} gives a p-value, so its threshold must be between 0 and 1, not {value}."
BAD_SHARE = "The dataset drift share threshold must be between 0 and 1, not {value!r}."
METHOD_NOT_FOR_KIND = "{title} does not apply to {kind} columns; they use their default method."
NO_COLUMNS = "No column could be compared, so the drift share is 0."
SKIPPED_DATES = "{column!r} holds dates or times; drift is not computed for them."
SKIPPED_ROLE = "{column!r} is {role} column; drift is not computed for it."
SKIPPED_EMPTY = "{column!r} has no values in the reference; its drift is not computed."
UNSUPPORTED = "{column!r} holds values that cannot be compared ({dtype}); drift is not computed."
SMALL_SAMPLE = (
    "The reference has only {count:,} values (at most {limit:,}), so the {title}, which suits "
    "small samples, is used rather than a distance."
)
SMALL_SAMPLE_DISTANCE = (
    "The reference has only {count:,} values; {title} is noisy on so few (the default there is "
    "a test: ks or chisquare)."
)
FEW_DISTINCT = "Only {count} distinct numbers, so they are compared as categories."
ALL_MISSING = (
    "Every current value is missing ({rate:.0%} of the reference is), so the column counts as "
    "drifted."
)
NOT_NUMBERS = "{count:,} current values are not numbers; they count as missing."
NEW_CATEGORIES = "{rate:.1%} of current values are categories the reference never had."
SUMMARISED = (
    "Computed from a summary of the numbers (more distinct values than it keeps): {what} is "
    "within {error:.1e} of its exact value."
)
INFINITE_CHI_SQUARE = "The reference never had some current categories: chi-square is infinite."


class DriftError(ValueError):
    """The message is a complete user-facing sentence: what was wrong and what to do."""


def chosen_columns(known: Sequence[str], columns: Sequence[str] | None) -> list[str]:
    """The columns asked for (each once, in the order asked), or every known one; an unknown
    name is refused with the known ones listed."""
    if columns is None:
        return list(known)
    for name in columns:
        if name not in known:
            listed = ", ".join(str(column) for column in known)
            raise DriftError(UNKNOWN_COLUMN.format(column=name, columns=listed))
    return list(dict.fromkeys(columns))
