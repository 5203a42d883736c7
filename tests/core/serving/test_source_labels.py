"""Rows exactly as the training file has them: a yes/no input takes the file's words, and a
yes/no target answers in its own labels through the service, feedback, label files and batch."""

from __future__ import annotations

import io
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest

from core.data.datasets import get_version, import_dataset, set_column_roles
from core.monitor.labels import apply_labels
from core.serving import deployments
from core.serving.batch import score_file
from core.train.registry import register_run

REASON = "exercised by the test suite"


def _applications(rows: int, seed: int) -> pd.DataFrame:
    """Loan applications as a spreadsheet writes them: 'Y'/'N' flags, a 'Yes'/'No' outcome."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "income": rng.normal(50, 10, rows).round(1),
            "region": rng.choice(["north", "south"], rows),
            "guarantor": rng.choice(["Y", "N"], rows),
        }
    )
    approved = frame["income"] + 8 * (frame["guarantor"] == "Y") + rng.normal(0, 4, rows) > 52
    frame["approved"] = np.where(approved, "Yes", "No")
    return frame


@pytest.fixture(scope="module")
def studio(tmp_path_factory, train_frame):
    home: Path = tmp_path_factory.mktemp("labels") / "studio"
    frame = _applications(300, seed=4)
    outcome = train_frame(home, frame, name="applications", target="approved")
    register_run(home, outcome.best.id, name="applications")
    return home, frame


@pytest.fixture(scope="module")
def live(studio):
    home, _ = studio
    deployment, api_key = deployments.deploy(home, "applications@1", override_reason=REASON)
    client = httpx.Client(base_url=deployment.url, headers={"X-API-Key": api_key}, timeout=30)
    yield deployment, client
    client.close()
    deployments.undeploy(home, deployment.id)


def test_import_keeps_the_labels_a_yes_no_column_was_written_with(tmp_path):
    path = tmp_path / "flags.csv"
    path.write_text("member,outcome,plain\nYes,n,true\nyes,Y,false\nYes,N,true\nYes,N,true\n")
    version = import_dataset(tmp_path / "studio", path=path, name="flags").version
    labels = {column.name: column.labels for column in version.schema}
    assert labels == {"member": ("Yes", "no"), "outcome": ("Y", "N"), "plain": None}
    changed = set_column_roles(
        tmp_path / "studio", version_id=version.id, roles={"member": "categorical"}
    )
    # true/false are JSON's own words: that column is read as booleans, with nothing to keep
    relabelled = {
        column.name: column.labels for column in get_version(tmp_path / "studio", changed.id).schema
    }
    assert relabelled == labels  # a role change keeps them


def test_the_service_takes_rows_as_the_file_has_them_and_answers_in_its_labels(studio, live):
    _, frame = studio
    _, client = live
    rows = frame.drop(columns="approved").head(20).to_dict(orient="records")
    body = client.post("/predict", json={"records": rows})
    assert body.status_code == 200, body.text
    answer = body.json()
    assert set(answer["predictions"]) <= {"Yes", "No"} and answer["classes"] == ["No", "Yes"]
    assert client.get("/metadata").json()["classes"] == ["No", "Yes"]
    same = client.post(
        "/predict", json={"records": [{**r, "guarantor": r["guarantor"] == "Y"} for r in rows]}
    )
    assert same.json()["predictions"] == answer["predictions"]  # "Y" means true

    split = {"columns": list(rows[0]), "data": [list(row.values()) for row in rows]}
    mlflow = client.post("/invocations", json={"dataframe_split": split})
    assert mlflow.status_code == 200 and mlflow.json()["predictions"] == answer["predictions"]
    csv = frame.drop(columns="approved").head(20).to_csv(index=False)
    by_csv = client.post("/invocations", content=csv, headers={"Content-Type": "text/csv"})
    assert by_csv.status_code == 200 and by_csv.json()["predictions"] == answer["predictions"]

    refused = client.post("/predict", json={"records": [{**rows[0], "guarantor": "maybe"}]})
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["loc"] == ["body", "records", 0, "guarantor"]
    assert "yes/no" in refused.json()["detail"][0]["msg"]


def test_feedback_and_label_files_take_the_targets_own_words(studio, live):
    home, frame = studio
    deployment, client = live
    rows = frame.drop(columns="approved").head(3).to_dict(orient="records")
    request_id = client.post("/predict", json={"records": rows}).json()["request_id"]
    for row, label in enumerate(("Yes", "no", True)):
        sent = client.post("/feedback", json={"request_id": request_id, "row": row, "label": label})
        assert sent.status_code == 200, sent.text
    wrong = client.post("/feedback", json={"request_id": request_id, "label": "maybe"})
    assert wrong.status_code == 422 and "'No', 'Yes'" in wrong.text

    labels = pd.read_csv(
        io.StringIO(f"request_id,row,label\n{request_id},0,No\n{request_id},1,Yes\n")
    )
    report = apply_labels(home, deployment.id, labels, classes=["No", "Yes"])
    assert report.applied == 2 and report.wrong_type == 0


def test_batch_scoring_answers_in_the_targets_labels(studio, tmp_path):
    home, frame = studio
    source = tmp_path / "new.csv"
    frame.drop(columns="approved").head(50).to_csv(source, index=False)
    out = tmp_path / "scored.csv"
    score_file(home, "applications@1", source, out)
    scored = pd.read_csv(out)
    assert set(scored["prediction"]) <= {"Yes", "No"}
    assert {"probability_No", "probability_Yes"} <= set(scored.columns)
