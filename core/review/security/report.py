"""The security report of a model version, and computing it as a cached job."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from core.review.security.exposure import ExtractionExposure, exposure_of
from core.review.security.integrity import ArtefactIntegrity, artefact_integrity
from core.review.security.membership import MembershipInference, membership_on_split
from core.review.security.robustness import Robustness, robustness
from core.store import connect, models
from core.store.models import ModelVersion

JOB_KIND = "security_review"
UNKNOWN_VERSION = "There is no model version {version_id}. `mlops-studio models` lists them."
ROBUSTNESS_FAILED = "Robustness could not be measured ({error})."


@dataclass(frozen=True)
class SecurityReport:
    """What the Security tab, the card and the gate read about one version."""

    version_id: int
    label: str
    task: str
    membership: MembershipInference
    robustness: Robustness | None
    exposure: ExtractionExposure
    integrity: ArtefactIntegrity
    notes: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        """No membership leak beyond the bar and an intact artefact; robustness and exposure
        are advice (a deployment setting fixes exposure, so it cannot fail a version)."""
        return not self.membership.leaks and self.integrity.passed

    def with_exposure(self, exposure: ExtractionExposure) -> SecurityReport:
        """The report with deployments' exposure as it is now (settings change after the job)."""
        return replace(self, exposure=exposure)

    def to_dict(self) -> dict[str, Any]:
        return {
            "version_id": self.version_id,
            "label": self.label,
            "task": self.task,
            "membership": self.membership.to_dict(),
            "robustness": None if self.robustness is None else self.robustness.to_dict(),
            "exposure": self.exposure.to_dict(),
            "integrity": self.integrity.to_dict(),
            "notes": list(self.notes),
            "passed": self.passed,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SecurityReport:
        shaken = data.get("robustness")
        return cls(
            version_id=int(data["version_id"]),
            label=str(data["label"]),
            task=str(data["task"]),
            membership=MembershipInference.from_dict(data["membership"]),
            robustness=Robustness.from_dict(shaken) if shaken else None,
            exposure=ExtractionExposure.from_dict(data["exposure"]),
            integrity=ArtefactIntegrity.from_dict(data["integrity"]),
            notes=tuple(data.get("notes") or ()),
        )


def security_review(
    home: Path, version: ModelVersion, *, progress: Any = None, bar: float | None = None
) -> SecurityReport:
    """Attack, perturb and check a version on the rows it was trained and evaluated on."""
    from core.review.security.membership import DEFAULT_MAX_ADVANTAGE
    from core.train.model_files import load_model
    from core.train.tracking import get_run
    from core.train.training import run_data

    report = progress or (lambda fraction, message: None)
    report(0.05, f"Loading {version.label} and its data")
    data = run_data(home, get_run(home, version.run_id))
    report(0.15, "Checking the model file")
    integrity = artefact_integrity(home, version, holdout=data.X_holdout, task=data.task)
    pipeline = load_model(home, version.artifact_path, version.artifact_sha256, what=version.label)
    report(0.3, "Attacking membership: training rows against holdout rows")
    membership = membership_on_split(
        pipeline, data, bar=DEFAULT_MAX_ADVANTAGE if bar is None else bar
    )
    report(0.5, "Perturbing holdout rows")
    notes: list[str] = []
    shaken = _robustness(pipeline, data, notes)
    report(0.95, "Reading the deployments' settings")
    return SecurityReport(
        version_id=version.id,
        label=version.label,
        task=data.task,
        membership=membership,
        robustness=shaken,
        exposure=exposure_of(home, version.id, task=data.task),
        integrity=integrity,
        notes=tuple(notes),
    )


def _robustness(pipeline: Any, data: Any, notes: list[str]) -> Robustness | None:
    try:
        return robustness(
            pipeline, data.X_holdout, training=data.X_train, task=data.task, seed=data.seed
        )
    except (ValueError, TypeError) as error:
        notes.append(ROBUSTNESS_FAILED.format(error=error))
        return None


# -- as a job, cached per version --------------------------------------------------------------


def security_job(home: Path, params: dict[str, Any], progress: Any) -> dict[str, Any]:
    """Job: the security review of a version; its result is the report (small JSON)."""
    version_id = int(params["version_id"])
    with connect(home) as db:
        version = models.get_version(db, version_id)
    if version is None:
        raise ValueError(UNKNOWN_VERSION.format(version_id=version_id))
    found = security_review(home, version, progress=progress)
    return {"report": found.to_dict(), "passed": found.passed}


def submit_security(home: Path, version: ModelVersion, *, actor: str = "studio") -> Any:
    """Start (or join) the security review of ``version``."""
    from core.jobs import submit_job

    return submit_job(
        home,
        kind=JOB_KIND,
        params={"version_id": version.id},
        subject=f"model_version:{version.id}",
        dedupe_key=f"security:{version.id}",
        actor=actor,
    )


def cached_security(home: Path, version: ModelVersion) -> SecurityReport | None:
    """The newest finished security review of ``version``, with its deployments' exposure as
    it is now; None before one has run."""
    from core.jobs.runner import latest_finished_job

    job = latest_finished_job(home, kind=JOB_KIND, subject=f"model_version:{version.id}")
    if job is None or not isinstance(job.result, dict) or "report" not in job.result:
        return None
    found = SecurityReport.from_dict(job.result["report"])
    return found.with_exposure(exposure_of(home, version.id, task=found.task))
