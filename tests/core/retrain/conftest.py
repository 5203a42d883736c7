"""A registered 'loans' champion behind a deployment row, and labelled traffic to log."""

from __future__ import annotations

import json
import os
import time

import numpy as np
import pandas as pd
import pytest

from core.store import connect
from core.store import records as store
from core.train.registry import CHAMPION, set_alias


@pytest.fixture
def served(tmp_path, loans_studio):
    """(home, deployment id, champion version id): loans v1 is champion of a stopped
    deployment (no process: the retrain's switch needs none)."""
    home = loans_studio(tmp_path / "studio", rows=400, seed=3)
    set_alias(home, name="loans", version=1, alias=CHAMPION, override_reason="test champion")
    with connect(home) as db:
        version = store.model_version_by_number(db, "loans", 1)
        assert version is not None
        row = store.insert_deployment(
            db,
            model_version_id=version.id,
            host="127.0.0.1",
            port=1,
            log_path="",
            created_by="test",
            status="stopped",
            desired="stopped",
        )
    return home, row.id, version.id


def traffic(rows: int, *, seed: int, concept: str) -> pd.DataFrame:
    """Loans traffic whose true default follows ``concept``: 'same' (the training rule),
    'region' (south defaults: a new concept) or 'noise' (coin flips)."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {"income": rng.normal(50, 10, rows), "region": rng.choice(["north", "south"], rows)}
    )
    if concept == "same":
        frame["default"] = (frame["income"] + rng.normal(scale=5, size=rows) < 48).astype(int)
    elif concept == "region":
        flip = rng.random(rows) < 0.1
        frame["default"] = ((frame["region"] == "south") ^ flip).astype(int)
    else:
        frame["default"] = rng.integers(0, 2, rows)
    return frame


def log_labelled(home, deployment_id, version_id, frame, *, batch=10, start=None):
    """Log ``frame`` as answered requests of ``batch`` rows each, then label every row."""
    start = time.time() - 600 if start is None else start
    requests, labels = [], []
    for number, first in enumerate(range(0, len(frame), batch)):
        part = frame.iloc[first : first + batch]
        inputs = part[["income", "region"]].to_dict("records")
        request_id = f"req-{os.urandom(6).hex()}-{number}"
        requests.append(
            (deployment_id, version_id, request_id, start + number * 0.5, 3.0, 200, len(part),
             json.dumps(inputs), json.dumps([0] * len(part)), None, None, None)
        )  # fmt: skip
        labels.extend(
            (request_id, row, json.dumps(int(label))) for row, label in enumerate(part["default"])
        )
    with connect(home) as db:
        store.log_predictions(db, requests)
        assert not store.record_labels(db, deployment_id, labels, time.time())
