"""The traffic simulator: replays a file's rows against a live deployment at a chosen rate and
sends the true labels back later through /feedback, so the monitor has something to show."""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

Progress = Callable[[float, str], None]
FEEDBACK_BATCH = 500
BAD_RATE = "The rate must be between 0.1 and 1,000 requests per second, not {rate}."
BAD_SECONDS = "The duration must be between 1 second and 24 hours, not {seconds}."
BAD_MINUTES = "The history must span 1 minute to 7 days, not {minutes} minutes."
NO_ROWS = "{name} has no rows to send."
MISSING_INPUTS = (
    "The file has no column for the model's input(s) {names}; every request would be refused. "
    "Add the column(s) (empty cells are sent as missing values) or pick another file."
)
NOT_ANSWERING = "Deployment {id} does not answer at {url}; start it first (`mlops-studio restart`)."
BAD_KEY = "The service refused the API key (401); pass the deployment's current key."
NO_ID_COLUMN = (
    "The labels file and the traffic file share no column to join on; give both an id column "
    "(e.g. applicant_id) or put the label column in the traffic file."
)


@dataclass(frozen=True)
class SimulationResult:
    """What a simulation sent and how the service answered."""

    sent: int
    answered: int
    failed: int
    labelled: int
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


class _Client:
    """JSON calls to one deployment with its key."""

    def __init__(self, url: str, api_key: str) -> None:
        self.url = url.rstrip("/")
        self.headers = {"Content-Type": "application/json", "X-API-Key": api_key}

    def call(self, path: str, body: Any = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body, default=str).encode()
        request = urllib.request.Request(
            f"{self.url}{path}", data=data, headers=self.headers, method="POST" if data else "GET"
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, None
        except (OSError, ValueError):
            return 0, None


def simulate(
    url: str,
    api_key: str,
    frame: pd.DataFrame,
    *,
    rate: float,
    seconds: float,
    labels: pd.Series | None = None,
    label_delay: float = 30.0,
    progress: Progress | None = None,
    deployment_id: int | None = None,
) -> SimulationResult:
    """Send ``frame``'s rows one per request at ``rate`` per second for ``seconds`` (cycling
    through the rows); ``labels`` (aligned with ``frame``) go back ``label_delay`` s later."""
    _check(rate, seconds, frame)
    client = _Client(url, api_key)
    status, metadata = client.call("/metadata")
    if status == 401:
        raise ValueError(BAD_KEY)
    if status != 200:
        raise ValueError(NOT_ANSWERING.format(id=deployment_id, url=url))
    records = _records(frame, [column["name"] for column in metadata["inputs"]])
    report = progress or (lambda fraction, message: None)
    pending: deque[tuple[float, str, Any]] = deque()
    sent = answered = failed = labelled = 0
    started = time.monotonic()
    total = max(1, int(rate * seconds))
    for index in range(total):
        _wait_until(started + index / rate)
        status, body = client.call("/predict", {"records": [records[index % len(records)]]})
        sent += 1
        if status == 200:
            answered += 1
            if labels is not None:
                label = labels.iloc[index % len(records)]
                if not pd.isna(label):
                    pending.append((time.monotonic() + label_delay, body["request_id"], label))
        else:
            failed += 1
        labelled += _send_due_labels(client, pending, final=False)
        if index % max(1, int(rate)) == 0:
            report(index / total, f"Sent {sent:,} requests ({failed:,} failed)")
    labelled += _send_due_labels(client, pending, final=True)
    report(1.0, f"Sent {sent:,} requests, {labelled:,} labels")
    return SimulationResult(sent, answered, failed, labelled, time.monotonic() - started)


def replay_history(
    home: Path,
    deployment_id: int,
    frame: pd.DataFrame,
    *,
    minutes: float,
    labels: pd.Series | None = None,
    label_delay: float = 600.0,
    now: float | None = None,
) -> SimulationResult:
    """Log ``frame``'s rows as the deployment's traffic of the last ``minutes`` (one row per
    request, evenly spread), scored by the version it serves; labels go to the rows older than
    ``label_delay`` s. The monitor then has history to show at once: a past batch replayed."""
    from core.serving.deployments import get_deployment
    from core.serving.inputs import check_rows
    from core.serving.scoring import load_served_model, score
    from core.store import connect, deployments

    if frame.empty:
        raise ValueError(NO_ROWS.format(name="The history"))
    if not 1 <= minutes <= 7 * 24 * 60:
        raise ValueError(BAD_MINUTES.format(minutes=minutes))
    started = time.monotonic()
    now = time.time() if now is None else now
    deployment = get_deployment(home, deployment_id)
    model = load_served_model(home, deployment.model_version_id)
    rows = _records(frame, [column.name for column in model.columns])
    values = check_rows(rows, model.columns, max_rows=len(rows))
    clock = time.perf_counter()
    scores = score(model, values)
    latency = (time.perf_counter() - clock) * 1000 / len(rows)
    times = now - minutes * 60 + np.arange(len(rows)) * (minutes * 60 / len(rows))
    requests: list[tuple[Any, ...]] = []
    due: list[tuple[str, int | None, str]] = []
    for index, row in enumerate(rows):
        request_id = f"history-{deployment_id}-{os.urandom(8).hex()}"
        shares = (
            None
            if scores.probabilities is None
            else [np.asarray(scores.probabilities[index]).tolist()]
        )
        requests.append(
            (deployment_id, model.version_id, request_id, float(times[index]), latency, 200, 1,
             json.dumps([row]), json.dumps([scores.predictions[index]], default=_plain),
             None if shares is None else json.dumps(shares, default=_plain),
             json.dumps([scores.unseen[index]]) if scores.unseen[index] else None, None)
        )  # fmt: skip
        label = None if labels is None else labels.iloc[index]
        if label is not None and not pd.isna(label) and times[index] < now - label_delay:
            due.append((request_id, 0, json.dumps(_plain(label))))
    with connect(home) as db:
        deployments.log_predictions(db, requests)
        deployments.record_labels(db, deployment_id, due, now)
    seconds = time.monotonic() - started
    return SimulationResult(len(rows), len(rows), 0, len(due), seconds)


def _check(rate: float, seconds: float, frame: pd.DataFrame) -> None:
    if not 0.1 <= rate <= 1000:
        raise ValueError(BAD_RATE.format(rate=rate))
    if not 1 <= seconds <= 86_400:
        raise ValueError(BAD_SECONDS.format(seconds=seconds))
    if frame.empty:
        raise ValueError(NO_ROWS.format(name="The traffic file"))


def _records(frame: pd.DataFrame, inputs: list[str]) -> list[dict[str, Any]]:
    """Rows as JSON records holding only the model's inputs (dates as ISO text); a file that
    lacks an input is refused here, since the service refuses requests that omit one."""
    missing = [name for name in inputs if name not in frame.columns]
    if missing:
        raise ValueError(MISSING_INPUTS.format(names=", ".join(missing)))
    kept = frame[inputs]
    records: list[dict[str, Any]] = json.loads(
        kept.to_json(orient="records", date_format="iso", date_unit="s")
    )
    return records


def _wait_until(moment: float) -> None:
    delay = moment - time.monotonic()
    if delay > 0:
        time.sleep(delay)


def _send_due_labels(
    client: _Client, pending: deque[tuple[float, str, Any]], *, final: bool
) -> int:
    if final and pending:
        _wait_until(pending[-1][0])
    due: list[dict[str, Any]] = []
    now = time.monotonic()
    while pending and pending[0][0] <= now and len(due) < FEEDBACK_BATCH:
        _, request_id, label = pending.popleft()
        due.append({"request_id": request_id, "label": _plain(label)})
    if not due:
        return 0
    status, _ = client.call("/feedback", {"feedback": due})
    sent = len(due) if status == 200 else 0
    return sent + (_send_due_labels(client, pending, final=final) if final and pending else 0)


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def labels_for(
    frame: pd.DataFrame, labels: pd.DataFrame | None, target: str | None
) -> pd.Series | None:
    """The label of each traffic row: the target column of the traffic file itself, or the
    labels file joined on the column both files share."""
    if labels is None:
        return frame[target] if target and target in frame.columns else None
    shared = [name for name in labels.columns if name in frame.columns]
    value_columns = [name for name in labels.columns if name not in shared]
    if not shared or len(value_columns) != 1:
        raise ValueError(NO_ID_COLUMN)
    joined = frame[shared].merge(labels.drop_duplicates(shared, keep="last"), on=shared, how="left")
    return joined[value_columns[0]].reset_index(drop=True)


def read_table_file(path: Path) -> pd.DataFrame:
    """A CSV/Parquet/JSON-lines file read as imports read files."""
    from core.serving.batch import read_frame

    return read_frame(path)[0]
