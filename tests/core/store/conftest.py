"""A real store file in a temp dir, and the smallest rows each entity's tests build on."""

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlite_utils import Database

from core.data.schema import ColumnSchema
from core.store import connect, datasets, deployments, models, runs


@pytest.fixture
def db(studio_home: Path) -> Iterator[Database]:
    with connect(studio_home) as database:
        yield database


@pytest.fixture
def new_version() -> Callable[..., datasets.NewDatasetVersion]:
    def build(content_hash: str, **fields: Any) -> datasets.NewDatasetVersion:
        return datasets.NewDatasetVersion(
            content_hash=content_hash,
            artifact_path=f"datasets/{content_hash}.parquet",
            source_file_name="x.csv",
            row_count=3,
            column_count=1,
            size_bytes=10,
            schema=[ColumnSchema("a", "int64", "numeric")],
            ingest={"format": "csv"},
            **fields,
        )

    return build


@pytest.fixture
def new_run() -> Callable[..., runs.NewRun]:
    def build(**fields: Any) -> runs.NewRun:
        base = {
            "experiment": "loans",
            "kind": "model",
            "model": "logistic",
            "task": "binary",
            "target": "default",
            "metric": "roc_auc",
        }
        return runs.NewRun(**{**base, **fields})

    return build


@pytest.fixture
def register(db: Database, new_run) -> Callable[..., models.ModelVersion]:
    """Register a fresh run as the next version of a model."""

    def build(name: str = "credit", **fields: Any) -> models.ModelVersion:
        run_id = runs.insert(db, new_run(), created_by="ana")
        new = models.NewModelVersion(
            model_name=name,
            run_id=run_id,
            artifact_path=f"runs/{run_id}.skops",
            artifact_sha256="f" * 64,
            **fields,
        )
        return models.register(db, new, created_by="ana")

    return build


@pytest.fixture
def deployment(db: Database, register) -> deployments.Deployment:
    """One deployment of a registered version, as stored."""
    return deployments.insert(
        db,
        model_version_id=register().id,
        host="127.0.0.1",
        port=8100,
        log_path="logs/1.log",
        created_by="ana",
    )
