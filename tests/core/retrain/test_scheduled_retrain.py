"""Policies run from the scheduler with no browser open, and a restart resumes a retrain whose
worker died with it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from core import scheduler
from core.jobs.runner import wait_for_job
from core.retrain.challenger import retrains_of
from core.retrain.policies import Triggers, add_policy
from core.store import connect
from core.store import records as store
from core.train.registry import find_model_version


def _start_scheduler(home):
    args = [sys.executable, "-m", "core.scheduler", "--home", str(home), "--every", "0.3"]
    return subprocess.Popen(args, stderr=subprocess.DEVNULL, start_new_session=True)


def _wait(condition, home, timeout=120.0):
    deadline = time.monotonic() + timeout
    while not (found := condition()):
        if time.monotonic() > deadline:
            with connect(home) as db:
                jobs = [dict(row) for row in db.query("SELECT id, status, pid, error FROM jobs")]
                runs = [
                    dict(r) for r in db.query("SELECT status, job_id, steps_json FROM retrain_runs")
                ]
            raise AssertionError(f"timed out waiting for {condition}: jobs {jobs}, retrains {runs}")
        time.sleep(0.1)
    return found


def test_scheduler_fires_a_policy_and_a_restart_resumes_the_retrain(served, log_traffic):
    home, deployment_id, champion_id = served
    add_policy(home, deployment_id, name="labels", triggers=Triggers(new_labels=100))
    log_traffic(home, deployment_id, champion_id, 300, seed=11, concept="region")
    process = _start_scheduler(home)
    try:
        retrain = _wait(lambda: next(iter(retrains_of(home, deployment_id)), None), home)
        job = _wait(lambda: _job_with_pid(home, retrain.job_id), home)
        # the machine "restarts": the scheduler and the retrain's worker die at once
        os.killpg(process.pid, signal.SIGKILL)
        os.kill(job.pid, signal.SIGKILL)
        process.wait(30)
        assert scheduler.running_pid(home) is None
        process = _start_scheduler(home)
        resumed = _wait(lambda: _step_named(home, retrain.id, "resumed"), home)
        wait_for_job(home, resumed.job_id, timeout=300)
        done = _wait(lambda: _finished(home, retrain.id), home)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(30)
    assert done.status == "done", done.error
    assert done.decision and done.challenger_score is not None
    assert find_model_version(home, "loans@challenger").id == done.challenger_version_id
    assert len(retrains_of(home, deployment_id)) == 1  # the cool-down held: one retrain


def _job_with_pid(home, job_id):
    with connect(home) as db:
        job = store.get_job(db, job_id)
    return job if job is not None and job.pid and job.status == "running" else None


def _step_named(home, retrain_id, name):
    with connect(home) as db:
        retrain = store.get_retrain_run(db, retrain_id)
    return retrain if any(step["step"] == name for step in retrain.steps) else None


def _finished(home, retrain_id):
    with connect(home) as db:
        retrain = store.get_retrain_run(db, retrain_id)
    return retrain if not retrain.active else None
