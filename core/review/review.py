"""Reviewing a model version: gates, error analysis and fairness on its own holdout, as a job."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa

from core.artifacts import verified_path
from core.auth import Permission
from core.auth.access import authorized_actor
from core.review.fairness.report import FairnessReport
from core.review.gates import Evidence, GateConfig, GateResult, all_passed, check_gates
from core.review.leakage import LeakSuspect, leak_suspects
from core.review.segments import Segment, calibration_error, segment_performance
from core.store import connect, models
from core.store.models import ModelVersion
from core.train.evaluate import predictions, score_metric
from core.train.registry import CHAMPION, find_model_version, load_model_version
from core.train.tracking import get_run
from core.train.training import TrainingData, run_data

if TYPE_CHECKING:
    from core.review.explain import Explanation
    from core.review.explain.job import ExplanationExtras

MAX_TRAIN_ROWS = 20_000
MAX_SEGMENTS = 60
JOB_KIND = "review_model_version"
CHAMPION_UNUSABLE = "The champion {label} could not score this holdout ({error})."
MEMBERSHIP_UNCHECKED = "The membership-inference attack could not run ({error})."
LEAKAGE_UNCHECKED = "The training rows could not be checked for target leakage ({error})."


@dataclass(frozen=True)
class VersionReview:
    """Everything the review meeting looks at for one version."""

    version: ModelVersion
    run_id: int
    task: str
    config: GateConfig
    gates: tuple[GateResult, ...]
    passed: bool
    segments: tuple[Segment, ...]
    calibration_error: float | None
    sensitive_features: tuple[str, ...]
    fairness: FairnessReport | None
    holdout_rows: int
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, in the shape review artifacts are saved in."""
        return {
            "version": self.version.to_dict(),
            "run_id": self.run_id,
            "task": self.task,
            "config": self.config.to_dict(),
            "gates": [gate.to_dict() for gate in self.gates],
            "passed": self.passed,
            "segments": [segment.to_dict() for segment in self.segments],
            "calibration_error": self.calibration_error,
            "sensitive_features": list(self.sensitive_features),
            "fairness": None if self.fairness is None else self.fairness.to_dict(),
            "holdout_rows": self.holdout_rows,
            "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> VersionReview:
        fairness = data.get("fairness")
        return cls(
            version=ModelVersion.from_dict(data["version"]),
            run_id=int(data["run_id"]),
            task=str(data["task"]),
            config=GateConfig.from_dict(data["config"]),
            gates=tuple(GateResult.from_dict(gate) for gate in data["gates"]),
            passed=bool(data["passed"]),
            segments=tuple(Segment.from_dict(segment) for segment in data["segments"]),
            calibration_error=data["calibration_error"],
            sensitive_features=tuple(data["sensitive_features"]),
            fairness=FairnessReport.from_dict(fairness) if fairness else None,
            holdout_rows=int(data["holdout_rows"]),
            notes=tuple(data.get("notes") or ()),
        )


def review_version(
    home: Path,
    ref: str | ModelVersion,
    *,
    config: GateConfig | None = None,
    sensitive: list[str] | None = None,
    progress: Any = None,
    champion: ModelVersion | None = None,
) -> VersionReview:
    """Judge a version on its own holdout: gates, segments, calibration and fairness. The
    champion compared is the model's champion alias unless ``champion`` names another version
    (retraining compares with the version a deployment serves)."""
    report = progress or (lambda fraction, message: None)
    version = ref if isinstance(ref, ModelVersion) else find_model_version(home, ref)
    run = get_run(home, version.run_id)
    report(0.05, f"Loading {version.label} and its data")
    data = run_data(home, run)
    pipeline = load_model_version(home, version)
    features = sensitive if sensitive is not None else suggested_features(data)
    config = config or GateConfig.defaults(run.task, segment_columns=tuple(features))
    report(0.25, "Scoring the holdout and the training rows")
    predicted, probabilities = predictions(pipeline, data.X_holdout, task=run.task)
    classes = list(getattr(pipeline, "classes_", []))
    scored = _Scored(data.y_holdout, predicted, probabilities, classes, run.task)
    notes: list[str] = []
    report(0.45, "Comparing with the baseline and the champion")
    champion_score, champion_label = _champion_score(
        home, version, data, config.metric, notes, champion
    )
    report(0.6, "Analysing errors by segment")
    segments = segment_performance(
        data.X_holdout,
        data.y_holdout,
        predicted=predicted,
        probabilities=probabilities,
        classes=classes,
        task=run.task,
        metric=config.metric,
    )
    calibration = _calibration(run.task, data.y_holdout, probabilities, classes)
    report(0.7, "Looking for target leakage in the training rows")
    evidence = Evidence(
        holdout=scored.score(config.metric),
        train=_train_score(pipeline, data, config.metric),
        baseline=_baseline_score(data, config.metric),
        champion=champion_score,
        champion_label=champion_label,
        calibration_error=calibration,
        segments=tuple(segments),
        holdout_rows=len(data.X_holdout),
        leak_suspects=_leak_suspects(data, config, notes),
        **_membership(pipeline, data, config, notes),
    )
    gates = check_gates(config, evidence)
    report(0.8, "Measuring fairness across groups")
    fairness = _fairness(data, predicted, probabilities, run.task, features, notes)
    return VersionReview(
        version=version,
        run_id=run.id,
        task=run.task,
        config=config,
        gates=tuple(gates),
        passed=all_passed(gates),
        segments=tuple(segments[:MAX_SEGMENTS]),
        calibration_error=calibration,
        sensitive_features=tuple(features),
        fairness=fairness,
        holdout_rows=len(data.X_holdout),
        notes=tuple(notes),
    )


@dataclass(frozen=True)
class _Scored:
    truth: pd.Series
    predicted: np.ndarray
    probabilities: np.ndarray | None
    classes: list[Any]
    task: str

    def score(self, metric: str) -> float:
        return float(
            score_metric(
                metric,
                self.truth,
                predicted=self.predicted,
                probabilities=self.probabilities,
                classes=self.classes,
                task=self.task,
            )
        )


def suggested_features(data: TrainingData) -> list[str]:
    """The model inputs suggested as sensitive features (fairness groups, default segments)."""
    from core.review.fairness import suggest_sensitive_features

    columns = set(data.X_holdout.columns)
    return [name for name in suggest_sensitive_features(data.schema) if name in columns]


def with_default_segments(config: GateConfig, features: Sequence[str]) -> GateConfig:
    """A config naming no segment columns judges the sensitive features' segments: the default
    the Review page's settings start from, so a retrain policy's stored gates judge alike."""
    if config.segment_columns:
        return config
    return replace(config, segment_columns=tuple(features))


def _leak_suspects(
    data: TrainingData, config: GateConfig, notes: list[str]
) -> tuple[LeakSuspect, ...] | None:
    if config.max_feature_strength is None:
        return None
    try:
        return leak_suspects(
            data.X_train, data.y_train, schema=data.schema, strength_bar=config.max_feature_strength
        )
    except (ValueError, TypeError, pa.ArrowException) as error:
        notes.append(LEAKAGE_UNCHECKED.format(error=error))
        return None


def _membership(
    pipeline: Any, data: TrainingData, config: GateConfig, notes: list[str]
) -> dict[str, Any]:
    """The security gate's evidence: the membership-inference attack (the Security tab has
    the whole security review)."""
    if config.max_membership_advantage is None:
        return {}
    from core.review.security.membership import membership_on_split

    try:
        found = membership_on_split(pipeline, data, bar=config.max_membership_advantage)
    except (ValueError, TypeError) as error:
        notes.append(MEMBERSHIP_UNCHECKED.format(error=error))
        return {}
    return {"membership_advantage": found.advantage, "membership_chance": found.chance}


def _train_score(pipeline: Any, data: TrainingData, metric: str) -> float:
    rows = data.X_train.iloc[:MAX_TRAIN_ROWS]
    truth = data.y_train.iloc[:MAX_TRAIN_ROWS]
    predicted, probabilities = predictions(pipeline, rows, task=data.task)
    classes = list(getattr(pipeline, "classes_", []))
    return _Scored(truth, predicted, probabilities, classes, data.task).score(metric)


def _baseline_score(data: TrainingData, metric: str) -> float:
    from sklearn.dummy import DummyClassifier, DummyRegressor

    if data.task == "regression":
        model: Any = DummyRegressor(strategy="mean")
    else:
        model = DummyClassifier(strategy="prior")
    model.fit(np.zeros((len(data.y_train), 1)), data.y_train)
    rows = np.zeros((len(data.y_holdout), 1))
    probabilities = None if data.task == "regression" else model.predict_proba(rows)
    classes = list(getattr(model, "classes_", []))
    scored = _Scored(data.y_holdout, model.predict(rows), probabilities, classes, data.task)
    return scored.score(metric)


def _champion_score(
    home: Path,
    version: ModelVersion,
    data: TrainingData,
    metric: str,
    notes: list[str],
    champion: ModelVersion | None = None,
) -> tuple[float | None, str | None]:
    if champion is None:
        try:
            champion = find_model_version(home, f"{version.model_name}@{CHAMPION}")
        except ValueError:
            return None, None
    if champion.id == version.id:
        return None, None
    try:
        pipeline = load_model_version(home, champion)
        predicted, probabilities = predictions(pipeline, data.X_holdout, task=data.task)
        classes = list(getattr(pipeline, "classes_", []))
        scored = _Scored(data.y_holdout, predicted, probabilities, classes, data.task)
        return scored.score(metric), champion.label
    except (ValueError, KeyError, RuntimeError) as error:
        notes.append(CHAMPION_UNUSABLE.format(label=champion.label, error=error))
        return None, None


def _calibration(
    task: str, truth: pd.Series, probabilities: np.ndarray | None, classes: list[Any]
) -> float | None:
    if task == "regression" or probabilities is None:
        return None
    return calibration_error(truth, probabilities, classes)


def _fairness(
    data: TrainingData,
    predicted: np.ndarray,
    probabilities: np.ndarray | None,
    task: str,
    features: list[str],
    notes: list[str],
) -> FairnessReport | None:
    if not features:
        notes.append("No sensitive features chosen, so fairness was not measured.")
        return None
    from core.review.fairness import FairnessError, fairness_report

    score = probabilities[:, 1] if probabilities is not None and task == "binary" else None
    try:
        report = fairness_report(
            data.y_holdout,
            predicted,
            sensitive=data.X_holdout[features],
            task=task,
            y_score=score,
        )
    except FairnessError as error:
        notes.append(str(error))
        return None
    return report


# -- as a job, cached per version and settings -------------------------------------------------


def review_key(version_id: int, config: GateConfig | None, sensitive: list[str] | None) -> str:
    """What identifies one review computation (same version and settings: same result)."""
    body = {
        "version": version_id,
        "config": config.to_dict() if config else None,
        "sensitive": sensitive,
    }
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]


