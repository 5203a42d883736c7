"""The local pool: how many jobs may run at once, and a waiting job's place in words."""

from __future__ import annotations

import os

from core.store.jobs import Job

SLOTS_ENV = "MLOPS_STUDIO_JOB_SLOTS"
BAD_SLOTS = (
    "MLOPS_STUDIO_JOB_SLOTS must be a whole number of jobs that may run at once, 1 or more "
    "(it is {value!r}). Set it so, or unset it to run as many jobs at once as there are cores."
)


def job_slots() -> int:
    """How many jobs may run at once: ``MLOPS_STUDIO_JOB_SLOTS``, else the core count (never
    more CPU-bound processes than cores: more only share the cores and all finish later)."""
    value = os.environ.get(SLOTS_ENV, "").strip()
    if not value:
        return os.cpu_count() or 1
    if not value.isdigit() or int(value) < 1:
        raise ValueError(BAD_SLOTS.format(value=value))
    return int(value)


def slots_problem() -> str | None:
    """What is wrong with MLOPS_STUDIO_JOB_SLOTS, or None when it is fine (or unset)."""
    try:
        job_slots()
    except ValueError as error:
        return str(error)
    return None


def ordinal(number: int) -> str:
    """1st, 2nd, 3rd, 4th, … 11th, 12th, 13th, … 21st."""
    if 10 <= number % 100 <= 20:
        return f"{number}th"
    suffix = {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


def queue_words(place: int) -> str:
    """'Waiting — 2nd in the queue'."""
    return f"Waiting — {ordinal(place)} in the queue"


def job_state(job: Job) -> str:
    """Where a job stands, in words: its place in the queue while it waits, 'Cancelling…' once
    a cancel was asked, else its own last progress message."""
    if job.cancel_requested and job.active:
        return "Cancelling…"
    if job.status == "queued" and job.queue_place is not None:
        return queue_words(job.queue_place)
    return job.message
