"""Suggesting sensitive features: column names that look like protected attributes."""

from __future__ import annotations

import re

from core.data.schema import ColumnSchema

# Name fragments that mark a protected attribute. Short ones must be a whole word of the name
# ("age" matches age_band, not wage or mortgage); longer ones may start a word (ethnicity).
SENSITIVE_HINTS: tuple[str, ...] = (
    "sex",
    "gender",
    "age",
    "age_band",
    "race",
    "ethnic",
    "religio",
    "marital",
    "nationalit",
    "citizen",
    "disab",
    "pregnan",
    "orientation",
    "caste",
    "veteran",
    "immigra",
    "ancestr",
)
WHOLE_WORD_HINTS = frozenset({"sex", "age", "race"})
BAND_WORDS = ("band", "group", "range", "bucket", "bracket", "bin", "class", "cat")
SUGGESTED_ROLES = frozenset({"categorical", "boolean"})

_NAME_TOKEN = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")


def _words(name: str) -> list[str]:
    return [word.lower() for word in _NAME_TOKEN.findall(name)]


def sensitive_hint(name: str) -> str | None:
    """The hint a column name matches (``age_band`` → ``age``), or None."""
    for word in _words(name):
        for hint in SENSITIVE_HINTS:
            if word == hint or (hint not in WHOLE_WORD_HINTS and word.startswith(hint)):
                return hint
    return None


def _is_band_of_age(column: ColumnSchema) -> bool:
    """age_band, AgeGroup, agebracket... but not mortgage_category."""
    words = _words(column.name)
    banded = "age" in words and any(word in BAND_WORDS for word in words)
    joined = any(word.startswith("age") and word[3:] in BAND_WORDS for word in words)
    return column.role in SUGGESTED_ROLES and (banded or joined)


def suggest_sensitive_features(schema: list[ColumnSchema]) -> list[str]:
    """Columns that look like protected attributes, in schema order; the user edits the list.

    Categorical and boolean columns are suggested by name. A numeric age has too many values
    to compare groups on, so it suggests the age band column when the table has one.
    """
    chosen: list[str] = []
    for column in schema:
        hint = sensitive_hint(column.name)
        if hint is None:
            continue
        if column.role in SUGGESTED_ROLES:
            chosen.append(column.name)
        elif column.role == "numeric" and hint == "age":
            chosen.extend(other.name for other in schema if _is_band_of_age(other))
    return list(dict.fromkeys(chosen))
