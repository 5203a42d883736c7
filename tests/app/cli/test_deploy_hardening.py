"""`mlops-studio deploy` with hardening: a rate limit, rounding or labels only, in --json, and
a real service that keeps them; bad values are refused in one line before anything starts."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from tests.studio_cli import run

ROWS = [{"income": 30.0, "region": "north"}, {"income": 70.0, "region": "south"}]


def test_deploy_takes_a_rate_limit_and_labels_only(tmp_path: Path, loans_studio) -> None:
    home = loans_studio(tmp_path / "studio", rows=300, seed=6)
    args = ("deploy", "loans@1", "--reason", "CLI hardening test", "--json")
    code, output = run(home, *args, "--rate-limit", "2/s", "--labels-only")
    assert code == 0, output
    deployed = json.loads(output.strip())
    try:
        assert deployed["rate_limit"] == 2.0 and deployed["labels_only"] is True
        headers = {"X-API-Key": deployed["api_key"]}
        with httpx.Client(base_url=deployed["url"], headers=headers) as client:
            answers = [client.post("/predict", json={"records": ROWS}) for _ in range(6)]
        assert "probabilities" not in answers[0].json()
        assert 429 in {answer.status_code for answer in answers}
    finally:
        run(home, "undeploy", str(deployed["id"]))


def test_bad_hardening_is_refused_in_one_line(tmp_path: Path, loans_studio) -> None:
    home = loans_studio(tmp_path / "studio", rows=300, seed=6)
    base = ("deploy", "loans@1", "--reason", "CLI hardening test")
    code, output = run(home, *base, "--rate-limit", "lots")
    assert code == 1 and "A rate limit reads like" in output and "Traceback" not in output
    code, output = run(home, *base, "--round", "12")
    assert code == 1 and "whole number of decimals" in output
    code, output = run(home, "deployments", "--all", "--json")
    assert json.loads(output)["deployments"] == []  # nothing was started


def test_the_security_command_prints_the_review_the_tab_shows(tmp_path: Path, loans_studio):
    from core.review.security.report import cached_security
    from core.train.registry import find_model_version

    home = loans_studio(tmp_path / "studio", rows=400, seed=7)
    code, output = run(home, "security", "loans@1", "--json")
    assert code == 0, output
    payload = json.loads(output.strip())
    assert payload["label"] == "loans v1" and payload["passed"] is True
    assert payload["membership"]["advantage"] < 0.15  # a logistic regression leaks little
    assert payload["exposure"]["deployments"] == []
    assert cached_security(home, find_model_version(home, "loans@1")) is not None
    code, text = run(home, "security", "loans@1")
    assert code == 0 and "Membership inference:" in text and "[pass] Model file hash" in text
    code, text = run(home, "security", "nope@1")
    assert code == 1 and "Traceback" not in text