def review_job(home: Path, params: dict[str, Any], progress: Any) -> dict[str, Any]:
    """Job: review a version and save it as the version's newest review record."""
    from core.review.record import review_and_save, source_of

    config = GateConfig.from_dict(params["config"]) if params.get("config") else None
    with connect(home) as db:
        version = models.get_version(db, int(params["version_id"]))
    if version is None:
        raise ValueError(f"There is no model version {params['version_id']}.")
    actor = str(params.get("actor") or "ui")
    review, record = review_and_save(
        home,
        version,
        config=config,
        sensitive=params.get("sensitive"),
        progress=progress,
        source=str(params.get("source") or source_of(actor)),
        actor=actor,
    )
    return {
        "path": record.path,
        "sha256": record.sha256,
        "passed": review.passed,
        "key": params.get("key"),
        "record_id": record.id,
    }


def load_review(home: Path, result: dict[str, Any]) -> VersionReview:
    """A saved review (a record's or a review job's ``path`` and ``sha256``), hash checked."""
    path = verified_path(home, result["path"], result["sha256"], what="the review")
    return VersionReview.from_dict(json.loads(path.read_text("utf-8")))


def submit_review(
    home: Path,
    version: ModelVersion,
    *,
    config: GateConfig | None = None,
    sensitive: list[str] | None = None,
    actor: str = "studio",
) -> Any:
    actor = authorized_actor(home, Permission.REVIEW, actor)
    from core.jobs import submit_job

    key = review_key(version.id, config, sensitive)
    return submit_job(
        home,
        kind=JOB_KIND,
        params={
            "version_id": version.id,
            "config": config.to_dict() if config else None,
            "sensitive": sensitive,
            "key": key,
            "actor": actor,
        },
        subject=f"model_version:{version.id}",
        dedupe_key=f"review:{key}",
        actor=actor,
    )


