"""What monitoring before labels learns about a served version, once per process: CBPE or DLE
from its holdout, and the joint-drift and quality references from its training rows."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from core.monitor.estimation.cbpe import ClassifierReference, fit_cbpe
from core.monitor.estimation.dle import RegressionReference, fit_dle
from core.monitor.estimation.encoding import fit_encoder
from core.monitor.estimation.multivariate import (
    DomainReference,
    ReconstructionReference,
    fit_domain,
    fit_reconstruction,
)
from core.monitor.estimation.quality import QualityReference, fit_quality

if TYPE_CHECKING:
    from core.train.training.data import TrainingData

MIN_HOLDOUT = 20  # fewer holdout rows cannot calibrate anything


@dataclass(frozen=True)
class MonitorReference:
    """A served version's references; ``performance`` is None when it cannot be estimated
    (a classifier without probabilities, or too small a holdout)."""

    task: str
    classes: tuple[Any, ...]
    performance: ClassifierReference | RegressionReference | None
    domain: DomainReference
    reconstruction: ReconstructionReference
    quality: QualityReference

    def class_positions(self, predictions: list[Any]) -> np.ndarray:
        """Logged predictions as positions among the classes (-1 for none of them)."""
        kinds = set(map(type, predictions))
        if len(kinds) == 1 and kinds <= {int, str} and {type(c) for c in self.classes} == kinds:
            # all of one plain type, as the classes: looked up at once
            values = np.asarray(predictions, dtype=object if str in kinds else None)
            return pd.Index(list(self.classes)).get_indexer(values).astype(int)
        index = {_key(value): i for i, value in enumerate(self.classes)}
        found = (index.get(_key(value), -1) for value in predictions)
        return np.fromiter(found, dtype=int, count=len(predictions))


_SCALARS = frozenset({str, int, float, bool, type(None)})


def _key(value: Any) -> Any:
    """A value as JSON tells it apart (1, 1.0 and true differ), without writing JSON for the
    plain scalars a log holds: json.dumps per logged row was a tenth of a window's time."""
    kind = type(value)
    return (kind, value) if kind in _SCALARS else json.dumps(value)


def build_reference(
    *,
    task: str,
    classes: tuple[Any, ...],
    X_train: pd.DataFrame,
    X_holdout: pd.DataFrame,
    y_holdout: pd.Series,
    model: Any,
    threshold: float | None,
    roles: dict[str, str] | None = None,
) -> MonitorReference:
    """Fit every reference from a fitted pipeline, its training rows and its holdout."""
    encoder = fit_encoder(X_train, roles=roles)
    performance: ClassifierReference | RegressionReference | None = None
    if len(y_holdout) >= MIN_HOLDOUT:
        if task == "regression":
            predictions = np.asarray(model.predict(X_holdout), dtype=float)
            performance = fit_dle(X_holdout, predictions, y_holdout.to_numpy(), roles=roles)
        elif hasattr(model, "predict_proba"):
            scores = np.asarray(model.predict_proba(X_holdout), dtype=float)
            index = {_key(_plain(c)): i for i, c in enumerate(classes)}
            labels = np.array([index.get(_key(_plain(v)), -1) for v in y_holdout], dtype=int)
            performance = fit_cbpe(scores, labels, threshold=threshold)
    return MonitorReference(
        task,
        classes,
        performance,
        fit_domain(encoder, X_train),
        fit_reconstruction(encoder, X_train),
        fit_quality(X_train, encoder=encoder),
    )


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


@lru_cache(maxsize=1)  # one version's rows: a deployment's windows are computed together
def version_data(home: Path, version_id: int) -> TrainingData:
    """The rows a served version was trained and evaluated on, read once for
    both per-feature drift and these references."""
    from core.train.registry import model_version_by_id
    from core.train.tracking import get_run
    from core.train.training import run_data

    return run_data(home, get_run(home, model_version_by_id(home, version_id).run_id))


@lru_cache(maxsize=4)
def monitor_reference(home: Path, version_id: int) -> MonitorReference:
    """The served version's references, learned once per process (its data never changes)."""
    from core.serving.scoring import load_served_model

    served = load_served_model(home, version_id, engine="sklearn")
    data = version_data(home, version_id)
    return build_reference(
        task=served.task,
        classes=tuple(served.classes),
        X_train=data.X_train,
        X_holdout=data.X_holdout,
        y_holdout=data.y_holdout,
        model=served.pipeline,
        threshold=served.threshold,
        roles={column.name: column.role for column in data.schema},
    )
