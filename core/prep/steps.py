"""Row-level cleaning steps: a registry of small JSON-described steps that each make a new frame."""

from __future__ import annotations

import difflib
import json
import math
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, NamedTuple, TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pandas.api.types import (
    infer_dtype,
    is_bool_dtype,
    is_datetime64_any_dtype,
    is_float_dtype,
    is_integer_dtype,
    is_numeric_dtype,
    is_object_dtype,
)

ColumnKind = Literal["numeric", "string", "datetime", "bool"]
ParamType = Literal[
    "column", "columns", "choice", "number", "integer", "text", "text_list", "mapping", "value"
]

KIND_WORDS: dict[str, str] = {
    "numeric": "numbers",
    "string": "text",
    "datetime": "dates",
    "bool": "true/false values",
}
ORDERINGS = (">", ">=", "<", "<=")
EQUALITIES = ("==", "!=")
LIST_OPERATORS = ("in", "not_in")
MISSING_OPERATORS = ("is_missing", "not_missing")
TEXT_OPERATORS = ("contains", "starts_with")
OPERATORS = EQUALITIES + ORDERINGS + LIST_OPERATORS + MISSING_OPERATORS + TEXT_OPERATORS
IQR_FACTOR = 1.5
ZSCORE_FACTOR = 3.0
CONTAMINATION = 0.01
MAX_CONTAMINATION = 0.5
FOREST_SAMPLE_ROWS = 100_000
FOREST_MIN_ROWS = 10
FOREST_TREES = 100
MAX_SEED = 2**32 - 1
TRUE_WORDS = ("true", "yes", "y", "1", "t")
FALSE_WORDS = ("false", "no", "n", "0", "f")
STRIP_CHARACTERS = "$€£¥% "
ACCOUNTING_NEGATIVE = r"^\((.*)\)$"
PLAIN_NUMBER = r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$"
MAX_EXACT_INTEGER = 2**53
DATE_CODES = {
    "%Y": "year",
    "%m": "month",
    "%d": "day",
    "%H": "hour",
    "%M": "minute",
    "%S": "second",
}
DATE_DEFAULTS = {"year": 1900, "month": 1, "day": 1, "hour": 0, "minute": 0, "second": 0}
MIN_DATE_YEAR, MAX_DATE_YEAR = 1678, 2261  # whole years that fit datetime64[ns]
SHOW_MAX = 60

NOT_A_STEP = (
    'A cleaning step must be a JSON object with a "step" name, such as'
    ' {"step": "drop_missing", "columns": ["income"]}; fix the recipe.'
)
UNKNOWN_STEP = "There is no cleaning step called ‘{name}’; use one of: {valid}."
EXTRA_PARAM = "{step} has no setting ‘{param}’; its settings are: {valid}. Remove it."
MISSING_PARAM = "{step} needs ‘{param}’ ({help}); add it."
WRONG_TYPE = "‘{param}’ of {step} must be {expected}, not {value}."
BAD_CHOICE = "‘{param}’ of {step} must be one of {choices}, not {value}."
NO_COLUMNS = "‘{param}’ of {step} lists no columns; pick at least one."
REPEATED_COLUMN = "‘{param}’ of {step} lists ‘{column}’ more than once; list it once."
UNKNOWN_COLUMN = (
    "There is no column ‘{column}’ in this dataset{suggestion}; pick one of its columns."
)
CLOSE_MATCHES = " (did you mean {names}?)"
WRONG_KIND = "‘{column}’ holds {holds}, but {step} works on {needs} only; pick another column{fix}."
PARSE_NUMBERS_FIRST = ", or turn its text into numbers with parse_numbers first"
DROPS_ALL_ROWS = "This step would remove all {rows:,} rows; loosen the condition."
DROPS_ONLY_ROW = "This step would remove the only row; loosen the condition."
DROPS_ALL_COLUMNS = "This step would remove every column; keep at least one."
BAD_DATE_FORMAT = (
    "‘{format}’ is not a date format this studio can read ({reason}); write it with strftime"
    " codes such as %Y-%m-%d or %d/%m/%Y %H:%M."
)
DATE_FORMAT_READS_NOTHING = (
    "The format ‘{format}’ reads none of the {count:,} values in ‘{column}’ (for example"
    " ‘{example}’); write the format those values use, e.g. %d/%m/%Y for 31/01/2024."
)
NUMBERS_READ_NOTHING = (
    "None of the {count:,} values in ‘{column}’ reads as a number (for example ‘{example}’);"
    " check the thousands separator, the decimal mark and the characters to remove."
)
BOOLEANS_READ_NOTHING = (
    "None of the {count:,} values in ‘{column}’ is a true or false word (for example"
    " ‘{example}’); add its words to true_values or false_values."
)
NO_BOOLEAN_WORDS = "‘{param}’ of parse_booleans is empty; list at least one word."
BOTH_TRUE_AND_FALSE = "‘{word}’ is listed as both true and false; keep it in only one list."
BAD_DECIMAL = "The decimal mark must be one character, not {value}; use . or ,."
BAD_THOUSANDS = "The thousands separator must be one character or empty, not {value}."
SAME_SEPARATORS = (
    "The thousands separator and the decimal mark are both ‘{mark}’; make them differ."
)
STRIPS_DECIMAL = "‘strip’ would remove the decimal mark ‘{mark}’; take it out of strip."
EMPTY_MAPPING = "rename needs at least one column to rename, as {{old name: new name}}."
EMPTY_NEW_NAME = "The new name for ‘{old}’ is empty; type a name."
RENAME_COLLISION = (
    "Renaming would leave two columns called ‘{name}’; choose a name no other column has."
)
NO_BOUNDS = "clip needs a lower bound, an upper bound or both; with neither it does nothing."
BOUNDS_ORDER = "The lower bound ({lower:g}) is above the upper bound ({upper:g}); swap them."
QUANTILE_RANGE = "‘{param}’ must be between 0 and 1, not {value:g}."
QUANTILE_ORDER = (
    "The lower quantile ({lower:g}) must be below the upper quantile ({upper:g}); swap them."
)
FACTOR_NOT_POSITIVE = "‘factor’ must be above 0, not {value:g}; 1.5 (IQR) or 3 (z-score) is usual."
CONTAMINATION_RANGE = (
    "‘contamination’ is the share of rows expected to be outliers: above 0 and at most 0.5, not"
    " {value:g}."
)
SEED_RANGE = "‘seed’ must be a whole number from 0 to 4,294,967,295, not {value}."
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