def cached_review(
    home: Path, version: ModelVersion, key: str | None = None
) -> VersionReview | None:
    """The version's newest saved review, however it was run (with these settings when ``key``
    is given)."""
    from core.review.record import latest_review

    return latest_review(home, version, settings_key=key)


def mitigate_job(home: Path, params: dict[str, Any], progress: Any) -> dict[str, Any]:
    """Job: fit a fairness mitigation of a run and record it as a new candidate run."""
    from core.review.mitigation import mitigate

    candidate = mitigate(
        home,
        int(params["run_id"]),
        sensitive_features=list(params["sensitive_features"]),
        method=str(params["method"]),
        constraint=str(params["constraint"]),
        actor=str(params.get("actor", "studio")),
        progress=progress,
        job_id=getattr(progress, "job_id", None),
    )
    return {
        "run_id": candidate.run_id,
        "name": candidate.name,
        "performance": candidate.performance,
        "disparity": candidate.disparity,
    }


EXPLAIN_KIND = "explain_model_version"


def submit_explanation(home: Path, version: ModelVersion, *, actor: str = "studio") -> Any:
    """Start (or join) the SHAP, permutation-importance and partial-dependence job."""
    actor = authorized_actor(home, Permission.EXPLAIN, actor)
    from core.jobs import submit_job

    return submit_job(
        home,
        kind=EXPLAIN_KIND,
        params={"version_id": version.id},
        subject=f"model_version:{version.id}",
        dedupe_key=f"explain:{version.id}",
        actor=actor,
    )


