"""Deployments and the prediction log: round-trip, checked updates, labels, reading the log."""

import json

import pytest

from core.store import deployments


def _log(db, deployment, request_id: str, rows: int, *, status: int = 200, at: float = 1.0):
    inputs = [{"x": i} for i in range(rows)]
    deployments.log_predictions(
        db,
        [
            (
                deployment.id,
                deployment.model_version_id,
                request_id,
                at,
                2.5,
                status,
                rows,
                json.dumps(inputs) if status == 200 else None,
                json.dumps(list(range(rows))) if status == 200 else "[]",
                None,
                None,
                None if status == 200 else "bad input",
            )
        ],
    )


def test_a_deployment_round_trips_with_its_label_and_defaults(db, deployment) -> None:
    assert isinstance(deployment, deployments.Deployment)
    assert (deployment.status, deployment.mode, deployment.model_label) == (
        "starting",
        "live",
        "credit v1",
    )
    assert deployment.active and deployment.foreground is False
    assert deployment.url == "http://127.0.0.1:8100"
    assert "api_key_hash" not in deployment.to_dict()
    assert deployments.get(db, 999) is None


def test_update_refuses_unknown_fields(db, deployment) -> None:
    deployments.update(db, deployment.id, status="running", server_pid=7, api_key_hash="h")
    assert deployments.get(db, deployment.id).server_pid == 7
    assert deployments.watch(db, deployment.id) == (
        deployment.model_version_id,
        "h",
        "running",
        None,
    )
    assert deployments.watch(db, 999) is None
    with pytest.raises(ValueError, match="'model_label'"):
        deployments.update(db, deployment.id, model_label="x")
    with pytest.raises(ValueError, match="'bogus'"):
        deployments.insert(db, bogus=1)


def test_find_can_leave_out_stopped_deployments(db, deployment) -> None:
    other = deployments.insert(
        db,
        model_version_id=deployment.model_version_id,
        host="127.0.0.1",
        port=8101,
        log_path="logs/2.log",
        created_by="ana",
    )
    deployments.update(db, deployment.id, status="stopped")
    assert [d.id for d in deployments.find(db)] == [deployment.id, other.id]
    assert [d.id for d in deployments.find(db, include_stopped=False)] == [other.id]


def test_labels_attach_to_logged_rows_all_or_nothing(db, deployment) -> None:
    _log(db, deployment, "r1", 2)
    _log(db, deployment, "r2", 1, status=422)
    assert deployments.answered_sizes(db, deployment.id, ["r1", "r2", "r3"]) == {"r1": 2}
    assert deployments.logged_request_ids(db, ["r1", "r2", "r3"]) == {"r1", "r2"}
    unknown = deployments.record_labels(db, deployment.id, [("r1", 5, "1"), ("r3", None, "0")], 9.0)
    assert unknown == ["r1[5]", "r3"]
    assert (
        deployments.record_labels(db, deployment.id, [("r1", None, "0"), ("r1", 1, "1")], 9.0) == []
    )
    rows = deployments.predictions(db, deployment.id)
    assert [(r["request_id"], r["row"], r.get("label")) for r in rows] == [
        ("r2", 0, None),
        ("r1", 0, 0),
        ("r1", 1, 1),
    ]
    assert rows[0]["error"] == "bad input" and rows[1]["inputs"] == {"x": 0}
    assert len(deployments.predictions(db, deployment.id, limit=2)) == 2
