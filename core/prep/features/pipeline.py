"""Compiling a FeatureSpec into an unfitted sklearn Pipeline of the studio's transformers."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import (
    OneHotEncoder,
    OrdinalEncoder,
)

from core.data.schema import ColumnSchema
from core.prep import transformers
from core.prep.features.spec import (
    SCALERS,
    TRANSFORMS,
    ColumnSpec,
    FeatureSpec,
    Interactions,
    Selection,
)
from core.prep.transformers import level_text, onehot_column_name


def build_feature_pipeline(
    spec: dict | FeatureSpec,
    *,
    schema: list[ColumnSchema] | None = None,
    target: str | None = None,
) -> Pipeline:
    """The spec as an unfitted Pipeline from raw columns to model-ready features (pandas out).

    A JSON spec (a dict) is parsed with ``FeatureSpec.from_dict`` against ``schema`` and
    ``target`` first; a ``FeatureSpec`` is already checked, so it needs neither.
    Columns with identical options share one transformer, as a hand-written ColumnTransformer
    would; output names read ``age``, ``sex_female``, ``application_date__month``,
    ``income__missing``, ``age*income``. Columns not in the spec are dropped.
    """
    if not isinstance(spec, FeatureSpec):
        if schema is None:
            raise TypeError("A feature spec given as JSON needs the schema to be checked against.")
        spec = FeatureSpec.from_dict(spec, schema=schema, target=target)
    kept = list(spec.kept)
    column_steps = _group_transformers(kept)
    flagged = [column.name for column in kept if column.options["missing_indicator"]]
    if flagged:
        column_steps.append(("missing_flags", transformers.MissingFlags(), flagged))
    if spec.interactions is not None:
        column_steps.append(("interactions", *_interactions(spec.interactions, kept)))
    steps: list[tuple[str, Any]] = [
        ("columns", _column_transformer(column_steps)),
        *_selection_steps(spec.selection),
    ]
    return Pipeline(steps).set_output(transform="pandas")


def _column_transformer(
    column_steps: list[tuple[str, Any, list[str]]],
) -> transformers.FeatureColumns:
    # "{feature_name}" keeps names readable; FeatureColumns settles the rare clash
    return transformers.FeatureColumns(
        column_steps,
        remainder="drop",
        sparse_threshold=0.0,
        verbose_feature_names_out="{feature_name}",
    )


def _group_key(column: ColumnSpec) -> str:
    shared = {key: value for key, value in column.options.items() if key != "missing_indicator"}
    return column.kind + json.dumps(shared, sort_keys=True, default=str)


def _group_transformers(kept: list[ColumnSpec]) -> list[tuple[str, Any, list[str]]]:
    groups: dict[str, list[ColumnSpec]] = {}
    for column in kept:
        groups.setdefault(_group_key(column), []).append(column)
    column_steps = []
    for number, members in enumerate(groups.values(), start=1):
        first = members[0]
        steps = _STEPS[first.kind](first.options, len(members))
        names = [column.name for column in members]
        column_steps.append((f"{first.kind}_{number}", Pipeline(steps), names))
    return column_steps


def _imputer(options: dict[str, Any]) -> Any:
    strategy = options["impute"]
    if strategy == "knn":
        return transformers.KNNImpute()
    fill = options["fill_value"] if strategy == "constant" else None
    return SimpleImputer(strategy=strategy, fill_value=fill, keep_empty_features=True)


def _numeric_steps(options: dict[str, Any], n_columns: int) -> list[tuple[str, Any]]:
    steps: list[tuple[str, Any]] = [("as_number", transformers.ToFloat())]
    if options["impute"] != "none":
        steps.append(("impute", _imputer(options)))
    if options["transform"] != "none":
        steps.append(("transform", TRANSFORMS[options["transform"]]()))
    if options["bins"]:
        bins = options["bins"]
        strategy = bins.get("strategy", "quantile")
        steps.append(("bins", transformers.Bins(n_bins=bins.get("n_bins", 5), strategy=strategy)))
    if options["scale"] != "none":
        steps.append(("scale", SCALERS[options["scale"]]()))
    return steps


def _datetime_steps(options: dict[str, Any], n_columns: int) -> list[tuple[str, Any]]:
    steps: list[tuple[str, Any]] = [
        ("parts", transformers.DateParts(parts=tuple(options["date_parts"])))
    ]
    if options["impute"] != "none":
        steps.append(("impute", _imputer(options)))
    if options["scale"] != "none":
        steps.append(("scale", SCALERS[options["scale"]]()))
    return steps


def _categorical_steps(options: dict[str, Any], n_columns: int) -> list[tuple[str, Any]]:
    order = options["order"]
    steps: list[tuple[str, Any]] = [("levels", transformers.ToLevels(text=order is not None))]
    if options["impute"] != "none":
        fill = transformers.FillCategory(
            strategy=options["impute"], fill_value=options["fill_value"]
        )
        steps.append(("impute", fill))
    rarest, most = options["min_frequency"], options["max_categories"]
    if rarest is not None or most is not None:
        steps.append(("rare", transformers.RareLevels(min_frequency=rarest, max_categories=most)))
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


def _target(options: dict[str, Any], n_columns: int) -> transformers.TargetEncoding:
    return transformers.TargetEncoding()


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


def _interactions(interactions: Interactions, kept: list[ColumnSpec]) -> tuple[Pipeline, list[str]]:
    """Each chosen column prepared exactly as its own spec says, then multiplied."""
    by_name = {column.name: column for column in kept}
    names = list(interactions.columns)
    prepared = [
        (f"numeric_{index}", Pipeline(_numeric_steps(by_name[name].options, 1)), [name])
        for index, name in enumerate(names, start=1)
    ]
    terms = transformers.PolynomialTerms(
        degree=interactions.degree,
        interaction_only=interactions.interaction_only,
    )
    return Pipeline([("prepare", _column_transformer(prepared)), ("terms", terms)]), names


def _selection_steps(selection: Selection) -> list[tuple[str, Any]]:
    steps: list[tuple[str, Any]] = []
    if selection.variance_threshold is not None:
        steps.append(
            ("variance", transformers.VarianceFilter(threshold=selection.variance_threshold))
        )
    if selection.correlation_threshold is not None:
        threshold = selection.correlation_threshold
        steps.append(("correlation", transformers.CorrelationFilter(threshold=threshold)))
    if selection.mutual_info_top_k is not None:
        steps.append(
            ("mutual_info", transformers.MutualInfoSelector(k=selection.mutual_info_top_k))
        )
    return steps