_TYPE_WORDS: dict[str, str] = {
    "column": "a column name",
    "columns": "a list of column names",
    "choice": "one of its choices",
    "number": "a finite number",
    "integer": "a whole number",
    "text": "text",
    "text_list": "a list of text values",
    "mapping": "an object of old name → new name",
    "value": "a value or a list of values",
}


class StepError(ValueError):
    """A cleaning step that cannot run; the message says what was wrong and what to do."""


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()


@dataclass(frozen=True)
class Param:
    """One setting of a step: its type, default (``REQUIRED`` if it must be given) and help.

    ``choices`` limits a ``choice``; ``kinds`` limits which column kinds a column setting accepts
    (empty: any). ``None`` is accepted exactly when the default is ``None``.
    """

    type: ParamType
    default: Any
    help: str
    choices: tuple[str, ...] = ()
    kinds: tuple[ColumnKind, ...] = ()

    @property
    def required(self) -> bool:
        return self.default is REQUIRED


class Cleaned(NamedTuple):
    """What a step function returns: the new frame and one sentence for the user."""

    frame: pd.DataFrame
    note: str


StepFunction = Callable[..., Cleaned]
CheckFunction = Callable[[dict[str, Any], Mapping[str, str]], list[str]]
Describe = Callable[[dict[str, Any]], str]
F = TypeVar("F", bound=StepFunction)


@dataclass(frozen=True)
class StepKind:
    """A registered step: its name, its label in the user's words, its settings and code."""

    name: str
    label: str
    params: Mapping[str, Param]
    function: StepFunction
    describe: Describe
    check: CheckFunction | None = None


@dataclass(frozen=True, eq=False)
class StepOutcome:
    """The frame a step produced and what it did to rows and columns.

    ``frame`` may share unchanged columns with the input; copy it before writing into it.
    """

    frame: pd.DataFrame
    rows_before: int
    rows_after: int
    columns_added: tuple[str, ...]
    columns_removed: tuple[str, ...]
    note: str

    @property
    def rows_dropped(self) -> int:
        return self.rows_before - self.rows_after


CLEANING_STEPS: dict[str, StepKind] = {}


def cleaning_step(
    name: str,
    *,
    label: str,
    params: Mapping[str, Param],
    describe: Describe,
    check: CheckFunction | None = None,
) -> Callable[[F], F]:
    """Register ``function(frame, **params) -> Cleaned`` as step ``name``.

    ``describe`` turns resolved settings into a phrase; ``check`` adds problems that generic
    setting and column checks cannot see (it runs only when those pass).
    """

    def register(function: F) -> F:
        CLEANING_STEPS[name] = StepKind(name, label, dict(params), function, describe, check)
        return function

    return register


# --- public entry points -------------------------------------------------------------------


def apply_step(frame: pd.DataFrame, step: dict[str, Any]) -> StepOutcome:
    """Check ``step`` against ``frame`` and run it; the input frame is never changed."""
    problems = check_step(step, columns=FrameKinds(frame))
    if problems:
        raise StepError(" ".join(problems))
    kind = CLEANING_STEPS[step["step"]]
    cleaned = kind.function(frame, **_resolved(kind, step))
    _refuse_empty(rows_before=len(frame), rows_after=len(cleaned.frame))
    return StepOutcome(
        frame=cleaned.frame,
        rows_before=len(frame),
        rows_after=len(cleaned.frame),
        columns_added=_names_not_in(cleaned.frame.columns, frame.columns),
        columns_removed=_names_not_in(frame.columns, cleaned.frame.columns),
        note=cleaned.note,
    )


def check_step(step: dict[str, Any], *, columns: Mapping[str, str]) -> list[str]:
    """Problems with ``step`` found without running it; ``columns`` maps name → column kind."""
    if not isinstance(step, dict) or not isinstance(step.get("step"), str):
        return [NOT_A_STEP]
    kind = CLEANING_STEPS.get(step["step"])
    if kind is None:
        return [UNKNOWN_STEP.format(name=step["step"], valid=", ".join(CLEANING_STEPS))]
    problems = _param_problems(kind, step)
    if problems:
        return problems
    params = _resolved(kind, step)
    problems = _column_problems(kind, params, columns)
    if problems or kind.check is None:
        return problems
    return kind.check(params, columns)


