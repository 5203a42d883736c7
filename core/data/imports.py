"""Import jobs: a file the user uploaded, or the sample datasets, read in a worker process."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core import artifacts
from core.data.datasets import import_dataset
from core.samples import import_samples

UPLOAD_FOLDER = "uploads"


def save_upload(home: Path, *, data: bytes, file_name: str) -> str:
    """Keep uploaded bytes under a server-generated name until the import job reads them."""
    suffix = "".join(Path(file_name).suffixes[-2:])[:16]
    safe_suffix = "".join(ch for ch in suffix if ch.isalnum() or ch == ".")
    relative = artifacts.new_artifact_path(UPLOAD_FOLDER, safe_suffix)
    artifacts.write_atomically(home, relative, lambda temp: temp.write_bytes(data))
    return relative


def import_upload_job(home: Path, params: dict[str, Any], progress: Any) -> dict[str, Any]:
    """Job: import an uploaded file as a new dataset version, then delete the upload."""
    relative = str(params["upload"])
    if not relative.startswith(f"{UPLOAD_FOLDER}/") or ".." in relative:
        raise ValueError("An import job may only read files the studio saved itself.")
    upload = artifacts.resolve(home, relative)
    progress(0.1, f"Reading {params['file_name']}")
    try:
        outcome = import_dataset(
            home,
            path=upload,
            name=params["name"],
            file_name=params["file_name"],
            delimiter=params.get("delimiter"),
            encoding=params.get("encoding"),
            decimal=params.get("decimal"),
            quotes=params.get("quotes"),
            actor=params.get("actor", "studio"),
        )
    finally:
        upload.unlink(missing_ok=True)
    progress(1.0, "Imported")
    return outcome.to_dict()


def import_samples_job(home: Path, params: dict[str, Any], progress: Any) -> dict[str, Any]:
    """Job: import the shipped sample datasets."""
    return {
        "version_ids": import_samples(home, actor=params.get("actor", "studio"), progress=progress)
    }
