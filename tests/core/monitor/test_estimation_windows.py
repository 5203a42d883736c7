"""Monitoring before labels through the store: logged windows get estimates, joint drift and
quality tests beside per-feature drift; they read back with realized performance once labels
come, feed alert rules and the retraining trigger, and `monitor --json` carries them all."""

from __future__ import annotations

import json
import math
import time

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from app.cli import cli
from core.monitor import alerts
from core.monitor.drift_windows import DRIFT_WINDOW_SECONDS, update_drift
from core.monitor.estimation.history import estimate_history
from core.monitor.estimation.reference import monitor_reference
from core.retrain.policies import Triggers, add_policy, fired_triggers
from core.store import connect, deployments
from core.store.monitoring import AlertRule
from core.train.registry import register_run


def _log(home, deployment_id, version_id, start, xs, model):
    scores = model.pipeline.predict_proba(pd.DataFrame({"x": xs}))
    rows = [
        (deployment_id, version_id, f"e{start}-{i}", start + i * 0.5, 2.0, 200, 1,
         json.dumps([{"x": float(x)}]), json.dumps([int(p[1] >= 0.5)]),
         json.dumps([p.tolist()]), None, None)
        for i, (x, p) in enumerate(zip(xs, scores, strict=True))
    ]  # fmt: skip
    with connect(home) as db:
        deployments.log_predictions(db, rows)
        labels = [(row[2], 0, json.dumps(int(x > 0))) for row, x in zip(rows, xs, strict=True)]
        deployments.record_labels(db, deployment_id, labels[::2], time.time())


