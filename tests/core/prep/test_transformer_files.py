"""Registered model files saved before the transformers became a package still load, through the
studio's own checks (SHA-256, then the allowlist), with the same predictions; a name under the
old path that is not one of the studio's types is still refused."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.pipeline import Pipeline

from core.artifacts import new_artifact_path, sha256_of, write_atomically
from core.prep.transformers.catalog import SINGLE_MODULE, STUDIO_TRANSFORMERS, STUDIO_TYPES
from core.serving.deployments import DeployError, check_files
from core.store import connect, models, runs
from core.train.model_files import ModelFileError, model_bytes
from core.train.registry import load_model_version
from tests.core.train.test_fast_path import EVERY_STEP, _steps, fitted, frame

BEFORE_THE_SPLIT = {f"{SINGLE_MODULE}.{member.__name__}" for member in STUDIO_TYPES}
NOW = {f"{member.__module__}.{member.__name__}" for member in STUDIO_TYPES}


@contextmanager
def recorded_as_before_the_split() -> Iterator[None]:
    """skops records each type by its ``__module__``. While this lasts, every studio type has the
    one it had when all of them lived in one module, so a file saved now is byte for byte what
    the studio saved then, up to the object ids skops names its nodes by. (Checked against a
    file written by the code before the split: same schema, same arrays.)"""
    modules = {member: member.__module__ for member in STUDIO_TYPES}
    try:
        for member in STUDIO_TYPES:
            member.__module__ = SINGLE_MODULE
        yield
    finally:
        for member, module in modules.items():
            member.__module__ = module


@pytest.fixture(scope="module")
def pipeline() -> Pipeline:
    """A fitted model whose feature steps hold every studio transformer."""
    fitted_pipeline = fitted(EVERY_STEP, "logistic_regression", "binary")
    assert set(STUDIO_TRANSFORMERS) <= {type(step) for step in _steps(fitted_pipeline)}
    return fitted_pipeline


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    return frame(200, seed=5, unseen=True)


@pytest.fixture(scope="module")
def saved_before_the_split(pipeline: Pipeline) -> bytes:
    with recorded_as_before_the_split():
        return model_bytes(pipeline)


def studio_names(data: bytes) -> set[str]:
    """The names a model file records the studio's own types by."""
    return {name for name in sio.get_untrusted_types(data=data) if name.startswith("core.")}


def registered(home: Path, data: bytes) -> models.ModelVersion:
    """The file as a registered version on a user's disk: the store holds its path and hash."""
    relative = new_artifact_path("models", ".skops")
    path = write_atomically(home, relative, lambda temp: temp.write_bytes(data))
    run = runs.NewRun("loans", "model", "logistic_regression", "binary", "y", "roc_auc")
    with connect(home) as db:
        run_id = runs.insert(db, run, created_by="ana")
        sha256 = sha256_of(path)
        new = models.NewModelVersion("loans", run_id, relative, sha256)
        return models.register(db, new, created_by="ana")


def renamed(data: bytes, studio_class: str, name: str) -> bytes:
    """The file with its ``studio_class`` node naming ``name`` instead, the rest untouched."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = {info: archive.read(info) for info in archive.infolist()}
    for info in members:
        if info.filename == "schema.json":
            schema = json.loads(members[info])
            _rename_first(schema, studio_class, name)
            members[info] = json.dumps(schema).encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for info, content in members.items():
            archive.writestr(info, content)
    return out.getvalue()


def _rename_first(schema: dict, studio_class: str, name: str) -> None:
    stack: list = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if node.get("__class__") == studio_class and node.get("__loader__") == "ObjectNode":
                node["__module__"], _, node["__class__"] = name.rpartition(".")
                return
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    raise AssertionError(f"no {studio_class} in the file")


def test_a_file_saved_before_the_split_loads_with_identical_predictions(
    studio_home, pipeline, rows, saved_before_the_split
):
    assert studio_names(saved_before_the_split) == BEFORE_THE_SPLIT
    version = registered(studio_home, saved_before_the_split)
    check_files(studio_home, version)  # the deploy check lets it through
    loaded = load_model_version(studio_home, version)
    assert studio_names(model_bytes(loaded)) == NOW  # the same classes as a new file holds
    np.testing.assert_array_equal(loaded.predict_proba(rows), pipeline.predict_proba(rows))
    np.testing.assert_array_equal(loaded.predict(rows), pipeline.predict(rows))


def test_a_file_saved_now_names_the_family_modules_and_loads(studio_home, pipeline, rows):
    data = model_bytes(pipeline)
    assert studio_names(data) == NOW
    assert NOW.isdisjoint(BEFORE_THE_SPLIT)
    version = registered(studio_home, data)
    check_files(studio_home, version)
    loaded = load_model_version(studio_home, version)
    np.testing.assert_array_equal(loaded.predict_proba(rows), pipeline.predict_proba(rows))


@pytest.mark.parametrize(
    "name",
    [
        f"{SINGLE_MODULE}.Unlisted",  # nothing by that name
        f"{SINGLE_MODULE}.dates.Bins",  # a studio class, but not where it lives
        f"{SINGLE_MODULE}.selection._LearnedSupport",  # the studio's, but not a listed type
        f"{SINGLE_MODULE}.catalog.BaseEstimator",  # importable from there, still not listed
        f"{SINGLE_MODULE}.inputs.validate_data",
    ],
)
def test_any_other_name_under_the_package_is_refused(studio_home, saved_before_the_split, name):
    # the store's hash matches the forged file, so only the allowlist stands in the way
    version = registered(studio_home, renamed(saved_before_the_split, "Bins", name))
    with pytest.raises(ModelFileError, match="does not trust") as loading:
        load_model_version(studio_home, version)
    assert name in str(loading.value)
    with pytest.raises(DeployError, match="does not trust") as deploying:
        check_files(studio_home, version)
    assert name in str(deploying.value)


def test_the_forging_alone_breaks_nothing(studio_home, pipeline, rows, saved_before_the_split):
    # the control for the test above: the same rewrite, keeping the name, loads as before
    same = renamed(saved_before_the_split, "Bins", f"{SINGLE_MODULE}.Bins")
    assert same != saved_before_the_split
    version = registered(studio_home, same)
    check_files(studio_home, version)
    loaded = load_model_version(studio_home, version)
    np.testing.assert_array_equal(loaded.predict_proba(rows), pipeline.predict_proba(rows))
