"""Reviewing real model versions: gates that must pass and must fail, segments, fairness, jobs."""

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.data.datasets import import_dataset
from core.jobs import wait_for_job
from core.review.gates import GateConfig
from core.review.review import (
    VersionReview,
    cached_review,
    review_version,
    submit_review,
    with_default_segments,
)
from core.train.plan import ValidationPlan
from core.train.registry import register_run, set_alias
from core.train.training import TrainRequest, train


def _import(home: Path, frame: pd.DataFrame, name: str) -> int:
    path = home.parent / f"{name}.csv"
    frame.to_csv(path, index=False)
    return import_dataset(home, path=path, name=name).version.id


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("review") / "studio"
    rng = np.random.default_rng(3)
    n = 1200
    frame = pd.DataFrame(
        {
            "income": rng.normal(50, 10, n),
            "sex": rng.choice(["female", "male"], n),
            "region": rng.choice(["n", "s", "e", "w"], n),
        }
    )
    frame["default"] = ((frame["income"] + rng.normal(scale=5, size=n)) < 47).astype(int)
    noise = frame.assign(default=rng.integers(0, 2, n))
    plan = ValidationPlan(folds=3)
    for name, data, model in (
        ("good", frame, "logistic_regression"),
        ("noise", noise, "decision_tree"),
    ):
        version_id = _import(home, data, name)
        request = TrainRequest(version_id=version_id, target="default", models=(model,), plan=plan)
        outcome = train(home, request)
        register_run(home, outcome.best.id, name=name, onnx=False)
    return home


def _gates(review):
    return {gate.name: gate for gate in review.gates}


def test_a_good_model_passes_and_a_noise_model_fails(home):
    good = review_version(home, "good", sensitive=["sex"])
    assert good.passed, [g for g in good.gates if g.passed is False]
    assert _gates(good)["min_metric"].value > 0.85
    noise = review_version(home, "noise", sensitive=["sex"])
    assert not noise.passed
    failed = {name for name, gate in _gates(noise).items() if gate.passed is False}
    assert {"min_metric", "min_lift_over_baseline"} <= failed


def test_segments_fairness_and_suggested_sensitive_features(home):
    review = review_version(home, "good")
    assert review.sensitive_features == ("sex",)
    assert {s.column for s in review.segments} >= {"sex", "region", "income"}
    assert review.fairness is not None
    assert any("demographic_parity_difference" in key for key in review.fairness.disparities)
    assert review.calibration_error is not None and 0 <= review.calibration_error < 0.2


def test_the_champion_is_compared_on_the_same_holdout(home):
    set_alias(home, name="good", version=1, alias="champion", override_reason="first model ever")
    assert _gates(review_version(home, "good@1"))["champion_tolerance"].passed is None
    config = GateConfig.defaults("binary")
    review = review_version(home, "good@1", config=config)
    assert review.config == config


def test_the_review_runs_as_a_job_and_is_cached(home):
    from core.train.registry import find_model_version

    version = find_model_version(home, "good")
    job = submit_review(home, version, sensitive=["sex"])
    assert wait_for_job(home, job.id, timeout=180).status == "done"
    cached = cached_review(home, version)
    assert cached is not None and cached.passed
    assert VersionReview.from_dict(json.loads(json.dumps(cached.to_dict()))).to_dict() == (
        cached.to_dict()
    )


def test_stored_gates_that_name_no_segments_judge_the_review_pages_default_segments():
    stored = GateConfig.defaults("binary").to_dict()  # how the sample project's policy keeps them
    settled = with_default_segments(GateConfig.from_dict(stored), ["sex"])
    assert settled == GateConfig.defaults("binary", segment_columns=("sex",))
    named = replace(GateConfig.defaults("binary"), segment_columns=("region",))
    assert with_default_segments(named, ["sex"]) is named
