"""Steps that drop: columns, duplicate rows and rows with missing values."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import pandas as pd

from core.prep.steps.frames import _keep_rows
from core.prep.steps.registry import REQUIRED, Cleaned, Param, cleaning_step
from core.prep.steps.wording import _names, _rows

DROPS_ALL_COLUMNS = "This step would remove every column; keep at least one."


def _keeps_a_column(params: dict[str, Any], columns: Mapping[str, str]) -> list[str]:
    return [DROPS_ALL_COLUMNS] if set(columns) <= set(params["columns"]) else []


@cleaning_step(
    "drop_columns",
    label="Drop columns",
    params={"columns": Param("columns", REQUIRED, "the columns to remove")},
    describe=lambda p: f"Drop columns {_names(p['columns'])}",
    check=_keeps_a_column,
)
def _drop_columns(frame: pd.DataFrame, *, columns: list[str]) -> Cleaned:
    out = frame.drop(columns=list(columns))
    noun = "column" if len(columns) == 1 else "columns"
    return Cleaned(out, f"Dropped {len(columns)} {noun}: {_names(columns)}.")


def _describe_duplicates(params: dict[str, Any]) -> str:
    columns = params["columns"]
    which = "duplicate rows" if columns is None else f"rows that repeat {_names(columns)}"
    return f"Drop {which}, keeping the {params['keep']}"


@cleaning_step(
    "drop_duplicates",
    label="Drop duplicate rows",
    params={
        "columns": Param("columns", None, "compare only these columns (null: all columns)"),
        "keep": Param("choice", "first", "which copy to keep", choices=("first", "last")),
    },
    describe=_describe_duplicates,
)
def _drop_duplicates(
    frame: pd.DataFrame, *, columns: list[str] | None, keep: Literal["first", "last"]
) -> Cleaned:
    duplicated = frame.duplicated(subset=None if columns is None else list(columns), keep=keep)
    out = _keep_rows(frame, ~duplicated.to_numpy())
    compared = "" if columns is None else f" (compared on {_names(columns)})"
    dropped = len(frame) - len(out)
    rows = "duplicate row" if dropped == 1 else "duplicate rows"
    return Cleaned(out, f"Dropped {dropped:,} {rows}{compared}, keeping the {keep} of each.")


def _describe_missing(params: dict[str, Any]) -> str:
    columns, how = params["columns"], params["how"]
    if columns is None:
        return (
            "Drop rows with a missing value"
            if how == "any"
            else "Drop rows with every value missing"
        )
    if len(columns) == 1:
        return f"Drop rows where {columns[0]} is missing"
    return f"Drop rows where {how} of {_names(columns)} {'is' if how == 'any' else 'are'} missing"


@cleaning_step(
    "drop_missing",
    label="Drop rows with missing values",
    params={
        "columns": Param("columns", None, "look only at these columns (null: all columns)"),
        "how": Param("choice", "any", "drop when any or all of them are missing", ("any", "all")),
    },
    describe=_describe_missing,
)
def _drop_missing(
    frame: pd.DataFrame, *, columns: list[str] | None, how: Literal["any", "all"]
) -> Cleaned:
    missing = frame.isna() if columns is None else frame[list(columns)].isna()
    drop = missing.any(axis=1) if how == "any" else missing.all(axis=1)
    out = _keep_rows(frame, ~drop.to_numpy())
    return Cleaned(out, _missing_note(len(frame) - len(out), columns, how))


def _missing_note(dropped: int, columns: list[str] | None, how: str) -> str:
    rows = _rows(dropped)
    if columns is None:
        return (
            f"Dropped {rows} with {'a missing value' if how == 'any' else 'every value missing'}."
        )
    if len(columns) == 1:
        return f"Dropped {rows} with a missing {columns[0]}."
    return f"Dropped {rows} with {how} of {_names(columns)} missing."
