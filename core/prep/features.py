"""The feature spec: column-level transforms, validated and compiled into an sklearn pipeline."""

from __future__ import annotations

import copy
import difflib
import json
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import (
    MinMaxScaler,
    OneHotEncoder,
    OrdinalEncoder,
    PowerTransformer,
    RobustScaler,
    StandardScaler,
)

from core.data.schema import ColumnSchema
from core.prep.transformers import (
    BIN_STRATEGIES,
    DATE_PARTS,
    DEFAULT_DATE_PARTS,
    Bins,
    CorrelationFilter,
    DateParts,
    FeatureColumns,
    FillCategory,
    KNNImpute,
    MissingFlags,
    MutualInfoSelector,
    PolynomialTerms,
    RareLevels,
    SignedLog,
    TargetEncoding,
    ToFloat,
    ToLevels,
    VarianceFilter,
    level_text,
    onehot_column_name,
)


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

KINDS = ("numeric", "categorical", "datetime")
IMPUTE_CHOICES: dict[str, tuple[str, ...]] = {
    "numeric": ("mean", "median", "most_frequent", "constant", "knn", "none"),
    "categorical": ("most_frequent", "constant", "none"),
    "datetime": ("mean", "median", "most_frequent", "constant", "none"),
}
TRANSFORMS: dict[str, Callable[[], Any]] = {
    "log": SignedLog,
    "yeo_johnson": lambda: PowerTransformer(method="yeo-johnson", standardize=False),
}
SCALERS: dict[str, Callable[[], Any]] = {
    "standard": StandardScaler,
    "minmax": MinMaxScaler,
    "robust": RobustScaler,
}
ENCODINGS = ("onehot", "ordinal", "target")
MISSING_LEVEL = "(missing)"
# What each column may say, by what it is used as (its role decides; "encode" makes a column
# categorical, "date_parts" makes it a date). An option left out takes the value below.
#   impute             how to fill gaps: mean, median, most_frequent, constant (fill_value),
#                      knn (numbers only) or none; +/-inf counts as a gap
#   missing_indicator  add a 0/1 column "<name>__missing"
#   transform          log (sign(x) * log(1 + |x|)) or yeo_johnson, after imputing
#   bins               {"strategy": "quantile" | "uniform", "n_bins": 2..100}: bin numbers
#   scale              standard, minmax or robust, last
#   encode             onehot ("<name>_<level>"), ordinal (-1 = unseen or missing; "order"
#                      lists the levels lowest first) or target (needs a target)
#   min_frequency      levels in fewer rows (share < 1, or a count) group as "(other)"
#   max_categories     at most this many levels per column, "(other)" included
#   date_parts         year, month, day, weekday, hour, days_since ("<name>__<part>")
#   drop               true leaves the column out, like not listing it
DEFAULT_OPTIONS: dict[str, dict[str, Any]] = {
    "numeric": {
        "impute": "median",
        "fill_value": 0.0,
        "missing_indicator": False,
        "transform": "none",
        "scale": "none",
        "bins": None,
    },
    "categorical": {
        "impute": "most_frequent",
        "fill_value": MISSING_LEVEL,
        "missing_indicator": False,
        "encode": "onehot",
        "min_frequency": None,
        "max_categories": None,
        "order": None,
    },
    "datetime": {
        "date_parts": list(DEFAULT_DATE_PARTS),
        "impute": "median",
        "fill_value": 0.0,
        "missing_indicator": False,
        "scale": "none",
    },
}
SELECTION_OPTIONS = ("variance_threshold", "correlation_threshold", "mutual_info_top_k")
INTERACTION_OPTIONS = ("columns", "degree", "interaction_only")
MAX_INTERACTION_TERMS = 500
MAX_BINS = 100

_ALL_OPTIONS = sorted({"drop"} | {name for options in DEFAULT_OPTIONS.values() for name in options})
_NUMERIC_DTYPES = ("int", "uint", "float", "double", "halffloat", "decimal", "bool", "duration")
_DATE_DTYPES = ("timestamp", "date", "time")
_TEXT_DTYPES = ("string", "large_string", "utf8", "large_utf8", "null", "dictionary")


