"""Champion and shadow side by side: how often they agree on the same requests and, once labels
arrive, which one is right more often — per time bucket, for the comparison chart."""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import orjson

from core.monitor.windows import label_score
from core.store import connect, retraining


@dataclass(frozen=True)
class ShadowBucket:
    """One time bucket of requests both versions scored."""

    start: float
    rows: int
    agreement: float | None  # share of rows with the same answer (classification)
    mean_difference: float | None  # mean absolute gap between the answers (regression)
    labelled: int
    served_performance: float | None
    shadow_performance: float | None


@dataclass(frozen=True)
class ShadowComparison:
    """The buckets and the totals over the whole range."""

    version_id: int
    buckets: list[ShadowBucket]
    rows: int
    agreement: float | None
    mean_difference: float | None
    labelled: int
    served_performance: float | None
    shadow_performance: float | None
    performance_name: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Tally:
    rows: int = 0
    same: int = 0
    difference: float = 0.0
    labelled: int = 0
    served: float = 0.0
    shadow: float = 0.0

    def add(self, served: list[Any], shadow: list[Any], labels: dict[str, Any]) -> None:
        for index, (mine, theirs) in enumerate(zip(served, shadow, strict=False)):
            self.rows += 1
            if _is_number(mine) and _is_number(theirs) and isinstance(mine, float):
                self.difference += abs(mine - theirs)
            else:
                self.same += mine == theirs
            label = labels.get(str(index))
            if label is not None:
                self.labelled += 1
                self.served += label_score([(mine, label)])
                self.shadow += label_score([(theirs, label)])


def compare_shadow(
    home: Path,
    deployment_id: int,
    version_id: int,
    *,
    minutes: float = 60.0,
    bucket_minutes: float = 1.0,
    regression: bool = False,
    end: float | None = None,
) -> ShadowComparison:
    """Compare the served answers with shadow ``version_id``'s over the last ``minutes``."""
    end = time.time() if end is None else end
    start = end - minutes * 60
    width = bucket_minutes * 60
    with connect(home) as db:
        pairs = retraining.shadow_pairs(db, deployment_id, version_id, start, end)
    tallies: dict[float, _Tally] = {}
    total = _Tally()
    for moment, _, served, shadow, labels in pairs:
        bucket = math.floor(moment / width) * width
        served_rows, shadow_rows = orjson.loads(served), orjson.loads(shadow)
        known = orjson.loads(labels) if labels else {}
        tallies.setdefault(bucket, _Tally()).add(served_rows, shadow_rows, known)
        total.add(served_rows, shadow_rows, known)
    buckets = [_bucket(at, tally, regression) for at, tally in sorted(tallies.items())]
    summary = _bucket(start, total, regression)
    return ShadowComparison(
        version_id=version_id,
        buckets=buckets,
        rows=summary.rows,
        agreement=summary.agreement,
        mean_difference=summary.mean_difference,
        labelled=summary.labelled,
        served_performance=summary.served_performance,
        shadow_performance=summary.shadow_performance,
        performance_name="mean absolute error" if regression else "accuracy",
    )


def _bucket(start: float, tally: _Tally, regression: bool) -> ShadowBucket:
    rows, labelled = tally.rows, tally.labelled
    return ShadowBucket(
        start=start,
        rows=rows,
        agreement=None if regression or not rows else tally.same / rows,
        mean_difference=tally.difference / rows if regression and rows else None,
        labelled=labelled,
        served_performance=tally.served / labelled if labelled else None,
        shadow_performance=tally.shadow / labelled if labelled else None,
    )


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
