"""The feature spec parsed once: FeatureSpec, its per-column entries and their checks."""

from __future__ import annotations

import copy
import difflib
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sklearn.preprocessing import (
    MinMaxScaler,
    PowerTransformer,
    RobustScaler,
    StandardScaler,
)

from core.data.schema import ColumnSchema
from core.prep.features import messages
from core.prep.features.messages import FeatureSpecError
from core.prep.transformers import (
    BIN_STRATEGIES,
    DATE_PARTS,
    DEFAULT_DATE_PARTS,
    SignedLog,
    level_text,
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
class ColumnSpec:
    """One spec entry resolved against the schema: what it is used as, with every option."""

    name: str
    kind: str
    options: dict[str, Any]
    dropped: bool

    def to_dict(self) -> dict[str, Any]:
        """The entry as JSON options (every option spelled out; ``drop`` only when dropped)."""
        options = copy.deepcopy(self.options)
        return {**options, "drop": True} if self.dropped else options


@dataclass(frozen=True)
class Interactions:
    """Products (and powers, unless ``interaction_only``) of kept numeric columns."""

    columns: tuple[str, ...]
    degree: int
    interaction_only: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "columns": list(self.columns),
            "degree": self.degree,
            "interaction_only": self.interaction_only,
        }


@dataclass(frozen=True)
class Selection:
    """Feature selection after the columns are built; None leaves a filter out."""

    variance_threshold: float | None = None
    correlation_threshold: float | None = None
    mutual_info_top_k: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {option: getattr(self, option) for option in SELECTION_OPTIONS}


