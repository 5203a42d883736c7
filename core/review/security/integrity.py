"""Artefact integrity: the model file's hash, its types against the allowlist, and the ONNX
copy's hash and parity with the model on the holdout, each checked again now."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from core.store.models import ModelVersion

PARITY_ROWS = 500


@dataclass(frozen=True)
class IntegrityCheck:
    """One check: passed (True/False) or not applicable (None), and what was found."""

    name: str
    title: str
    passed: bool | None
    detail: str


@dataclass(frozen=True)
class ArtefactIntegrity:
    checks: tuple[IntegrityCheck, ...]

    @property
    def passed(self) -> bool:
        return all(check.passed is not False for check in self.checks)

    def sentence(self) -> str:
        failing = [check.title for check in self.checks if check.passed is False]
        if failing:
            return "Artefact integrity FAILS: " + "; ".join(failing) + "."
        return "The model file is unchanged and holds only allowlisted types."

    def to_dict(self) -> dict[str, Any]:
        return {"checks": [asdict(check) for check in self.checks]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ArtefactIntegrity:
        return cls(tuple(IntegrityCheck(**check) for check in data["checks"]))


def artefact_integrity(
    home: Path, version: ModelVersion, *, holdout: pd.DataFrame, task: str
) -> ArtefactIntegrity:
    """Hash, allowlist and ONNX parity, re-checked on the files as they are on disk now."""
    from core.artifacts import ArtifactError, verified_path

    try:
        path = verified_path(home, version.artifact_path, version.artifact_sha256, what="model")
    except ArtifactError as error:
        failed = IntegrityCheck("sha256", "Model file hash verified", False, str(error))
        return ArtefactIntegrity((failed, _skipped("allowlist", "Allowlisted types only")))
    data = path.read_bytes()
    checks = [
        IntegrityCheck(
            "sha256",
            "Model file hash verified",
            True,
            f"SHA-256 {version.artifact_sha256[:16]}… matches the store.",
        ),
        _allowlist(data),
    ]
    checks += _onnx(home, version, data, holdout, task)
    return ArtefactIntegrity(tuple(checks))


def _skipped(name: str, title: str) -> IntegrityCheck:
    return IntegrityCheck(name, title, None, "Not checked: the model file could not be read.")


def _allowlist(data: bytes) -> IntegrityCheck:
    import skops.io as sio

    from core.train.model_files import TRUSTED_TYPES

    title = "Allowlisted types only"
    try:
        untrusted = sorted(set(sio.get_untrusted_types(data=data)) - set(TRUSTED_TYPES))
    except Exception as error:  # noqa: BLE001 - any parse failure means a file we did not write
        return IntegrityCheck("allowlist", title, False, f"The file cannot be read ({error}).")
    if untrusted:
        return IntegrityCheck("allowlist", title, False, "Not allowlisted: " + ", ".join(untrusted))
    return IntegrityCheck("allowlist", title, True, "Every type in the file is on the allowlist.")


def _onnx(
    home: Path, version: ModelVersion, data: bytes, holdout: pd.DataFrame, task: str
) -> list[IntegrityCheck]:
    from core.artifacts import ArtifactError, verified_path

    if not version.onnx_path or not version.onnx_sha256:
        why = version.onnx.get("reason") or "none was exported"
        return [IntegrityCheck("onnx", "ONNX copy", None, f"No ONNX copy ({why}).")]
    try:
        path = verified_path(home, version.onnx_path, version.onnx_sha256, what="ONNX copy")
    except ArtifactError as error:
        return [IntegrityCheck("onnx_sha256", "ONNX copy hash verified", False, str(error))]
    hashed = IntegrityCheck("onnx_sha256", "ONNX copy hash verified", True, "Matches the store.")
    return [hashed, _parity(path.read_bytes(), data, holdout, task)]


def _parity(
    onnx_bytes: bytes, model_bytes: bytes, holdout: pd.DataFrame, task: str
) -> IntegrityCheck:
    from core.train.model_files import load_model_bytes
    from core.train.onnx import PARITY_TOLERANCE, onnx_predict
    from core.train.onnx.parity import _max_abs_difference, _sklearn_output

    title = "ONNX parity on the holdout"
    rows = holdout.iloc[:PARITY_ROWS]
    try:
        pipeline = load_model_bytes(model_bytes, what="the model")
        expected = _sklearn_output(pipeline, rows, task=task)
        actual = onnx_predict(onnx_bytes, rows, task=task)
    except Exception as error:  # noqa: BLE001 - a copy that cannot run fails its check
        detail = f"The ONNX copy could not run ({error})."
        return IntegrityCheck("onnx_parity", title, False, detail)
    difference = _max_abs_difference(expected, actual)
    passed = difference <= PARITY_TOLERANCE
    detail = (
        f"Largest difference {difference:.1e} on {len(rows):,} holdout rows "
        f"(allowed {PARITY_TOLERANCE:.0e})."
    )
    return IntegrityCheck("onnx_parity", title, passed, detail)