def test_windows_carry_estimates_joint_drift_and_quality(deployment):
    from core.serving.scoring import load_served_model

    home, deployment_id, version_id = deployment
    model = load_served_model(home, version_id, engine="sklearn")
    rng = np.random.default_rng(4)
    first = math.floor((time.time() - 1800) / DRIFT_WINDOW_SECONDS) * DRIFT_WINDOW_SECONDS
    _log(home, deployment_id, version_id, first, rng.normal(size=200), model)
    shifted = rng.normal(4, 1, 200)
    _log(home, deployment_id, version_id, first + DRIFT_WINDOW_SECONDS, shifted, model)
    assert update_drift(home, deployment_id, now=first + 2 * DRIFT_WINDOW_SECONDS + 1) == 2
    assert monitor_reference(home, version_id).performance is not None

    history = estimate_history(home, deployment_id, minutes=60, classes=model.classes)
    assert len(history.windows) == 2
    calm, moved = history.windows
    assert set(calm.estimates) == {"accuracy", "precision", "recall", "f1", "roc_auc"}
    estimate = calm.estimates["accuracy"]
    assert 0 <= estimate.lower <= estimate.value <= estimate.upper <= 1
    assert calm.labelled == 100 and 0 <= calm.realized["accuracy"] <= 1
    assert set(calm.joint) == {"domain_classifier", "reconstruction_error"}
    assert moved.joint["domain_classifier"].drifted
    assert not calm.joint["domain_classifier"].drifted
    assert ("x", "value range") in {(t.column, t.test) for t in moved.failed_tests}
    assert not calm.failed_tests
    data = history.to_dict()
    assert "no concept drift" in data["assumption"]

    rule = AlertRule(0, deployment_id, "quality_failures", "above", 0.5, 60, "warning", True, "")
    summary = alerts.summarise(home, deployment_id, minutes=60, refresh=False)
    assert alerts.metric_value(home, deployment_id, rule, summary) >= 1
    rule = AlertRule(0, deployment_id, "multivariate_drift", "above", 0.7, 60, "warning", True, "")
    assert alerts.metric_value(home, deployment_id, rule, summary) > 0.7
    rule = AlertRule(
        0, deployment_id, "estimated_performance", "below", 0.5, 60, "warning", True, ""
    )
    assert 0 <= alerts.metric_value(home, deployment_id, rule, summary) <= 1

    result = CliRunner().invoke(
        cli, ["monitor", str(deployment_id), "--minutes", "60", "--json", "--home", str(home)]
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert [w["drifted_features"] for w in payload["drift"]] == [[], ["x"]]
    windows = payload["before_labels"]["windows"]
    assert set(windows[0]) >= {
        "estimated", "realized", "parted", "multivariate_drift", "quality_tests",
    }  # fmt: skip
    assert windows[1]["multivariate_drift"]["domain_classifier"]["drifted"]
    assert windows[1]["failed_quality_tests"] >= 1
    text = CliRunner().invoke(cli, ["monitor", str(deployment_id), "--home", str(home)])
    assert text.exit_code == 0, text.output
    assert "estimated accuracy" in text.output and "domain_classifier" in text.output
    assert "drifted: x" in text.output


@pytest.fixture
def informed(tmp_path, train_frame, add_deployment):
    """(home, deployment id, version id) of a model that learned y = (x + noise > 0)."""
    home = tmp_path / "studio"
    rng = np.random.default_rng(7)
    x = rng.normal(size=600)
    frame = pd.DataFrame({"x": x, "y": (x + rng.normal(0, 0.3, 600) > 0).astype(int)})
    outcome = train_frame(home, frame, name="informed", target="y")
    version = register_run(home, outcome.best.id, name="informed", onnx=False)
    return home, add_deployment(home, version.id), version.id


def test_estimated_drop_fires_when_the_estimate_falls_and_not_before(informed):
    from core.serving.scoring import load_served_model

    home, deployment_id, version_id = informed
    model = load_served_model(home, version_id, engine="sklearn")
    # the policies exist before the windows they watch
    loose = add_policy(home, deployment_id, name="loose", triggers=Triggers(estimated_drop=0.1))
    strict = add_policy(home, deployment_id, name="strict", triggers=Triggers(estimated_drop=0.6))
    rng = np.random.default_rng(8)
    first = (math.floor(time.time() / DRIFT_WINDOW_SECONDS) + 1) * DRIFT_WINDOW_SECONDS
    _log(home, deployment_id, version_id, first, rng.normal(size=300), model)
    assert update_drift(home, deployment_id, now=first + DRIFT_WINDOW_SECONDS + 1) == 1
    calm_time = first + DRIFT_WINDOW_SECONDS + 1
    assert fired_triggers(home, loose, now=calm_time, ignore_cooldown=True) == []

    # inputs crowd onto the decision boundary: the model is right about half the time there
    _log(
        home,
        deployment_id,
        version_id,
        first + DRIFT_WINDOW_SECONDS,
        rng.normal(0, 0.05, 300),
        model,
    )
    now = first + 2 * DRIFT_WINDOW_SECONDS + 1
    assert update_drift(home, deployment_id, now=now) == 1
    history = estimate_history(home, deployment_id, minutes=20, end=now, classes=model.classes)
    calm, crowded = (window.estimates["accuracy"] for window in history.windows)
    assert abs(calm.value - calm.reference) < 0.1 * calm.reference
    drop = (crowded.reference - crowded.value) / crowded.reference
    assert 0.1 < drop < 0.6

    fired = fired_triggers(home, loose, now=now, ignore_cooldown=True)
    assert [f.trigger for f in fired] == ["estimated_drop"]
    assert fired[0].value == pytest.approx(drop) and fired[0].threshold == 0.1
    assert fired_triggers(home, strict, now=now, ignore_cooldown=True) == []


def test_window_log_reads_rows_json_wrote_with_nan(deployment):
    from core.store import monitoring

    home, deployment_id, version_id = deployment
    row = (deployment_id, version_id, "nan-1", 1000.0, 1.0, 200, 2,
           json.dumps([{"x": 1.5}, {"x": -2.25}]), json.dumps([float("nan"), 0.5]),
           None, None, None)  # fmt: skip
    with connect(home) as db:
        deployments.log_predictions(db, [row])
        [(inputs, predictions, shares)] = monitoring.window_log(
            db, deployment_id, 999.0, 1001.0, limit=10
        )
    assert inputs == [{"x": 1.5}, {"x": -2.25}] and shares is None
    assert math.isnan(predictions[0]) and predictions[1] == 0.5
