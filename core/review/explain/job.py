"""The explain job: SHAP, permutation importance and PDP of a model version, kept as artifacts."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from core.artifacts import new_artifact_path, sha256_of, verified_path, write_atomically
from core.jobs.compute import job_compute, with_notice
from core.review.explain import (
    ExplainError,
    Explanation,
    explain,
    json_value,
    partial_dependence,
    permutation_importances,
)
from core.review.explain.inspection import PartialDependence
from core.store import connect, models
from core.train.model_files import load_model
from core.train.tracking import get_run
from core.train.training import run_data

FOLDER = "explanations"
EXPLAINED_ROWS = 1000
TOP_FEATURES = 5
FRAMES = ("values", "encoded", "data")
UNKNOWN_VERSION = "There is no model version {version_id}. `mlops-studio models` lists them."
BAD_RESULT = "The explanation's record is incomplete ({problem}); compute the explanations again."


@dataclass(frozen=True)
class ExplanationExtras:
    """What the explain job keeps beside the SHAP values: which model it explained, the
    permutation importances (column, mean drop, std), the PDP/ICE of the top columns and
    anything that could not be computed."""

    version_id: int
    run_id: int
    model_sha256: str
    permutation_importance: tuple[tuple[str, float | None, float | None], ...]
    partial_dependence: dict[str, PartialDependence]
    problems: tuple[str, ...]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ExplanationExtras:
        return cls(
            version_id=int(data["version_id"]),
            run_id=int(data["run_id"]),
            model_sha256=str(data["model_sha256"]),
            permutation_importance=tuple(
                (str(name), mean, std) for name, mean, std in data["permutation_importance"]
            ),
            partial_dependence={
                str(feature): PartialDependence.from_dict(curve)
                for feature, curve in (data.get("partial_dependence") or {}).items()
            },
            problems=tuple(data.get("problems") or ()),
        )


def explain_model_version(home: Path, params: dict[str, Any], progress: Any) -> dict[str, Any]:
    """Job: explain 1,000 holdout rows, rank the raw columns by permutation importance, and
    trace partial dependence for the five with the largest mean |SHAP|."""
    started = time.monotonic()
    version_id = int(params["version_id"])
    with connect(home) as db:
        version = models.get_version(db, version_id)
    if version is None:
        raise ExplainError(UNKNOWN_VERSION.format(version_id=version_id))
    progress(0.02, f"Loading {version.label} and its data")
    data = run_data(home, get_run(home, version.run_id))
    pipeline = load_model(home, version.artifact_path, version.artifact_sha256, what=version.label)
    progress(0.1, "Computing SHAP values")
    with job_compute(home, getattr(progress, "job_id", None)) as backend:
        progress = with_notice(progress, backend.placement())
        explanation = explain(
            pipeline,
            data.X_holdout,
            task=data.task,
            background=data.X_train,
            max_rows=EXPLAINED_ROWS,
            seed=data.seed,
            backend=backend,
        )
    progress(0.5, "Permutation importance")
    importances = permutation_importances(
        pipeline, data.X_holdout, data.y_holdout, task=data.task, seed=data.seed
    )
    dependence, problems = _partial_dependences(pipeline, data.X_holdout, explanation, progress)
    progress(0.97, "Saving")
    summary = {
        "version_id": version.id,
        "run_id": version.run_id,
        "model_sha256": version.artifact_sha256,
        "explanation": explanation.to_frames()[1],
        "permutation_importance": [[f, json_value(m), json_value(s)] for f, m, s in importances],
        "partial_dependence": {feature: curve.to_dict() for feature, curve in dependence.items()},
        "problems": problems,
    }
    artifacts = _write(home, explanation, summary)
    return {
        "version_id": version.id,
        "run_id": version.run_id,
        "model": version.label,
        "task": explanation.task,
        "explainer": explanation.explainer,
        "output": explanation.output,
        "rows": explanation.rows,
        "importance": [[name, json_value(value)] for name, value in explanation.mean_abs()],
        "artifacts": artifacts,
        "seconds": time.monotonic() - started,
    }


def _partial_dependences(
    pipeline: Any, rows: pd.DataFrame, explanation: Explanation, progress: Any
) -> tuple[dict[str, PartialDependence], list[str]]:
    """PDP/ICE of the top features; a model that cannot give them is noted, not fatal."""
    top = [name for name, _ in explanation.mean_abs()[:TOP_FEATURES]]
    curves: dict[str, PartialDependence] = {}
    for index, feature in enumerate(top):
        progress(0.7 + 0.25 * index / max(1, len(top)), f"Partial dependence of {feature}")
        try:
            curves[feature] = partial_dependence(
                pipeline,
                rows,
                feature=feature,
                task=explanation.task,
                target_class=explanation.target_class,
            )
        except ExplainError as error:
            return curves, [str(error)]
    return curves, []


def _write(home: Path, explanation: Explanation, summary: dict[str, Any]) -> dict[str, Any]:
    """Each frame as Parquet and the rest as JSON, written atomically; path and SHA-256 each."""
    frames, _ = explanation.to_frames()
    artifacts = {}
    for name in FRAMES:
        relative = new_artifact_path(FOLDER, ".parquet")
        path = write_atomically(home, relative, _parquet_writer(frames[name]))
        artifacts[name] = {"path": relative, "sha256": sha256_of(path)}
    text = json.dumps(summary, allow_nan=False, default=_strict)
    relative = new_artifact_path(FOLDER, ".json")
    path = write_atomically(home, relative, lambda temp: temp.write_text(text, encoding="utf-8"))
    artifacts["summary"] = {"path": relative, "sha256": sha256_of(path)}
    return artifacts


def _parquet_writer(frame: pd.DataFrame) -> Callable[[Path], None]:
    def write(temp: Path) -> None:
        frame.to_parquet(temp, index=False)

    return write


def _strict(value: Any) -> Any:
    converted = json_value(value)
    if isinstance(converted, float) and not math.isfinite(converted):
        return None
    return converted


def load_explanation(home: Path, result: dict[str, Any]) -> tuple[Explanation, ExplanationExtras]:
    """(Explanation, extras) from a finished job's result; every file's SHA-256 is checked
    before it is read."""
    artifacts = result.get("artifacts") if isinstance(result, dict) else None
    if not isinstance(artifacts, dict):
        raise ExplainError(BAD_RESULT.format(problem="no artifacts"))
    entries = {name: _entry(artifacts, name) for name in (*FRAMES, "summary")}
    paths = {
        name: verified_path(home, relative, sha256, what=f"the explanation's {name}")
        for name, (relative, sha256) in entries.items()
    }
    summary = json.loads(paths["summary"].read_text(encoding="utf-8"))
    frames = {name: pd.read_parquet(paths[name]) for name in FRAMES}
    explanation = Explanation.from_frames(frames, summary["explanation"])
    try:
        extras = ExplanationExtras.from_dict(summary)
    except (KeyError, TypeError, ValueError) as error:
        raise ExplainError(BAD_RESULT.format(problem=f"summary: {error}")) from error
    return explanation, extras


def _entry(artifacts: dict[str, Any], name: str) -> tuple[str, str]:
    entry = artifacts.get(name)
    if not isinstance(entry, dict) or not {"path", "sha256"} <= set(entry):
        raise ExplainError(BAD_RESULT.format(problem=f"no {name} file"))
    relative = str(entry["path"])
    # the record comes from the store, but a path must still stay inside its own folder
    if not relative.startswith(f"{FOLDER}/") or ".." in Path(relative).parts:
        raise ExplainError(BAD_RESULT.format(problem=f"unexpected path for {name}"))
    return relative, str(entry["sha256"])
