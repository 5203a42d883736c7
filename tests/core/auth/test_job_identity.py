"""A team studio's jobs: the worker process acts as whoever submitted the job, so the run it
trains and the events it records carry their name and role."""

import numpy as np
import pandas as pd

from core.auth import Identity, acting_as
from core.data.datasets import import_dataset
from core.jobs.runner import wait_for_job
from core.store import audit, connect, runs
from core.train.plan import ValidationPlan
from core.train.training import TrainRequest, submit_training


def test_a_training_job_runs_as_the_data_scientist_who_submitted_it(team, tmp_path) -> None:
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"x": rng.normal(size=200), "y": rng.integers(0, 2, 200)})
    path = tmp_path / "tiny.csv"
    frame.to_csv(path, index=False)
    dan = Identity("dan", "data scientist", "token")
    with acting_as(dan):
        version = import_dataset(team, path=path, name="tiny").version
        request = TrainRequest(
            version_id=version.id, target="y", models=("logistic_regression",),
            plan=ValidationPlan(folds=2),
        )  # fmt: skip
        job = submit_training(team, request, actor="ui")
    assert job.created_by == "dan"
    finished = wait_for_job(team, job.id, timeout=300)
    assert finished.status == "done", finished.error
    with connect(team) as db:
        started = audit.events(db, action="run.start")
        trained = [runs.get(db, int(event.entity_id or 0)) for event in started]
    assert started and {(e.actor, e.role) for e in started} == {("dan", "data scientist")}
    assert {run.created_by for run in trained if run is not None} == {"dan"}
