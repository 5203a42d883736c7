"""The model card as a review record: software versions, human oversight, the retraining policy
(pre-determined changes), the monitoring plan, security measures, and which EU AI Act Annex IV
and SR 11-7 items each section of the card answers."""

from __future__ import annotations

import platform
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from core import words
from core.auth.duties import separation_of_duties
from core.monitor.drift.compare import DEFAULT_SHARE_THRESHOLD
from core.store import audit, connect, deployments, monitoring, retraining
from core.store.deployments import Deployment
from core.store.models import ModelVersion, Review
from core.store.runs import Run

# the packages a reviewer asks about; onnx/onnxruntime are not recorded with a run
SOFTWARE = ("scikit-learn", "numpy", "pandas", "skops", "onnx", "onnxruntime")
AT_TRAINING = "recorded at training"
NOW = "installed now (not recorded at training)"
NO_POLICY = (
    "No retraining policy: the model changes only when a person trains, reviews and deploys a "
    "new version."
)
SEPARATION_ON = (
    "Separation of duties is on: whoever trained or registered a version cannot approve it."
)
SEPARATION_OFF = "Separation of duties was turned off by an admin (recorded in the audit trail)."
NO_MONITORING = "Not deployed with alert rules yet: no automatic monitoring of this version."


@dataclass(frozen=True)
class CardSection:
    """One section of the review record: a title, a table and a line of context."""

    title: str
    header: tuple[str, ...]
    rows: Sequence[tuple[str, ...]]
    note: str = ""
    empty: str = "Nothing recorded yet."


def record_sections(
    home: Path, version: ModelVersion, run: Run, decisions: list[Review]
) -> list[CardSection]:
    """The review-record sections of a version's card, in the card's order."""
    served = _deployments_of(home, version)
    return [
        software_section(run.environment),
        oversight_section(home, version, decisions),
        retraining_section(home, served),
        monitoring_section(home, served),
        security_section(version, served),
        REGULATION,
    ]


def _deployments_of(home: Path, version: ModelVersion) -> list[Deployment]:
    with connect(home) as db:
        found = deployments.find(db, include_stopped=True)
    return [service for service in found if service.model_version_id == version.id]


def software_section(environment: dict[str, Any]) -> CardSection:
    """Python and the packages that trained it; a package the run did not record is given as
    installed now, and said so."""
    recorded = environment.get("packages") or {}
    rows = [("Python", str(environment.get("python") or platform.python_version()),
             AT_TRAINING if environment.get("python") else NOW)]  # fmt: skip
    for name in SOFTWARE:
        if recorded.get(name):
            rows.append((name, str(recorded[name]), AT_TRAINING))
        else:
            rows.append((name, _installed(name), NOW))
    commit = environment.get("git_commit")
    note = f"Studio code at commit {commit[:12]}." if commit else ""
    return CardSection("Software and package versions", ("software", "version", "source"), rows,
                       note)  # fmt: skip


