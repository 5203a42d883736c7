"""The Prepare page's feature spec editor: role defaults, per-column options, a fitted preview."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from app import state
from app.components import column_choice, records_table
from app.text import md
from core import words
from core.data.schema import ColumnSchema
from core.prep.recipe import CleaningResult, Recipe

IMPUTE = ["none", "mean", "median", "most_frequent", "constant", "knn"]
SCALE = ["none", "standard", "minmax", "robust"]
TRANSFORM = ["none", "log", "yeo_johnson"]
ENCODE = ["onehot", "ordinal", "target"]
DATE_PARTS = ["year", "month", "day", "weekday", "hour", "days_since"]
PREVIEW_ROWS = 2_000


def _option(name: str) -> str:
    return state.FEATURE_OPTION.format(option=name)


def fitted_to(recipe: Recipe, schema: list[ColumnSchema]) -> Recipe | None:
    """Say when the recipe's target or feature spec names columns this data does not have
    (a recipe loaded from another dataset), and offer the defaults; the reset recipe when
    the user takes them."""
    from core.prep.features import FeatureSpecError
    from core.prep.prepare import check_features

    names = {column.name for column in schema}
    problem = None
    if recipe.target is not None and recipe.target not in names:
        problem = f"The target {recipe.target!r} is not a column of this data."
    else:
        try:
            check_features(recipe, schema)
        except FeatureSpecError as error:
            problem = str(error)
    if problem is None:
        return None
    st.warning(
        f"{md(problem)} This recipe was made for other data, so it cannot be applied here as "
        "it is. Reset the feature spec to this data's defaults, or load another recipe."
    )
    if st.button("Reset the feature spec to the defaults", key=state.FEATURES_REFIT):
        target = recipe.target if recipe.target in names else None
        return Recipe(recipe.name, target, recipe.cleaning, None, recipe.notes)
    return None


def with_defaults(
    recipe: Recipe, schema: list[ColumnSchema], *, suggested_target: str | None
) -> Recipe:
    """A recipe without a feature spec starts from the suggested target and the default spec,
    in the same run (the page opens once, not three times)."""
    from core.prep.features import default_feature_spec

    if recipe.features is not None:
        return recipe
    if recipe.target is None and suggested_target in [c.name for c in schema]:
        recipe = _with_target(recipe, suggested_target)
    return recipe.with_features(default_feature_spec(schema, target=recipe.target))


def feature_editor(recipe: Recipe, schema: list[ColumnSchema]) -> Recipe | None:
    """Edit the spec; returns the changed recipe when the user saves a change."""
    from core.prep.features import default_feature_spec, describe_feature_spec

    names = [c.name for c in schema]
    target = column_choice(
        "Target column (what models will predict)",
        names,
        recipe.target,
        none_label="(none yet)",
        key=state.RECIPE_TARGET,
    )
    if target != recipe.target:
        return _with_target(recipe, target)
    if st.button("Reset to the defaults", key=state.FEATURES_DEFAULTS):
        return recipe.with_features(default_feature_spec(schema, target=target))
    spec = recipe.features
    assert spec is not None, "with_defaults() gives every recipe shown here a feature spec"
    lines = [line.partition(": ") for line in describe_feature_spec(spec)]
    records_table(
        pd.DataFrame({"column": [c for c, _, _ in lines], "transforms": [t for _, _, t in lines]})
    )
    return _column_options(recipe, schema)


def _with_target(recipe: Recipe, target: str | None) -> Recipe:
    """A new target leaves the feature spec, since a column cannot predict itself."""
    features = recipe.features
    if features and target in features.get("columns", {}):
        columns = {k: v for k, v in features["columns"].items() if k != target}
        features = {**features, "columns": columns}
    return Recipe(recipe.name, target, recipe.cleaning, features, recipe.notes)


def _column_options(recipe: Recipe, schema: list[ColumnSchema]) -> Recipe | None:
    features = recipe.features or {"columns": {}}
    candidates = [c for c in schema if c.name != recipe.target]
    if not candidates:
        return None
    by_name = {c.name: c for c in candidates}
    with st.expander("Change one column's transforms"):
        name = st.selectbox("Column", list(by_name), key=state.FEATURE_COLUMN)
        current = features.get("columns", {}).get(name)
        include = st.checkbox(
            "Use this column in models",
            value=bool(current) and not (current or {}).get("drop"),
            key=_option(f"include.{name}"),
        )
        options = _options_for(by_name[name], current or {}) if include else {"drop": True}
        if st.button("Save column", key=state.FEATURE_SAVE):
            columns = {**features.get("columns", {}), name: options}
            if not include:
                columns.pop(name, None)
            return recipe.with_features({**features, "columns": columns})
    return None


def _options_for(column: ColumnSchema, current: dict[str, Any]) -> dict[str, Any]:
    key = f"{column.name}"
    if column.role == "datetime":
        parts = st.multiselect(
            "Date parts",
            DATE_PARTS,
            default=current.get("date_parts", ["year", "month", "weekday", "days_since"]),
            format_func=words.option,
            key=_option(f"parts.{key}"),
        )
        return {"date_parts": parts}
    left, right = st.columns(2)
    fill = "median" if column.role == "numeric" else "most_frequent"
    impute = _choice(left, "Fill missing values with", IMPUTE, current, "impute", fill, key)
    indicator = right.checkbox(
        "Add a 'was missing' indicator",
        value=current.get("missing_indicator", False),
        key=_option(f"indicator.{key}"),
    )
    options: dict[str, Any] = {"impute": impute, "missing_indicator": indicator}
    if column.role == "numeric":
        options |= _numeric_options(key, current)
    else:
        options |= _categorical_options(key, current)
    return options


def _choice(
    place: Any,
    label: str,
    choices: list[str],
    current: dict[str, Any],
    name: str,
    default: str,
    key: str,
) -> str:
    """A selectbox for option ``name`` of column ``key``, showing its current value."""
    return place.selectbox(
        label,
        choices,
        index=choices.index(current.get(name, default)),
        format_func=words.option,
        key=_option(f"{name}.{key}"),
    )


def _numeric_options(key: str, current: dict[str, Any]) -> dict[str, Any]:
    left, middle, right = st.columns(3)
    transform = _choice(left, "Transform", TRANSFORM, current, "transform", "none", key)
    scale = _choice(middle, "Scale", SCALE, current, "scale", "standard", key)
    bins = right.number_input(
        "Bins (0 = keep numeric)",
        0,
        50,
        int((current.get("bins") or {}).get("n_bins", 0)),
        key=_option(f"bins.{key}"),
    )
    options: dict[str, Any] = {"transform": transform, "scale": scale, "bins": None}
    if bins:
        options["bins"] = {"strategy": "quantile", "n_bins": int(bins)}
    return options


def _categorical_options(key: str, current: dict[str, Any]) -> dict[str, Any]:
    left, middle, right = st.columns(3)
    encode = _choice(left, "Encode as", ENCODE, current, "encode", "onehot", key)
    options: dict[str, Any] = {"encode": encode}
    if encode == "onehot":
        options["min_frequency"] = middle.number_input(
            "Group levels rarer than",
            0.0,
            0.5,
            float(current.get("min_frequency", 0.01)),
            step=0.005,
            format="%.3f",
            key=_option(f"minfreq.{key}"),
        )
        options["max_categories"] = int(
            right.number_input(
                "At most this many levels",
                2,
                500,
                int(current.get("max_categories", 20)),
                key=_option(f"maxcat.{key}"),
            )
        )
    return options


def features_preview(recipe: Recipe, result: CleaningResult, schema: list[ColumnSchema]) -> None:
    """Fit the spec on a sample of the cleaned rows and show the model's input columns."""
    from core.prep.features import FeatureSpecError, build_feature_pipeline

    if not st.toggle("Preview the features a model will see", key=state.FEATURES_PREVIEW):
        return
    sample = result.frame.sample(min(len(result.frame), PREVIEW_ROWS), random_state=0)
    try:
        pipeline = build_feature_pipeline(
            recipe.features or {}, schema=schema, target=recipe.target
        )
        target = sample[recipe.target] if recipe.target else None
        inputs = sample.drop(columns=[recipe.target]) if recipe.target else sample
        transformed = pipeline.fit_transform(inputs, target)
    except (FeatureSpecError, ValueError) as error:
        st.error(md(str(error)))
        return
    st.caption(f"{transformed.shape[1]} model input columns, fitted on {len(sample):,} rows.")
    st.dataframe(pd.DataFrame(transformed).head(50), width="stretch", placeholder="-")
