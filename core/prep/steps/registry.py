"""The cleaning-step registry: the decorator, step specs, the shared checks and running a step."""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple, TypeVar

import pandas as pd
from pandas.api.types import (
    infer_dtype,
    is_bool_dtype,
    is_datetime64_any_dtype,
    is_numeric_dtype,
    is_object_dtype,
)

from core.prep.steps.frames import _names_not_in
from core.prep.steps.wording import _either, _or_list, _show

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
