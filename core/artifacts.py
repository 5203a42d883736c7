"""Files the store points at: written atomically under the home, hashed, and verified on load."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path

from core.settings import artifacts_dir

CHUNK = 1024 * 1024
HASH_MISMATCH = (
    "The file for {what} has changed on disk since it was saved (its SHA-256 no longer matches), "
    "so it will not be loaded. Restore it from a backup or import the data again."
)
MISSING_FILE = (
    "The file for {what} is missing from the studio's artifacts folder. "
    "Restore it from a backup or import the data again."
)


class ArtifactError(RuntimeError):
    """An artifact is missing or does not match the hash the store recorded."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def new_artifact_path(folder: str, suffix: str) -> str:
    """A fresh server-generated path, relative to the artifacts folder (never from user input)."""
    return f"{folder}/{uuid.uuid4().hex}{suffix}"


def resolve(home: Path, relative: str) -> Path:
    return artifacts_dir(home) / relative


def write_atomically(home: Path, relative: str, write: Callable[[Path], object]) -> Path:
    """Call ``write(temp_path)``, fsync, then rename into place so readers never see half a file."""
    final = resolve(home, relative)
    final.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(dir=final.parent, prefix=".partial-")
    os.close(handle)
    temp = Path(temp_name)
    try:
        write(temp)
        _fsync(temp)
        os.replace(temp, final)
        _fsync_dir(final.parent)
    finally:
        temp.unlink(missing_ok=True)
    return final


def copy_atomically(home: Path, relative: str, source: Path) -> Path:
    return write_atomically(home, relative, lambda temp: shutil.copyfile(source, temp))


def verified_path(home: Path, relative: str, expected_sha256: str, *, what: str) -> Path:
    """The artifact's path after checking it exists and its SHA-256 matches the store."""
    path = resolve(home, relative)
    if not path.is_file():
        raise ArtifactError(MISSING_FILE.format(what=what))
    if sha256_of(path) != expected_sha256:
        raise ArtifactError(HASH_MISMATCH.format(what=what))
    return path


def _fsync(path: Path) -> None:
    with path.open("rb") as handle:
        os.fsync(handle.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
