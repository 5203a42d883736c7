"""Extraction exposure: what a version's deployments give away per answer (full probabilities,
rounded ones or labels only) and whether a rate limit slows anyone copying the model."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from core.serving.hardening import answers_in_words, rate_in_words
from core.store import connect, deployments
from core.store.deployments import ServingSettings

LEVELS = ("not deployed", "low", "medium", "high")
ADVICE = {
    "probabilities": "Answer with labels only, or round probabilities to 2 decimals or fewer: "
    "full probabilities make copying the model by querying it far cheaper.",
    "rate": "Set a rate limit per API key: without one, a key holder can query as fast as the "
    "service answers.",
}


@dataclass(frozen=True)
class DeploymentExposure:
    """One live deployment of the version and what its answers expose."""

    deployment_id: int
    url: str
    answers: str
    rate: str
    full_probabilities: bool
    rate_limited: bool

    @property
    def level(self) -> str:
        return LEVELS[1 + (not self.rate_limited) + self.full_probabilities]


@dataclass(frozen=True)
class ExtractionExposure:
    """Every live deployment's exposure and the worst of them."""

    deployments: tuple[DeploymentExposure, ...]
    task: str

    @property
    def level(self) -> str:
        if not self.deployments:
            return LEVELS[0]
        return max((d.level for d in self.deployments), key=LEVELS.index)

    @property
    def advice(self) -> tuple[str, ...]:
        found = []
        if any(d.full_probabilities for d in self.deployments):
            found.append(ADVICE["probabilities"])
        if any(not d.rate_limited for d in self.deployments):
            found.append(ADVICE["rate"])
        return tuple(found)

    def sentence(self) -> str:
        if not self.deployments:
            return "Not deployed: nothing answers queries, so nothing can be copied by them yet."
        return f"Exposure to model extraction: {self.level}."

    def to_dict(self) -> dict[str, Any]:
        return {"task": self.task, "deployments": [asdict(d) for d in self.deployments]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ExtractionExposure:
        found = tuple(DeploymentExposure(**entry) for entry in data["deployments"])
        return cls(found, str(data["task"]))


def exposure_of(home: Path, version_id: int, *, task: str) -> ExtractionExposure:
    """The exposure of the version's live deployments, as their settings are now."""
    with connect(home) as db:
        live = [
            d
            for d in deployments.find(db, include_stopped=False)
            if d.model_version_id == version_id and d.desired == "running"
        ]
    found = []
    for deployment in live:
        settings = ServingSettings(
            deployment.rate_limit,
            deployment.rate_burst,
            deployment.round_decimals,
            deployment.labels_only,
        )
        gives_probabilities = task != "regression" and not settings.labels_only
        rounded = settings.round_decimals is not None and settings.round_decimals <= 2
        found.append(
            DeploymentExposure(
                deployment_id=deployment.id,
                url=deployment.url,
                answers=answers_in_words(settings) if task != "regression" else "predictions",
                rate=rate_in_words(settings),
                full_probabilities=gives_probabilities and not rounded,
                rate_limited=settings.rate_limit is not None,
            )
        )
    return ExtractionExposure(tuple(found), task)
