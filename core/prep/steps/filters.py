"""The row filter: keep rows whose column meets a comparison, list, missing or text test."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from core.prep.steps.frames import _Distinct, _flags_of, _keep_rows
from core.prep.steps.registry import (
    KIND_WORDS,
    REQUIRED,
    Cleaned,
    Param,
    _is_number,
    cleaning_step,
    column_kind,
)
from core.prep.steps.wording import _rows, _show

ORDERINGS = (">", ">=", "<", "<=")
EQUALITIES = ("==", "!=")
LIST_OPERATORS = ("in", "not_in")
MISSING_OPERATORS = ("is_missing", "not_missing")
TEXT_OPERATORS = ("contains", "starts_with")
OPERATORS = EQUALITIES + ORDERINGS + LIST_OPERATORS + MISSING_OPERATORS + TEXT_OPERATORS

NEEDS_VALUE = "‘{operator}’ needs a value to compare ‘{column}’ with; give one."
NEEDS_LIST = '‘{operator}’ needs a list of values, such as ["north", "south"], not {value}.'
EMPTY_LIST = "‘{operator}’ needs at least one value in its list."
ONE_VALUE = (
    "‘{operator}’ compares with one value, not a list ({value}); use in / not_in for a list."
)
TEXT_ORDERING = (
    "‘{column}’ holds text, so ‘{operator}’ cannot compare it with {value}; use == / in, or fix"
    " its type with parse_numbers first."
)
BOOL_ORDERING = (
    "‘{column}’ holds true/false values, so ‘{operator}’ cannot compare it; use == / != / in."
)
TEXT_SEARCH_ONLY = (
    "‘{column}’ holds {holds}, so ‘{operator}’ cannot search it; it works on text columns only"
    " (use == or in instead)."
)
NEEDS_NUMBER = "‘{column}’ holds numbers, so ‘{operator}’ needs a number, not {value}."
NEEDS_TEXT = "‘{column}’ holds text, so ‘{operator}’ needs text, not {value}."
NEEDS_DATE = (
    "‘{column}’ holds dates, so ‘{operator}’ needs an ISO date such as 2024-01-31 or"
    " 2024-01-31T09:30, not {value}."
)
NEEDS_BOOL = "‘{column}’ holds true/false values, so ‘{operator}’ needs true or false, not {value}."
_NEEDS = {
    "numeric": NEEDS_NUMBER,
    "string": NEEDS_TEXT,
    "datetime": NEEDS_DATE,
    "bool": NEEDS_BOOL,
}


def _check_filter(params: dict[str, Any], columns: Mapping[str, str]) -> list[str]:
    operator, value, column = params["operator"], params["value"], params["column"]
    if operator in MISSING_OPERATORS:
        return []
    if value is None:
        return [NEEDS_VALUE.format(operator=operator, column=column)]
    kind = columns[column]
    if kind not in KIND_WORDS:  # a kind this module does not know: apply_step will check
        return []
    if operator in TEXT_OPERATORS:
        return _check_search(column, kind, operator, value)
    if operator in LIST_OPERATORS:
        return _check_list(column, kind, operator, value)
    if isinstance(value, list | tuple):
        return [ONE_VALUE.format(operator=operator, value=_show(value))]
    if operator in ORDERINGS and kind in ("string", "bool"):
        message = TEXT_ORDERING if kind == "string" else BOOL_ORDERING
        return [message.format(column=column, operator=operator, value=_show(value))]
    return _check_operand(column, kind, operator, value)


def _check_search(column: str, kind: str, operator: str, value: Any) -> list[str]:
    if kind != "string":
        return [TEXT_SEARCH_ONLY.format(column=column, holds=KIND_WORDS[kind], operator=operator)]
    if isinstance(value, str) or _is_number(value):
        return []
    return [NEEDS_TEXT.format(column=column, operator=operator, value=_show(value))]


def _check_list(column: str, kind: str, operator: str, value: Any) -> list[str]:
    if not isinstance(value, list | tuple):
        return [NEEDS_LIST.format(operator=operator, value=_show(value))]
    if not value:
        return [EMPTY_LIST.format(operator=operator)]
    return [p for item in value for p in _check_operand(column, kind, operator, item)][:1]


def _check_operand(column: str, kind: str, operator: str, value: Any) -> list[str]:
    """Whether one comparison value fits the column's kind."""
    try:
        _operand(kind, value, None)
    except (TypeError, ValueError):
        message = _NEEDS[kind]
        return [message.format(column=column, operator=operator, value=_show(value))]
    return []


