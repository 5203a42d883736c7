"""Dataset versions: import, reuse of identical content, hashes verified, roles, lookups."""

import ast
import gzip
from pathlib import Path

import pandas as pd
import pytest

from core.artifacts import ArtifactError
from core.data.datasets import (
    DatasetError,
    find_version,
    import_dataset,
    list_datasets,
    load_frame,
    set_column_roles,
    version_path,
)
from core.data.ingest import IngestError
from core.store import audit, connect


@pytest.fixture
def csv_file(tmp_path: Path, small_frame: pd.DataFrame) -> Path:
    path = tmp_path / "small.csv"
    small_frame.to_csv(path, index=False)
    return path


def test_import_makes_a_version_with_parquet_hash_and_schema(studio_home: Path, csv_file: Path):
    outcome = import_dataset(studio_home, path=csv_file, name="small")
    version = outcome.version
    assert not outcome.reused and version.version == 1 and version.row_count == 500
    assert version_path(studio_home, version).suffix == ".parquet"
    roles = {c.name: c.role for c in version.schema}
    assert roles["customer_id"] == "id" and roles["income"] == "numeric"
    assert roles["region"] == "categorical" and roles["signup"] == "datetime"
    frame = load_frame(studio_home, version)
    assert len(frame) == 500 and frame["income"].isna().sum() == 40
    with connect(studio_home) as db:
        assert audit.events(db, entity_type="dataset_version")[0].action == "dataset.import"


def test_identical_content_reuses_the_version_whatever_the_file_format(
    studio_home: Path, csv_file: Path, tmp_path: Path
):
    first = import_dataset(studio_home, path=csv_file, name="small").version
    zipped = tmp_path / "small.csv.gz"
    zipped.write_bytes(gzip.compress(csv_file.read_bytes()))
    again = import_dataset(studio_home, path=zipped, name="small")
    assert again.reused and again.version.id == first.id
    files = list((studio_home / "artifacts" / "datasets").glob("*.parquet"))
    assert len(files) == 1, "a reused import leaves no second file behind"


def test_changed_content_adds_version_two(studio_home: Path, csv_file: Path, tmp_path: Path):
    import_dataset(studio_home, path=csv_file, name="small")
    changed = tmp_path / "changed.csv"
    changed.write_text(csv_file.read_text() + csv_file.read_text().splitlines()[1] + "\n")
    second = import_dataset(studio_home, path=changed, name="small").version
    assert second.version == 2 and second.row_count == 501
    assert find_version(studio_home, "small").id == second.id
    assert find_version(studio_home, "small@1").version == 1
    assert list_datasets(studio_home)[0].version_count == 2


def test_a_failed_import_loses_nothing(studio_home: Path, csv_file: Path, tmp_path: Path):
    import_dataset(studio_home, path=csv_file, name="small")
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(IngestError):
        import_dataset(studio_home, path=empty, name="small")
    assert list_datasets(studio_home)[0].version_count == 1
    assert load_frame(studio_home, find_version(studio_home, "small")).shape == (500, 6)


def test_a_tampered_file_is_refused(studio_home: Path, csv_file: Path):
    version = import_dataset(studio_home, path=csv_file, name="small").version
    path = studio_home / "artifacts" / version.artifact_path
    path.write_bytes(path.read_bytes() + b"x")
    with pytest.raises(ArtifactError, match="has changed on disk"):
        load_frame(studio_home, version)


def test_roles_can_be_changed_without_touching_the_content(studio_home: Path, csv_file: Path):
    version = import_dataset(studio_home, path=csv_file, name="small").version
    changed = set_column_roles(studio_home, version_id=version.id, roles={"target": "target"})
    assert next(c.role for c in changed.schema if c.name == "target") == "target"
    assert changed.content_hash == version.content_hash
    with pytest.raises(DatasetError, match="is not a column role"):
        set_column_roles(studio_home, version_id=version.id, roles={"age": "colour"})
    with pytest.raises(DatasetError, match="is not in small v1"):
        set_column_roles(studio_home, version_id=version.id, roles={"nope": "numeric"})


@pytest.mark.parametrize("name", ["", "   ", "a\nb", "x" * 101])
def test_unusable_names_are_refused(studio_home: Path, csv_file: Path, name: str):
    with pytest.raises(DatasetError, match="A dataset name must be"):
        import_dataset(studio_home, path=csv_file, name=name)


def test_unknown_references_say_what_exists(studio_home: Path, csv_file: Path):
    import_dataset(studio_home, path=csv_file, name="small")
    with pytest.raises(DatasetError, match="There is no dataset 'other'"):
        find_version(studio_home, "other")
    with pytest.raises(DatasetError, match="has no version 7; it has versions 1 to 1"):
        find_version(studio_home, "small@7")


def test_a_name_with_a_line_break_is_shown_on_one_line(studio_home: Path, csv_file: Path):
    with pytest.raises(DatasetError) as caught:
        import_dataset(studio_home, path=csv_file, name="sales\nq1")
    assert "got 'sales?q1'" in str(caught.value) and "\\n" not in str(caught.value)


def _message_templates(folder: Path) -> dict[str, str]:
    """Every module-level UPPER_CASE string in ``folder``: the sentences users read."""
    found = {}
    for path in folder.rglob("*.py"):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if not (isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)):
                continue
            for target in node.targets:
                named = isinstance(target, ast.Name) and target.id.isupper()
                if named and isinstance(node.value.value, str):
                    found[f"{path.name}:{target.id}"] = node.value.value
    return found


def test_no_message_about_data_shows_python_code():
    """Values go into sentences as the user wrote them, never as Python reprs."""
    messages = _message_templates(Path(__file__).resolve().parents[3] / "core" / "data")
    assert len(messages) > 40
    for name, message in messages.items():
        assert "!r}" not in message, name