def describe_step(step: dict[str, Any]) -> str:
    """The step in the user's words, e.g. "Drop rows where annual_income is missing"."""
    if not isinstance(step, dict) or not isinstance(step.get("step"), str):
        return "Unreadable step"
    kind = CLEANING_STEPS.get(step["step"])
    if kind is None:
        return f"Unknown step ‘{step['step']}’"
    if _param_problems(kind, step):
        return f"{kind.label} (settings need fixing)"
    return kind.describe(_resolved(kind, step))


def column_kind(series: pd.Series) -> ColumnKind:
    """How steps treat a column: numbers, text, dates or true/false values."""
    dtype = series.dtype
    if is_bool_dtype(dtype):
        return "bool"
    if is_datetime64_any_dtype(dtype):
        return "datetime"
    if is_numeric_dtype(dtype):
        return "numeric"
    if is_object_dtype(dtype) and infer_dtype(series, skipna=True) == "boolean":
        return "bool"
    return "string"


class FrameKinds(Mapping[str, str]):
    """A frame's column kinds, worked out only for the columns a check asks about."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self._frame = frame
        self._names = [str(name) for name in frame.columns]
        self._kinds: dict[str, str] = {}

    def __getitem__(self, name: str) -> str:
        if name not in self._kinds:
            if name not in self._names:
                raise KeyError(name)
            self._kinds[name] = column_kind(self._frame[name])
        return self._kinds[name]

    def __contains__(self, name: object) -> bool:
        return name in self._names

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


def column_kinds(frame: pd.DataFrame) -> dict[str, str]:
    """Every column's kind, as ``check_step`` wants them."""
    return dict(FrameKinds(frame))


# --- generic checks ------------------------------------------------------------------------


def _resolved(kind: StepKind, step: dict[str, Any]) -> dict[str, Any]:
    return {name: step.get(name, param.default) for name, param in kind.params.items()}


def _param_problems(kind: StepKind, step: dict[str, Any]) -> list[str]:
    given = {name: value for name, value in step.items() if name != "step"}
    valid = ", ".join(kind.params)
    extra = [
        EXTRA_PARAM.format(step=kind.name, param=name, valid=valid)
        for name in given
        if name not in kind.params
    ]
    missing = [
        MISSING_PARAM.format(step=kind.name, param=name, help=param.help)
        for name, param in kind.params.items()
        if param.required and name not in given
    ]
    wrong = [
        problem
        for name, value in given.items()
        if name in kind.params
        for problem in _value_problems(kind, name, value)
    ]
    return extra + missing + wrong


def _value_problems(kind: StepKind, name: str, value: Any) -> list[str]:
    param = kind.params[name]
    if value is None and param.default is None:
        return []
    if not _TYPE_CHECKS[param.type](value):
        expected = _TYPE_WORDS[param.type]
        return [
            WRONG_TYPE.format(param=name, step=kind.name, expected=expected, value=_show(value))
        ]
    if param.choices and value not in param.choices:
        choices = ", ".join(param.choices)
        return [BAD_CHOICE.format(param=name, step=kind.name, choices=choices, value=_show(value))]
    if param.type == "columns":
        return _column_list_problems(kind.name, name, value)
    return []


def _column_list_problems(step: str, param: str, columns: Sequence[str]) -> list[str]:
    if not columns:
        return [NO_COLUMNS.format(param=param, step=step)]
    repeated = sorted({column for column in columns if list(columns).count(column) > 1})
    return [REPEATED_COLUMN.format(param=param, step=step, column=c) for c in repeated]


def _is_number(value: Any) -> bool:
    try:
        return _is_real(value) and math.isfinite(value)
    except OverflowError:  # an int too large for a float
        return False


def _is_real(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_integer(value: Any) -> bool:
    return _is_number(value) and float(value).is_integer()


def _is_text_list(value: Any) -> bool:
    return isinstance(value, list | tuple) and all(isinstance(item, str) for item in value)


def _is_mapping(value: Any) -> bool:
    return isinstance(value, dict) and all(
        isinstance(key, str) and isinstance(item, str) for key, item in value.items()
    )


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | bool) or _is_number(value)


def _is_value(value: Any) -> bool:
    if isinstance(value, list | tuple):
        return all(_is_scalar(item) for item in value)
    return _is_scalar(value)


_TYPE_CHECKS: dict[str, Callable[[Any], bool]] = {
    "column": lambda value: isinstance(value, str),
    "columns": _is_text_list,
    "choice": lambda value: isinstance(value, str),
    "number": _is_number,
    "integer": _is_integer,
    "text": lambda value: isinstance(value, str),
    "text_list": _is_text_list,
    "mapping": _is_mapping,
    "value": _is_value,
}


def _column_problems(
    kind: StepKind, params: dict[str, Any], columns: Mapping[str, str]
) -> list[str]:
    problems = []
    for name, param in kind.params.items():
        if param.type not in ("column", "columns") or params[name] is None:
            continue
        chosen = [params[name]] if param.type == "column" else params[name]
        problems += [p for column in chosen for p in _column_problem(kind, param, column, columns)]
    return problems


def _column_problem(
    kind: StepKind, param: Param, column: str, columns: Mapping[str, str]
) -> list[str]:
    if column not in columns:
        return [unknown_column(column, columns=list(columns))]
    holds = columns[column]
    if not param.kinds or holds in param.kinds or holds not in KIND_WORDS:
        return []
    needs = _either([KIND_WORDS[k] for k in param.kinds])
    fix = PARSE_NUMBERS_FIRST if holds == "string" and "numeric" in param.kinds else ""
    return [
        WRONG_KIND.format(
            column=column, holds=KIND_WORDS[holds], step=kind.name, needs=needs, fix=fix
        )
    ]


