"""The retraining commands: policy, policies, retrain (and --dry-run), promote and shadow."""

from __future__ import annotations

import json

from tests.studio_cli import run


def _json(home, *args):
    code, output = run(home, *args, "--json")
    assert code == 0, output
    return json.loads(output.strip().splitlines()[-1])


def test_policy_retrain_promote_from_the_command_line(served, log_traffic):
    home, deployment_id, champion_id = served
    code, output = run(home, "policy", str(deployment_id), "--name", "nothing")
    assert code == 1 and "at least one trigger" in output and "Traceback" not in output
    added = _json(home, "policy", str(deployment_id), "--name", "labels", "--new-labels", "50")
    assert added["triggers"]["new_labels"] == 50 and added["action"]["promote"] == "review"
    estimated = ["--name", "estimated", "--estimated-drop", "0.05", "--promote", "shadow"]
    added = _json(home, "policy", str(deployment_id), *estimated)
    assert added["triggers"]["estimated_drop"] == 0.05 and added["triggers"]["new_labels"] is None
    log_traffic(home, deployment_id, champion_id, 200, seed=12, concept="region")
    planned = _json(home, "retrain", str(deployment_id), "--dry-run")
    assert planned["status"] == "dry run" and planned["triggers"][0]["trigger"] == "new_labels"
    done = _json(home, "retrain", str(deployment_id), "--wait")
    assert done["status"] == "done" and done["challenger_version_id"] is not None
    code, output = run(home, "policies", str(deployment_id))
    assert (
        "policy 1 'labels' (on): new labelled rows at least 50 -> register as challenger for a "
        "person to review" in output
    )
    assert "dry run" in output and "done" in output
    code, output = run(home, "promote", str(done["id"]))
    assert code == 1 and "override" in output  # not approved: a reason is needed
    promoted = _json(home, "promote", str(done["id"]), "--reason", "labels show the new rule")
    assert promoted["decision"].startswith("Promoted loans v2")
    code, output = run(home, "shadow", str(deployment_id))
    assert code == 1 and "--stop" in output
