"""Deploy checks the model in the studio first: a tampered, missing or untrusted file is refused
in under a second, in one line, with no deployment row and no process left behind."""

from __future__ import annotations

import shutil
import sqlite3
import time
from pathlib import Path

import pytest

from core.artifacts import resolve, sha256_of
from core.serving import deployments
from core.serving.deployments import DeployError
from core.settings import database_path
from core.train.registry import find_model_version

REASON = "exercised by the test suite"


class Foreign:
    """A type no studio pipeline holds: skops would have to build it to load the file."""

    def __init__(self) -> None:
        self.command = "echo pwned"


@pytest.fixture
def home(tmp_path_factory, loans_studio) -> Path:
    return loans_studio(tmp_path_factory.mktemp("check") / "studio", rows=200, seed=4)


def _refusal(home: Path) -> str:
    started = time.monotonic()
    with pytest.raises(DeployError) as refused:
        deployments.deploy(home, "loans@1", override_reason=REASON)
    assert time.monotonic() - started < 1.0
    message = str(refused.value)
    assert "\n" not in message and "Traceback" not in message
    assert message.startswith("Cannot deploy loans v1:")
    assert deployments.list_deployments(home) == []
    return message


def test_a_tampered_model_file_is_refused_before_anything_starts(home):
    path = resolve(home, find_model_version(home, "loans@1").artifact_path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    assert "has changed since the studio saved it" in _refusal(home)


def test_a_missing_model_file_is_refused(home):
    resolve(home, find_model_version(home, "loans@1").artifact_path).unlink()
    assert "is missing" in _refusal(home)


def test_an_untrusted_model_file_is_refused_even_with_a_matching_hash(home):
    import skops.io as sio

    version = find_model_version(home, "loans@1")
    path = resolve(home, version.artifact_path)
    path.write_bytes(sio.dumps({"steps": [Foreign()]}))
    with sqlite3.connect(database_path(home)) as db:  # the store's row rewritten to match
        db.execute(
            "UPDATE model_versions SET artifact_sha256 = ? WHERE id = ?",
            (sha256_of(path), version.id),
        )
    message = _refusal(home)
    assert "does not trust" in message and "Foreign" in message


def test_a_file_that_is_not_a_model_is_refused(home):
    version = find_model_version(home, "loans@1")
    path = resolve(home, version.artifact_path)
    path.write_bytes(b"not a zip at all")
    with sqlite3.connect(database_path(home)) as db:
        db.execute(
            "UPDATE model_versions SET artifact_sha256 = ? WHERE id = ?",
            (sha256_of(path), version.id),
        )
    assert "cannot be read" in _refusal(home)


def test_a_good_file_passes_the_check(home, tmp_path):
    version = find_model_version(home, "loans@1")
    copy = tmp_path / "copy.skops"
    shutil.copyfile(resolve(home, version.artifact_path), copy)
    deployments.check_files(home, version)  # no error, nothing started
    assert deployments.list_deployments(home) == []