def unknown_column(column: str, *, columns: Sequence[str]) -> str:
    """The message for a column that is not there, naming the closest real ones."""
    matches = difflib.get_close_matches(column, list(columns), n=3, cutoff=0.6)
    folded = [name for name in columns if name.casefold().strip() == column.casefold().strip()]
    close = list(dict.fromkeys(folded + matches))[:3]
    suggestion = CLOSE_MATCHES.format(names=_or_list(close)) if close else ""
    return UNKNOWN_COLUMN.format(column=column, suggestion=suggestion)


def _refuse_empty(*, rows_before: int, rows_after: int) -> None:
    if rows_before and not rows_after:
        raise StepError(
            DROPS_ONLY_ROW if rows_before == 1 else DROPS_ALL_ROWS.format(rows=rows_before)
        )


# --- small shared pieces -------------------------------------------------------------------


def _show(value: Any) -> str:
    """A setting value as the user wrote it in JSON, shortened."""
    text = json.dumps(value, ensure_ascii=False, default=repr)
    return text if len(text) <= SHOW_MAX else text[: SHOW_MAX - 1] + "…"


def _or_list(names: Sequence[str]) -> str:
    return _either([f"‘{name}’" for name in names])


def _either(words: Sequence[str]) -> str:
    """'a', 'a or b', 'a, b or c'."""
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def _names(columns: Sequence[str]) -> str:
    return ", ".join(columns)


def _rows(count: int) -> str:
    return f"{count:,} row" if count == 1 else f"{count:,} rows"


def _values(count: int) -> str:
    return f"{count:,} value" if count == 1 else f"{count:,} values"


def _names_not_in(names: pd.Index, others: pd.Index) -> tuple[str, ...]:
    other = set(others)
    return tuple(str(name) for name in names if name not in other)


def _keep_rows(frame: pd.DataFrame, keep: np.ndarray) -> pd.DataFrame:
    return frame.iloc[np.flatnonzero(keep)].reset_index(drop=True)


def _with_column(frame: pd.DataFrame, column: str, values: Any) -> pd.DataFrame:
    out = frame.copy(deep=False)
    out[column] = values
    return out


def _as_text(values: pd.Series) -> pd.Series:
    """Each (non-missing) value as text, numbered from 0; whole floats lose their ``.0``."""
    text = values.astype(str).reset_index(drop=True)
    if is_float_dtype(values.dtype):
        text = text.str.replace(r"\.0$", "", regex=True)
    return text


def _floats(series: pd.Series) -> np.ndarray:
    return series.to_numpy(dtype=float, na_value=np.nan)


# --- steps: dropping -----------------------------------------------------------------------


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


# --- steps: outliers -----------------------------------------------------------------------


def _check_outliers(params: dict[str, Any], columns: Mapping[str, str]) -> list[str]:
    problems = []
    factor, contamination, seed = params["factor"], params["contamination"], params["seed"]
    if factor is not None and factor <= 0:
        problems.append(FACTOR_NOT_POSITIVE.format(value=factor))
    if not 0 < contamination <= MAX_CONTAMINATION:
        problems.append(CONTAMINATION_RANGE.format(value=contamination))
    if not 0 <= seed <= MAX_SEED:
        problems.append(SEED_RANGE.format(value=seed))
    return problems


def _outlier_rule(method: str, factor: float | None, contamination: float) -> str:
    if method == "iqr":
        return f"beyond {_factor(method, factor):g} × IQR from the quartiles"
    if method == "zscore":
        return f"more than {_factor(method, factor):g} standard deviations from the mean"
    return f"isolation forest, {contamination * 100:g}% contamination"


def _factor(method: str, factor: float | None) -> float:
    if factor is not None:
        return float(factor)
    return IQR_FACTOR if method == "iqr" else ZSCORE_FACTOR


@cleaning_step(
    "filter_outliers",
    label="Filter outliers",
    params={
        "columns": Param("columns", REQUIRED, "numeric columns to look at", kinds=("numeric",)),
        "method": Param(
            "choice", "iqr", "how to spot outliers", ("iqr", "zscore", "isolation_forest")
        ),
        "factor": Param("number", None, "threshold (null: 1.5 for iqr, 3.0 for zscore)"),
        "contamination": Param("number", CONTAMINATION, "isolation forest: share of outliers"),
        "seed": Param("integer", 0, "isolation forest: random seed"),
    },
    describe=lambda p: (
        f"Drop rows with outliers in {_names(p['columns'])}"
        f" ({_outlier_rule(p['method'], p['factor'], p['contamination'])})"
    ),
    check=_check_outliers,
)
def _filter_outliers(
    frame: pd.DataFrame,
    *,
    columns: list[str],
    method: str,
    factor: float | None,
    contamination: float,
    seed: int,
) -> Cleaned:
    """Drop rows with an outlier in any column; missing values are kept, ±inf always counts."""
    if method == "isolation_forest":
        outlier = _forest_outliers(frame, list(columns), contamination, int(seed))
    else:
        outlier = np.zeros(len(frame), dtype=bool)
        for column in columns:
            outlier |= _column_outliers(_floats(frame[column]), method, _factor(method, factor))
    out = _keep_rows(frame, ~outlier)
    rule = _outlier_rule(method, factor, contamination)
    note = f"Dropped {_rows(int(outlier.sum()))} with outliers in {_names(columns)} ({rule})"
    return Cleaned(out, note + "; rows with missing values were kept.")


