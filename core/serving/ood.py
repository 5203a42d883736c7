"""Out-of-distribution flags on served answers: numeric inputs outside the range seen in the
dataset version a model was trained on, and unseen categories; charted per window on Monitor."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.serving.inputs import NUMBER, CheckedValues, InputColumn
from core.store import connect, deployments

DEFAULT_BUCKETS = 60


@dataclass(frozen=True)
class TrainingRanges:
    """Each numeric input's lowest and highest value in the training data."""

    ranges: dict[str, tuple[float, float]]

    def flags(
        self, values: dict[str, list[Any]], unseen: list[list[str]], rows: int
    ) -> list[list[str]]:
        """Each row's inputs out of distribution: outside their range, or an unseen category
        (``unseen``, as scoring found them)."""
        found: list[list[str]] | None = None  # copied from ``unseen`` when a row is flagged
        arrays = values.arrays if isinstance(values, CheckedValues) else {}
        for name, (low, high) in self.ranges.items():
            column = values.get(name)
            if column is None:
                continue
            # the NumPy engine's array of the column when it scored it (numbers checked, so
            # float64 with NaN for null either way); None reads as NaN, outside no range
            numbers = arrays.get(name)
            if numbers is None or numbers.dtype != np.float64 or len(numbers) != len(column):
                numbers = np.array(column, dtype=np.float64)
            with np.errstate(invalid="ignore"):
                outside = np.flatnonzero((numbers < low) | (numbers > high))
            if not len(outside):
                continue
            found = _own_lists(unseen, rows) if found is None else found
            for index in outside.tolist():  # rare: only then look at each row
                found[index].append(name)
        if found is None:  # nothing outside a range: scoring's lists, read-only as every reader
            return unseen if len(unseen) == rows else [[] for _ in range(rows)]
        return found


def _own_lists(unseen: list[list[str]], rows: int) -> list[list[str]]:
    """A list per row to add names to (scoring shares one empty list between its rows)."""
    return [list(names) for names in unseen] if len(unseen) == rows else [[] for _ in range(rows)]


def training_ranges(home: Path, version_id: int, columns: list[InputColumn]) -> TrainingRanges:
    """The ranges of a version's numeric inputs in the dataset version its run was trained on
    (holdout included: the rows the model's makers saw)."""
    import pyarrow.compute as pc

    from core.data.datasets import get_version, load_table
    from core.train.registry import model_version_by_id
    from core.train.tracking import get_run

    run = get_run(home, model_version_by_id(home, version_id).run_id)
    if not run.dataset_version_id:
        return TrainingRanges({})
    table = load_table(home, get_version(home, run.dataset_version_id))
    ranges: dict[str, tuple[float, float]] = {}
    for column in columns:
        if column.kind != NUMBER or column.name not in table.column_names:
            continue
        extremes = pc.min_max(table[column.name].cast("float64")).as_py()
        low, high = extremes["min"], extremes["max"]
        if low is not None and high is not None and math.isfinite(low) and math.isfinite(high):
            ranges[column.name] = (float(low), float(high))
    return TrainingRanges(ranges)


# -- on Monitor ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class OodSeries:
    """Rows answered and rows flagged out of distribution, per time bucket."""

    starts: tuple[float, ...]
    rows: tuple[int, ...]
    flagged: tuple[int, ...]

    @property
    def share(self) -> tuple[float, ...]:
        return tuple(f / r if r else 0.0 for f, r in zip(self.flagged, self.rows, strict=True))

    @property
    def total_share(self) -> float:
        answered = sum(self.rows)
        return sum(self.flagged) / answered if answered else 0.0


def ood_series(
    home: Path, deployment_id: int, *, minutes: int, buckets: int = DEFAULT_BUCKETS
) -> OodSeries:
    """The deployment's out-of-distribution rows over the last ``minutes``, in ``buckets``."""
    bucket_seconds = max(60.0, minutes * 60.0 / buckets)
    with connect(home) as db:
        found = deployments.ood_counts(
            db, deployment_id, since=time.time() - minutes * 60, bucket_seconds=bucket_seconds
        )
    return OodSeries(
        tuple(start for start, _, _ in found),
        tuple(rows for _, rows, _ in found),
        tuple(flagged for _, _, flagged in found),
    )