def cached_explanation(
    home: Path, version: ModelVersion
) -> tuple[Explanation, ExplanationExtras] | None:
    """The newest finished explanation of this version: (Explanation, extras), or None."""
    from core.jobs.runner import latest_finished_job
    from core.review.explain.job import load_explanation

    job = latest_finished_job(home, kind=EXPLAIN_KIND, subject=f"model_version:{version.id}")
    if job is None or job.result is None:
        return None
    return load_explanation(home, job.result)


def top_features(home: Path, review: VersionReview, *, rows: int = 500) -> list[dict[str, Any]]:
    """Raw features by mean |SHAP|: from the cached explanation, else computed on ``rows`` rows."""
    from core.review.explain import explain

    version = find_model_version(home, f"{review.version.model_name}@{review.version.version}")
    cached = cached_explanation(home, version)
    if cached is not None:
        explanation = cached[0]
    else:
        data = run_data(home, get_run(home, version.run_id))
        pipeline = load_model_version(home, version)
        explanation = explain(
            pipeline,
            data.X_holdout.iloc[:rows],
            task=data.task,
            background=data.X_train.iloc[:200],
            max_rows=rows,
        )
    return [
        {"feature": name, "mean_abs_shap": float(value)} for name, value in explanation.mean_abs()
    ]