def _column_outliers(values: np.ndarray, method: str, factor: float) -> np.ndarray:
    finite = values[np.isfinite(values)]
    lower, upper = _outlier_bounds(finite, method, factor)
    return np.isinf(values) | (values < lower) | (values > upper)


def _outlier_bounds(finite: np.ndarray, method: str, factor: float) -> tuple[float, float]:
    """Bounds outside which a finite value is an outlier; no spread means no outliers."""
    if finite.size == 0:
        return -np.inf, np.inf
    with np.errstate(over="ignore", invalid="ignore"):
        if method == "iqr":
            q1, q3 = np.percentile(finite, [25, 75])
            return q1 - factor * (q3 - q1), q3 + factor * (q3 - q1)
        mean, std = finite.mean(), finite.std()
    if not std > np.finfo(float).eps * 16 * abs(mean):
        return -np.inf, np.inf
    return mean - factor * std, mean + factor * std


def _forest_outliers(
    frame: pd.DataFrame, columns: list[str], contamination: float, seed: int
) -> np.ndarray:
    """Isolation forest on complete rows (fit on a seeded sample); others are kept unless ±inf."""
    values = frame[columns].to_numpy(dtype=float, na_value=np.nan)
    outlier = np.isinf(values).any(axis=1)
    complete = np.flatnonzero(np.isfinite(values).all(axis=1))
    if complete.size < FOREST_MIN_ROWS:
        return outlier
    data = _unit_scaled(values[complete])
    outlier[complete] = _forest(data, contamination, seed).predict(data) == -1
    return outlier


def _unit_scaled(data: np.ndarray) -> np.ndarray:
    """Each column divided by its largest magnitude, so float32 inside the forest cannot overflow.

    Isolation forests split uniformly between a feature's min and max, so scaling does not change
    which rows they isolate.
    """
    scale = np.abs(data).max(axis=0)
    scale[scale == 0] = 1.0
    return data / scale


def _forest(data: np.ndarray, contamination: float, seed: int) -> Any:
    from sklearn.ensemble import IsolationForest  # import on use: sklearn is slow to import

    sample = data
    if len(data) > FOREST_SAMPLE_ROWS:
        rows = np.random.default_rng(seed).choice(len(data), FOREST_SAMPLE_ROWS, replace=False)
        sample = data[rows]
    forest = IsolationForest(
        n_estimators=FOREST_TREES, contamination=contamination, random_state=seed
    )
    return forest.fit(sample)


# --- steps: fixing types -------------------------------------------------------------------


@dataclass(frozen=True)
class _Distinct:
    """A column as its distinct values written as text, plus which one each row holds.

    Parsing the distinct values only (then spreading the results back to the rows) is what keeps
    the parse steps fast on long columns with few distinct values.
    """

    codes: np.ndarray
    text: pd.Series
    arrow: pa.Array
    given: np.ndarray  # which distinct values are more than blank space

    @classmethod
    def of(cls, series: pd.Series) -> _Distinct:
        codes, uniques = pd.factorize(series)
        text = _as_text(pd.Series(uniques))
        arrow = pa.array(text, type=pa.string())
        blank = _flags_of(pc.equal(pc.utf8_length(pc.utf8_trim_whitespace(arrow)), 0))
        return cls(codes, text, arrow, ~blank)

    def rows(self, flags: np.ndarray) -> int:
        """How many rows hold one of the flagged distinct values."""
        return int(flags[self.codes[self.codes >= 0]].sum())

    def spread(self, values: np.ndarray, missing: Any) -> np.ndarray:
        rows = np.full(len(self.codes), missing, dtype=values.dtype)
        seen = self.codes >= 0
        rows[seen] = values[self.codes[seen]]
        return rows

    def example(self, flags: np.ndarray) -> str:
        return str(self.text[flags].iloc[0])[:SHOW_MAX]


def _refuse_unreadable(
    message: str, column: str, distinct: _Distinct, failed: np.ndarray, **extra: Any
) -> None:
    """Raise when values were given but not one of them could be read."""
    given = distinct.rows(distinct.given)
    if given and distinct.rows(failed) == given:
        example = distinct.example(failed)
        raise StepError(message.format(column=column, count=given, example=example, **extra))


def _read_note(done: str, unread: int, why: str) -> str:
    """'Read x as …' plus how many values could not be read and became missing."""
    if not unread:
        return done + "."
    return f"{done}; {_values(unread)} {why} and {'is' if unread == 1 else 'are'} now missing."


def _check_date_format(params: dict[str, Any], columns: Mapping[str, str]) -> list[str]:
    if "%" not in params["format"]:
        return [BAD_DATE_FORMAT.format(format=params["format"], reason="it has no % codes")]
    return []


