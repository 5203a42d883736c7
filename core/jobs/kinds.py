"""The registry of job kinds: each name points at the function that does that work."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

# name -> "module:function". Resolved lazily so a worker imports only what its job needs.
# A job function takes (home, params, progress) and returns a JSON-ready result dict.
JOB_KINDS: dict[str, str] = {
    "profile_report": "core.data.report:build_profile_report",
    "profile_dataset": "core.data.profile_job:profile_dataset_job",
    "import_upload": "core.data.imports:import_upload_job",
    "import_samples": "core.data.imports:import_samples_job",
    "prepare_dataset": "core.prep.prepare:prepare_job",
    "train": "core.train.training:train_job",
    "review_model_version": "core.review.review:review_job",
    "explain_model_version": "core.review.explain.job:explain_model_version",
    "mitigate": "core.review.review:mitigate_job",
    "security_review": "core.review.security.report:security_job",
    "batch_score": "core.serving.batch:batch_score_job",
    "retrain": "core.retrain.challenger:retrain_job",
    "seed_demo": "core.demo:build_project_job",
    "sample_traffic": "core.demo:live_traffic_job",
    "sleep": "core.jobs.kinds:sleep_job",
}
# Kinds that take no slot of the pool and start at once: they wait on something other than
# the CPU (the sample traffic paces HTTP requests for twenty minutes), so holding one of the
# few slots would only keep CPU-bound work waiting.
SLOTLESS_KINDS = frozenset({"sample_traffic"})
# What each kind of job is called where people read it (the sidebar, `mlops-studio jobs`).
JOB_TITLES: dict[str, str] = {
    "profile_report": "Profiling a dataset",
    "profile_dataset": "Profiling a dataset's columns",
    "import_upload": "Importing a file",
    "import_samples": "Importing the sample datasets",
    "prepare_dataset": "Preparing a dataset",
    "train": "Training",
    "review_model_version": "Reviewing a model version",
    "explain_model_version": "Explaining a model version",
    "mitigate": "Mitigating unfairness",
    "security_review": "Security review of a model version",
    "batch_score": "Scoring a file",
    "retrain": "Retraining",
    "seed_demo": "Building the sample project",
    "sample_traffic": "Sample traffic",
    "sleep": "Waiting",
}

UNKNOWN_KIND = "There is no job kind called {kind!r}."


def job_function(kind: str) -> Callable[..., dict[str, Any]]:
    if kind not in JOB_KINDS:
        raise KeyError(UNKNOWN_KIND.format(kind=kind))
    module_name, function_name = JOB_KINDS[kind].split(":")
    function: Callable[..., dict[str, Any]] = getattr(
        importlib.import_module(module_name), function_name
    )
    return function


def job_title(kind: str) -> str:
    """What a job of ``kind`` is called for people; the kind in words for one without a title."""
    return JOB_TITLES.get(kind) or kind.replace("_", " ").capitalize()


def sleep_job(home: Path, params: dict[str, Any], progress: Any) -> dict[str, Any]:
    """A job that waits in steps; used to exercise progress, cancel, restarts and the pool
    (with ``child``, it first submits a job of these params and waits for it, as the sample
    project's build waits for its review)."""
    import time

    if params.get("child"):
        from core.jobs.runner import submit_job, wait_for_job

        child = submit_job(home, kind="sleep", params=dict(params["child"]))
        wait_for_job(home, child.id, timeout=600)
    steps = int(params.get("steps", 10))
    for step in range(steps):
        progress(step / steps, f"Step {step + 1} of {steps}")
        time.sleep(float(params.get("seconds", 0.1)))
    if params.get("fail"):
        raise ValueError(str(params["fail"]))
    return {"steps": steps}
