"""Policies run from the scheduler with no browser open, and a restart resumes a retrain whose
worker died with it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from core import scheduler
from core.jobs.runner import wait_for_job
from core.retrain.challenger import get_retrain, resume_retrains, retrains_of, start_retrain
from core.retrain.policies import Triggers, add_policy
from core.store import connect, retraining
from core.store import jobs as jobs_store
from core.train.registry import find_model_version


def _start_scheduler(home):
    args = [sys.executable, "-m", "core.scheduler", "--home", str(home), "--every", "0.3"]
    return subprocess.Popen(args, stderr=subprocess.DEVNULL, start_new_session=True)


def _what_ran(home):
    """What the store says ran, for a timed-out wait's message."""
    with connect(home) as db:
        jobs = [dict(row) for row in db.query("SELECT id, status, pid, error FROM jobs")]
        runs = [dict(r) for r in db.query("SELECT status, job_id, steps_json FROM retrain_runs")]
    return f"timed out: jobs {jobs}, retrains {runs}"


def test_scheduler_fires_a_policy_and_a_restart_resumes_the_retrain(
    served, log_traffic, wait_until
):
    home, deployment_id, champion_id = served
    add_policy(home, deployment_id, name="labels", triggers=Triggers(new_labels=100))
    log_traffic(home, deployment_id, champion_id, 300, seed=11, concept="region")
    process = _start_scheduler(home)
    try:
        fired = wait_until(  # no browser open
            lambda: _finished_any(home, deployment_id), timeout=120, message=lambda: _what_ran(home)
        )
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(30)
    assert fired.status == "done" and fired.triggers[0]["trigger"] == "new_labels"
    assert find_model_version(home, "loans@challenger").id == fired.challenger_version_id

    # a retrain whose worker dies at once (the machine went down) waits for the next scheduler
    retrain = start_retrain(home, deployment_id, actor="ana")
    os.kill(_job_pid(home, retrain.job_id), signal.SIGKILL)
    time.sleep(0.5)
    assert get_retrain(home, retrain.id).active  # nothing finished it
    assert scheduler.running_pid(home) is None
    process = _start_scheduler(home)
    try:
        done = wait_until(
            lambda: _finished(home, retrain.id), timeout=120, message=lambda: _what_ran(home)
        )
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(30)
    assert done.status == "done", done.error
    assert [step["step"] for step in done.steps].count("resumed") == 1
    assert done.details["attempts"] == 2 and done.challenger_score is not None


@pytest.mark.parametrize("most_attempts", [3, 1], ids=["start-again", "give-up"])
def test_a_retrain_its_job_finishes_while_the_scheduler_looks_is_left_alone(
    served, log_traffic, monkeypatch, most_attempts
):
    # the scheduler read the retrain as running, then its job finished it and ended: seeing
    # the ended job must neither start the retrain again nor mark it failed
    home, deployment_id, champion_id = served
    log_traffic(home, deployment_id, champion_id, 300, seed=11, concept="region")
    retrain = start_retrain(home, deployment_id, actor="ana")
    as_read = get_retrain(home, retrain.id)
    assert as_read.active
    assert wait_for_job(home, retrain.job_id, timeout=300).status == "done"
    finished = get_retrain(home, retrain.id)
    assert finished.status == "done"

    monkeypatch.setattr(retraining, "runs", lambda *args, **kwargs: [as_read])
    assert resume_retrains(home, most_attempts=most_attempts) == []

    now = get_retrain(home, retrain.id)
    assert (now.status, now.job_id, now.steps) == ("done", finished.job_id, finished.steps)
    with connect(home) as db:
        assert len(jobs_store.active(db)) == 0


def _finished_any(home, deployment_id):
    found = retrains_of(home, deployment_id)
    return found[0] if found and not found[0].active else None


def _job_pid(home, job_id):
    with connect(home) as db:
        job = jobs_store.get(db, job_id)
    assert job is not None and job.pid
    return job.pid


def _finished(home, retrain_id):
    with connect(home) as db:
        retrain = retraining.get_run(db, retrain_id)
    return retrain if not retrain.active else None
