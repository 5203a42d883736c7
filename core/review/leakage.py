"""Target-leakage suspicion for the review: inputs the data checks flag, and inputs whose being
filled in alone predicts the target (how a measurement taken after the outcome shows)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import pandas as pd
import pyarrow as pa

from core.data.quality import LEAKAGE_MIN_ROWS, METRIC_NAMES, check_quality, feature_target_strength
from core.data.schema import ColumnSchema

MAX_ROWS = 20_000
SEED = 0
FLAGGED = "flagged by the data checks as likely target leakage"
FILLED_IN = "whether it is filled in alone predicts the target"


@dataclass(frozen=True)
class LeakSuspect:
    """One model input suspected of leaking the target, and the evidence."""

    column: str
    why: str
    measure: str
    strength: float

    @property
    def sentence(self) -> str:
        return f"‘{self.column}’: {self.why} ({self.measure} {self.strength:.3f})"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def leak_suspects(
    X: pd.DataFrame,
    y: pd.Series,
    *,
    schema: list[ColumnSchema],
    strength_bar: float,
) -> tuple[LeakSuspect, ...]:
    """The model inputs suspected of leaking ``y``, on a seeded sample of the training rows:
    those the data-quality leakage check flags (as Explore does), then those whose missing
    values alone predict the target at ``strength_bar`` or more."""
    if len(X) < LEAKAGE_MIN_ROWS:
        return ()
    if len(X) > MAX_ROWS:
        X = X.sample(n=MAX_ROWS, random_state=SEED)
        y = y.loc[X.index]
    target = _free_name(X, str(y.name or "target"))
    frame = X.assign(**{target: y.to_numpy()})
    flagged = _flagged(frame, target=target, schema=schema, inputs=set(X.columns))
    named = {suspect.column for suspect in flagged}
    filled = [
        s for s in _filled_in(frame, target=target, bar=strength_bar) if s.column not in named
    ]
    return (*flagged, *filled)


def _free_name(X: pd.DataFrame, name: str) -> str:
    while name in X.columns:
        name = f"{name}_"
    return name


def _flagged(
    frame: pd.DataFrame, *, target: str, schema: list[ColumnSchema], inputs: set[str]
) -> list[LeakSuspect]:
    roles = {column.name: column for column in schema}
    columns = [
        roles.get(name) or ColumnSchema(name=name, dtype=str(frame[name].dtype), role="numeric")
        for name in frame.columns
        if name != target
    ]
    kind = roles.get(target)
    columns.append(ColumnSchema(name=target, dtype=kind.dtype if kind else "", role="target"))
    table = pa.Table.from_pandas(frame, preserve_index=False)
    findings = check_quality(table, schema=columns, target=target)
    return [
        LeakSuspect(str(f.column), FLAGGED, _measure(f.message), float(f.value or 0.0))
        for f in findings
        if f.check == "target_leakage" and f.column in inputs
    ]


def _measure(message: str) -> str:
    """The measure a leakage finding names (ROC AUC, absolute correlation, Cramér's V)."""
    return next((name for name in METRIC_NAMES.values() if name in message), "strength")


def _filled_in(frame: pd.DataFrame, *, target: str, bar: float) -> list[LeakSuspect]:
    gaps = [
        name
        for name in frame.columns
        if name != target and 0 < int(frame[name].isna().sum()) < len(frame)
    ]
    if not gaps:
        return []
    filled = pd.DataFrame({name: frame[name].notna() for name in gaps})
    filled[target] = frame[target].to_numpy()
    schema = [ColumnSchema(name=name, dtype="bool", role="boolean") for name in gaps]
    strengths = feature_target_strength(filled, target=target, schema=schema)
    return [
        LeakSuspect(s.name, FILLED_IN, METRIC_NAMES[s.metric], s.value)
        for s in strengths
        if s.value >= bar
    ]
