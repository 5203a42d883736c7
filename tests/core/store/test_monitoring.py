"""Monitoring: aggregation state, windows and metrics, alert rules and alerts."""

import json

import pytest

from core.store import deployments, monitoring


def test_state_defaults_then_merges_known_fields(db, deployment) -> None:
    state = monitoring.state(db, deployment.id)
    assert state == {
        "deployment_id": deployment.id,
        "last_prediction_id": 0,
        "last_labelled_at": 0.0,
        "last_drift_end": 0.0,
    }
    monitoring.set_state(db, deployment.id, last_prediction_id=5)
    monitoring.set_state(db, deployment.id, last_drift_end=60.0)
    assert monitoring.state(db, deployment.id) == {
        **state,
        "last_prediction_id": 5,
        "last_drift_end": 60.0,
    }
    with pytest.raises(ValueError, match="'nope'"):
        monitoring.set_state(db, deployment.id, nope=1)


def test_windows_and_metrics_are_read_by_time_range(db, deployment) -> None:
    rows = [
        {"deployment_id": deployment.id, "window_start": start, "requests": 3, "rows": 4}
        for start in (0.0, 60.0, 120.0)
    ]
    monitoring.save_windows(db, rows)
    monitoring.save_windows(db, [{**rows[1], "requests": 5}])  # replaced, not duplicated
    assert [w["window_start"] for w in monitoring.windows(db, deployment.id, 0.0, 120.0)] == [
        0.0,
        60.0,
    ]
    monitoring.add_metrics(
        db,
        [
            {
                "deployment_id": deployment.id,
                "window_start": 60.0,
                "window_end": 120.0,
                "feature": feature,
                "metric": "psi",
                "value": 0.1,
            }
            for feature in ("b", "a")
        ],
    )
    found = monitoring.metrics(db, deployment.id, 60.0, 61.0)
    assert [m["feature"] for m in found] == ["a", "b"]
    assert monitoring.metrics(db, deployment.id, 0.0, 60.0) == []


def test_log_reads_for_windows(db, deployment) -> None:
    version = deployment.model_version_id
    log = [
        (
            deployment.id,
            version,
            f"r{i}",
            10.0 * i,
            1.0,
            200,
            1,
            json.dumps([{"x": i}]),
            json.dumps([i % 2]),
            None,
            None,
            None,
        )
        for i in range(1, 4)
    ]
    deployments.log_predictions(db, log)
    assert monitoring.first_prediction_time(db, deployment.id) == 10.0
    assert monitoring.first_prediction_time(db, 999) is None
    assert [row[2] for row in monitoring.predictions_after(db, deployment.id, 1, limit=5)] == [
        "r2",
        "r3",
    ]
    assert monitoring.window_inputs(db, deployment.id, 0.0, 25.0, limit=5) == [{"x": 2}, {"x": 1}]
    deployments.record_labels(db, deployment.id, [("r1", 0, "1"), ("r3", 0, "0")], 100.0)
    starts, newest = monitoring.labelled_window_starts(db, deployment.id, 0.0, 20.0)
    assert sorted(starts) == [0.0, 20.0] and newest == 100.0
    assert monitoring.labelled_pairs(db, deployment.id, 0.0, 100.0) == [(1, 1), (1, 0)]


def test_alert_rules_and_alerts_round_trip_and_refuse_unknown_fields(db, deployment) -> None:
    rule_id = monitoring.add_alert_rule(
        db,
        deployment.id,
        metric="error_rate",
        comparison="above",
        threshold=0.1,
        window_minutes=5,
        severity="warning",
    )
    monitoring.update_alert_rule(db, rule_id, enabled=0, threshold=0.2)
    (rule,) = monitoring.alert_rules(db, deployment.id)
    assert isinstance(rule, monitoring.AlertRule) and (rule.enabled, rule.threshold) == (False, 0.2)
    with pytest.raises(ValueError, match="'nope'"):
        monitoring.update_alert_rule(db, rule_id, nope=1)
    with pytest.raises(ValueError, match="'nope'"):
        monitoring.add_alert_rule(db, deployment.id, nope=1)
    alert_id = monitoring.open_alert(
        db,
        deployment_id=deployment.id,
        rule_id=rule_id,
        metric="error_rate",
        severity="warning",
        value=0.3,
        threshold=0.2,
        message="high",
    )
    alert = monitoring.get_alert(db, alert_id)
    assert isinstance(alert, monitoring.Alert) and (alert.status, alert.value) == ("open", 0.3)
    assert monitoring.acknowledge_alert(db, alert_id, "oli")
    assert not monitoring.acknowledge_alert(db, alert_id, "pam")
    assert monitoring.get_alert(db, alert_id).acknowledged_by == "oli"
    monitoring.clear_alert(db, alert_id)
    assert monitoring.get_alert(db, alert_id).status == "cleared"
    assert monitoring.get_alert(db, 999) is None
    second = monitoring.open_alert(
        db, deployment_id=deployment.id, metric="m", severity="info", message="x"
    )
    assert [a.id for a in monitoring.alerts(db)] == [second, alert_id]
    assert [a.id for a in monitoring.alerts(db, status="open")] == [second]
    assert [a.id for a in monitoring.alerts(db, deployment_id=999)] == []
    assert [a.id for a in monitoring.alerts(db, limit=1)] == [second]
    with pytest.raises(ValueError, match="'nope'"):
        monitoring.open_alert(db, deployment_id=deployment.id, nope=1)