@cleaning_step(
    "parse_dates",
    label="Parse dates from text",
    params={
        "column": Param(
            "column", REQUIRED, "the column to read", kinds=("string", "numeric", "datetime")
        ),
        "format": Param("text", REQUIRED, "strftime format, e.g. %Y-%m-%d"),
    },
    describe=lambda p: f"Read {p['column']} as dates in the format {p['format']}",
    check=_check_date_format,
)
def _parse_dates(frame: pd.DataFrame, *, column: str, format: str) -> Cleaned:
    """Values that do not match become missing and are counted; matching none is an error."""
    if column_kind(frame[column]) == "datetime":
        return Cleaned(frame.copy(), f"{column} already holds dates; nothing changed.")
    distinct = _Distinct.of(frame[column])
    dates = _to_datetime(distinct.text, distinct.arrow, format)
    failed = distinct.given & dates.isna().to_numpy()
    _refuse_unreadable(DATE_FORMAT_READS_NOTHING, column, distinct, failed, format=format)
    note = _read_note(f"Read {column} as dates ({format})", distinct.rows(failed), "did not match")
    rows = dates.array.take(distinct.codes, allow_fill=True)
    return Cleaned(_with_column(frame, column, rows), note)


def _to_datetime(text: pd.Series, arrow: pa.Array, format: str) -> pd.Series:
    """Distinct texts as dates, NaT where they do not match; Arrow reads the easy ones fast."""
    utc = "%z" in format or "%Z" in format
    exact = None if utc else _exact_dates(arrow, format)
    if exact is None:
        return _pandas_dates(text, format, utc=utc)
    rest = np.isnat(exact)
    if rest.any():
        exact[rest] = _pandas_dates(text[rest], format, utc=False).to_numpy("datetime64[ns]")
    return pd.Series(exact)


def _pandas_dates(text: pd.Series, format: str, *, utc: bool) -> pd.Series:
    # %z values may carry different offsets; pandas only accepts that when converting to UTC
    try:
        return pd.to_datetime(text, format=format, errors="coerce", utc=utc)
    except (ValueError, TypeError) as error:
        raise StepError(BAD_DATE_FORMAT.format(format=format, reason=error)) from error


def _exact_dates(values: pa.Array, format: str) -> np.ndarray | None:
    """Zero-padded values of a plain numeric format, read by Arrow; NaT where it is not sure.

    Arrow's strptime rolls 2024-02-30 over to March 1st, so a value is taken only when each
    field Arrow read equals the digits written in the text; everything else (including formats
    this does not cover, which give None) is left to pandas, whose results are the reference.
    """
    layout = _date_layout(format)
    if layout is None:
        return None
    pattern, spans = layout
    shaped = pc.if_else(pc.match_substring_regex(values, pattern), values, None)
    stamps = pc.strptime(shaped, format=format, unit="s", error_is_null=True)
    year = pc.year(stamps)
    exact = pc.and_(pc.greater_equal(year, MIN_DATE_YEAR), pc.less_equal(year, MAX_DATE_YEAR))
    for field, default in DATE_DEFAULTS.items():
        written = _date_field(shaped, spans[field]) if field in spans else default
        exact = pc.and_(exact, pc.equal(getattr(pc, field)(stamps), written))
    chosen = pc.if_else(pc.fill_null(exact, False), stamps, None)
    return np.array(pc.cast(chosen, pa.timestamp("ns")).to_numpy(zero_copy_only=False))


def _date_layout(format: str) -> tuple[str, dict[str, tuple[int, int]]] | None:
    """A fixed-width pattern for a simple format's values, and where each field's digits sit.

    Only %Y %m %d %H %M %S (once each) and ASCII non-digit literals qualify; others give None.
    """
    pattern, spans, position = "^", {}, 0
    for part in filter(None, re.split("(%.)", format)):
        field = DATE_CODES.get(part)
        if field is not None and field not in spans:
            width = 4 if field == "year" else 2
            spans[field] = (position, position + width)
            pattern, position = pattern + f"[0-9]{{{width}}}", position + width
        elif part.isascii() and not any(c.isdigit() or c == "%" for c in part):
            pattern, position = pattern + _literal(part), position + len(part)
        else:
            return None
    return pattern + "$", spans


def _date_field(values: pa.Array, span: tuple[int, int]) -> pa.Array:
    return pc.cast(pc.utf8_slice_codeunits(values, span[0], span[1]), pa.int64())


def _literal(text: str) -> str:
    """``text`` as an RE2 pattern matching exactly it, each character written as a code point."""
    return "".join(f"\\x{{{ord(character):x}}}" for character in text)


def _check_separators(params: dict[str, Any], columns: Mapping[str, str]) -> list[str]:
    thousands, decimal, strip = params["thousands"], params["decimal"], params["strip"]
    if len(decimal) != 1:
        return [BAD_DECIMAL.format(value=_show(decimal))]
    if len(thousands) > 1:
        return [BAD_THOUSANDS.format(value=_show(thousands))]
    if thousands == decimal:
        return [SAME_SEPARATORS.format(mark=decimal)]
    return [STRIPS_DECIMAL.format(mark=decimal)] if decimal in strip else []


