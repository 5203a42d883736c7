"""The feature spec in the user's words, one line per column, for the Prepare page."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from core.data.schema import ColumnSchema
from core.prep.features.spec import DEFAULT_OPTIONS, SELECTION_OPTIONS, _kind
from core.prep.transformers import (
    level_text,
)

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