def _operand(kind: str, value: Any, tz: Any) -> Any:
    """A comparison value as the column's kind; text columns accept numbers as their text."""
    if kind == "numeric" and _is_number(value):
        return value
    if kind == "string" and (isinstance(value, str) or _is_number(value)):
        return value if isinstance(value, str) else str(value)
    if kind == "bool" and isinstance(value, bool | str):
        return _boolean(value)
    if kind == "datetime" and isinstance(value, str):
        return _timestamp(value, tz)
    raise TypeError(value)


def _boolean(value: bool | str) -> bool:
    if isinstance(value, bool):
        return value
    if value.strip().casefold() in ("true", "false"):
        return value.strip().casefold() == "true"
    raise ValueError(value)


def _timestamp(value: str, tz: Any) -> pd.Timestamp:
    """An ISO date or date-time, in the column's time zone (naive columns get naive times)."""
    stamp = pd.Timestamp(datetime.fromisoformat(value.strip()))
    if tz is None:
        return stamp.tz_convert(None) if stamp.tz is not None else stamp
    return stamp.tz_localize(tz) if stamp.tz is None else stamp.tz_convert(tz)


def _condition_text(column: str, operator: str, value: Any) -> str:
    if operator in MISSING_OPERATORS:
        return f"{column} is {'missing' if operator == 'is_missing' else 'not missing'}"
    if operator in LIST_OPERATORS:
        values = ", ".join(_show(item) for item in value)
        return f"{column} is {'one' if operator == 'in' else 'none'} of {values}"
    words = {"contains": "contains", "starts_with": "starts with"}.get(operator, operator)
    return f"{column} {words} {_show(value)}"


@cleaning_step(
    "filter_rows",
    label="Keep rows matching a condition",
    params={
        "column": Param("column", REQUIRED, "the column to test"),
        "operator": Param("choice", REQUIRED, "how to compare", choices=OPERATORS),
        "value": Param("value", None, "what to compare with (a list for in / not_in)"),
    },
    describe=lambda p: f"Keep rows where {_condition_text(p['column'], p['operator'], p['value'])}",
    check=_check_filter,
)
def _filter_rows(frame: pd.DataFrame, *, column: str, operator: str, value: Any) -> Cleaned:
    """Missing values never match a comparison, so != and not_in keep them (they negate == / in)."""
    keep = _matches(frame[column], operator, value)
    out = _keep_rows(frame, keep)
    condition = _condition_text(column, operator, value)
    return Cleaned(out, f"Dropped {_rows(len(frame) - len(out))}, keeping those where {condition}.")


def _matches(series: pd.Series, operator: str, value: Any) -> np.ndarray:
    """Which rows meet the condition, as a plain bool array."""
    if operator in MISSING_OPERATORS:
        missing = series.isna().to_numpy(dtype=bool)
        return missing if operator == "is_missing" else ~missing
    kind = column_kind(series)
    tz = getattr(series.dtype, "tz", None)
    if operator in LIST_OPERATORS:
        found = _flags(series.isin([_operand(kind, item, tz) for item in value]))
        return found if operator == "in" else ~found
    operand = _operand(kind, value, tz)
    if operator in TEXT_OPERATORS:
        return _search(series, operator, operand)
    return _compare(series, operator, operand)


def _flags(result: pd.Series) -> np.ndarray:
    """A comparison result as bools; a nullable column's <NA> does not match."""
    return result.to_numpy(dtype=bool, na_value=False)


def _search(series: pd.Series, operator: str, text: str) -> np.ndarray:
    distinct = _Distinct.of(series)
    search = pc.match_substring if operator == "contains" else pc.starts_with
    return distinct.spread(_flags_of(search(distinct.arrow, pattern=text)), False)


def _compare(series: pd.Series, operator: str, operand: Any) -> np.ndarray:
    if operator == "!=":
        return ~_flags(series == operand)
    compare = {
        "==": series.eq,
        ">": series.gt,
        ">=": series.ge,
        "<": series.lt,
        "<=": series.le,
    }[operator]
    return _flags(compare(operand))
