"""The security review of a model version: membership inference, robustness, extraction
exposure and artefact integrity, computed as a cached job and shown in Review's Security tab."""

from core.review.security.exposure import DeploymentExposure, ExtractionExposure, exposure_of
from core.review.security.integrity import ArtefactIntegrity, IntegrityCheck, artefact_integrity
from core.review.security.membership import (
    DEFAULT_MAX_ADVANTAGE,
    MembershipInference,
    membership_inference,
)
from core.review.security.robustness import Robustness, robustness

__all__ = [
    "DEFAULT_MAX_ADVANTAGE",
    "ArtefactIntegrity",
    "DeploymentExposure",
    "ExtractionExposure",
    "IntegrityCheck",
    "MembershipInference",
    "Robustness",
    "artefact_integrity",
    "exposure_of",
    "membership_inference",
    "robustness",
]