@cleaning_step(
    "parse_numbers",
    label="Parse numbers from text",
    params={
        "column": Param("column", REQUIRED, "the column to read", kinds=("string", "numeric")),
        "thousands": Param("text", ",", "thousands separator to drop (empty: none)"),
        "decimal": Param("text", ".", "decimal mark"),
        "strip": Param("text", STRIP_CHARACTERS, "characters to remove, such as currency signs"),
    },
    describe=lambda p: f"Read {p['column']} as numbers",
    check=_check_separators,
)
def _parse_numbers(
    frame: pd.DataFrame, *, column: str, thousands: str, decimal: str, strip: str
) -> Cleaned:
    """'$1,234.50' → 1234.5, '(12)' → -12; unreadable values become missing and are counted.

    The column becomes int64 when every value is a whole number, float64 otherwise.
    """
    if column_kind(frame[column]) == "numeric":
        return Cleaned(frame.copy(), f"{column} already holds numbers; nothing changed.")
    distinct = _Distinct.of(frame[column])
    numbers = _read_numbers(distinct.arrow, thousands=thousands, decimal=decimal, strip=strip)
    failed = distinct.given & np.isnan(numbers)
    _refuse_unreadable(NUMBERS_READ_NOTHING, column, distinct, failed)
    note = _read_note(f"Read {column} as numbers", distinct.rows(failed), "could not be read")
    rows = _whole_if_possible(distinct.spread(numbers, np.nan))
    return Cleaned(_with_column(frame, column, rows), note)


def _read_numbers(text: pa.Array, *, thousands: str, decimal: str, strip: str) -> np.ndarray:
    """Finite numbers from text (NaN where unreadable), with Arrow's vectorised string kernels."""
    values = pc.utf8_trim_whitespace(text)
    if strip:
        values = pc.replace_substring_regex(values, _any_of(strip), "")
    values = pc.replace_substring_regex(values, ACCOUNTING_NEGATIVE, r"-\1")
    if thousands:
        values = pc.replace_substring(values, thousands, "")
    if decimal != ".":
        values = pc.replace_substring(values, decimal, ".")
    readable = pc.match_substring_regex(values, PLAIN_NUMBER)
    numbers = pc.cast(pc.if_else(readable, values, None), pa.float64())
    floats = numbers.to_numpy(zero_copy_only=False).astype(float)
    return np.where(np.isfinite(floats), floats, np.nan)


def _any_of(characters: str) -> str:
    """An RE2 class matching any one of ``characters``."""
    return "[" + _literal(characters) + "]"


def _whole_if_possible(values: np.ndarray) -> np.ndarray:
    whole = not np.isnan(values).any() and bool(np.all(np.abs(values) < MAX_EXACT_INTEGER))
    if whole and bool(np.all(values == np.round(values))):
        return values.astype(np.int64)
    return values


def _check_boolean_words(params: dict[str, Any], columns: Mapping[str, str]) -> list[str]:
    problems = [
        NO_BOOLEAN_WORDS.format(param=name)
        for name in ("true_values", "false_values")
        if not params[name]
    ]
    both = set(_words(params["true_values"])) & set(_words(params["false_values"]))
    return problems + [BOTH_TRUE_AND_FALSE.format(word=word) for word in sorted(both)]


def _words(values: Sequence[str]) -> list[str]:
    return sorted({value.strip().lower() for value in values})


@cleaning_step(
    "parse_booleans",
    label="Parse yes/no values",
    params={
        "column": Param(
            "column", REQUIRED, "the column to read", kinds=("string", "numeric", "bool")
        ),
        "true_values": Param("text_list", TRUE_WORDS, "words meaning true (any case)"),
        "false_values": Param("text_list", FALSE_WORDS, "words meaning false (any case)"),
    },
    describe=lambda p: f"Read {p['column']} as true/false",
    check=_check_boolean_words,
)
def _parse_booleans(
    frame: pd.DataFrame, *, column: str, true_values: list[str], false_values: list[str]
) -> Cleaned:
    """Other values become missing and are counted; the column is bool unless some are missing."""
    if column_kind(frame[column]) == "bool":
        return Cleaned(frame.copy(), f"{column} already holds true/false values; nothing changed.")
    distinct = _Distinct.of(frame[column])
    words = pc.utf8_lower(pc.utf8_trim_whitespace(distinct.arrow))
    true = _flags_of(pc.is_in(words, pa.array(_words(true_values), type=pa.string())))
    false = _flags_of(pc.is_in(words, pa.array(_words(false_values), type=pa.string())))
    failed = distinct.given & ~true & ~false
    _refuse_unreadable(BOOLEANS_READ_NOTHING, column, distinct, failed)
    flags = np.full(len(true), None, dtype=object)
    flags[true], flags[false] = True, False
    rows = distinct.spread(flags, None)
    complete = bool(pd.notna(rows).all())
    why = f"matched neither list (e.g. ‘{distinct.example(failed)}’)" if failed.any() else ""
    note = _read_note(f"Read {column} as true/false", distinct.rows(failed), why)
    return Cleaned(_with_column(frame, column, rows.astype(bool) if complete else rows), note)


# --- steps: columns and values -------------------------------------------------------------


def _check_rename(params: dict[str, Any], columns: Mapping[str, str]) -> list[str]:
    mapping: dict[str, str] = params["mapping"]
    if not mapping:
        return [EMPTY_MAPPING]
    problems = [unknown_column(old, columns=list(columns)) for old in mapping if old not in columns]
    problems += [EMPTY_NEW_NAME.format(old=old) for old, new in mapping.items() if not new.strip()]
    names = [mapping.get(name, name) for name in columns]
    repeated = sorted({name for name in names if names.count(name) > 1})
    return problems + [RENAME_COLLISION.format(name=name) for name in repeated]


@cleaning_step(
    "rename",
    label="Rename columns",
    params={"mapping": Param("mapping", REQUIRED, "old name → new name")},
    describe=lambda p: f"Rename {_renames(p['mapping'])}",
    check=_check_rename,
)
def _rename(frame: pd.DataFrame, *, mapping: dict[str, str]) -> Cleaned:
    out = frame.copy(deep=False)
    out.columns = pd.Index([mapping.get(name, name) for name in frame.columns])
    return Cleaned(out, f"Renamed {_renames(mapping)}.")


