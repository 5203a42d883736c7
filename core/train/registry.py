"""The model registry: register a run as a numbered model version, set aliases, load safely."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from core.artifacts import new_artifact_path, sha256_of, verified_path, write_atomically
from core.auth import Permission
from core.auth.access import authorized_actor
from core.store import audit, connect, models, required, runs
from core.store.models import ModelVersion, NewModelVersion
from core.store.runs import Run

CHAMPION = "champion"
CHALLENGER = "challenger"
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.\-]{0,99}$")
ALIAS_PATTERN = re.compile(r"^[a-z][a-z0-9_\-]{0,39}$")
BAD_NAME = (
    "{name!r} cannot be a model name: use 1-100 letters, digits, spaces, '.', '_' or '-', "
    "starting with a letter or digit."
)
BAD_ALIAS = (
    "{alias!r} cannot be an alias: use 1-40 lowercase letters, digits, '_' or '-', starting "
    "with a letter (e.g. champion, challenger, staging)."
)
RUN_NOT_DONE = "Run {run_id} is {status}, not done, so it has no model to register."
NO_MODEL_FILE = "Run {run_id} has no model file to register ({why})."
MITIGATED_RUN = (
    "Run {run_id} is a fairness-mitigated candidate: it needs the sensitive features with every "
    "prediction, so it cannot be registered or served as a plain pipeline. Use it to compare "
    "trade-offs, or retrain under the constraint and register that run."
)
UNKNOWN_RUN = "There is no run {run_id}. `mlops-studio runs` lists them."
TRIAL_RUN = "Run {run_id} is a tuning trial; register its parent run {parent_id} instead."
UNKNOWN_MODEL = "There is no model {ref!r}. Give NAME, NAME@VERSION or NAME@ALIAS ({known})."
ONNX_FOLDER = "onnx"
NOT_APPROVED = (
    "{label} is {state}, and only an approved version can become champion. Review and approve "
    "it first, or give a written reason to override (it is recorded in the audit log)."
)
NEW_NOT_APPROVED = (
    "A new version has not been reviewed, so it cannot be registered as champion. Register it, "
    "approve it on the Review page, then make it champion — or give a written override reason."
)
SHORT_REASON = "An override reason must say why, in at least 10 characters."


class RegistryError(ValueError):
    """A registration or lookup that cannot be done; the message says what to change."""


def check_name(name: str) -> str:
    name = name.strip()
    if not NAME_PATTERN.match(name):
        raise RegistryError(BAD_NAME.format(name=name))
    return name


def check_alias(alias: str) -> str:
    alias = alias.strip()
    if not ALIAS_PATTERN.match(alias):
        raise RegistryError(BAD_ALIAS.format(alias=alias))
    return alias


def register_run(
    home: Path,
    run_id: int,
    *,
    name: str,
    aliases: tuple[str, ...] = (),
    onnx: bool = True,
    actor: str = "studio",
    override_reason: str | None = None,
) -> ModelVersion:
    """Register a finished run as the next version of ``name``; the model file is verified first.

    The ONNX copy (when the pipeline converts and matches) is written before the registry row,
    so a failure part-way leaves nothing half-registered. The NumPy fast path is checked
    against the pipeline on the holdout here, once; the result is kept on the version.
    """
    actor = authorized_actor(home, Permission.REGISTER, actor)
    name = check_name(name)
    aliases = tuple(check_alias(alias) for alias in aliases)
    if CHAMPION in aliases:
        _check_override(override_reason, NEW_NOT_APPROVED)
    run = _finished_run(home, run_id)
    assert run.artifact_path and run.artifact_sha256
    # imported here: loading a model imports scikit-learn, which listing models does not need
    from core.train.model_files import load_model

    pipeline = load_model(home, run.artifact_path, run.artifact_sha256, what=f"run {run_id}")
    holdout = _holdout_rows(home, run)
    onnx_path, onnx_sha, onnx_info = (
        _onnx_copy(home, run, pipeline, holdout) if onnx else (None, None, {})
    )
    new = NewModelVersion(
        model_name=name,
        run_id=run_id,
        artifact_path=run.artifact_path,
        artifact_sha256=run.artifact_sha256,
        onnx_path=onnx_path,
        onnx_sha256=onnx_sha,
        onnx=onnx_info,
        aliases=aliases,
        fast_path=_fast_path_check(home, run, pipeline, holdout),
    )
    with connect(home) as db:
        version = models.register(db, new, created_by=actor)
        audit.record(
            db,
            actor=actor,
            action="model.register",
            entity_type="model_version",
            entity_id=version.id,
            details={
                "model": name,
                "version": version.version,
                "run_id": run_id,
                "aliases": list(aliases),
                "override_reason": override_reason,
            },
        )
    return version


def _check_override(reason: str | None, refusal: str) -> None:
    if reason is None or not reason.strip():
        raise RegistryError(refusal)
    if len(reason.strip()) < 10:
        raise RegistryError(SHORT_REASON)


def _finished_run(home: Path, run_id: int) -> Run:
    with connect(home) as db:
        run = runs.get(db, run_id)
    if run is None:
        raise RegistryError(UNKNOWN_RUN.format(run_id=run_id))
    if run.kind == "trial":
        raise RegistryError(TRIAL_RUN.format(run_id=run_id, parent_id=run.parent_id))
    if "mitigated" in run.tags:
        raise RegistryError(MITIGATED_RUN.format(run_id=run_id))
    if run.status != "done":
        raise RegistryError(RUN_NOT_DONE.format(run_id=run_id, status=run.status))
    if not run.artifact_path or not run.artifact_sha256:
        why = run.notes or "it was recorded without one"
        raise RegistryError(NO_MODEL_FILE.format(run_id=run_id, why=why))
    return run


def _onnx_copy(
    home: Path, run: Run, pipeline: Any, holdout: Any
) -> tuple[str | None, str | None, dict[str, Any]]:
    from core.train.onnx import export_onnx

    exported = export_onnx(pipeline, holdout, task=run.task)
    if not exported.ok or exported.data is None:
        return None, None, exported.to_dict()
    data = exported.data
    relative = new_artifact_path(ONNX_FOLDER, ".onnx")
    path = write_atomically(home, relative, lambda temp: temp.write_bytes(data))
    return relative, sha256_of(path), exported.to_dict()


def _fast_path_check(home: Path, run: Run, pipeline: Any, holdout: Any) -> dict[str, Any]:
    """Whether the pipeline compiled to NumPy answers exactly as the pipeline, on the holdout
    typed as the service types a request (the run's dataset schema names the input kinds)."""
    from core.data.datasets import get_version
    from core.serving.inputs import input_columns
    from core.serving.numpy_engine import check_fast_path

    names = [str(name) for name in getattr(pipeline, "feature_names_in_", [])]
    dataset = get_version(home, run.dataset_version_id) if run.dataset_version_id else None
    columns = input_columns(dataset.schema if dataset else [], names)
    return check_fast_path(pipeline, task=run.task, columns=columns, holdout=holdout).to_dict()


def _holdout_rows(home: Path, run: Run) -> Any:
    """The run's own holdout rows (raw feature columns), for the ONNX and NumPy checks."""
    from core.train.training import holdout_for_run

    return holdout_for_run(home, run)[0]


def set_alias(
    home: Path,
    *,
    name: str,
    version: int,
    alias: str,
    actor: str = "studio",
    override_reason: str | None = None,
) -> ModelVersion:
    """Point ``alias`` at a version of ``name`` (moving it from any other version).

    Only an approved version becomes ``champion``, unless a written override reason is given.
    """
    actor = authorized_actor(home, Permission.REGISTER, actor)
    alias = check_alias(alias)
    found = find_model_version(home, f"{name}@{version}")
    if alias == CHAMPION and found.review_state != "approved":
        refusal = NOT_APPROVED.format(label=found.label, state=found.review_state)
        _check_override(override_reason, refusal)
    else:
        override_reason = None
    with connect(home) as db:
        models.set_alias(
            db, model_id=found.model_id, alias=alias, version_id=found.id, updated_by=actor
        )
        audit.record(
            db,
            actor=actor,
            action="model.alias",
            entity_type="model_version",
            entity_id=found.id,
            details={
                "model": name,
                "version": version,
                "alias": alias,
                "override_reason": override_reason,
            },
        )
        updated = models.get_version(db, found.id)
    assert updated is not None
    return updated


def remove_alias(home: Path, *, name: str, alias: str, actor: str = "studio") -> None:
    actor = authorized_actor(home, Permission.REGISTER, actor)
    found = find_model_version(home, f"{name}@{alias}")
    with connect(home) as db:
        models.remove_alias(db, model_id=found.model_id, alias=alias)
        audit.record(
            db,
            actor=actor,
            action="model.unalias",
            entity_type="model_version",
            entity_id=found.id,
            details={"model": name, "alias": alias},
        )


def list_model_versions(home: Path, name: str | None = None) -> list[ModelVersion]:
    with connect(home) as db:
        return models.versions(db, name)


def find_model_version(home: Path, ref: str) -> ModelVersion:
    """``NAME`` (latest version), ``NAME@3`` or ``NAME@champion``."""
    name, _, which = ref.partition("@")
    with connect(home) as db:
        if not which:
            versions = models.versions(db, name)
            found = versions[0] if versions else None
        elif which.isdigit():
            found = models.version_by_number(db, name, int(which))
        else:
            found = models.version_by_alias(db, name, which)
        known = ", ".join(models.names(db)) or "none registered yet"
    return required(found, RegistryError(UNKNOWN_MODEL.format(ref=ref, known=known)))


def model_version_by_id(home: Path, version_id: int) -> ModelVersion:
    """The version with this id (what deployments and reviews keep)."""
    with connect(home) as db:
        found = models.get_version(db, version_id)
    unknown = UNKNOWN_MODEL.format(ref=f"version id {version_id}", known="-")
    return required(found, RegistryError(unknown))


def model_version(home: Path, ref: str | int) -> ModelVersion:
    """The version a user named (``NAME``, ``NAME@3``, ``NAME@champion``) or an id kept by the
    studio."""
    return model_version_by_id(home, ref) if isinstance(ref, int) else find_model_version(home, ref)


def load_model_version(home: Path, ref: str | ModelVersion) -> Any:
    """The fitted pipeline of a model version, after its SHA-256 and types are verified."""
    from core.train.model_files import load_model

    version = ref if isinstance(ref, ModelVersion) else find_model_version(home, ref)
    return load_model(home, version.artifact_path, version.artifact_sha256, what=version.label)


def model_file(home: Path, version: ModelVersion, *, kind: str = "skops") -> Path:
    """The verified file of a version for download (skops, or onnx when it was exported)."""
    if kind == "onnx":
        if not version.onnx_path or not version.onnx_sha256:
            raise RegistryError(version.onnx.get("reason") or f"{version.label} has no ONNX copy.")
        return verified_path(
            home, version.onnx_path, version.onnx_sha256, what=f"{version.label} (ONNX)"
        )
    return verified_path(home, version.artifact_path, version.artifact_sha256, what=version.label)
