"""Datasets: versions number up per dataset, round-trip into DatasetVersion, and summarise."""

import sqlite3
from pathlib import Path

import pytest

from core.data.schema import ColumnSchema
from core.store import connect, datasets


def test_dataset_versions_number_up_and_hash_is_unique_per_dataset(
    studio_home: Path, new_version
) -> None:
    with connect(studio_home) as db:
        dataset_id = datasets.id_for_name(db, "loans")
        first = datasets.add_version(db, dataset_id=dataset_id, new=new_version("h1"))
        second = datasets.add_version(db, dataset_id=dataset_id, new=new_version("h2"))
        with pytest.raises(sqlite3.IntegrityError):
            datasets.add_version(db, dataset_id=dataset_id, new=new_version("h1"))
        versions = datasets.versions(db, dataset_id)
        assert [v.version for v in versions] == [1, 2]
        assert [v.id for v in versions] == [first, second]
        assert datasets.latest_version(db, "loans").id == second
        assert datasets.version_with_hash(db, dataset_id, "h1").id == first
        assert datasets.summaries(db)[0].version_count == 2
        assert datasets.get_version(db, first).schema[0] == ColumnSchema("a", "int64", "numeric")


def test_a_version_round_trips_with_its_lineage_and_ingest(db, new_version) -> None:
    dataset_id = datasets.id_for_name(db, "loans")
    assert datasets.id_for_name(db, "loans") == dataset_id
    parent = datasets.add_version(db, dataset_id=dataset_id, new=new_version("h1"))
    child = datasets.add_version(
        db, dataset_id=dataset_id, new=new_version("h2", parent_version_id=parent)
    )
    version = datasets.get_version(db, child)
    assert isinstance(version, datasets.DatasetVersion)
    assert (version.dataset_name, version.version, version.label) == ("loans", 2, "loans v2")
    assert version.parent_version_id == parent and version.ingest == {"format": "csv"}
    assert version.to_dict()["rows"] == 3 and version.to_dict()["dataset"] == "loans"
    assert datasets.version_by_number(db, "loans", 1).id == parent
    assert datasets.version_by_number(db, "loans", 9) is None
    assert datasets.get_version(db, 999) is None
    assert datasets.latest_version(db, "nope") is None


def test_summaries_list_only_datasets_with_versions_by_name(db, new_version) -> None:
    zebra = datasets.id_for_name(db, "Zebra")
    datasets.id_for_name(db, "empty")
    apple = datasets.id_for_name(db, "apple")
    datasets.add_version(db, dataset_id=zebra, new=new_version("z1"))
    datasets.add_version(db, dataset_id=apple, new=new_version("a1"))
    datasets.add_version(db, dataset_id=apple, new=new_version("a2"))
    found = datasets.summaries(db)
    assert [(s.name, s.version_count, s.latest.version) for s in found] == [
        ("apple", 2, 2),
        ("Zebra", 1, 1),
    ]
    assert found[0].to_dict()["latest_version"]["content_hash"] == "a2"


def test_set_schema_changes_roles_only(db, new_version) -> None:
    dataset_id = datasets.id_for_name(db, "loans")
    version_id = datasets.add_version(db, dataset_id=dataset_id, new=new_version("h1"))
    datasets.set_schema(db, version_id, [ColumnSchema("a", "int64", "id")])
    version = datasets.get_version(db, version_id)
    assert version.schema == [ColumnSchema("a", "int64", "id")] and version.content_hash == "h1"
