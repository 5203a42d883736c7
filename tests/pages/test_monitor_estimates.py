"""The Monitor page's "Before labels" tab in AppTest over a logged deployment with probabilities:
estimated performance beside realized (band shaded), joint drift with its driving features, and
the quality tests table; and the note when a model logs no probabilities."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from app import state
from core.serving.scoring import load_served_model
from core.store import connect, deployments
from tests.pages.apptest import open_page

MINUTES = 20


@pytest.fixture(scope="module")
def estimated(tmp_path_factory: pytest.TempPathFactory, deploy_frame) -> Path:
    """20 minutes of logged traffic with class probabilities, shifted halfway, half labelled."""
    home = tmp_path_factory.mktemp("monitor_estimates") / "studio"
    rng = np.random.default_rng(6)
    frame = pd.DataFrame({"x": rng.normal(size=300), "region": rng.choice(["north", "south"], 300)})
    frame["y"] = (frame["x"] + rng.normal(scale=0.5, size=300) > 0).astype(int)
    version, deployment_id = deploy_frame(home, frame, name="est", target="y")
    model = load_served_model(home, version.id, engine="sklearn")
    count = MINUTES * 30
    start = time.time() - MINUTES * 60
    xs = np.concatenate([rng.normal(size=count // 2), rng.normal(3, 1, count - count // 2)])
    regions = rng.choice(["north", "south"], count)
    scores = model.pipeline.predict_proba(pd.DataFrame({"x": xs, "region": regions}))
    rows = [
        (deployment_id, version.id, f"q{i}", start + i * 2.0, 3.0, 200, 1,
         json.dumps([{"x": float(x), "region": str(r)}]), json.dumps([int(p[1] >= 0.5)]),
         json.dumps([p.tolist()]), None, None)
        for i, (x, r, p) in enumerate(zip(xs, regions, scores, strict=True))
    ]  # fmt: skip
    with connect(home) as db:
        deployments.log_predictions(db, rows)
        labels = [(row[2], 0, json.dumps(int(x > 0))) for row, x in zip(rows, xs, strict=True)]
        deployments.record_labels(db, deployment_id, labels[::2], time.time())
    return home


def test_before_labels_tab_draws_estimates_joint_drift_and_quality(
    estimated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLOPS_STUDIO_HOME", str(estimated))
    at = open_page("monitor", timeout=180)
    at.session_state[state.MONITOR_LIVE_TAB] = "Before labels"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    charts = at.get("plotly_chart")
    assert len(charts) == 3  # estimated beside realized, domain classifier, reconstruction
    figure = json.loads(charts[0].proto.spec)
    names = [trace.get("name") for trace in figure["data"]]
    assert "estimated" in names and "realized (labelled rows)" in names
    assert any(trace.get("fill") == "tonexty" for trace in figure["data"])  # the band
    assert any("no concept drift" in caption.value for caption in at.caption)
    assert any("labelled window(s)" in caption.value for caption in at.caption)
    joint = next(t.value for t in at.dataframe if "driven by" in t.value.columns)
    assert "drifted" in set(joint["verdict"]) and "x" in joint["driven by"].iloc[0]
    # the reconstruction error drifts both ways: its chart and row show the band's lower edge
    lower = "lower threshold (from reference chunks)"
    assert lower in [t.get("name") for t in json.loads(charts[2].proto.spec)["data"]]
    assert lower not in [t.get("name") for t in json.loads(charts[1].proto.spec)["data"]]
    assert list(joint["threshold"].str.split().str[0]) == ["above", "outside"]
    quality = next(t.value for t in at.dataframe if "test" in t.value.columns)
    assert {"missing share", "value range", "new categories"} <= set(quality["test"])
    assert quality.iloc[0]["result"] == "FAIL" and quality.iloc[0]["column"] == "x"

    at.selectbox(key=state.MONITOR_ESTIMATE_METRIC).set_value("roc_auc").run()
    assert not at.exception
    assert "ROC AUC" in json.loads(at.get("plotly_chart")[0].proto.spec)["layout"]["title"]["text"]
