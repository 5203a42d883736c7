"""The rows, features and split a training request (or a past run) resolves to."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from core.data.datasets import get_version, load_frame
from core.data.schema import ColumnSchema
from core.prep.features import FeatureSpec, build_feature_pipeline, default_feature_spec
from core.prep.prepare import stored_recipe
from core.prep.recipe import Recipe, apply_cleaning
from core.store.datasets import DatasetVersion
from core.store.runs import Run
from core.train.plan import (
    ValidationPlan,
    check_target,
    cv_folds,
    detect_task,
    drop_missing_target,
    split_holdout,
)
from core.train.training.request import Progress, TrainRequest


@dataclass(frozen=True)
class TrainingData:
    """The rows, features and split a training request resolves to."""

    version: DatasetVersion
    recipe: Recipe | None
    recipe_id: int | None
    task: str
    target: str
    features: dict[str, Any]
    feature_spec: FeatureSpec  # ``features`` parsed once against ``schema`` and ``target``
    schema: list[ColumnSchema]
    X_train: pd.DataFrame
    y_train: pd.Series
    X_holdout: pd.DataFrame
    y_holdout: pd.Series
    folds: list[tuple[np.ndarray, np.ndarray]]
    seed: int

    def pipeline(self, estimator: Any) -> Pipeline:
        features = build_feature_pipeline(self.feature_spec)
        return Pipeline([("features", features), ("model", estimator)])


def training_data(
    home: Path, request: TrainRequest, progress: Progress | None = None
) -> TrainingData:
    """Load the version, apply the recipe's cleaning if needed, check the target, split rows."""
    report = progress or (lambda fraction, message: None)
    version = get_version(home, request.version_id)
    report(0.01, f"Loading {version.label}")
    frame = load_frame(home, version)
    recipe_id = request.recipe_id if request.recipe_id is not None else version.recipe_id
    recipe = stored_recipe(home, recipe_id) if recipe_id is not None else None
    schema = version.schema
    if recipe is not None and recipe.cleaning and recipe_id != version.recipe_id:
        report(0.02, "Applying the recipe's cleaning steps")
        frame = apply_cleaning(frame, recipe).frame
        schema = _schema_of(frame, version.schema)
    frame, task = _rows_to_learn(frame, request, labels=_target_labels(schema, request.target))
    features = _feature_spec(recipe, schema, request.target)
    split = split_holdout(frame, request.target, task, request.plan)
    X = frame.drop(columns=[request.target])
    y = frame[request.target]
    X_train, y_train = (
        X.iloc[split.train].reset_index(drop=True),
        y.iloc[split.train].reset_index(drop=True),
    )
    train_frame = frame.iloc[split.train].reset_index(drop=True)
    folds = cv_folds(train_frame, request.target, task, request.plan)
    # parse once, so a spec problem (e.g. every feature dropped) surfaces before any run starts
    feature_spec = FeatureSpec.from_dict(features, schema=schema, target=request.target)
    return TrainingData(
        version=version,
        recipe=recipe,
        recipe_id=recipe_id,
        task=task,
        target=request.target,
        features=features,
        feature_spec=feature_spec,
        schema=schema,
        X_train=X_train,
        y_train=y_train,
        X_holdout=X.iloc[split.holdout].reset_index(drop=True),
        y_holdout=y.iloc[split.holdout].reset_index(drop=True),
        folds=folds,
        seed=request.plan.seed,
    )


def _detected_task(frame: pd.DataFrame, target: str) -> str:
    # an unknown target is reported by check_target, with the columns to choose from
    return detect_task(frame[target]) if target in frame.columns else "binary"


def _schema_of(frame: pd.DataFrame, original: list[ColumnSchema]) -> list[ColumnSchema]:
    import pyarrow as pa

    from core.data.schema import infer_schema

    by_name = {column.name: column for column in original}
    inferred = infer_schema(pa.Table.from_pandas(frame, preserve_index=False))
    # keep the roles the user set on the source version for columns that survived cleaning,
    # and the yes/no labels the source file used
    return [_kept(column, by_name.get(column.name)) for column in inferred]


def _kept(column: ColumnSchema, source: ColumnSchema | None) -> ColumnSchema:
    if source is None:
        return column
    labels = source.labels if column.dtype == "bool" else None
    return replace(column, role=source.role, labels=labels or column.labels)


def _feature_spec(recipe: Recipe | None, schema: list[ColumnSchema], target: str) -> dict[str, Any]:
    if recipe is not None and recipe.features is not None:
        return recipe.features
    return default_feature_spec(schema, target=target)


def _target_labels(schema: list[ColumnSchema], target: str) -> tuple[str, str] | None:
    return next((column.labels for column in schema if column.name == target), None)


def _target_values(
    values: pd.Series, task: str, labels: tuple[str, str] | None = None
) -> pd.Series:
    """The target in one clean dtype: floats for regression, labels of one type otherwise.

    A yes/no target read from text is learnt in the file's own words (``labels``), so
    predictions, class names and the labels users send back read as the file did."""
    if task == "regression":
        return pd.to_numeric(values, errors="coerce").astype(float)
    known = values.dropna()
    is_boolean = pd.api.types.is_bool_dtype(values) or (
        values.dtype == object and len(known) > 0 and known.map(type).eq(bool).all()
    )
    if is_boolean and labels is not None:
        return values.map({True: labels[0], False: labels[1]}).astype(object)
    if is_boolean:
        return values.astype(bool)
    if pd.api.types.is_float_dtype(values) and bool(np.all(np.mod(known, 1) == 0)):
        return values.astype("int64")
    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return values
    return values.astype(str)


def _rows_to_learn(
    frame: pd.DataFrame, request: TrainRequest, labels: tuple[str, str] | None = None
) -> tuple[pd.DataFrame, str]:
    """The rows with the target checked and in one dtype (a yes/no target in ``labels``), and
    the task."""
    if request.drop_missing_target and request.target in frame.columns:
        frame = drop_missing_target(frame, request.target)
    task = request.task or _detected_task(frame, request.target)
    check_target(frame, request.target, task)
    frame = frame.copy(deep=False)
    frame[request.target] = _target_values(frame[request.target], task, labels)
    return frame, task


def preflight(frame: pd.DataFrame, request: TrainRequest) -> str:
    """Check the target and the plan on the rows before any work starts; returns the task.

    The Train page calls this on every change so a problem shows before the user clicks Train.
    """
    frame, task = _rows_to_learn(frame, request)
    split = split_holdout(frame, request.target, task, request.plan)
    cv_folds(frame.iloc[split.train].reset_index(drop=True), request.target, task, request.plan)
    return task


def request_for_run(run: Run) -> TrainRequest:
    """The request that reproduces a run's data and split (same version, recipe, plan, seed)."""
    assert run.dataset_version_id is not None
    return TrainRequest(
        version_id=run.dataset_version_id,
        target=run.target,
        task=run.task,
        recipe_id=run.recipe_id,
        models=(run.model,),
        plan=ValidationPlan.from_dict(run.plan),
        drop_missing_target=True,
    )


def run_data(home: Path, run: Run) -> TrainingData:
    """The exact rows, split and feature spec a run was trained and evaluated on."""
    return training_data(home, request_for_run(run))


def holdout_for_run(home: Path, run: Run) -> tuple[pd.DataFrame, pd.Series]:
    """The exact holdout rows a run was evaluated on (what review and ONNX parity use)."""
    data = run_data(home, run)
    return data.X_holdout, data.y_holdout