@dataclass(frozen=True)
class FeatureSpec:
    """A feature spec checked against a schema once, so nothing downstream re-reads the JSON.

    ``from_dict`` is the only way in from JSON (it raises FeatureSpecError with what to
    change) and ``to_dict`` the only way back out.
    """

    columns: tuple[ColumnSpec, ...]
    interactions: Interactions | None
    selection: Selection

    @property
    def kept(self) -> tuple[ColumnSpec, ...]:
        """The columns that become features, in spec order."""
        return tuple(column for column in self.columns if not column.dropped)

    @classmethod
    def from_dict(cls, spec: Any, *, schema: list[ColumnSchema], target: str | None) -> FeatureSpec:
        """Parse and check a JSON feature spec against the dataset's schema and target.

        A column that is entirely empty in the data is not an error: its imputer fills it with
        a constant (0 for numbers and dates, the fill level for categories) instead of failing.
        """
        columns = _resolve(spec, schema=schema, target=target)
        kept = [column for column in columns if not column.dropped]
        if not kept:
            raise FeatureSpecError(messages.NO_FEATURES)
        return cls(
            columns=tuple(columns),
            interactions=_parse_interactions(spec.get("interactions"), kept),
            selection=_parse_selection(spec.get("selection"), target=target),
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON that ``from_dict`` reads back into an equal spec."""
        return {
            "columns": {column.name: column.to_dict() for column in self.columns},
            "interactions": None if self.interactions is None else self.interactions.to_dict(),
            "selection": self.selection.to_dict(),
        }


def validate_feature_spec(spec: dict, *, schema: list[ColumnSchema], target: str | None) -> None:
    """Raises FeatureSpecError with a message that says what to change; returns None if usable.

    A column that is entirely empty in the data is not an error: its imputer fills it with a
    constant (0 for numbers and dates, the fill level for categories) instead of failing.
    """
    FeatureSpec.from_dict(spec, schema=schema, target=target)


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


def _resolve(spec: Any, *, schema: list[ColumnSchema], target: str | None) -> list[ColumnSpec]:
    if not isinstance(spec, dict):
        raise FeatureSpecError(messages.SPEC_NOT_OBJECT.format(found=_found(spec)))
    if not isinstance(spec.get("columns"), dict):
        raise FeatureSpecError(messages.NO_COLUMNS_SECTION)
    for section in spec:
        if section not in ("columns", "interactions", "selection"):
            raise FeatureSpecError(messages.UNKNOWN_SECTION.format(section=section))
    by_name = {column.name: column for column in schema}
    return [
        _resolve_column(name, options, by_name=by_name, target=target)
        for name, options in spec["columns"].items()
    ]


def _resolve_column(
    name: str, options: Any, *, by_name: dict[str, ColumnSchema], target: str | None
) -> ColumnSpec:
    if name not in by_name:
        raise FeatureSpecError(
            messages.UNKNOWN_COLUMN.format(column=name, hint=_hint(name, by_name))
        )
    column = by_name[name]
    if name.endswith("\x00"):  # numpy string arrays drop trailing NULs, so the name is lost
        raise FeatureSpecError(messages.UNSELECTABLE_NAME.format(column=name))
    if name == target or column.role == "target":
        raise FeatureSpecError(messages.TARGET_IN_SPEC.format(column=name))
    if not isinstance(options, dict):
        raise FeatureSpecError(
            messages.OPTIONS_NOT_OBJECT.format(column=name, found=_found(options))
        )
    for option in options:
        if option not in _ALL_OPTIONS:
            hint = _hint(option, _ALL_OPTIONS)
            raise FeatureSpecError(
                messages.UNKNOWN_OPTION.format(column=name, option=option, hint=hint)
            )
    dropped = options.get("drop", False)
    _check_flag(name, "drop", dropped)
    kind = _kind(column, options)
    if kind == "text":
        if not dropped:
            raise FeatureSpecError(messages.TEXT_NOT_SUPPORTED.format(column=name))
        return ColumnSpec(name, kind, {}, dropped=True)
    resolved = _with_defaults(column, kind, options)
    if not dropped:
        for option, value in resolved.items():
            _OPTION_CHECKS[option](ColumnSpec(name, kind, resolved, False), value, target)
    return ColumnSpec(name, kind, resolved, dropped=bool(dropped))


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
                messages.OPTION_NOT_FOR_KIND.format(
                    column=column.name, kind=kind, option=option, allowed=" or ".join(owners)
                )
            )
    if kind == "datetime" and not _holds_dates(column.dtype):
        raise FeatureSpecError(
            messages.DATE_PARTS_NEED_DATES.format(column=column.name, dtype=column.dtype)
        )
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
        raise FeatureSpecError(
            messages.NOT_A_FLAG.format(column=column, option=option, value=value)
        )


def _check_choice(column: str, option: str, value: Any, choices: Iterable[str]) -> None:
    choices = tuple(choices)
    if value not in choices:
        listed = ", ".join(choices)
        raise FeatureSpecError(
            messages.BAD_CHOICE.format(column=column, option=option, choices=listed, value=value)
        )


def _check_impute(column: ColumnSpec, value: Any, target: str | None) -> None:
    _check_choice(column.name, "impute", value, IMPUTE_CHOICES[column.kind])


def _check_fill_value(column: ColumnSpec, value: Any, target: str | None) -> None:
    if column.kind == "categorical" and not isinstance(value, str):
        expected = 'text such as "(missing)"'
    elif column.kind != "categorical" and not _is_real(value):
        expected = "a number"
    else:
        return
    raise FeatureSpecError(
        messages.BAD_FILL_VALUE.format(column=column.name, expected=expected, value=value)
    )


def _check_missing_indicator(column: ColumnSpec, value: Any, target: str | None) -> None:
    _check_flag(column.name, "missing_indicator", value)


def _check_transform(column: ColumnSpec, value: Any, target: str | None) -> None:
    _check_choice(column.name, "transform", value, ("none", *TRANSFORMS))


def _check_scale(column: ColumnSpec, value: Any, target: str | None) -> None:
    _check_choice(column.name, "scale", value, ("none", *SCALERS))


def _check_bins(column: ColumnSpec, value: Any, target: str | None) -> None:
    if value is None:
        return
    if not isinstance(value, dict) or set(value) - {"strategy", "n_bins"}:
        raise FeatureSpecError(messages.BAD_BINS.format(column=column.name, value=value))
    _check_choice(column.name, "bins strategy", value.get("strategy", "quantile"), BIN_STRATEGIES)
    n_bins = value.get("n_bins", 5)
    if not _is_whole(n_bins) or not 2 <= n_bins <= MAX_BINS:
        raise FeatureSpecError(messages.BAD_N_BINS.format(column=column.name, value=n_bins))


def _check_encode(column: ColumnSpec, value: Any, target: str | None) -> None:
    _check_choice(column.name, "encode", value, ENCODINGS)
    if value == "target" and target is None:
        raise FeatureSpecError(messages.TARGET_ENCODING_NEEDS_TARGET.format(column=column.name))


def _check_needs_encoding(column: ColumnSpec, option: str, encodings: tuple[str, ...]) -> None:
    if column.options["encode"] not in encodings:
        raise FeatureSpecError(
            messages.OPTION_NEEDS_ENCODING.format(
                column=column.name, option=option, encodings=" or ".join(encodings)
            )
        )


def _check_min_frequency(column: ColumnSpec, value: Any, target: str | None) -> None:
    if value is None:
        return
    share = _is_real(value) and not _is_whole(value) and 0 < value < 1
    if not share and not (_is_whole(value) and value >= 1):
        raise FeatureSpecError(messages.BAD_MIN_FREQUENCY.format(column=column.name, value=value))
    _check_needs_encoding(column, "min_frequency", ("onehot", "ordinal"))


def _check_max_categories(column: ColumnSpec, value: Any, target: str | None) -> None:
    if value is None:
        return
    if not _is_whole(value) or value < 2:
        raise FeatureSpecError(messages.BAD_MAX_CATEGORIES.format(column=column.name, value=value))
    _check_needs_encoding(column, "max_categories", ("onehot", "ordinal"))


def _check_order(column: ColumnSpec, value: Any, target: str | None) -> None:
    if value is None:
        return
    valid = isinstance(value, list) and value and all(_is_level(level) for level in value)
    if not valid or len({level_text(level) for level in value}) != len(value):
        raise FeatureSpecError(messages.BAD_ORDER.format(column=column.name, value=value))
    _check_needs_encoding(column, "order", ("ordinal",))


def _is_level(value: Any) -> bool:
    return isinstance(value, str) or _is_real(value)


def _check_date_parts(column: ColumnSpec, value: Any, target: str | None) -> None:
    valid = isinstance(value, list) and value and all(part in DATE_PARTS for part in value)
    if not valid or len(set(value)) != len(value):
        choices = ", ".join(DATE_PARTS)
        raise FeatureSpecError(
            messages.BAD_DATE_PARTS.format(column=column.name, choices=choices, value=value)
        )


_OPTION_CHECKS: dict[str, Callable[[ColumnSpec, Any, str | None], None]] = {
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
            messages.SECTION_NOT_OBJECT.format(
                section=name, nullable=" or null", found=_found(spec_section)
            )
        )
    for option in spec_section:
        if option not in options:
            hint = _hint(option, options)
            raise FeatureSpecError(
                messages.UNKNOWN_SECTION_OPTION.format(section=name, option=option, hint=hint)
            )
    return spec_section


def _parse_interactions(section: Any, kept: list[ColumnSpec]) -> Interactions | None:
    interactions = _section(section, name="interactions", options=INTERACTION_OPTIONS)
    if interactions is None:
        return None
    numeric = {column.name for column in kept if column.kind == "numeric"}
    names: list[str] = interactions.get("columns") or []
    problem = _interaction_problem(interactions.get("columns"), numeric)
    if problem:
        raise FeatureSpecError(messages.BAD_INTERACTION_COLUMNS.format(problem=problem))
    degree = interactions.get("degree", 2)
    if not _is_whole(degree) or degree not in (2, 3):
        raise FeatureSpecError(messages.BAD_DEGREE.format(value=degree))
    only = interactions.get("interaction_only", False)
    if not isinstance(only, bool):
        raise FeatureSpecError(messages.BAD_INTERACTION_ONLY.format(value=only))
    terms = _term_count(len(names), degree=degree, interaction_only=only)
    if terms > MAX_INTERACTION_TERMS:
        raise FeatureSpecError(
            messages.TOO_MANY_TERMS.format(
                columns=len(names), degree=degree, terms=terms, limit=MAX_INTERACTION_TERMS
            )
        )
    if terms == 0:
        raise FeatureSpecError(
            messages.BAD_INTERACTION_COLUMNS.format(
                problem="interaction_only needs at least 2 columns"
            )
        )
    return Interactions(columns=tuple(names), degree=degree, interaction_only=only)


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


def _parse_selection(section: Any, *, target: str | None) -> Selection:
    selection = _section(section, name="selection", options=SELECTION_OPTIONS)
    if selection is None:
        return Selection()
    _check_threshold(selection, "variance_threshold", low=0.0, high=math.inf)
    _check_threshold(selection, "correlation_threshold", low=0.0, high=1.0)
    top_k = selection.get("mutual_info_top_k")
    if top_k is not None and (not _is_whole(top_k) or top_k < 1):
        raise FeatureSpecError(messages.BAD_TOP_K.format(value=top_k))
    if top_k is not None and target is None:
        raise FeatureSpecError(messages.MUTUAL_INFO_NEEDS_TARGET)
    return Selection(
        variance_threshold=selection.get("variance_threshold"),
        correlation_threshold=selection.get("correlation_threshold"),
        mutual_info_top_k=top_k,
    )


def _check_threshold(selection: dict, option: str, *, low: float, high: float) -> None:
    value = selection.get(option)
    if value is not None and not (_is_real(value) and low <= value <= high):
        raise FeatureSpecError(
            messages.BAD_THRESHOLD.format(option=option, low=low, high=high, value=value)
        )
