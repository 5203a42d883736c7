"""The drift results: ColumnDrift per column and the DriftReport of a whole window."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from core.monitor.drift.methods import DRIFT_METHODS
from core.monitor.drift.values import Kind


@dataclass(frozen=True)
class ColumnDrift:
    """One column's drift: the method, its statistic and p-value (tests), threshold and verdict.

    ``statistic`` is the distance for distances and the test statistic for tests; it is None
    when every current value is missing. Missing rates are shares of rows; the new-category
    rate is the share of current non-missing values in categories the reference never had.
    """

    column: str
    kind: Kind
    method: str
    statistic: float | None
    p_value: float | None
    threshold: float
    drifted: bool
    reference_missing: float
    current_missing: float
    new_category_rate: float | None = None
    note: str | None = None

    @property
    def score(self) -> float | None:
        """What is compared with the threshold: the p-value of a test, else the distance."""
        return self.p_value if DRIFT_METHODS[self.method].test else self.statistic

    def to_dict(self) -> dict[str, Any]:
        spec = DRIFT_METHODS[self.method]
        return {
            "column": self.column,
            "kind": self.kind,
            "method": self.method,
            "title": spec.title,
            "measure": "p_value" if spec.test else "distance",
            "statistic": _plain(self.statistic),
            "p_value": _plain(self.p_value),
            "score": _plain(self.score),
            "threshold": self.threshold,
            "drifted": self.drifted,
            "reference_missing": self.reference_missing,
            "current_missing": self.current_missing,
            "new_category_rate": self.new_category_rate,
            "note": self.note,
        }


@dataclass(frozen=True)
class DriftReport:
    """Drift of every compared column and of the dataset (drift share >= share threshold)."""

    columns: tuple[ColumnDrift, ...]
    drift_share: float
    dataset_drift: bool
    share_threshold: float
    rows_reference: int
    rows_current: int
    missing_columns: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def drifted_columns(self) -> tuple[str, ...]:
        return tuple(column.column for column in self.columns if column.drifted)

    def column(self, name: str) -> ColumnDrift:
        for column in self.columns:
            if column.column == name:
                return column
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "columns": [column.to_dict() for column in self.columns],
            "drifted_columns": len(self.drifted_columns),
            "compared_columns": len(self.columns),
            "drift_share": self.drift_share,
            "dataset_drift": self.dataset_drift,
            "share_threshold": self.share_threshold,
            "rows_reference": self.rows_reference,
            "rows_current": self.rows_current,
            "missing_columns": list(self.missing_columns),
            "notes": list(self.notes),
        }


def _plain(value: float | None) -> float | None:
    """JSON has no infinity or NaN."""
    return value if value is not None and math.isfinite(value) else None