@dataclass(frozen=True)
class _Column:
    """One spec entry resolved against the schema: what it is used as, with every option."""

    name: str
    kind: str
    options: dict[str, Any]
    dropped: bool


# -- defaults --------------------------------------------------------------------------------


def default_feature_spec(schema: list[ColumnSchema], *, target: str | None) -> dict:
    """Sensible defaults by role; id, text and target columns are left out (so dropped)."""
    defaults = {
        "numeric": {
            "impute": "median",
            "missing_indicator": False,
            "transform": "none",
            "scale": "standard",
            "bins": None,
        },
        "categorical": {
            "impute": "most_frequent",
            "encode": "onehot",
            "min_frequency": 0.01,
            "max_categories": 20,
        },
        "datetime": {
            "date_parts": list(DEFAULT_DATE_PARTS),
            "impute": "median",
            "scale": "standard",
        },
    }
    by_role = {
        "numeric": "numeric",
        "categorical": "categorical",
        "boolean": "categorical",
        "datetime": "datetime",
    }
    columns = {
        column.name: copy.deepcopy(defaults[by_role[column.role]])
        for column in schema
        if column.name != target and column.role in by_role
    }
    return {
        "columns": columns,
        "interactions": None,
        "selection": {
            "variance_threshold": 0.0,
            "correlation_threshold": None,
            "mutual_info_top_k": None,
        },
    }


# -- validation ------------------------------------------------------------------------------


def validate_feature_spec(spec: dict, *, schema: list[ColumnSchema], target: str | None) -> None:
    """Raises FeatureSpecError with a message that says what to change; returns None if usable.

    A column that is entirely empty in the data is not an error: its imputer fills it with a
    constant (0 for numbers and dates, the fill level for categories) instead of failing.
    """
    columns = _resolve(spec, schema=schema, target=target)
    kept = [column for column in columns if not column.dropped]
    if not kept:
        raise FeatureSpecError(NO_FEATURES)
    _check_interactions(spec.get("interactions"), kept)
    _check_selection(spec.get("selection"), target=target)


_JSON_KINDS = {dict: "an object", list: "a list", str: "text", bool: "true or false"}


def _found(value: Any) -> str:
    """What a JSON value is, in the words of someone editing JSON."""
    if value is None:
        return "null"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return "a number"
    return _JSON_KINDS.get(type(value), f"a {type(value).__name__}")


def _hint(word: Any, choices: Iterable[Any]) -> str:
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=3, cutoff=0.6)
    if not close:
        return ""
    return " Did you mean " + " or ".join(repr(choice) for choice in close) + "?"


def _resolve(spec: Any, *, schema: list[ColumnSchema], target: str | None) -> list[_Column]:
    if not isinstance(spec, dict):
        raise FeatureSpecError(SPEC_NOT_OBJECT.format(found=_found(spec)))
    if not isinstance(spec.get("columns"), dict):
        raise FeatureSpecError(NO_COLUMNS_SECTION)
    for section in spec:
        if section not in ("columns", "interactions", "selection"):
            raise FeatureSpecError(UNKNOWN_SECTION.format(section=section))
    by_name = {column.name: column for column in schema}
    return [
        _resolve_column(name, options, by_name=by_name, target=target)
        for name, options in spec["columns"].items()
    ]


def _resolve_column(
    name: str, options: Any, *, by_name: dict[str, ColumnSchema], target: str | None
) -> _Column:
    if name not in by_name:
        raise FeatureSpecError(UNKNOWN_COLUMN.format(column=name, hint=_hint(name, by_name)))
    column = by_name[name]
    if name.endswith("\x00"):  # numpy string arrays drop trailing NULs, so the name is lost
        raise FeatureSpecError(UNSELECTABLE_NAME.format(column=name))
    if name == target or column.role == "target":
        raise FeatureSpecError(TARGET_IN_SPEC.format(column=name))
    if not isinstance(options, dict):
        raise FeatureSpecError(OPTIONS_NOT_OBJECT.format(column=name, found=_found(options)))
    for option in options:
        if option not in _ALL_OPTIONS:
            hint = _hint(option, _ALL_OPTIONS)
            raise FeatureSpecError(UNKNOWN_OPTION.format(column=name, option=option, hint=hint))
    dropped = options.get("drop", False)
    _check_flag(name, "drop", dropped)
    kind = _kind(column, options)
    if kind == "text":
        if not dropped:
            raise FeatureSpecError(TEXT_NOT_SUPPORTED.format(column=name))
        return _Column(name, kind, {}, dropped=True)
    resolved = _with_defaults(column, kind, options)
    if not dropped:
        for option, value in resolved.items():
            _OPTION_CHECKS[option](_Column(name, kind, resolved, False), value, target)
    return _Column(name, kind, resolved, dropped=bool(dropped))


