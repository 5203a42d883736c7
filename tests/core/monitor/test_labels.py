"""A label file: known rows get their label (last line wins), the rest is reported."""

from __future__ import annotations

import time

import pandas as pd
import pytest

from core.monitor.labels import apply_labels
from core.store import connect, deployments


def test_label_file_applies_known_rows_and_reports_the_rest(deployment, log_rows):
    home, deployment_id, version_id = deployment
    now = time.time()
    log_rows(home, deployment_id, version_id, [
        ("r1", 0, now, 2.0, 200, 1, None),
        ("r2", 0, now, 2.0, 200, 0, None),
        ("r3", 0, now, 2.0, 422, None, None),
    ])  # fmt: skip
    frame = pd.DataFrame(
        {
            "request_id": ["r1", "r1", "r2", "r9", "r2", "r3", "r1"],
            "row": [0, 0, None, None, 5, None, None],
            "label": [1, 0, "1", 1, 1, 1, "maybe"],
        }
    )
    report = apply_labels(home, deployment_id, frame, classes=[0, 1])
    assert report.applied == 2 and report.duplicates == 1
    assert report.unknown == ("r2[5]", "r3", "r9") and report.wrong_type == 1
    assert report.wrong_examples == ("maybe",)
    with connect(home) as db:
        rows = deployments.predictions(db, deployment_id)
    labels = {row["request_id"]: row.get("label") for row in rows}
    assert labels == {"r1": 0, "r2": 1, "r3": None}  # r3 was refused: it has no rows


def test_label_file_refusals(deployment):
    home, deployment_id, _ = deployment
    with pytest.raises(ValueError, match="needs the columns 'request_id' and 'label'"):
        apply_labels(home, deployment_id, pd.DataFrame({"id": ["a"]}), classes=[0, 1])
    with pytest.raises(ValueError, match="whole numbers from 0"):
        frame = pd.DataFrame({"request_id": ["a"], "row": [-1], "label": [1]})
        apply_labels(home, deployment_id, frame, classes=[0, 1])
    with pytest.raises(ValueError, match="no rows"):
        frame = pd.DataFrame({"request_id": [], "label": []})
        apply_labels(home, deployment_id, frame, classes=[0, 1])