def _renames(mapping: dict[str, str]) -> str:
    return ", ".join(f"{old} to {new}" for old, new in mapping.items()) or "nothing"


def _check_clip(params: dict[str, Any], columns: Mapping[str, str]) -> list[str]:
    lower, upper = params["lower"], params["upper"]
    if lower is None and upper is None:
        return [NO_BOUNDS]
    if lower is not None and upper is not None and lower > upper:
        return [BOUNDS_ORDER.format(lower=lower, upper=upper)]
    return []


def _range_text(lower: float | None, upper: float | None) -> str:
    if lower is None:
        return f"at most {upper:g}"
    if upper is None:
        return f"at least {lower:g}"
    return f"[{lower:g}, {upper:g}]"


@cleaning_step(
    "clip",
    label="Clip values",
    params={
        "column": Param("column", REQUIRED, "the numeric column to clip", kinds=("numeric",)),
        "lower": Param("number", None, "smallest value to keep (null: no lower bound)"),
        "upper": Param("number", None, "largest value to keep (null: no upper bound)"),
    },
    describe=lambda p: f"Clip {p['column']} to {_range_text(p['lower'], p['upper'])}",
    check=_check_clip,
)
def _clip(frame: pd.DataFrame, *, column: str, lower: float | None, upper: float | None) -> Cleaned:
    clipped = _clip_values(frame[column], lower, upper)
    changed = _changed(frame[column], clipped)
    note = f"Clipped {_values(changed)} of {column} to {_range_text(lower, upper)}."
    return Cleaned(_with_column(frame, column, clipped), note)


def _clip_values(series: pd.Series, lower: float | None, upper: float | None) -> pd.Series:
    """Integer columns stay integer when both bounds are whole numbers they can hold."""
    bounds = [bound for bound in (lower, upper) if bound is not None]
    if _numpy_int(series) and all(_fits(series, bound) for bound in bounds):
        return series.clip(lower=_whole(lower), upper=_whole(upper))
    if is_integer_dtype(series.dtype):
        series = series.astype(float)
    return series.clip(lower=lower, upper=upper)


def _fits(series: pd.Series, bound: float) -> bool:
    info = np.iinfo(series.dtype)
    return float(bound).is_integer() and info.min <= bound <= info.max


def _whole(bound: float | None) -> int | None:
    return None if bound is None else int(bound)


def _numpy_int(series: pd.Series) -> bool:
    return isinstance(series.dtype, np.dtype) and series.dtype.kind in "iu"


def _changed(before: pd.Series, after: pd.Series) -> int:
    return int((before.notna() & (before != after)).sum())


def _check_quantiles(params: dict[str, Any], columns: Mapping[str, str]) -> list[str]:
    lower, upper = params["lower_quantile"], params["upper_quantile"]
    problems = [
        QUANTILE_RANGE.format(param=name, value=params[name])
        for name in ("lower_quantile", "upper_quantile")
        if not 0 <= params[name] <= 1
    ]
    if not problems and lower >= upper:
        problems.append(QUANTILE_ORDER.format(lower=lower, upper=upper))
    return problems


@cleaning_step(
    "winsorize",
    label="Winsorize",
    params={
        "columns": Param("columns", REQUIRED, "numeric columns to cap", kinds=("numeric",)),
        "lower_quantile": Param("number", 0.01, "values below this quantile are raised to it"),
        "upper_quantile": Param("number", 0.99, "values above this quantile are lowered to it"),
    },
    describe=lambda p: (
        f"Cap {_names(p['columns'])} at their {p['lower_quantile']:g}"
        f" and {p['upper_quantile']:g} quantiles"
    ),
    check=_check_quantiles,
)
def _winsorize(
    frame: pd.DataFrame, *, columns: list[str], lower_quantile: float, upper_quantile: float
) -> Cleaned:
    """Quantiles come from finite values, so ±inf are capped too; missing values stay missing."""
    out, changed = frame.copy(deep=False), 0
    for column in columns:
        series = frame[column]
        lower, upper = _quantile_bounds(series, lower_quantile, upper_quantile)
        out[column] = _clip_values(series, lower, upper)
        changed += _changed(series, out[column])
    quantiles = f"{lower_quantile:g}–{upper_quantile:g}"
    note = f"Capped {_values(changed)} in {_names(columns)} to their {quantiles} quantiles."
    return Cleaned(out, note)


def _quantile_bounds(series: pd.Series, lower: float, upper: float) -> tuple[Any, Any]:
    """Linear quantiles of the finite values; integer columns use real values so they stay ints."""
    if _numpy_int(series) and len(series):
        low, high = np.quantile(series.to_numpy(), [lower, upper], method="nearest")
        return int(low), int(high)
    floats = _floats(series)
    finite = floats[np.isfinite(floats)]
    if not finite.size:
        return None, None
    with np.errstate(over="ignore", invalid="ignore"):
        low, high = np.quantile(finite, [lower, upper])
    return (low if np.isfinite(low) else None), (high if np.isfinite(high) else None)


# --- steps: filtering rows -----------------------------------------------------------------


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


def _flags_of(result: pa.Array) -> np.ndarray:
    return np.asarray(pc.fill_null(result, False).to_numpy(zero_copy_only=False), dtype=bool)


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
