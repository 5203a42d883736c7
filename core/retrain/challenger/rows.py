"""The challenger's rows: champion training rows plus labelled traffic, and a fresh holdout."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from core.retrain.challenger.runs import (
    MAX_LABELLED_ROWS,
    MIN_LABELLED_ROWS,
    MISSING_COLUMNS,
    TOO_FEW_LABELS,
    RetrainError,
)
from core.store import connect, retraining
from core.store.retraining import RetrainRun
from core.store.runs import Run


@dataclass(frozen=True)
class FreshData:
    """The challenger's rows: training rows first, then the fresh holdout (a fixed tail)."""

    frame: pd.DataFrame
    holdout_rows: int
    reference_rows: int
    labelled_rows: int
    labelled_holdout_rows: int


class _Skipped(Exception):
    """Nothing to retrain on; not a failure."""


def fresh_data(home: Path, deployment_id: int, champion_run: Run) -> FreshData:
    """Champion training rows + older labelled traffic, then the champion's holdout + the newest
    labelled traffic as the fresh holdout (rows neither model was trained on)."""
    from core.train.training import run_data

    with connect(home) as db:
        labelled = retraining.labelled_rows(db, deployment_id, limit=MAX_LABELLED_ROWS)
    if len(labelled) < MIN_LABELLED_ROWS:
        raise _Skipped(TOO_FEW_LABELS.format(count=len(labelled), needed=MIN_LABELLED_ROWS))
    reference = run_data(home, champion_run)
    target = reference.target
    labelled.reverse()  # oldest first, so the newest rows form the holdout
    traffic = _conform(pd.DataFrame([row for _, row, _ in labelled]), reference.X_train)
    traffic[target] = _conform_target(pd.Series([label for *_, label in labelled]), reference)
    share = float(champion_run.plan.get("holdout", 0.2))
    newest = max(1, math.ceil(len(traffic) * share))
    train_part = [_with_target(reference.X_train, reference.y_train, target), traffic[:-newest]]
    holdout_part = [
        _with_target(reference.X_holdout, reference.y_holdout, target),
        traffic[-newest:],
    ]
    frame = pd.concat([*train_part, *holdout_part], ignore_index=True)
    return FreshData(
        frame=frame,
        holdout_rows=len(reference.X_holdout) + newest,
        reference_rows=len(reference.X_train) + len(reference.X_holdout),
        labelled_rows=len(traffic),
        labelled_holdout_rows=newest,
    )


def _with_target(X: pd.DataFrame, y: pd.Series, target: str) -> pd.DataFrame:
    return X.assign(**{target: y.to_numpy()})


def _conform(traffic: pd.DataFrame, like: pd.DataFrame) -> pd.DataFrame:
    """The logged inputs (JSON values) in the training columns' order and types."""
    missing = [column for column in like.columns if column not in traffic.columns]
    if missing:
        raise RetrainError(MISSING_COLUMNS.format(columns=", ".join(map(repr, missing[:10]))))
    return pd.DataFrame({column: _typed(traffic[column], like[column]) for column in like.columns})


def _typed(values: pd.Series, like: pd.Series) -> pd.Series:
    kind = like.dtype
    if pd.api.types.is_datetime64_any_dtype(kind):
        zone = getattr(kind, "tz", None)
        parsed = pd.to_datetime(values, errors="coerce", utc=True, format="mixed")
        return parsed.dt.tz_convert(zone) if zone is not None else parsed.dt.tz_localize(None)
    if pd.api.types.is_bool_dtype(kind):
        return values.astype(object).where(values.notna(), None)
    if pd.api.types.is_numeric_dtype(kind):
        return pd.to_numeric(values, errors="coerce")
    return values.astype(object).where(values.notna(), None)


def _conform_target(labels: pd.Series, reference: Any) -> pd.Series:
    if reference.task == "regression":
        return pd.to_numeric(labels, errors="coerce").astype(float)
    try:
        return labels.astype(reference.y_train.dtype)
    except (TypeError, ValueError):
        return labels


def _store_fresh_rows(
    home: Path, retrain: RetrainRun, champion_run: Run, fresh: FreshData, actor: str
) -> Any:
    """The challenger's rows as a new version of the champion's dataset, with its lineage."""
    import pyarrow as pa

    from core.data.datasets import Lineage, get_version, set_column_roles, store_table

    assert champion_run.dataset_version_id is not None
    reference = get_version(home, champion_run.dataset_version_id)
    table = pa.Table.from_pandas(fresh.frame, preserve_index=False)
    version, _ = store_table(
        home,
        name=reference.dataset_name,
        table=table,
        lineage=Lineage(
            source_file_name=f"retrain {retrain.id} of deployment {retrain.deployment_id}",
            ingest={
                "retrain_run_id": retrain.id,
                "reference_rows": fresh.reference_rows,
                "labelled_rows": fresh.labelled_rows,
                "holdout_rows": fresh.holdout_rows,
            },
            parent_version_id=reference.id,
            recipe_id=champion_run.recipe_id,
        ),
        actor=actor,
    )
    roles: dict[str, str] = {c.name: c.role for c in reference.schema}
    changed = {c.name: roles[c.name] for c in version.schema if roles.get(c.name, c.role) != c.role}
    return set_column_roles(home, version_id=version.id, roles=changed) if changed else version