def _is_numeric_dtype(dtype: str) -> bool:
    return dtype.startswith(_NUMERIC_DTYPES)


def _kind(column: ColumnSchema, options: dict) -> str:
    """What the column is used as: the role decides, unless an option says otherwise."""
    if column.role == "text":
        return "text"
    if "date_parts" in options or column.role == "datetime":
        return "datetime"
    if "encode" in options or column.role in ("categorical", "boolean"):
        return "categorical"
    if column.role == "id" and not _is_numeric_dtype(column.dtype):
        return "categorical"
    return "numeric"


def _with_defaults(column: ColumnSchema, kind: str, options: dict) -> dict[str, Any]:
    allowed = DEFAULT_OPTIONS[kind]
    for option in options:
        if option != "drop" and option not in allowed:
            owners = [other for other in KINDS if option in DEFAULT_OPTIONS[other]]
            raise FeatureSpecError(
                OPTION_NOT_FOR_KIND.format(
                    column=column.name, kind=kind, option=option, allowed=" or ".join(owners)
                )
            )
    if kind == "datetime" and not _holds_dates(column.dtype):
        raise FeatureSpecError(DATE_PARTS_NEED_DATES.format(column=column.name, dtype=column.dtype))
    resolved = {**allowed, **{key: value for key, value in options.items() if key != "drop"}}
    return copy.deepcopy(resolved)


def _holds_dates(dtype: str) -> bool:
    return dtype.startswith(_DATE_DTYPES) or dtype.startswith(_TEXT_DTYPES)


def _is_whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_real(value: Any) -> bool:
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    return is_number and math.isfinite(value)


