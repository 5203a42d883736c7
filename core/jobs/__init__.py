"""Background jobs: long work in its own process, with status and progress kept in the store."""

from core.jobs.runner import (
    JobCancelled,
    Progress,
    cancel_job,
    current_job,
    latest_finished_job,
    refresh_job,
    submit_job,
    wait_for_job,
)

__all__ = [
    "JobCancelled",
    "Progress",
    "cancel_job",
    "current_job",
    "latest_finished_job",
    "refresh_job",
    "submit_job",
    "wait_for_job",
]
