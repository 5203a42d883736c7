"""Splitting rows into the groups of each sensitive feature and of their intersection."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from core.review.fairness.messages import (
    NO_SENSITIVE,
    ROW_MISMATCH,
    SINGLE_GROUP,
    TOO_MANY_GROUPS,
    TOO_MANY_INTERSECTIONS,
    FairnessError,
)

MISSING_GROUP = "(missing)"
GROUP_JOINER = " · "
FEATURE_JOINER = " × "

MIN_GROUP_ROWS = 10
MAX_GROUPS = 50
MAX_INTERSECTION_GROUPS = 200


@dataclass(frozen=True)
class _Partition:
    """One way of splitting the rows: a feature or an intersection, its group labels and rows."""

    feature: str
    labels: tuple[str, ...]
    rows: tuple[np.ndarray, ...]


def _sensitive_frame(sensitive: Any, *, rows: int) -> pd.DataFrame:
    frame = sensitive.to_frame() if isinstance(sensitive, pd.Series) else pd.DataFrame(sensitive)
    if frame.shape[1] == 0:
        raise FairnessError(NO_SENSITIVE)
    if len(frame) != rows:
        raise FairnessError(ROW_MISMATCH.format(sensitive=len(frame), predicted=rows))
    frame.columns = [str(name) for name in frame.columns]
    return frame.reset_index(drop=True)


def group_labels(column: pd.Series) -> pd.Series:
    """A sensitive column as group names: text, with missing values as ``(missing)``."""
    text = column.astype(object).map(str)
    return text.where(column.notna(), MISSING_GROUP)


def _codes(column: pd.Series) -> tuple[np.ndarray, list[str]]:
    codes, uniques = pd.factorize(group_labels(column), sort=True)
    return codes.astype(np.int64), [str(value) for value in uniques]


def _rows_by_code(codes: np.ndarray, count: int) -> tuple[np.ndarray, ...]:
    order = np.argsort(codes, kind="stable")
    bounds = np.cumsum(np.bincount(codes, minlength=count))[:-1]
    return tuple(np.split(order, bounds))


def _partitions(frame: pd.DataFrame, *, intersectional: bool) -> tuple[list[_Partition], list[str]]:
    partitions: list[_Partition] = []
    coded: list[tuple[np.ndarray, list[str]]] = []
    for feature in frame.columns:
        codes, labels = _codes(frame[feature])
        if len(labels) == 1:
            raise FairnessError(SINGLE_GROUP.format(feature=feature, group=labels[0]))
        if len(labels) > MAX_GROUPS:
            raise FairnessError(
                TOO_MANY_GROUPS.format(feature=feature, count=len(labels), limit=MAX_GROUPS)
            )
        coded.append((codes, labels))
        partitions.append(_Partition(feature, tuple(labels), _rows_by_code(codes, len(labels))))
    notes: list[str] = []
    if intersectional and len(coded) > 1:
        joined = _intersection(list(frame.columns), coded)
        if len(joined.labels) > MAX_INTERSECTION_GROUPS:
            notes.append(
                TOO_MANY_INTERSECTIONS.format(
                    feature=joined.feature,
                    count=len(joined.labels),
                    limit=MAX_INTERSECTION_GROUPS,
                )
            )
        else:
            partitions.append(joined)
    return partitions, notes


def _intersection(features: list[str], coded: list[tuple[np.ndarray, list[str]]]) -> _Partition:
    """The groups present in the data, ordered as a groupby over all the features orders them."""
    key = np.zeros(len(coded[0][0]), dtype=np.int64)
    for codes, labels in coded:
        key = key * len(labels) + codes
    combined, uniques = pd.factorize(key, sort=True)
    names = []
    for value in uniques.tolist():
        parts = []
        for _, labels in reversed(coded):
            value, index = divmod(value, len(labels))
            parts.append(labels[index])
        names.append(GROUP_JOINER.join(reversed(parts)))
    rows = _rows_by_code(combined.astype(np.int64), len(names))
    return _Partition(FEATURE_JOINER.join(features), tuple(names), rows)