def _installed(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def oversight_section(home: Path, version: ModelVersion, decisions: list[Review]) -> CardSection:
    """The human steps taken: each review decision and override (by the signed-in reviewer),
    the decision threshold's choice, and whether separation of duties was on."""
    from core.review.signoff import DECISION_LABELS

    rows: list[tuple[str, ...]] = []
    for review in decisions:
        decision = DECISION_LABELS.get(review.decision, review.decision)
        rows.append((words.when(review.created_at), review.reviewer, f"Signed off: {decision}",
                     review.comment))  # fmt: skip
        if review.override_reason:
            rows.append((words.when(review.created_at), review.reviewer,
                         "Overrode failed gates", review.override_reason))  # fmt: skip
    rows += _threshold_rows(home, version)
    note = SEPARATION_ON if separation_of_duties(home) else SEPARATION_OFF
    return CardSection("Human oversight", ("when", "who", "step", "detail"), rows, note,
                       "No review, sign-off or override recorded yet.")  # fmt: skip


def _threshold_rows(home: Path, version: ModelVersion) -> list[tuple[str, ...]]:
    if version.decision_threshold is None:
        return []
    with connect(home) as db:
        found = audit.events(db, entity_type="model_version", entity_id=str(version.id))
    chosen = [event for event in found if event.action == "model.threshold"]
    who = chosen[0].actor if chosen else version.created_by
    when = words.when(chosen[0].at) if chosen else words.when(version.created_at)
    detail = f"{version.decision_threshold:.3g}" + (
        f" ({version.threshold_basis})" if version.threshold_basis else ""
    )
    return [(when, who, "Chose the decision threshold", detail)]


def retraining_section(home: Path, served: list[Deployment]) -> CardSection:
    """The pre-determined changes: each policy of a service running this version, its triggers
    and what it may do (a challenger always waits for review unless the policy says so)."""
    rows: list[tuple[str, ...]] = []
    with connect(home) as db:
        for service in served:
            for policy in retraining.policies(db, deployment_id=service.id):
                rows.append((policy.name, _listed(policy.triggers), _listed(policy.action),
                             "on" if policy.enabled else "off"))  # fmt: skip
    return CardSection("Retraining policy", ("policy", "triggers", "action", "enabled"), rows,
                       "", NO_POLICY)  # fmt: skip


def _listed(values: dict[str, Any]) -> str:
    shown = [f"{key.replace('_', ' ')}: {value}" for key, value in values.items()]
    return "; ".join(shown for shown in shown if not shown.endswith(": None")) or "none"


def monitoring_section(home: Path, served: list[Deployment]) -> CardSection:
    """The monitoring plan: each alert rule on a service of this version, and the drift policy."""
    rows: list[tuple[str, ...]] = []
    with connect(home) as db:
        for service in served:
            for rule in monitoring.alert_rules(db, service.id):
                watch = f"{rule.metric} {rule.comparison} {rule.threshold:g}"
                rows.append((service.model_label, watch, f"{rule.window_minutes} min",
                             rule.severity, "on" if rule.enabled else "off"))  # fmt: skip
    note = (
        "Drift policy: each input's live distribution is compared with the training data; the "
        f"data counts as drifted when more than {DEFAULT_SHARE_THRESHOLD:.0%} of inputs drift."
    )
    return CardSection("Monitoring plan", ("service", "alert when", "window", "severity",
                       "enabled"), rows, note, NO_MONITORING)  # fmt: skip


def security_section(version: ModelVersion, served: list[Deployment]) -> CardSection:
    """What protects the model: its artefact's hash, the load allowlist, the services' API keys."""
    from core.train.model_files import TRUSTED_TYPES

    rows: list[tuple[str, ...]] = [
        ("Artefact hash", f"SHA-256 {version.artifact_sha256}, checked before every load"),
        (
            "Load allowlist",
            f"skops with {len(TRUSTED_TYPES)} trusted types defined in the "
            "studio's code, never read from the file; no pickle",
        ),  # fmt: skip
    ]
    if version.onnx_sha256:
        rows.append(("ONNX artefact hash", f"SHA-256 {version.onnx_sha256}"))
    for service in served:
        key = "revoked" if service.key_revoked_at else f"ends in …{service.key_hint}"
        if not service.api_key_hash:
            key = "none"
        rows.append((f"API key of {service.model_label} on port {service.port}",
                     f"{key}; only its hash is stored"))  # fmt: skip
    rows.append(("Audit trail", "every event hash-chained to the one before "
                                "(mlops-studio audit verify)"))  # fmt: skip
    return CardSection("Security measures", ("measure", "detail"), rows)


# each section of the card, and the EU AI Act Annex IV and SR 11-7 items it answers
REGULATION = CardSection(
    "Regulatory map",
    ("card section", "EU AI Act, Annex IV", "SR 11-7"),
    [
        ("Intended use", "1(a) intended purpose", "Model use; purpose and scope"),
        ("Data and lineage, Recipe", "2(d) data requirements and provenance",
         "Development: data quality and relevance"),
        ("Metrics, Validation gates", "2(g) validation and testing, metrics; 4 metrics chosen",
         "Validation: outcomes analysis"),
        ("Fairness", "2(g) discriminatory impacts; 3 performance for groups",
         "Validation: limitations across segments"),
        ("Top features", "2(b) design and general logic", "Validation: conceptual soundness"),
        ("Limitations", "3 capabilities, limitations, foreseeable unintended outcomes",
         "Model limitations and assumptions"),
        ("Reviews, Who did what, Human oversight", "2(e) human oversight (Art. 14); 6 changes",
         "Governance: roles, responsibilities, effective challenge"),
        ("Software and package versions", "1(c) software versions", "Implementation; "
         "documentation that lets others reproduce the model"),
        ("Retraining policy", "2(f) pre-determined changes", "Governance: change control"),
        ("Monitoring plan", "9 post-market monitoring plan (Art. 72)", "Ongoing monitoring"),
        ("Security measures", "2(h) cybersecurity measures", "Implementation controls"),
        ("Security", "2(g) robustness testing; 2(h) cybersecurity",
         "Validation: robustness and limitations"),
    ],
)  # fmt: skip
