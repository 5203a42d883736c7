"""`mlops-studio jobs` against real queued and running jobs: a waiting job's place in the queue
in words (and in --json), cancelling it, and a bad MLOPS_STUDIO_JOB_SLOTS said on stderr."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from app.cli import cli
from core.jobs import cancel_job, submit_job, wait_for_job
from core.jobs.pool import BAD_SLOTS, SLOTS_ENV

LONG = {"steps": 600, "seconds": 0.05}


def invoke(home: Path, *args: str):
    return CliRunner().invoke(cli, [*args, "--home", str(home)], catch_exceptions=False)


def test_jobs_shows_each_waiting_jobs_place_in_the_queue(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "h"
    monkeypatch.setenv(SLOTS_ENV, "1")
    running = submit_job(home, kind="sleep", params=LONG)
    first = submit_job(home, kind="train", params={})
    second = submit_job(home, kind="sleep", params=LONG)
    try:
        listed = invoke(home, "jobs")
        assert listed.exit_code == 0 and listed.stderr == ""
        lines = listed.stdout.splitlines()
        assert len(lines) == 3 and lines[0].split()[0] == str(running.id)
        assert lines[1].split()[:2] == [str(first.id), "Training"]
        assert " ".join(lines[1].split()[2:]) == "queued 0% Waiting — 1st in the queue"
        assert " ".join(lines[2].split()[2:]) == "queued 0% Waiting — 2nd in the queue"

        shown = json.loads(invoke(home, "jobs", "--json").stdout)["jobs"]
        assert [(j["id"], j["status"], j["queue_place"], j["state"]) for j in shown[1:]] == [
            (first.id, "queued", 1, "Waiting — 1st in the queue"),
            (second.id, "queued", 2, "Waiting — 2nd in the queue"),
        ]

        cancelled = json.loads(invoke(home, "cancel", str(first.id), "--json").stdout)
        assert (cancelled["status"], cancelled["started_at"]) == ("cancelled", None)
        shown = json.loads(invoke(home, "jobs", "--json").stdout)["jobs"]
        assert [(j["id"], j["state"]) for j in shown[1:]] == [
            (second.id, "Waiting — 1st in the queue")
        ]
    finally:
        for job in (second, running):
            cancel_job(home, job.id)
            wait_for_job(home, job.id, timeout=60)


def test_a_bad_slot_setting_is_said_on_stderr_and_json_stays_one_object(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "h"
    monkeypatch.setenv(SLOTS_ENV, "many")
    submit_job(home, kind="sleep", params=LONG)  # waits: no slot count to start it in
    listed = invoke(home, "jobs", "--json")
    assert listed.exit_code == 0
    (job,) = json.loads(listed.stdout)["jobs"]
    assert (job["status"], job["state"]) == ("queued", "Waiting — 1st in the queue")
    problem = BAD_SLOTS.format(value="many")
    assert listed.stderr == f"Warning: {problem} Until then no queued job starts.\n"
    cancel_job(home, job["id"])
