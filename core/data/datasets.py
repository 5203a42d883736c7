"""Datasets as immutable versions: import a file, find a version, load it, edit column roles."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core import artifacts
from core.auth import Permission
from core.auth.access import authorized_actor
from core.store import audit, connect, datasets, required, writing
from core.store.datasets import DatasetSummary, DatasetVersion, NewDatasetVersion

# pyarrow, ingest and schema inference are imported where a file is read or written: listing
# datasets (the `datasets` command, the studio's pickers) needs none of them.
if TYPE_CHECKING:
    from collections.abc import Callable

    import pyarrow as pa

    from core.data.ingest import ImportLimits, IngestReport
    from core.data.schema import ColumnSchema
    from core.jobs.compute import ComputeBackend

NAME_MAX = 100
NAME_INVALID = (
    "A dataset name must be 1 to {max} characters with no line breaks or control characters; "
    "got '{name}'. Choose a shorter, plain name."
)
UNKNOWN_DATASET = (
    "There is no dataset '{ref}'. Run `mlops-studio datasets` to see the names, "
    "or import the file first."
)
UNKNOWN_VERSION = "Dataset '{name}' has no version {version}; it has versions 1 to {latest}."
UNKNOWN_COLUMN = "Column '{column}' is not in {label}; check the spelling (names are exact)."
UNKNOWN_ROLE = "'{role}' is not a column role; use one of: {roles}."
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class DatasetError(ValueError):
    """A dataset request that cannot be met; the message says what to do."""


@dataclass(frozen=True)
class ImportOutcome:
    """The version an import produced, whether it was reused, and what ingest noticed."""

    version: DatasetVersion
    reused: bool
    report: IngestReport

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version.to_dict(),
            "reused": self.reused,
            "report": self.report.to_dict(),
        }


def clean_name(name: str) -> str:
    """The dataset name as stored, or DatasetError when it is unusable."""
    stripped = (name or "").strip()
    if not stripped or len(stripped) > NAME_MAX or _CONTROL.search(stripped):
        shown = _CONTROL.sub("?", name or "")  # a line break would split the message
        raise DatasetError(NAME_INVALID.format(max=NAME_MAX, name=shown))
    return stripped


def import_dataset(
    home: Path,
    *,
    path: Path,
    name: str,
    file_name: str | None = None,
    delimiter: str | None = None,
    encoding: str | None = None,
    decimal: str | None = None,
    quotes: str | None = None,
    limits: ImportLimits | None = None,
    actor: str = "studio",
) -> ImportOutcome:
    """Read a file into a new dataset version; identical content reuses the existing version.

    ``delimiter``, ``encoding`` and ``decimal`` (the decimal mark) override what is sniffed;
    ``quotes`` ("detect", "always" or "never") says how CSV quote marks are read.
    """
    actor = authorized_actor(home, Permission.IMPORT, actor)
    from core.data.ingest import ImportedFile, ImportLimits, import_file

    name = clean_name(name)
    imported: list[ImportedFile] = []

    def write(temp: Path) -> None:
        # The upload streams straight into the version's Parquet (a temp file renamed into
        # place only once the whole file read cleanly), so a file bigger than memory imports.
        imported.append(
            import_file(
                path,
                target=temp,
                file_name=file_name or path.name,
                delimiter=delimiter,
                encoding=encoding,
                decimal=decimal,
                quotes=quotes,
                limits=limits or ImportLimits.from_env(),
            )
        )

    relative = artifacts.new_artifact_path("datasets", ".parquet")
    written = artifacts.write_atomically(home, relative, write)
    report, schema = imported[0].report, imported[0].schema
    new = NewDatasetVersion(
        content_hash=artifacts.sha256_of(written),
        artifact_path=relative,
        source_file_name=file_name or path.name,
        row_count=report.rows,
        column_count=report.columns,
        size_bytes=written.stat().st_size,
        schema=schema,
        ingest=report.to_dict(),
    )
    version, reused = _record_version(
        home, name=name, new=new, action="dataset.import", actor=actor
    )
    if reused:
        written.unlink(missing_ok=True)
    return ImportOutcome(version=version, reused=reused, report=report)


@dataclass(frozen=True)
class Lineage:
    """Where a new version's rows came from: a file, or a parent version and a recipe."""

    source_file_name: str | None = None
    ingest: dict[str, Any] | None = None
    parent_version_id: int | None = None
    recipe_id: int | None = None

    @property
    def action(self) -> str:
        return "dataset.prepare" if self.parent_version_id else "dataset.import"


def store_table(
    home: Path, *, name: str, table: pa.Table, lineage: Lineage, actor: str
) -> tuple[DatasetVersion, bool]:
    """Save a table as the next version of ``name``; identical content reuses a version."""
    from core.data.schema import infer_schema

    table = table.replace_schema_metadata(None)
    relative = artifacts.new_artifact_path("datasets", ".parquet")
    written = artifacts.write_atomically(home, relative, lambda temp: _write_parquet(table, temp))
    new = NewDatasetVersion(
        content_hash=artifacts.sha256_of(written),
        artifact_path=relative,
        source_file_name=lineage.source_file_name,
        row_count=table.num_rows,
        column_count=table.num_columns,
        size_bytes=written.stat().st_size,
        schema=_with_parent_labels(home, infer_schema(table), lineage.parent_version_id),
        ingest=lineage.ingest or {},
        parent_version_id=lineage.parent_version_id,
        recipe_id=lineage.recipe_id,
    )
    version, reused = _record_version(home, name=name, new=new, action=lineage.action, actor=actor)
    if reused:
        written.unlink(missing_ok=True)
    return version, reused


