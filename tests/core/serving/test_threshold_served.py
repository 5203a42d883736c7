"""A version's decision threshold decides its answers everywhere: the live service, /metadata,
and batch scoring give the positive class from the threshold up."""

from __future__ import annotations

import httpx
import numpy as np
import pandas as pd
import pytest

from core.review.threshold import holdout_curve, set_threshold
from core.serving import deployments
from core.serving.batch import score_file
from core.train.registry import find_model_version

REASON = "exercised by the test suite"


@pytest.fixture(scope="module")
def home(tmp_path_factory, loans_studio):
    home = loans_studio(tmp_path_factory.mktemp("served_threshold") / "studio", rows=400, seed=8)
    version = find_model_version(home, "loans@1")
    curve = holdout_curve(home, version)
    # a low cut-off: more rows called positive than by the most probable class
    low = sorted(point.threshold for point in curve.points)[len(curve.points) // 4]
    set_threshold(home, version, low, basis="chosen by the test", actor="test")
    return home


def _rows(count: int) -> list[dict]:
    rng = np.random.default_rng(2)
    return [
        {"income": float(income), "region": str(region)}
        for income, region in zip(
            rng.normal(50, 12, count), rng.choice(["north", "south"], count), strict=True
        )
    ]


def test_the_service_and_batch_answer_from_the_threshold(home, tmp_path):
    threshold = find_model_version(home, "loans@1").decision_threshold
    assert threshold is not None and threshold < 0.5
    deployment, api_key = deployments.deploy(home, "loans@1", override_reason=REASON)
    try:
        with httpx.Client(base_url=deployment.url, headers={"X-API-Key": api_key}) as client:
            assert client.get("/metadata").json()["decision_threshold"] == threshold
            rows = _rows(200)
            answer = client.post("/predict", json={"records": rows}).json()
    finally:
        deployments.undeploy(home, deployment.id)
    negative, positive = answer["classes"]
    positive_share = [p[1] for p in answer["probabilities"]]
    expected = [positive if p >= threshold else negative for p in positive_share]
    assert answer["predictions"] == expected
    flipped = sum(1 for p in positive_share if threshold <= p < 0.5)
    assert flipped > 0, "the threshold changes some answers from the most probable class"

    source, out = tmp_path / "rows.csv", tmp_path / "scored.csv"
    pd.DataFrame(rows).to_csv(source, index=False)
    score_file(home, "loans@1", source, out)
    assert pd.read_csv(out)["prediction"].tolist() == answer["predictions"]
