"""The batch-scoring job: an upload scored into a Parquet file under the home, the upload gone."""

from pathlib import Path

import pandas as pd
import pytest

from core.artifacts import resolve
from core.data.imports import save_upload
from core.jobs.kinds import job_function
from core.serving.batch import BatchError, batch_score_job


@pytest.fixture(scope="module")
def home(tmp_path_factory, loans_studio) -> Path:
    return loans_studio(tmp_path_factory.mktemp("batch_job") / "studio", rows=200, seed=5)


def _params(home: Path, data: bytes, file_name: str = "april.csv") -> dict:
    upload = save_upload(home, data=data, file_name=file_name)
    return {"upload": upload, "file_name": file_name, "model_version": "loans@1"}


def test_the_job_kind_is_registered() -> None:
    assert job_function("batch_score") is batch_score_job


def test_scores_an_upload_into_parquet_and_deletes_the_upload(home: Path) -> None:
    params = _params(home, b"income,region,id\n30,north,a\n70,south,b\n55,,c\n")
    reported: list[tuple[float, str]] = []
    result = batch_score_job(home, params, lambda f, m: reported.append((f, m)))
    assert result["rows"] == 3 and result["model_version"] == "loans v1"
    assert result["output"].startswith("batch/") and result["output"].endswith(".parquet")
    scored = pd.read_parquet(resolve(home, result["output"]))
    assert list(scored["id"]) == ["a", "b", "c"]
    assert {"prediction", "probability_0", "probability_1"} <= set(scored.columns)
    assert any("'id'" in note for note in result["notes"])  # kept, unused by the model
    assert not resolve(home, params["upload"]).exists()
    assert reported[-1][0] == 1.0


def test_a_bad_file_names_the_users_file_and_the_upload_is_deleted(home: Path) -> None:
    params = _params(home, b"income,region\nlots,north\n", file_name="may.csv")
    with pytest.raises(BatchError, match="'income' should hold numbers"):
        batch_score_job(home, params, lambda f, m: None)
    assert not resolve(home, params["upload"]).exists()
    params = _params(home, b"region\nnorth\n", file_name="june.csv")
    with pytest.raises(BatchError, match="lacks 1 column"):
        batch_score_job(home, params, lambda f, m: None)


def test_only_files_the_studio_saved_are_read(home: Path) -> None:
    for path in ("datasets/x.parquet", "uploads/../studio.db", "/etc/passwd"):
        params = {"upload": path, "file_name": "x.csv", "model_version": "loans@1"}
        with pytest.raises(BatchError, match="only read files the studio saved"):
            batch_score_job(home, params, lambda f, m: None)
