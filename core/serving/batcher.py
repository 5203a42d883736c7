"""Micro-batching of prediction requests: the requests that arrive while one batch is scored
wait together and are scored as the next batch, one call per model version; each batch's log
rows are committed in one write, and its requests are answered only once they are."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson
from fastapi.responses import Response

from core.serving.hardening import shaped
from core.serving.inputs import PayloadError
from core.serving.scoring import Scores, ServedModel, score
from core.serving.shadow import ShadowRequest
from core.store.deployments import ServingSettings

if TYPE_CHECKING:
    from core.serving.app import Service

MAX_BATCH_ROWS = 4_096
NOT_SCORED = "The model could not score these rows ({error}); check their values."
log = logging.getLogger("mlops_studio.serving")


@dataclass
class Pending:
    """One request waiting in the micro-batch queue, with the model that checked it."""

    model: ServedModel
    values: dict[str, list[Any]]
    rows: list[Any]
    started: float
    notes: list[str] | None = None  # what MLflow's reading changed, said in the answer
    sent: str | None = None  # the rows' JSON as the client sent it (None: encode ``rows``)
    request_id: str = field(default_factory=lambda: os.urandom(16).hex())


@dataclass
class Answer:
    model: ServedModel
    scores: Scores
    logged: Any
    ood: list[list[str]] = field(default_factory=list)  # each row's out-of-distribution inputs
    content: bytes | None = None  # the answer's JSON, encoded while its log row is written


async def batch_forever(service: Service) -> None:
    """Micro-batching: while one batch is scored, the requests that arrive wait together and
    are scored as the next batch, in one call per model version."""
    assert service.queue is not None
    loop = asyncio.get_running_loop()
    while True:
        batch = [await service.queue.get()]
        rows = len(batch[0][0].rows)
        while rows < MAX_BATCH_ROWS and not service.queue.empty():
            batch.append(service.queue.get_nowait())
            rows += len(batch[-1][0].rows)
        try:
            answers = await loop.run_in_executor(service.executor, _score_batch, service, batch)
        except Exception as error:
            _fail(batch, error)
            del batch
            continue
        # the next batch is scored while this one's log rows are written
        task = asyncio.ensure_future(_answer_when_logged(batch, answers, service.settings))
        service.answering.add(task)
        task.add_done_callback(service.answering.discard)
        # let go of the batch once answered, not when the next one arrives: reading a large
        # body while the last one's rows are still held takes fresh memory (~5 ms more)
        del batch, answers, task


async def _answer_when_logged(
    batch: list[tuple[Pending, Any]],
    answers: list[Answer | PayloadError],
    settings: ServingSettings,
) -> None:
    """Answer a batch's requests once its log rows are committed: one wait per batch. A
    request its model could not score gets its own refusal; the others their answers."""
    logged = next((a.logged for a in answers if isinstance(a, Answer)), None)
    # encoded while the log writer commits (SQLite lets go of the interpreter meanwhile), not
    # once it has: 1.5 ms of a 10,000-row answer off the request's path
    for (pending, _), answer in zip(batch, answers, strict=True):
        if isinstance(answer, Answer):
            answer.content = _encoded_early(pending, answer, settings)
    try:
        if logged is not None:
            await asyncio.wrap_future(logged)
    except Exception as error:
        _fail(batch, error)
        return
    for (_, answered), answer in zip(batch, answers, strict=True):
        if not answered.done():
            answered.set_result(answer)


def _fail(batch: list[tuple[Pending, Any]], error: Exception) -> None:
    for _, answered in batch:
        if not answered.done():
            answered.set_exception(error)


def _score_batch(service: Service, batch: list[tuple[Pending, Any]]) -> list[Answer | PayloadError]:
    """Each request's answer, in batch order. Requests are scored together; if that fails,
    each is scored alone, so a row the model cannot score fails only its own request."""
    assert service.log is not None
    answers: list[Answer | PayloadError] = []
    log_rows: list[tuple] = []
    for group in _same_model_runs([pending for pending, _ in batch]):
        for pending, scores in zip(group, _scored(group), strict=True):
            if isinstance(scores, PayloadError):
                answers.append(scores)
                continue
            latency = (time.perf_counter() - pending.started) * 1000
            try:
                ood = service.ood(pending, scores)
                log_rows.append(service.log_row(pending, scores, latency, ood))
            except (TypeError, ValueError) as error:  # a value the log cannot hold
                log.warning("could not log request %s: %s", pending.request_id, error)
                answers.append(PayloadError(NOT_SCORED.format(error=type(error).__name__)))
                continue
            answers.append(Answer(pending.model, scores, None, ood))
    if log_rows:
        logged = service.log.append(log_rows)
        for answer in answers:
            if isinstance(answer, Answer):
                answer.logged = logged
    _shadow(service, batch, answers)
    return answers


def _scored(group: list[Pending]) -> list[Scores | PayloadError]:
    model = group[0].model
    values = group[0].values  # one request (a large one, usually) needs no copy
    if len(group) > 1:
        values = {name: [v for p in group for v in p.values[name]] for name in values}
    try:
        scores = score(model, values)
    except Exception as error:
        if len(group) > 1:
            return [one for pending in group for one in _scored([pending])]
        log.exception("could not score request %s", group[0].request_id)
        return [PayloadError(NOT_SCORED.format(error=type(error).__name__))]
    parts: list[Scores | PayloadError] = []
    start = 0
    for pending in group:
        parts.append(_slice(scores, start, start + len(pending.rows)))
        start += len(pending.rows)
    return parts


def _shadow(
    service: Service, batch: list[tuple[Pending, Any]], answers: list[Answer | PayloadError]
) -> None:
    if service.shadow is None or service.shadow.model is None:
        return
    scored = [p for (p, _), a in zip(batch, answers, strict=True) if isinstance(a, Answer)]
    try:
        service.shadow.submit([ShadowRequest(p.request_id, p.values, len(p.rows)) for p in scored])
    except Exception:  # the shadow must never cost the served answers
        log.exception("could not hand the batch to the shadow version")


def _same_model_runs(pending: list[Pending]) -> list[list[Pending]]:
    runs: list[list[Pending]] = []
    for item in pending:
        if runs and runs[-1][0].model is item.model:
            runs[-1].append(item)
        else:
            runs.append([item])
    return runs


def _slice(scores: Scores, start: int, end: int) -> Scores:
    probabilities = None if scores.probabilities is None else scores.probabilities[start:end]
    return Scores(scores.predictions[start:end], probabilities, scores.unseen[start:end])


class Answered(Response):
    """A prediction's answer that holds on to the request it answers until it is sent.

    Why: freeing a 10,000-row request's objects (its rows, columns, arrays) takes ~4 ms; when
    the endpoint returned, that happened before the answer went out. Held here, they are freed
    after it is sent, while the client reads it."""

    def __init__(self, content: bytes, request: tuple[Any, ...]) -> None:
        super().__init__(content, media_type="application/json")
        self.request = request


def prediction_response(pending: Pending, answer: Answer, settings: ServingSettings) -> Response:
    content = answer.content or _answer_content(pending, answer, settings)
    return Answered(content, (pending, answer))


def _encoded_early(pending: Pending, answer: Answer, settings: ServingSettings) -> bytes | None:
    """The answer's JSON, or None when it cannot be encoded: the endpoint then tries again
    and answers its own error, as every request failing there does."""
    try:
        return _answer_content(pending, answer, settings)
    except Exception:
        return None


def _answer_content(pending: Pending, answer: Answer, settings: ServingSettings) -> bytes:
    scores = answer.scores
    body: dict[str, Any] = {
        "predictions": scores.predictions,
        "model_version": answer.model.label,
        "request_id": pending.request_id,
    }
    if scores.probabilities is not None:
        body["classes"] = answer.model.classes
        body["probabilities"] = scores.probabilities
    unseen = sum(map(len, scores.unseen))
    if unseen:
        body["unseen_categories"] = unseen
    body["out_of_distribution"] = list(map(bool, answer.ood))
    if pending.notes:
        body["warnings"] = pending.notes
    return orjson.dumps(shaped(body, settings), option=orjson.OPT_SERIALIZE_NUMPY)
