"""The rows behind each group's figures, shown beside them, and when they are too few to trust."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

# A rate resting on a handful of rows swings with one row more or less: a selection rate of 0
# from 2 predicted positives, and a parity ratio of 0.0 built on it, say little. A figure is
# flagged when any count it rests on is under MIN_COUNT (see ``basis``).
MIN_COUNT = 10


@dataclass(frozen=True)
class GroupCounts:
    """The rows behind one group's figures. A binary task fills every count, a multiclass one
    ``correct``, a regression only ``rows``."""

    rows: int
    predicted_positives: int | None = None
    actual_positives: int | None = None
    true_positives: int | None = None
    correct: int | None = None

    @property
    def actual_negatives(self) -> int | None:
        return None if self.actual_positives is None else self.rows - self.actual_positives

    @property
    def false_positives(self) -> int | None:
        if self.predicted_positives is None or self.true_positives is None:
            return None
        return self.predicted_positives - self.true_positives

    def to_dict(self) -> dict[str, int]:
        return {name: value for name, value in asdict(self).items() if value is not None}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GroupCounts:
        known = ("predicted_positives", "actual_positives", "true_positives", "correct")
        extra = {name: int(data[name]) for name in known if data.get(name) is not None}
        return cls(rows=int(data["rows"]), **extra)


@dataclass(frozen=True)
class Basis:
    """What one group's figure rests on: ``part`` of ``whole`` in words (``text``, and
    ``short`` for a label), whether that is too few, and the count that falls short."""

    text: str
    short: str
    too_few: bool
    shortfall: str | None


def group_counts(task: str, statistics: np.ndarray, rows: int) -> GroupCounts:
    """Counts from a group's statistics: binary (tn, fp, fn, tp), multiclass (wrong, right)."""
    if task == "binary":
        _, fp, fn, tp = (int(value) for value in statistics)
        return GroupCounts(rows, fp + tp, fn + tp, tp, rows - fp - fn)
    if task == "multiclass":
        return GroupCounts(rows, correct=int(statistics[1]))
    return GroupCounts(rows)


def basis(metric: str, counts: GroupCounts) -> Basis:
    """What ``metric`` of a group with ``counts`` rests on.

    A selection rate rests on the group's rows and its predicted positives; a true positive
    rate on its actual positives, a false positive rate on its actual negatives; precision on
    its predicted positives; ROC AUC on its actual positives and negatives; accuracy, MAE and
    RMSE on its rows.
    """
    rows = counts.rows
    predicted, actual = counts.predicted_positives, counts.actual_positives
    negatives, hits = counts.actual_negatives, counts.true_positives
    if metric == "selection_rate" and predicted is not None:
        return _part_of(
            predicted, rows, "rows predicted positive", [(rows, "rows"), _pp(predicted)]
        )
    if metric == "true_positive_rate" and actual is not None and hits is not None:
        whole = "actual positives predicted positive"
        return _part_of(hits, actual, whole, [(actual, "actual positives")])
    if metric == "false_positive_rate" and negatives is not None:
        false = counts.false_positives or 0
        whole = "actual negatives predicted positive"
        return _part_of(false, negatives, whole, [(negatives, "actual negatives")])
    if metric == "precision" and predicted is not None and hits is not None:
        return _part_of(hits, predicted, "predicted positives right", [_pp(predicted)])
    if metric == "accuracy" and counts.correct is not None:
        return _part_of(counts.correct, rows, "rows right", [(rows, "rows")])
    if metric == "roc_auc" and actual is not None and negatives is not None:
        text = f"{actual:,} actual positives and {negatives:,} actual negatives"
        short = f"{actual:,} positive, {negatives:,} negative"
        needs = [(actual, "actual positives"), (negatives, "actual negatives")]
        return Basis(text, short, *_shortfall(needs))
    return Basis(f"{rows:,} rows", f"{rows:,} rows", *_shortfall([(rows, "rows")]))


def _pp(count: int) -> tuple[int, str]:
    return count, "predicted positives"


def _part_of(part: int, whole: int, words: str, needs: list[tuple[int, str]]) -> Basis:
    return Basis(f"{part:,} of {whole:,} {words}", f"{part:,} of {whole:,}", *_shortfall(needs))


def _shortfall(needs: list[tuple[int, str]]) -> tuple[bool, str | None]:
    short = [
        f"no {words}" if count == 0 else f"only {count:,} {words}"
        for count, words in needs
        if count < MIN_COUNT
    ]
    return (True, " and ".join(short)) if short else (False, None)
