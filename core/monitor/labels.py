"""True labels from a file (request id, optional row, label), joined on request id: the rows the
deployment answered get their label; unknown ids, duplicates and wrong types are reported."""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from core.auth import Permission
from core.auth.access import authorized_actor
from core.data.booleans import class_of
from core.store import audit, connect, deployments

REQUEST_COLUMN = "request_id"
ROW_COLUMN = "row"
LABEL_COLUMN = "label"
MISSING_COLUMNS = (
    "The label file needs the columns 'request_id' and 'label' (and optionally 'row'); "
    "it has: {columns}."
)
NO_ROWS = "The label file has no rows."
BAD_ROW = "Column 'row' must hold whole numbers from 0; {count:,} row(s) do not (e.g. {example!r})."
MAX_EXAMPLES = 5


@dataclass(frozen=True)
class LabelReport:
    """What a label file did: applied, unknown request ids, duplicates, labels of the wrong type."""

    applied: int
    unknown: tuple[str, ...]
    duplicates: int
    wrong_type: int
    wrong_examples: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def apply_labels(
    home: Path,
    deployment_id: int,
    frame: pd.DataFrame,
    *,
    classes: list[Any] | None,
    actor: str = "studio",
) -> LabelReport:
    """Store the labels in ``frame``; ``classes`` (None for regression) decides valid labels.
    A later line for the same request row wins (and is counted as a duplicate)."""
    actor = authorized_actor(home, Permission.LABELS, actor)
    _check_columns(frame)
    rows = _rows(frame)
    keyed: dict[tuple[str, int | None], Any] = {}
    duplicates = 0
    for request_id, row, label in rows:
        duplicates += (request_id, row) in keyed
        keyed[(request_id, row)] = label
    valid, wrong = _typed(keyed, classes)
    with connect(home) as db:
        sizes = deployments.answered_sizes(db, deployment_id, sorted({rid for rid, _ in valid}))
        known = [
            (rid, row, json.dumps(label))
            for (rid, row), label in valid.items()
            if rid in sizes and (row is None or row < sizes[rid])
        ]
        unknown = sorted(
            {rid if row is None else f"{rid}[{row}]" for (rid, row) in valid}
            - {rid if row is None else f"{rid}[{row}]" for rid, row, _ in known}
        )
        refused = deployments.record_labels(db, deployment_id, known, time.time()) if known else []
        if known:
            audit.record(
                db, actor=actor, action="labels.apply", entity_type="deployment",
                entity_id=deployment_id, details={"labels": len(known)},
            )  # fmt: skip
    assert not refused  # every known id was checked above
    return LabelReport(
        len(known), tuple(unknown), duplicates, len(wrong), tuple(wrong[:MAX_EXAMPLES])
    )


def read_label_file(path: Path) -> pd.DataFrame:
    from core.serving.batch import read_frame

    return read_frame(path)[0]


def _check_columns(frame: pd.DataFrame) -> None:
    if REQUEST_COLUMN not in frame.columns or LABEL_COLUMN not in frame.columns:
        raise ValueError(MISSING_COLUMNS.format(columns=", ".join(map(str, frame.columns))))
    if frame.empty:
        raise ValueError(NO_ROWS)


def _rows(frame: pd.DataFrame) -> list[tuple[str, int | None, Any]]:
    rows_column = frame[ROW_COLUMN] if ROW_COLUMN in frame.columns else None
    if rows_column is not None:
        numbers = pd.to_numeric(rows_column, errors="coerce")
        bad = rows_column.notna() & (numbers.isna() | (numbers < 0) | (numbers % 1 != 0))
        if bad.any():
            example = rows_column[bad].iloc[0]
            raise ValueError(BAD_ROW.format(count=int(bad.sum()), example=str(example)))
    found = []
    for index, (request_id, label) in enumerate(
        zip(frame[REQUEST_COLUMN], frame[LABEL_COLUMN], strict=True)
    ):
        row = (
            None
            if rows_column is None or pd.isna(rows_column.iloc[index])
            else int(rows_column.iloc[index])
        )
        found.append((str(request_id), row, label))
    return found


def _typed(
    keyed: dict[tuple[str, int | None], Any], classes: list[Any] | None
) -> tuple[dict[tuple[str, int | None], Any], list[str]]:
    valid: dict[tuple[str, int | None], Any] = {}
    wrong: list[str] = []
    for key, label in keyed.items():
        value = _label(label, classes)
        if value is None:
            wrong.append(str(label))
        else:
            valid[key] = value
    return valid, wrong


def _label(label: Any, classes: list[Any] | None) -> Any:
    """The label as the model's class (matched by value or by its text), or a finite number
    for regression; None when it is neither."""
    if label is None or (isinstance(label, float) and math.isnan(label)):
        return None
    if classes is None:
        try:
            number = float(label)
        except (TypeError, ValueError):
            return None
        return number if math.isfinite(number) else None
    found, known = class_of(label, classes)
    return known if found else None
