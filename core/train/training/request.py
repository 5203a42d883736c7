"""What a training is asked for and what it gives back: TrainRequest and TrainOutcome."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from core.store.runs import Run
from core.train.plan import (
    ValidationPlan,
)

Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class TrainRequest:
    """What the user chose on the Train page or the CLI."""

    version_id: int
    target: str
    task: str | None = None
    recipe_id: int | None = None
    models: tuple[str, ...] = ()
    strategy: str = "none"
    trials: int | None = 20
    seconds: float | None = None
    plan: ValidationPlan = field(default_factory=ValidationPlan)
    drop_missing_target: bool = False
    experiment: str | None = None
    tags: tuple[str, ...] = ()
    notes: str = ""
    params: dict[str, Any] | None = None  # fixed hyperparameters (with strategy "none")

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["models"] = list(self.models)
        data["tags"] = list(self.tags)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TrainRequest:
        values = {key: data[key] for key in cls.__dataclass_fields__ if key in data}
        values["plan"] = ValidationPlan.from_dict(data.get("plan") or {})
        values["models"] = tuple(data.get("models") or ())
        values["tags"] = tuple(data.get("tags") or ())
        return cls(**values)

    @property
    def fingerprint(self) -> str:
        """Same request, same key: two tabs asking for the same training share one job."""
        text = json.dumps(self.to_json(), sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class TrainOutcome:
    """The runs a training made, best first, and the data they were trained on."""

    task: str
    metric: str
    runs: tuple[Run, ...]
    failed: tuple[Run, ...]

    @property
    def best(self) -> Run:
        return self.runs[0]

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "metric": self.metric,
            "best_run_id": self.best.id,
            "runs": [leaderboard_row(run) for run in self.runs],
            "failed": [
                {"run_id": run.id, "model": run.model, "error": run.error} for run in self.failed
            ],
        }


def leaderboard_row(run: Run) -> dict[str, Any]:
    return {
        "run_id": run.id,
        "model": run.model,
        "status": run.status,
        "metric": run.metric,
        "cv_score": run.score,
        "cv_std": run.score_std,
        "holdout_score": run.holdout_score,
        "params": run.params,
        "fit_seconds": run.fit_seconds,
    }
