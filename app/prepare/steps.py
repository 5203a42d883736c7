"""The Prepare page's step builder: one small form per cleaning step, in the user's words."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from app import state
from core import words

STEP_CHOICES = {
    "Drop duplicate rows": "drop_duplicates",
    "Drop columns": "drop_columns",
    "Drop rows with missing values": "drop_missing",
    "Filter outliers": "filter_outliers",
    "Filter rows by a condition": "filter_rows",
    "Parse dates from text": "parse_dates",
    "Parse numbers from text": "parse_numbers",
    "Parse yes/no values": "parse_booleans",
    "Clip values": "clip",
    "Winsorize": "winsorize",
    "Rename a column": "rename",
}
OPERATORS = [
    "==",
    "!=",
    ">",
    ">=",
    "<",
    "<=",
    "in",
    "not_in",
    "is_missing",
    "not_missing",
    "contains",
    "starts_with",
]


def _key(step: str, param: str) -> str:
    return state.STEP_PARAM.format(step=step, param=param)


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _value(text: str) -> Any:
    number = _number(text)
    return text if number is None else (int(number) if number.is_integer() else number)


def _drop_duplicates(columns: list[str], numeric: list[str]) -> dict[str, Any]:
    subset = st.multiselect(
        "Compare only these columns (empty = all)", columns, key=_key("drop_duplicates", "columns")
    )
    keep = st.radio("Keep", ["first", "last"], horizontal=True, key=_key("drop_duplicates", "keep"))
    return {"columns": subset or None, "keep": keep}


def _drop_columns(columns: list[str], numeric: list[str]) -> dict[str, Any]:
    return {"columns": st.multiselect("Columns to drop", columns, key=_key("drop_columns", "c"))}


def _drop_missing(columns: list[str], numeric: list[str]) -> dict[str, Any]:
    chosen = st.multiselect("Columns (empty = all)", columns, key=_key("drop_missing", "columns"))
    how = st.radio(
        "Drop a row when",
        ["any", "all"],
        horizontal=True,
        format_func=lambda h: f"{h} of them are missing",
        key=_key("drop_missing", "how"),
    )
    return {"columns": chosen or None, "how": how}


def _filter_outliers(columns: list[str], numeric: list[str]) -> dict[str, Any]:
    chosen = st.multiselect("Numeric columns", numeric, key=_key("filter_outliers", "columns"))
    method = st.radio(
        "Method",
        ["iqr", "zscore", "isolation_forest"],
        format_func=words.option,
        horizontal=True,
        key=_key("filter_outliers", "method"),
    )
    if method == "isolation_forest":
        share = st.number_input(
            "Share of rows to treat as outliers",
            0.001,
            0.5,
            0.01,
            step=0.005,
            format="%.3f",
            key=_key("filter_outliers", "cont"),
        )
        return {"columns": chosen, "method": method, "contamination": share}
    default = 1.5 if method == "iqr" else 3.0
    factor = st.number_input(
        "IQR multiple" if method == "iqr" else "Standard deviations",
        0.1,
        20.0,
        default,
        step=0.5,
        key=_key("filter_outliers", method),
    )
    return {"columns": chosen, "method": method, "factor": factor}


def _filter_rows(columns: list[str], numeric: list[str]) -> dict[str, Any]:
    left, middle, right = st.columns([2, 1, 2])
    column = left.selectbox("Column", columns, key=_key("filter_rows", "column"))
    operator = middle.selectbox(
        "Operator", OPERATORS, format_func=words.option, key=_key("filter_rows", "operator")
    )
    if operator in ("is_missing", "not_missing"):
        return {"column": column, "operator": operator, "value": None}
    text = right.text_input(
        "Value (comma-separated for in / not in)", key=_key("filter_rows", "value")
    )
    value: Any = (
        [_value(part.strip()) for part in text.split(",")]
        if "in" in operator.split("_")
        else _value(text)
    )
    return {"column": column, "operator": operator, "value": value}


def _parse_dates(columns: list[str], numeric: list[str]) -> dict[str, Any]:
    column = st.selectbox("Column", columns, key=_key("parse_dates", "column"))
    fmt = st.text_input(
        "Date format (strftime)",
        "%Y-%m-%d",
        key=_key("parse_dates", "format"),
        help="For example %d/%m/%Y or %Y-%m-%d %H:%M",
    )
    return {"column": column, "format": fmt}


def _parse_numbers(columns: list[str], numeric: list[str]) -> dict[str, Any]:
    column = st.selectbox("Column", columns, key=_key("parse_numbers", "column"))
    left, middle, right = st.columns(3)
    thousands = left.text_input("Thousands separator", ",", key=_key("parse_numbers", "t"))
    decimal = middle.text_input("Decimal mark", ".", key=_key("parse_numbers", "d"))
    strip = right.text_input("Characters to remove", "$€£¥% ", key=_key("parse_numbers", "s"))
    return {"column": column, "thousands": thousands, "decimal": decimal, "strip": strip}


def _parse_booleans(columns: list[str], numeric: list[str]) -> dict[str, Any]:
    column = st.selectbox("Column", columns, key=_key("parse_booleans", "column"))
    true_text = st.text_input(
        "Values meaning yes", "true, yes, y, 1, t", key=_key("parse_booleans", "true")
    )
    false_text = st.text_input(
        "Values meaning no", "false, no, n, 0, f", key=_key("parse_booleans", "false")
    )
    return {
        "column": column,
        "true_values": [v.strip() for v in true_text.split(",") if v.strip()],
        "false_values": [v.strip() for v in false_text.split(",") if v.strip()],
    }


def _clip(columns: list[str], numeric: list[str]) -> dict[str, Any]:
    column = st.selectbox("Column", numeric, key=_key("clip", "column"))
    left, right = st.columns(2)
    lower = left.text_input("Lower bound (blank = none)", key=_key("clip", "lower"))
    upper = right.text_input("Upper bound (blank = none)", key=_key("clip", "upper"))
    return {"column": column, "lower": _number(lower), "upper": _number(upper)}


def _winsorize(columns: list[str], numeric: list[str]) -> dict[str, Any]:
    chosen = st.multiselect("Numeric columns", numeric, key=_key("winsorize", "columns"))
    low, high = st.slider(
        "Keep values between these quantiles",
        0.0,
        1.0,
        (0.01, 0.99),
        step=0.005,
        key=_key("winsorize", "range"),
    )
    return {"columns": chosen, "lower_quantile": low, "upper_quantile": high}


def _rename(columns: list[str], numeric: list[str]) -> dict[str, Any]:
    left, right = st.columns(2)
    old = left.selectbox("Column", columns, key=_key("rename", "old"))
    new = right.text_input("New name", key=_key("rename", "new"))
    return {"mapping": {old: new.strip()}}


FORMS: dict[str, Callable[[list[str], list[str]], dict[str, Any]]] = {
    "drop_duplicates": _drop_duplicates,
    "drop_columns": _drop_columns,
    "drop_missing": _drop_missing,
    "filter_outliers": _filter_outliers,
    "filter_rows": _filter_rows,
    "parse_dates": _parse_dates,
    "parse_numbers": _parse_numbers,
    "parse_booleans": _parse_booleans,
    "clip": _clip,
    "winsorize": _winsorize,
    "rename": _rename,
}


def step_form(columns: list[str], numeric: list[str]) -> dict[str, Any] | None:
    """The form for one new step; returns the step when the user clicks Add."""
    label = st.selectbox("Add a cleaning step", list(STEP_CHOICES), key=state.STEP_KIND)
    name = STEP_CHOICES[label]
    params = FORMS[name](columns, numeric)
    if st.button("Add step", type="primary", key=state.STEP_ADD):
        return {"step": name, **params}
    return None