def _check_flag(column: str, option: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise FeatureSpecError(NOT_A_FLAG.format(column=column, option=option, value=value))


def _check_choice(column: str, option: str, value: Any, choices: Iterable[str]) -> None:
    choices = tuple(choices)
    if value not in choices:
        listed = ", ".join(choices)
        raise FeatureSpecError(
            BAD_CHOICE.format(column=column, option=option, choices=listed, value=value)
        )


def _check_impute(column: _Column, value: Any, target: str | None) -> None:
    _check_choice(column.name, "impute", value, IMPUTE_CHOICES[column.kind])


def _check_fill_value(column: _Column, value: Any, target: str | None) -> None:
    if column.kind == "categorical" and not isinstance(value, str):
        expected = 'text such as "(missing)"'
    elif column.kind != "categorical" and not _is_real(value):
        expected = "a number"
    else:
        return
    raise FeatureSpecError(
        BAD_FILL_VALUE.format(column=column.name, expected=expected, value=value)
    )


def _check_missing_indicator(column: _Column, value: Any, target: str | None) -> None:
    _check_flag(column.name, "missing_indicator", value)


def _check_transform(column: _Column, value: Any, target: str | None) -> None:
    _check_choice(column.name, "transform", value, ("none", *TRANSFORMS))


def _check_scale(column: _Column, value: Any, target: str | None) -> None:
    _check_choice(column.name, "scale", value, ("none", *SCALERS))


def _check_bins(column: _Column, value: Any, target: str | None) -> None:
    if value is None:
        return
    if not isinstance(value, dict) or set(value) - {"strategy", "n_bins"}:
        raise FeatureSpecError(BAD_BINS.format(column=column.name, value=value))
    _check_choice(column.name, "bins strategy", value.get("strategy", "quantile"), BIN_STRATEGIES)
    n_bins = value.get("n_bins", 5)
    if not _is_whole(n_bins) or not 2 <= n_bins <= MAX_BINS:
        raise FeatureSpecError(BAD_N_BINS.format(column=column.name, value=n_bins))


def _check_encode(column: _Column, value: Any, target: str | None) -> None:
    _check_choice(column.name, "encode", value, ENCODINGS)
    if value == "target" and target is None:
        raise FeatureSpecError(TARGET_ENCODING_NEEDS_TARGET.format(column=column.name))


def _check_needs_encoding(column: _Column, option: str, encodings: tuple[str, ...]) -> None:
    if column.options["encode"] not in encodings:
        raise FeatureSpecError(
            OPTION_NEEDS_ENCODING.format(
                column=column.name, option=option, encodings=" or ".join(encodings)
            )
        )


def _check_min_frequency(column: _Column, value: Any, target: str | None) -> None:
    if value is None:
        return
    share = _is_real(value) and not _is_whole(value) and 0 < value < 1
    if not share and not (_is_whole(value) and value >= 1):
        raise FeatureSpecError(BAD_MIN_FREQUENCY.format(column=column.name, value=value))
    _check_needs_encoding(column, "min_frequency", ("onehot", "ordinal"))


def _check_max_categories(column: _Column, value: Any, target: str | None) -> None:
    if value is None:
        return
    if not _is_whole(value) or value < 2:
        raise FeatureSpecError(BAD_MAX_CATEGORIES.format(column=column.name, value=value))
    _check_needs_encoding(column, "max_categories", ("onehot", "ordinal"))


def _check_order(column: _Column, value: Any, target: str | None) -> None:
    if value is None:
        return
    valid = isinstance(value, list) and value and all(_is_level(level) for level in value)
    if not valid or len({level_text(level) for level in value}) != len(value):
        raise FeatureSpecError(BAD_ORDER.format(column=column.name, value=value))
    _check_needs_encoding(column, "order", ("ordinal",))


def _is_level(value: Any) -> bool:
    return isinstance(value, str) or _is_real(value)


def _check_date_parts(column: _Column, value: Any, target: str | None) -> None:
    valid = isinstance(value, list) and value and all(part in DATE_PARTS for part in value)
    if not valid or len(set(value)) != len(value):
        choices = ", ".join(DATE_PARTS)
        raise FeatureSpecError(
            BAD_DATE_PARTS.format(column=column.name, choices=choices, value=value)
        )


_OPTION_CHECKS: dict[str, Callable[[_Column, Any, str | None], None]] = {
    "impute": _check_impute,
    "fill_value": _check_fill_value,
    "missing_indicator": _check_missing_indicator,
    "transform": _check_transform,
    "scale": _check_scale,
    "bins": _check_bins,
    "encode": _check_encode,
    "min_frequency": _check_min_frequency,
    "max_categories": _check_max_categories,
    "order": _check_order,
    "date_parts": _check_date_parts,
}


def _section(spec_section: Any, *, name: str, options: tuple[str, ...]) -> dict | None:
    if spec_section is None:
        return None
    if not isinstance(spec_section, dict):
        raise FeatureSpecError(
            SECTION_NOT_OBJECT.format(section=name, nullable=" or null", found=_found(spec_section))
        )
    for option in spec_section:
        if option not in options:
            hint = _hint(option, options)
            raise FeatureSpecError(
                UNKNOWN_SECTION_OPTION.format(section=name, option=option, hint=hint)
            )
    return spec_section


def _check_interactions(section: Any, kept: list[_Column]) -> None:
    interactions = _section(section, name="interactions", options=INTERACTION_OPTIONS)
    if interactions is None:
        return
    numeric = {column.name for column in kept if column.kind == "numeric"}
    names: list[str] = interactions.get("columns") or []
    problem = _interaction_problem(interactions.get("columns"), numeric)
    if problem:
        raise FeatureSpecError(BAD_INTERACTION_COLUMNS.format(problem=problem))
    degree = interactions.get("degree", 2)
    if not _is_whole(degree) or degree not in (2, 3):
        raise FeatureSpecError(BAD_DEGREE.format(value=degree))
    only = interactions.get("interaction_only", False)
    if not isinstance(only, bool):
        raise FeatureSpecError(BAD_INTERACTION_ONLY.format(value=only))
    terms = _term_count(len(names), degree=degree, interaction_only=only)
    if terms > MAX_INTERACTION_TERMS:
        raise FeatureSpecError(
            TOO_MANY_TERMS.format(
                columns=len(names), degree=degree, terms=terms, limit=MAX_INTERACTION_TERMS
            )
        )
    if terms == 0:
        raise FeatureSpecError(
            BAD_INTERACTION_COLUMNS.format(problem="interaction_only needs at least 2 columns")
        )


def _interaction_problem(names: Any, numeric: set[str]) -> str:
    if not isinstance(names, list) or not names:
        return f"got {names!r}"
    for name in names:
        if not isinstance(name, str) or name not in numeric:
            return f"{name!r} is not a numeric column kept by the spec"
    if len(set(names)) != len(names):
        return "a column is listed twice"
    return ""


def _term_count(n_columns: int, *, degree: int, interaction_only: bool) -> int:
    count = math.comb if interaction_only else lambda n, k: math.comb(n + k - 1, k)
    return sum(count(n_columns, size) for size in range(2, degree + 1))


def _check_selection(section: Any, *, target: str | None) -> None:
    selection = _section(section, name="selection", options=SELECTION_OPTIONS)
    if selection is None:
        return
    _check_threshold(selection, "variance_threshold", low=0.0, high=math.inf)
    _check_threshold(selection, "correlation_threshold", low=0.0, high=1.0)
    top_k = selection.get("mutual_info_top_k")
    if top_k is not None and (not _is_whole(top_k) or top_k < 1):
        raise FeatureSpecError(BAD_TOP_K.format(value=top_k))
    if top_k is not None and target is None:
        raise FeatureSpecError(MUTUAL_INFO_NEEDS_TARGET)


def _check_threshold(selection: dict, option: str, *, low: float, high: float) -> None:
    value = selection.get(option)
    if value is not None and not (_is_real(value) and low <= value <= high):
        raise FeatureSpecError(BAD_THRESHOLD.format(option=option, low=low, high=high, value=value))


# -- building the pipeline -------------------------------------------------------------------


def build_feature_pipeline(
    spec: dict, *, schema: list[ColumnSchema], target: str | None
) -> Pipeline:
    """The spec as an unfitted Pipeline from raw columns to model-ready features (pandas out).

    Columns with identical options share one transformer, as a hand-written ColumnTransformer
    would; output names read ``age``, ``sex_female``, ``application_date__month``,
    ``income__missing``, ``age*income``. Columns not in the spec are dropped.
    """
    validate_feature_spec(spec, schema=schema, target=target)
    kept = [column for column in _resolve(spec, schema=schema, target=target) if not column.dropped]
    transformers = _group_transformers(kept)
    flagged = [column.name for column in kept if column.options["missing_indicator"]]
    if flagged:
        transformers.append(("missing_flags", MissingFlags(), flagged))
    if spec.get("interactions"):
        transformers.append(("interactions", *_interactions(spec["interactions"], kept)))
    steps: list[tuple[str, Any]] = [
        ("columns", _column_transformer(transformers)),
        *_selection_steps(spec.get("selection") or {}),
    ]
    return Pipeline(steps).set_output(transform="pandas")


def _column_transformer(transformers: list[tuple[str, Any, list[str]]]) -> FeatureColumns:
    # "{feature_name}" keeps names readable; FeatureColumns settles the rare clash
    return FeatureColumns(
        transformers,
        remainder="drop",
        sparse_threshold=0.0,
        verbose_feature_names_out="{feature_name}",
    )


def _group_key(column: _Column) -> str:
    shared = {key: value for key, value in column.options.items() if key != "missing_indicator"}
    return column.kind + json.dumps(shared, sort_keys=True, default=str)


def _group_transformers(kept: list[_Column]) -> list[tuple[str, Any, list[str]]]:
    groups: dict[str, list[_Column]] = {}
    for column in kept:
        groups.setdefault(_group_key(column), []).append(column)
    transformers = []
    for number, members in enumerate(groups.values(), start=1):
        first = members[0]
        steps = _STEPS[first.kind](first.options, len(members))
        names = [column.name for column in members]
        transformers.append((f"{first.kind}_{number}", Pipeline(steps), names))
    return transformers


def _imputer(options: dict[str, Any]) -> Any:
    strategy = options["impute"]
    if strategy == "knn":
        return KNNImpute()
    fill = options["fill_value"] if strategy == "constant" else None
    return SimpleImputer(strategy=strategy, fill_value=fill, keep_empty_features=True)


def _numeric_steps(options: dict[str, Any], n_columns: int) -> list[tuple[str, Any]]:
    steps: list[tuple[str, Any]] = [("as_number", ToFloat())]
    if options["impute"] != "none":
        steps.append(("impute", _imputer(options)))
    if options["transform"] != "none":
        steps.append(("transform", TRANSFORMS[options["transform"]]()))
    if options["bins"]:
        bins = options["bins"]
        strategy = bins.get("strategy", "quantile")
        steps.append(("bins", Bins(n_bins=bins.get("n_bins", 5), strategy=strategy)))
    if options["scale"] != "none":
        steps.append(("scale", SCALERS[options["scale"]]()))
    return steps


def _datetime_steps(options: dict[str, Any], n_columns: int) -> list[tuple[str, Any]]:
    steps: list[tuple[str, Any]] = [("parts", DateParts(parts=tuple(options["date_parts"])))]
    if options["impute"] != "none":
        steps.append(("impute", _imputer(options)))
    if options["scale"] != "none":
        steps.append(("scale", SCALERS[options["scale"]]()))
    return steps


def _categorical_steps(options: dict[str, Any], n_columns: int) -> list[tuple[str, Any]]:
    order = options["order"]
    steps: list[tuple[str, Any]] = [("levels", ToLevels(text=order is not None))]
    if options["impute"] != "none":
        fill = FillCategory(strategy=options["impute"], fill_value=options["fill_value"])
        steps.append(("impute", fill))
    rarest, most = options["min_frequency"], options["max_categories"]
    if rarest is not None or most is not None:
        steps.append(("rare", RareLevels(min_frequency=rarest, max_categories=most)))
    steps.append(("encode", _ENCODERS[options["encode"]](options, n_columns)))
    return steps


def _onehot(options: dict[str, Any], n_columns: int) -> OneHotEncoder:
    # unseen levels: RareLevels maps them to "(other)" when that group exists, else zeros
    return OneHotEncoder(
        handle_unknown="ignore", sparse_output=False, feature_name_combiner=onehot_column_name
    )


def _ordinal(options: dict[str, Any], n_columns: int) -> OrdinalEncoder:
    order = options["order"]
    categories: Any = "auto"
    if order is not None:
        categories = [[level_text(level) for level in order] for _ in range(n_columns)]
    return OrdinalEncoder(
        categories=categories,
        handle_unknown="use_encoded_value",
        unknown_value=-1,
        encoded_missing_value=-1,
    )


def _target(options: dict[str, Any], n_columns: int) -> TargetEncoding:
    return TargetEncoding()


_STEPS: dict[str, Callable[[dict[str, Any], int], list[tuple[str, Any]]]] = {
    "numeric": _numeric_steps,
    "categorical": _categorical_steps,
    "datetime": _datetime_steps,
}
_ENCODERS: dict[str, Callable[[dict[str, Any], int], Any]] = {
    "onehot": _onehot,
    "ordinal": _ordinal,
    "target": _target,
}


def _interactions(interactions: dict, kept: list[_Column]) -> tuple[Pipeline, list[str]]:
    """Each chosen column prepared exactly as its own spec says, then multiplied."""
    by_name = {column.name: column for column in kept}
    names = list(interactions["columns"])
    prepared = [
        (f"numeric_{index}", Pipeline(_numeric_steps(by_name[name].options, 1)), [name])
        for index, name in enumerate(names, start=1)
    ]
    terms = PolynomialTerms(
        degree=interactions.get("degree", 2),
        interaction_only=interactions.get("interaction_only", False),
    )
    return Pipeline([("prepare", _column_transformer(prepared)), ("terms", terms)]), names


def _selection_steps(selection: dict[str, Any]) -> list[tuple[str, Any]]:
    steps: list[tuple[str, Any]] = []
    if selection.get("variance_threshold") is not None:
        steps.append(("variance", VarianceFilter(threshold=selection["variance_threshold"])))
    if selection.get("correlation_threshold") is not None:
        threshold = selection["correlation_threshold"]
        steps.append(("correlation", CorrelationFilter(threshold=threshold)))
    if selection.get("mutual_info_top_k") is not None:
        steps.append(("mutual_info", MutualInfoSelector(k=selection["mutual_info_top_k"])))
    return steps


# -- after fitting ---------------------------------------------------------------------------


def _feature_columns(pipeline: Any) -> FeatureColumns:
    """The fitted ColumnTransformer of a feature pipeline, also inside a model pipeline."""
    if isinstance(pipeline, Pipeline):
        for name, step in pipeline.steps:
            if name == "columns" and isinstance(step, FeatureColumns):
                return step
            if isinstance(step, Pipeline):
                try:
                    return _feature_columns(step)
                except LookupError:
                    continue
    raise LookupError("No fitted feature spec columns step in this pipeline.")


def count_unseen_categories(pipeline: Pipeline, frame: pd.DataFrame) -> dict[str, int]:
    """After fit: per categorical input column, how many rows of ``frame`` hold a level the
    encoder never saw in training (or, with an explicit ordinal order, is not in the order).
    A missing value counts only when imputation is off and training had no missing value."""
    counts: dict[str, int] = {}
    for _, group, names in _feature_columns(pipeline).transformers_:
        if not isinstance(group, Pipeline) or "encode" not in group.named_steps:
            continue
        present = [name for name in names if name in frame.columns]
        if not present:
            continue
        positions = [names.index(name) for name in present]
        stop = next(i for i, (step, _) in enumerate(group.steps) if step in ("rare", "encode"))
        levels = pd.DataFrame(group[:stop].transform(_with_all_columns(frame, names)))
        known = _known_levels(group)
        for name, position in zip(present, positions, strict=True):
            column = levels.iloc[:, position]
            counts[name] = int((~column.isin(known[position])).sum())
    return counts


def _known_levels(group: Pipeline) -> list[np.ndarray]:
    encoded = group.named_steps["encode"].categories_
    if "rare" not in group.named_steps:
        return encoded
    seen = group.named_steps["rare"].levels_
    return [np.concatenate([a, b]) for a, b in zip(seen, encoded, strict=True)]


def _with_all_columns(frame: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """The frame's columns in fit order; columns the frame lacks are all missing."""
    return pd.DataFrame(
        {name: frame[name] if name in frame.columns else np.nan for name in names},
        index=frame.index,
    )


# -- describing ------------------------------------------------------------------------------

_IMPUTE_WORDS = {
    "mean": "fill missing values with the mean",
    "median": "fill missing values with the median",
    "most_frequent": "fill missing values with the most frequent value",
    "knn": "fill missing values from the 5 most similar rows",
    "none": "keep missing values as they are",
}
_TRANSFORM_WORDS = {
    "log": "signed log transform (log(1 + |x|), keeping the sign)",
    "yeo_johnson": "Yeo-Johnson power transform",
}
_SCALE_WORDS = {
    "standard": "scale to mean 0 and standard deviation 1",
    "minmax": "scale to the range 0 to 1",
    "robust": "scale by median and interquartile range",
}
_DATE_PART_WORDS = {"days_since": "days since the earliest date in training"}


def describe_feature_spec(spec: dict, *, schema: list[ColumnSchema] | None = None) -> list[str]:
    """One line per column (then interactions and selection) in the user's words. With the
    schema, a column's kind comes from its role; without, from the options it carries."""
    by_name = {column.name: column for column in schema or []}
    lines = [
        _describe_column(name, options, kind=_described_kind(by_name.get(name), options))
        for name, options in spec["columns"].items()
    ]
    interactions = spec.get("interactions")
    if interactions:
        lines.append(_describe_interactions(interactions))
    selection = spec.get("selection") or {}
    if any(selection.get(option) is not None for option in SELECTION_OPTIONS):
        lines.append(_describe_selection(selection))
    return lines


def _described_kind(column: ColumnSchema | None, options: dict[str, Any]) -> str:
    if column is not None:
        return _kind(column, options)
    if "date_parts" in options:
        return "datetime"
    categorical = {"encode", "min_frequency", "max_categories", "order"}
    if categorical & set(options) or isinstance(options.get("fill_value"), str):
        return "categorical"
    return "numeric"


def _describe_column(name: str, options: dict[str, Any], *, kind: str) -> str:
    if options.get("drop"):
        return f"{name}: dropped"
    if kind == "text":
        return f"{name}: free text, not supported yet"
    settings = {**DEFAULT_OPTIONS[kind], **options}
    phrases = [_describe_impute(settings)] + _DESCRIBERS[kind](settings)
    return f"{name}: " + "; ".join(phrase for phrase in phrases if phrase)


def _describe_impute(settings: dict[str, Any]) -> str:
    strategy = settings["impute"]
    if strategy == "constant":
        words = f"fill missing values with {settings['fill_value']!r}"
    else:
        words = _IMPUTE_WORDS.get(strategy, f"fill missing values ({strategy})")
    if settings.get("missing_indicator"):
        words += " and add a was-missing column"
    return words


def _describe_numeric(settings: dict[str, Any]) -> list[str]:
    phrases = [_TRANSFORM_WORDS.get(settings["transform"], "")]
    bins = settings["bins"]
    if bins:
        strategy = "equal-width" if bins.get("strategy") == "uniform" else "quantile"
        phrases.append(f"cut into {bins.get('n_bins', 5)} {strategy} bins")
    phrases.append(_SCALE_WORDS.get(settings["scale"], ""))
    return phrases


def _describe_categorical(settings: dict[str, Any]) -> list[str]:
    encode = settings["encode"]
    if encode == "target":
        return ["replace each level by the average target of its rows (cross-fitted)"]
    if encode == "ordinal":
        order = settings["order"]
        words = "number the levels"
        if order:
            words += " in the order " + " < ".join(level_text(level) for level in order)
        return [words + "; unseen levels become -1", _describe_rare(settings)]
    words = "one 0/1 column per level; unseen levels give all zeros"
    return [words, _describe_rare(settings)]


def _describe_rare(settings: dict[str, Any]) -> str:
    phrases = []
    share = settings["min_frequency"]
    if share is not None:
        amount = f"{share:.0%} of rows" if isinstance(share, float) else f"{share} rows"
        phrases.append(f"levels under {amount} grouped as other")
    if settings["max_categories"] is not None:
        phrases.append(f"at most {settings['max_categories']} levels")
    return ", ".join(phrases)


def _describe_datetime(settings: dict[str, Any]) -> list[str]:
    parts = [_DATE_PART_WORDS.get(part, part) for part in settings["date_parts"]]
    return ["extract " + ", ".join(parts), _SCALE_WORDS.get(settings["scale"], "")]


_DESCRIBERS: dict[str, Callable[[dict[str, Any]], list[str]]] = {
    "numeric": _describe_numeric,
    "categorical": _describe_categorical,
    "datetime": _describe_datetime,
}


def _describe_interactions(interactions: dict[str, Any]) -> str:
    columns = ", ".join(str(name) for name in interactions.get("columns", []))
    degree = interactions.get("degree", 2)
    kind = "products" if interactions.get("interaction_only") else "products and powers"
    return f"Interactions: {kind} up to degree {degree} of {columns}"


def _describe_selection(selection: dict[str, Any]) -> str:
    phrases = []
    if selection.get("variance_threshold") is not None:
        threshold = selection["variance_threshold"]
        phrases.append(
            "drop constant features"
            if threshold == 0
            else f"drop features with variance <= {threshold}"
        )
    if selection.get("correlation_threshold") is not None:
        threshold = selection["correlation_threshold"]
        phrases.append(f"drop one of each pair of features correlated above {threshold}")
    if selection.get("mutual_info_top_k") is not None:
        top_k = selection["mutual_info_top_k"]
        phrases.append(f"keep the {top_k} features most informative about the target")
    return "Selection: " + "; ".join(phrases)
