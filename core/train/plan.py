"""The validation plan: which rows are held out, how the rest is cross-validated, and the target."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import (
    GroupKFold,
    GroupShuffleSplit,
    KFold,
    StratifiedGroupKFold,
    StratifiedKFold,
    TimeSeriesSplit,
    train_test_split,
)

from core.train.catalog import CLASSIFICATION

TASKS = ("binary", "multiclass", "regression")
MAX_CLASSES = 50
MIN_ROWS_PER_FOLD = 2

NO_TARGET = "Column {target!r} is not in the data. Choose the target from: {choices}."
TARGET_MISSING = (
    "The target {target!r} is missing in {count:,} of {total:,} rows. Drop those rows "
    "(tick 'Drop rows without a target', or add a drop_missing step to the recipe) and train again."
)
ONE_CLASS = (
    "The target {target!r} has only one value ({value!r}), so there is nothing to learn. "
    "Pick another target or a dataset version with more than one outcome."
)
NOT_NUMERIC = (
    "Regression needs a numeric target, but {target!r} holds text such as {example!r}. "
    "Choose classification, or parse the column with a parse_numbers step in Prepare."
)
TOO_MANY_CLASSES = (
    "The target {target!r} has {count:,} distinct values, too many for classification "
    "(at most {most}). Choose regression if it is a number, or pick another target."
)
UNKNOWN_TASK = "The task must be one of {choices}, not {task!r}."
TOO_FEW_ROWS = (
    "{rows:,} training rows are too few for {folds}-fold cross-validation with a "
    "{holdout:.0%} holdout. Use fewer folds (at least 2) or a larger dataset."
)
SMALL_CLASS = (
    "Class {label!r} has only {count} training row(s), fewer than the {folds} folds, so a "
    "stratified split cannot put it in every fold. Use {best} fold(s) or fewer, or merge rare "
    "classes in Prepare."
)
BAD_FOLDS = "The number of folds must be a whole number from 2 to 20, not {value!r}."
BAD_HOLDOUT = "The holdout share must be between 0.05 and 0.5, not {value!r}."
BAD_HOLDOUT_ROWS = (
    "A fixed holdout of {value!r} rows does not fit {rows:,} rows: it needs at least 1 row and "
    "must leave rows to train on."
)
NO_COLUMN = "The {what} column {column!r} is not in the data."
SAME_COLUMN = "The {what} column cannot be the target."
BAD_DATES = "The time column {column!r} has no readable dates; choose another column or none."
FEW_GROUPS = (
    "The group column {column!r} has {count} distinct value(s); group k-fold with {folds} folds "
    "needs at least {needed}. Use fewer folds or another group column."
)


class PlanError(ValueError):
    """A target or validation plan that cannot work; the message says what to change."""


@dataclass(frozen=True)
class ValidationPlan:
    """Holdout share, k-fold count, optional group or time column, and the seed (all recorded)."""

    folds: int = 5
    holdout: float = 0.2
    group_column: str | None = None
    time_column: str | None = None
    seed: int = 42
    holdout_rows: int | None = None  # a fixed holdout: the last N rows (what retraining uses)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ValidationPlan:
        return cls(**{key: data[key] for key in cls.__dataclass_fields__ if key in data})

    @property
    def kind(self) -> str:
        if self.time_column:
            return "time-ordered"
        return "group k-fold" if self.group_column else "k-fold"

    def describe(self, task: str) -> str:
        stratified = " stratified" if task in CLASSIFICATION and not self.time_column else ""
        holdout = (
            f"a fixed holdout of the last {self.holdout_rows:,} rows"
            if self.holdout_rows
            else f"{self.holdout:.0%} holdout"
        )
        return (
            f"{holdout} +{stratified} {self.folds}-fold {self.kind} "
            f"cross-validation, seed {self.seed}"
        )


@dataclass(frozen=True)
class Split:
    """Row positions for training (cross-validated) and for the untouched holdout."""

    train: np.ndarray
    holdout: np.ndarray


def detect_task(target: pd.Series) -> str:
    """binary, multiclass or regression, from the target's values."""
    values = target.dropna()
    distinct = values.nunique()
    if distinct <= 2:
        return "binary"
    numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    if numeric:
        whole = bool(np.all(np.mod(values.to_numpy(dtype=float), 1) == 0))
        if not whole or distinct > min(20, max(3, len(values) // 50)):
            return "regression"
    return "multiclass"


def check_target(frame: pd.DataFrame, target: str, task: str) -> None:
    """Raise PlanError when the target cannot be learned for ``task``."""
    if task not in TASKS:
        raise PlanError(UNKNOWN_TASK.format(choices=", ".join(TASKS), task=task))
    if target not in frame.columns:
        choices = ", ".join(map(str, frame.columns[:30]))
        raise PlanError(NO_TARGET.format(target=target, choices=choices))
    values = frame[target]
    missing = int(values.isna().sum())
    if missing:
        raise PlanError(TARGET_MISSING.format(target=target, count=missing, total=len(values)))
    if values.nunique() < 2:
        value = values.iloc[0] if len(values) else None
        raise PlanError(ONE_CLASS.format(target=target, value=value))
    if task == "regression":
        _check_numeric(values, target)
    elif values.nunique() > MAX_CLASSES:
        count = values.nunique()
        raise PlanError(TOO_MANY_CLASSES.format(target=target, count=count, most=MAX_CLASSES))


def _check_numeric(values: pd.Series, target: str) -> None:
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return
    parsed = pd.to_numeric(values, errors="coerce")
    if parsed.isna().any():
        example = values[parsed.isna()].iloc[0]
        raise PlanError(NOT_NUMERIC.format(target=target, example=example))


def drop_missing_target(frame: pd.DataFrame, target: str) -> pd.DataFrame:
    """The rows whose target is known (what 'Drop rows without a target' does)."""
    return frame.loc[frame[target].notna()].reset_index(drop=True)


def check_plan(plan: ValidationPlan, frame: pd.DataFrame, target: str) -> None:
    if not isinstance(plan.folds, int) or not 2 <= plan.folds <= 20:
        raise PlanError(BAD_FOLDS.format(value=plan.folds))
    if not 0.05 <= plan.holdout <= 0.5:
        raise PlanError(BAD_HOLDOUT.format(value=plan.holdout))
    for what, column in (("group", plan.group_column), ("time", plan.time_column)):
        if column is None:
            continue
        if column not in frame.columns:
            raise PlanError(NO_COLUMN.format(what=what, column=column))
        if column == target:
            raise PlanError(SAME_COLUMN.format(what=what))


def split_holdout(frame: pd.DataFrame, target: str, task: str, plan: ValidationPlan) -> Split:
    """Hold out rows by time (the latest), by group (whole groups) or at random (stratified)."""
    check_plan(plan, frame, target)
    positions = np.arange(len(frame))
    if plan.holdout_rows:
        if not 0 < plan.holdout_rows < len(frame):
            raise PlanError(BAD_HOLDOUT_ROWS.format(value=plan.holdout_rows, rows=len(frame)))
        cut = len(frame) - plan.holdout_rows
        return Split(train=positions[:cut], holdout=positions[cut:])
    if plan.time_column:
        order = np.argsort(_times(frame, plan.time_column), kind="stable")
        cut = len(order) - max(1, int(round(len(order) * plan.holdout)))
        return Split(train=np.sort(order[:cut]), holdout=np.sort(order[cut:]))
    if plan.group_column:
        groups = frame[plan.group_column].astype("string").fillna("(missing)")
        splitter = GroupShuffleSplit(n_splits=1, test_size=plan.holdout, random_state=plan.seed)
        train, holdout = next(splitter.split(positions, groups=groups))
        return Split(train=train, holdout=holdout)
    stratify = frame[target] if _stratifiable(frame[target], task, plan) else None
    train, holdout = train_test_split(
        positions, test_size=plan.holdout, random_state=plan.seed, stratify=stratify
    )
    return Split(train=np.sort(train), holdout=np.sort(holdout))


def _stratifiable(target: pd.Series, task: str, plan: ValidationPlan) -> bool:
    if task not in CLASSIFICATION:
        return False
    smallest = int(target.value_counts().min())
    return smallest >= 2 and int(round(len(target) * plan.holdout)) >= target.nunique()


def _times(frame: pd.DataFrame, column: str) -> np.ndarray:
    values = frame[column]
    if not pd.api.types.is_datetime64_any_dtype(values):
        values = pd.to_datetime(values, errors="coerce", format="mixed")
    if values.notna().sum() == 0:
        raise PlanError(BAD_DATES.format(column=column))
    # rows without a date sort first, so they are never in the "future" holdout
    return values.to_numpy(dtype="datetime64[ns]").astype("int64")


def check_folds(train: pd.DataFrame, target: str, task: str, plan: ValidationPlan) -> None:
    """Raise PlanError when the training rows cannot make ``plan.folds`` folds."""
    if len(train) < plan.folds * MIN_ROWS_PER_FOLD:
        rows = len(train)
        raise PlanError(TOO_FEW_ROWS.format(rows=rows, folds=plan.folds, holdout=plan.holdout))
    if plan.group_column:
        count = train[plan.group_column].nunique(dropna=False)
        if count < plan.folds:
            raise PlanError(
                FEW_GROUPS.format(
                    column=plan.group_column, count=count, folds=plan.folds, needed=plan.folds
                )
            )
    if task in CLASSIFICATION and not plan.time_column:
        counts = train[target].value_counts()
        if int(counts.min()) < plan.folds:
            label = counts.idxmin()
            best = max(1, int(counts.min()))
            raise PlanError(
                SMALL_CLASS.format(label=label, count=counts.min(), folds=plan.folds, best=best)
            )


def cv_folds(
    train: pd.DataFrame, target: str, task: str, plan: ValidationPlan
) -> list[tuple[np.ndarray, np.ndarray]]:
    """The k (fit, validate) position pairs over the training rows, fixed once and reused."""
    check_folds(train, target, task, plan)
    positions = np.arange(len(train))
    labels = train[target]
    if plan.time_column:
        order = np.argsort(_times(train, plan.time_column), kind="stable")
        return [
            (order[fit], order[check])
            for fit, check in TimeSeriesSplit(n_splits=plan.folds).split(order)
        ]
    if plan.group_column:
        groups = train[plan.group_column].astype("string").fillna("(missing)").to_numpy()
        if task in CLASSIFICATION:
            splitter: Any = StratifiedGroupKFold(
                n_splits=plan.folds, shuffle=True, random_state=plan.seed
            )
            return list(splitter.split(positions, labels, groups))
        return list(GroupKFold(n_splits=plan.folds).split(positions, labels, groups))
    if task in CLASSIFICATION:
        splitter = StratifiedKFold(n_splits=plan.folds, shuffle=True, random_state=plan.seed)
        return list(splitter.split(positions, labels))
    return list(KFold(n_splits=plan.folds, shuffle=True, random_state=plan.seed).split(positions))