def _with_parent_labels(
    home: Path, schema: list[ColumnSchema], parent_id: int | None
) -> list[ColumnSchema]:
    """A prepared version's yes/no columns keep the labels their source file used (the
    cleaning steps run in pandas, which drops them)."""
    if parent_id is None:
        return schema
    labels = {c.name: c.labels for c in get_version(home, parent_id).schema if c.labels}
    return [
        replace(c, labels=labels[c.name]) if c.role == "boolean" and c.name in labels else c
        for c in schema
    ]


def _write_parquet(table: pa.Table, path: Path) -> None:
    from core.data.ingest.stream import write_whole

    write_whole(table, path)


def _record_version(
    home: Path, *, name: str, new: NewDatasetVersion, action: str, actor: str
) -> tuple[DatasetVersion, bool]:
    with connect(home) as db, writing(db):
        dataset_id = datasets.id_for_name(db, name)
        existing = datasets.version_with_hash(db, dataset_id, new.content_hash)
        if existing:
            return existing, True
        version_id = datasets.add_version(db, dataset_id=dataset_id, new=new)
        audit.record(
            db,
            actor=actor,
            action=action,
            entity_type="dataset_version",
            entity_id=version_id,
            details={
                "dataset": name,
                "rows": new.row_count,
                "source": new.source_file_name,
                "parent_version_id": new.parent_version_id,
                "recipe_id": new.recipe_id,
            },
        )
        version = datasets.get_version(db, version_id)
    assert version is not None
    return version, False


def list_datasets(home: Path) -> list[DatasetSummary]:
    with connect(home) as db:
        return datasets.summaries(db)


def dataset_versions(home: Path, dataset_id: int) -> list[DatasetVersion]:
    with connect(home) as db:
        return datasets.versions(db, dataset_id)


def get_version(home: Path, version_id: int) -> DatasetVersion:
    with connect(home) as db:
        version = datasets.get_version(db, version_id)
    return required(version, DatasetError(UNKNOWN_DATASET.format(ref=f"version id {version_id}")))


def find_version(home: Path, ref: str) -> DatasetVersion:
    """A version from ``name`` (its newest version) or ``name@N`` (version N)."""
    name, _, number = ref.rpartition("@") if "@" in ref else (ref, "", "")
    with connect(home) as db:
        latest = datasets.latest_version(db, name.strip())
        if latest is None:
            raise DatasetError(UNKNOWN_DATASET.format(ref=ref))
        if not number:
            return latest
        version = datasets.version_by_number(db, latest.dataset_name, _as_int(number))
    if version is None:
        raise DatasetError(
            UNKNOWN_VERSION.format(name=latest.dataset_name, version=number, latest=latest.version)
        )
    return version


def _as_int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        return -1


def version_path(home: Path, version: DatasetVersion) -> Path:
    """The version's Parquet file, after verifying its SHA-256 against the store."""
    return artifacts.verified_path(
        home, version.artifact_path, version.content_hash, what=f"dataset {version.label}"
    )


def load_table(home: Path, version: DatasetVersion) -> pa.Table:
    import pyarrow.parquet as pq

    return pq.read_table(version_path(home, version))


def load_frame(home: Path, version: DatasetVersion) -> Any:
    """The version as a pandas DataFrame."""
    return load_table(home, version).to_pandas()


def set_column_roles(
    home: Path, *, version_id: int, roles: dict[str, str], actor: str = "studio"
) -> DatasetVersion:
    """Change the modelling role of some columns; the data and its hash stay as they are."""
    actor = authorized_actor(home, Permission.PREPARE, actor)
    from core.data.schema import ROLES

    version = get_version(home, version_id)
    known = {column.name for column in version.schema}
    for column, role in roles.items():
        if column not in known:
            raise DatasetError(UNKNOWN_COLUMN.format(column=column, label=version.label))
        if role not in ROLES:
            raise DatasetError(UNKNOWN_ROLE.format(role=role, roles=", ".join(ROLES)))
    schema = [
        replace(c, role=roles.get(c.name, c.role))  # type: ignore[arg-type]
        for c in version.schema
    ]
    with connect(home) as db, writing(db):
        datasets.set_schema(db, version_id, schema)
        audit.record(
            db,
            actor=actor,
            action="dataset.set_roles",
            entity_type="dataset_version",
            entity_id=version_id,
            details={"roles": roles},
        )
    return get_version(home, version_id)


def profile_source(
    home: Path,
    source: str,
    *,
    target: str | None = None,
    backend: ComputeBackend | None = None,
    progress: Callable[[float, str], None] | None = None,
) -> dict[str, Any]:
    """The profile of a stored dataset (``NAME`` or ``NAME@N``) or, if it names one, a file.

    A version of more than ``big_table_rows()`` rows is profiled one column at a time, on
    ``backend`` (by default the Dask cluster when one is configured); its result says where
    (``compute``).
    """
    from core.data.profile import profile_table
    from core.data.profile_files import big_table_rows, profile_big_parquet, profile_file

    path = Path(source)
    if path.is_file():
        return profile_file(path, target=target, backend=backend)
    version = find_version(home, source)
    schema, label = version.schema, version.label
    if target is not None and target not in [column.name for column in schema]:
        raise DatasetError(UNKNOWN_COLUMN.format(column=target, label=label))
    if version.row_count > big_table_rows():
        found, placement = profile_big_parquet(
            version_path(home, version),
            target=target,
            schema=schema,
            backend=backend,
            progress=progress,
        )
        return {"source": label, **found.to_dict(), "compute": placement.to_dict()}
    profile = profile_table(load_table(home, version), schema=schema, target=target)
    return {"source": label, **profile.to_dict()}
