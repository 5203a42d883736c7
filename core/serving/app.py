"""The prediction service: a FastAPI app factory serving one model version at a time."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from core.serving import mlflow_protocol as mlflow
from core.serving.batcher import Answer, Pending, batch_forever, prediction_response
from core.serving.bodies import BODY_SECONDS, BodyError, parse_json, read_body
from core.serving.feedback import labels as checked_labels
from core.serving.hardening import (
    RateLimiter,
    limiter_for,
    rate_file,
    retry_after,
    too_many,
)
from core.serving.inputs import PayloadError
from core.serving.keys import key_matches
from core.serving.ood import TrainingRanges, training_ranges
from core.serving.openapi import document, serve_docs_offline
from core.serving.payloads import csv_payload, invocations_payload, predict_payload
from core.serving.prediction_log import PredictionLog
from core.serving.scoring import Scores, ServedModel, load_served_model
from core.serving.shadow import ShadowScorer
from core.store import connection, deployments
from core.store.deployments import ServingSettings

MAX_BODY_BYTES = 16 * 1024 * 1024  # 10,000 rows of a few dozen columns, spaced JSON included
MAX_ROWS = 10_000
WATCH_SECONDS = 0.5
# new objects between collections while serving (default 700: a dozen, ~10 ms, per big body)
SERVING_GC_THRESHOLD = 50_000
HOME_ENV = "MLOPS_STUDIO_HOME"
DEPLOYMENT_ENV = "MLOPS_STUDIO_DEPLOYMENT"
NOT_JSON = "Send JSON (Content-Type: application/json)."
NO_KEY = "Missing or wrong API key: send it as 'Authorization: Bearer KEY' or 'X-API-Key: KEY'."
REVOKED = "This deployment's API key was revoked; rotate the key to get a new one."
INTERNAL = "The service could not answer this request; its log has details."
NO_DEPLOYMENT = "Deployment {id} is not in the studio store at {home}."
UNKNOWN_REQUESTS = "No prediction of this deployment has request id {ids}; nothing was recorded."
log = logging.getLogger("mlops_studio.serving")


@dataclass
class Service:
    """The service's moving parts: the current model, the key, the batcher and the log."""

    home: Path
    deployment_id: int | None
    model: ServedModel | None = None
    key_hash: str | None = None
    require_key: bool = True
    queue: asyncio.Queue[tuple[Pending, asyncio.Future[Any]]] | None = None
    log: PredictionLog | None = None
    executor: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(1, thread_name_prefix="scoring")
    )
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)
    answering: set[asyncio.Future[Any]] = field(default_factory=set)
    shadow: ShadowScorer | None = None
    settings: ServingSettings = field(default_factory=ServingSettings)
    limiter: RateLimiter | None = None
    ranges: dict[int, TrainingRanges] = field(default_factory=dict)  # by model version id
    gc_threshold: tuple[int, ...] = ()  # the collector's thresholds before serving began

    def follow(self, settings: ServingSettings) -> None:
        """Take the deployment's hardening; a limiter whose rate is unchanged keeps its buckets."""
        self.settings = settings
        # a service of no deployment (a model served ad hoc) has one process: no file needed
        deployment_id = self.deployment_id
        path = None if deployment_id is None else rate_file(self.home, deployment_id)
        self.limiter = limiter_for(settings, self.limiter, path=path)

    def ood(self, pending: Pending, scores: Scores) -> list[list[str]]:
        ranges = self.ranges.get(pending.model.version_id)
        if ranges is None:
            return scores.unseen
        return ranges.flags(pending.values, scores.unseen, len(pending.rows))

    def log_row(
        self, pending: Pending, scores: Scores, latency_ms: float, ood: list[list[str]]
    ) -> tuple:
        """The request's log row (deployments.LOGGED_COLUMNS order): its rows as JSON arrays."""
        probabilities = scores.probabilities
        flagged = sum(map(bool, ood))  # in C: a genexpr over 10,000 rows costs 0.5 ms
        return (
            self.deployment_id,
            pending.model.version_id,
            pending.request_id,
            time.time(),
            latency_ms,
            200,
            len(pending.rows),
            pending.sent if pending.sent is not None else orjson.dumps(pending.rows).decode(),
            orjson.dumps(scores.predictions).decode(),
            None if probabilities is None else _json(probabilities),
            orjson.dumps(scores.unseen).decode() if any(scores.unseen) else None,
            None,
            orjson.dumps(ood).decode() if flagged else None,
            flagged,
        )

    def error_row(self, request_id: str, status: int, detail: Any, started: float) -> tuple:
        version = self.model.version_id if self.model else None
        latency = (time.perf_counter() - started) * 1000
        error = detail if isinstance(detail, str) else orjson.dumps(detail).decode()
        row = (self.deployment_id, version, request_id, time.time(), latency, status, 0)
        return (*row, None, None, None, None, error, None, 0)


def _service_version() -> str:
    try:
        return package_version("mlops-studio")
    except Exception:  # run from a source tree that was never installed
        return "0+unknown"


_VERSION = _service_version()


def _json(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY).decode()


def create_app(
    home: Path,
    ref: str | int | None = None,
    *,
    deployment_id: int | None = None,
    api_key_hash: str | None = None,
    engine: str = "auto",
    max_body_bytes: int = MAX_BODY_BYTES,
    max_rows: int = MAX_ROWS,
    watch_seconds: float = WATCH_SECONDS,
    body_seconds: float = BODY_SECONDS,
    settings: ServingSettings | None = None,
) -> FastAPI:
    """The service for a deployment (version, key and hardening followed live from the store),
    or for version ``ref`` with a fixed key hash (None: no key, for tests) and ``settings``."""
    service = Service(home, deployment_id, key_hash=api_key_hash)
    service.follow(settings or ServingSettings())
    service.require_key = deployment_id is not None or api_key_hash is not None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await _start(service, app, ref, engine=engine, watch_seconds=watch_seconds)
        try:
            yield
        finally:
            await _stop(service)

    app = FastAPI(
        title="MLOps Studio prediction service",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    serve_docs_offline(app)

    @app.exception_handler(Exception)
    async def no_tracebacks(request: Request, error: Exception) -> JSONResponse:
        log.exception("request failed")
        if request.url.path == "/invocations":
            return JSONResponse(mlflow.error_body(500, INTERNAL), status_code=500)
        return JSONResponse({"detail": INTERNAL}, status_code=500)

    def refused(request: Request, *, as_mlflow: bool = False) -> JSONResponse | None:
        """401 without the deployment's key, 429 once it used its rate (here, not middleware)."""
        key = _presented_key(request)
        if not service.require_key:
            return _rate_limited(service, key, as_mlflow=as_mlflow)
        if service.key_hash is None:
            message = REVOKED
        elif not key_matches(key, service.key_hash):
            message = NO_KEY
        else:
            return _rate_limited(service, key, as_mlflow=as_mlflow)
        body = mlflow.error_body(401, message) if as_mlflow else {"detail": message}
        return JSONResponse(body, status_code=401)

    @app.get("/health")
    def health() -> dict[str, Any]:
        model = service.model
        return {
            "status": "ok" if model else "starting",
            "model_version": model and model.label,
            "deployment_id": service.deployment_id,
            "engine": model and model.engine,
            "shadow": shadow.label if (shadow := service.shadow and service.shadow.model) else None,
            "pid": os.getpid(),
        }

    # MLflow's ScoringServerClient polls /ping and reads /version without credentials, as
    # /health is read: they say nothing about the model or its data, so they need no key.
    @app.get("/ping", include_in_schema=True)
    def ping() -> Response:
        status = 200 if service.model is not None else 503
        # MLflow answers "\n" labelled as JSON, which no JSON reader takes; its client reads
        # only the status, so the service says what the body is
        return Response("\n", status_code=status, media_type="text/plain")

    @app.get("/version")
    def version() -> Response:
        return Response(_VERSION, media_type="text/plain")

    @app.get("/metadata")
    def metadata(request: Request) -> Any:
        assert service.model is not None
        return refused(request) or {
            **service.model.metadata,
            "deployment_id": service.deployment_id,
        }

    async def queued(pending: Pending) -> Any:
        assert service.queue is not None
        answered: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        await service.queue.put((pending, answered))
        return await answered

    async def predict(request: Request) -> Response:
        started = time.perf_counter()
        if refusal := refused(request):
            return refusal
        model = service.model
        assert model is not None
        try:
            raw = await _json_raw(request, max_body_bytes, body_seconds)
            read = predict_payload(raw, model.columns, max_rows=max_rows, levels=model.known_levels)
        except BodyError as error:
            return _body_refusal(error)
        except PayloadError as error:
            detail = error.to_detail()
            _log_error(service, 422, detail, started)
            return JSONResponse({"detail": detail}, status_code=422)
        pending = Pending(model, read.values, read.rows, started, sent=read.sent)
        answer = await queued(pending)
        if isinstance(answer, PayloadError):
            _log_error(service, 422, answer.to_detail(), started)
            return JSONResponse({"detail": answer.to_detail()}, status_code=422)
        return prediction_response(pending, answer, service.settings)

    async def invocations(request: Request) -> Response:
        started = time.perf_counter()
        if refusal := refused(request, as_mlflow=True):
            return refusal
        model = service.model
        assert model is not None
        try:
            kind = mlflow.media_type(request.headers.get("content-type", ""))
            raw = await read_body(request, max_body_bytes, body_seconds)
            if kind == mlflow.CSV:
                read = csv_payload(raw, model.columns, max_rows=max_rows)
            else:
                levels = model.known_levels
                read = invocations_payload(raw, model.columns, max_rows=max_rows, levels=levels)
        except (mlflow.ProtocolError, BodyError) as error:
            status = 400 if getattr(error, "json_invalid", False) else error.status
            return _refusal(mlflow.error_body(status, error.message), status)
        except PayloadError as error:
            _log_error(service, 400, error.to_detail(), started)
            return JSONResponse(mlflow.error_body(400, error.to_message()), status_code=400)
        notes = list(read.notes) or None
        pending = Pending(model, read.values, read.rows, started, notes, read.sent)
        answer = await queued(pending)
        if isinstance(answer, PayloadError):
            _log_error(service, 400, answer.to_detail(), started)
            return JSONResponse(mlflow.error_body(400, answer.to_message()), status_code=400)
        return prediction_response(pending, answer, service.settings)

    async def feedback(request: Request) -> Response:
        # labels written without core.auth's roles, on purpose: the API key (issued, rotated and
        # revoked by an operator) is this client system's identity, for this deployment only
        if refusal := refused(request):
            return refusal
        assert service.model is not None
        try:
            body, _ = parse_json(await _json_raw(request, max_body_bytes, body_seconds))
            labels = checked_labels(body, service.model, max_rows)
        except BodyError as error:
            return _body_refusal(error)
        except PayloadError as error:
            return JSONResponse({"detail": error.to_detail()}, status_code=422)
        unknown = await run_in_threadpool(_record_labels, service, labels)
        if unknown:
            shown = ", ".join(unknown[:10]) + (" ..." if len(unknown) > 10 else "")
            return JSONResponse({"detail": UNKNOWN_REQUESTS.format(ids=shown)}, status_code=404)
        return JSONResponse({"recorded": len(labels)})

    # Plain Starlette routes: FastAPI's request handling (dependencies, response models) costs
    # more than scoring one row; their OpenAPI entries are written by openapi.document.
    app.add_route("/predict", predict, methods=["POST"])
    app.add_route("/invocations", invocations, methods=["POST"])
    app.add_route("/feedback", feedback, methods=["POST"])
    return app


def deployment_app() -> FastAPI:
    """The app of the deployment named by $MLOPS_STUDIO_DEPLOYMENT (uvicorn --factory)."""
    from core.settings import studio_home

    home = studio_home(os.environ.get(HOME_ENV))
    return create_app(home, deployment_id=int(os.environ[DEPLOYMENT_ENV]))


# -- lifecycle ---------------------------------------------------------------------------------


async def _start(
    service: Service, app: FastAPI, ref: str | int | None, *, engine: str, watch_seconds: float
) -> None:
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)  # one thread per worker process; the service scales by processes
    watched: tuple[int, str | None, str, int | None] | None = None
    if service.deployment_id is not None:
        watched = await run_in_threadpool(_watch, service)
        ref = watched[0]
    assert ref is not None
    service.model = await run_in_threadpool(load_served_model, service.home, ref, engine=engine)
    await _load_ranges(service, service.model)
    document(app, service.model)
    service.log = PredictionLog(service.home)
    service.shadow = ShadowScorer(service.home, service.deployment_id)
    if watched is not None and watched[3] is not None:
        await _load_shadow(service, watched[3], engine)
    service.queue = asyncio.Queue()
    service.tasks.append(asyncio.create_task(batch_forever(service)))
    if service.deployment_id is not None:
        service.tasks.append(asyncio.create_task(_follow_store(service, engine, watch_seconds)))
    service.gc_threshold = gc.get_threshold()
    gc.set_threshold(SERVING_GC_THRESHOLD, *service.gc_threshold[1:])
    log.info("serving %s with %s", service.model.label, service.model.engine)


async def _stop(service: Service) -> None:
    if service.gc_threshold:
        gc.set_threshold(*service.gc_threshold)
    for task in service.tasks:
        task.cancel()
    await asyncio.gather(*service.tasks, return_exceptions=True)
    service.executor.shutdown(wait=True)
    if service.shadow is not None:
        await run_in_threadpool(service.shadow.close)
    if service.log is not None:
        await run_in_threadpool(service.log.close)


def _watch(service: Service) -> tuple[int, str | None, str, int | None]:
    assert service.deployment_id is not None
    with connection.connect(service.home) as db:
        watched = deployments.watch(db, service.deployment_id)
        settings = deployments.serving_settings(db, service.deployment_id)
    if watched is None or settings is None:
        raise RuntimeError(NO_DEPLOYMENT.format(id=service.deployment_id, home=service.home))
    service.key_hash = watched[1]
    service.follow(settings)
    return watched


async def _follow_store(service: Service, engine: str, every: float) -> None:
    """Hot swap and key changes: re-read the deployment row; load a new version beside the old
    one and switch when it is ready, so no request fails and each is served by one version."""
    while True:
        await asyncio.sleep(every)
        try:
            version_id, _, _, shadow_id = await run_in_threadpool(_watch, service)
            if service.model is not None and version_id != service.model.version_id:
                new = await run_in_threadpool(
                    load_served_model, service.home, version_id, engine=engine
                )
                await _load_ranges(service, new)
                service.model = new
                log.info("now serving %s with %s", new.label, new.engine)
            await _follow_shadow(service, shadow_id, engine)
        except Exception:  # keep serving the current version; say why in the service log
            log.exception("could not follow the deployment's changes")


async def _follow_shadow(service: Service, shadow_id: int | None, engine: str) -> None:
    assert service.shadow is not None
    current = service.shadow.model
    if shadow_id is None and current is not None:
        service.shadow.model = None
        log.info("shadow %s stopped", current.label)
    elif shadow_id is not None and (current is None or current.version_id != shadow_id):
        await _load_shadow(service, shadow_id, engine)


async def _load_shadow(service: Service, version_id: int, engine: str) -> None:
    assert service.shadow is not None
    try:
        model = await run_in_threadpool(load_served_model, service.home, version_id, engine=engine)
    except Exception:  # a shadow that cannot load must not stop the service
        log.exception("could not load shadow version %s; serving goes on without it", version_id)
        return
    service.shadow.model = model
    log.info("shadow %s scores the traffic beside the served version", model.label)


def _log_error(service: Service, status: int, detail: Any, started: float) -> None:
    if service.log is not None:
        service.log.append([service.error_row(os.urandom(16).hex(), status, detail, started)])


# -- requests ----------------------------------------------------------------------------------


def _presented_key(request: Request) -> str:
    header = request.headers.get("authorization", "")
    key = header[7:].strip() if header.lower().startswith("bearer ") else ""
    return key or request.headers.get("x-api-key", "")


def _rate_limited(service: Service, key: str, *, as_mlflow: bool) -> JSONResponse | None:
    """429 with Retry-After when ``key`` has used its bucket; None when it may go on."""
    limiter = service.limiter
    if limiter is None:
        return None
    wait = limiter.wait(key)
    if wait <= 0:
        return None
    message = too_many(service.settings, wait)
    # MLflow answers 429 with REQUEST_LIMIT_EXCEEDED
    body = {"error_code": "REQUEST_LIMIT_EXCEEDED", "message": message} if as_mlflow else None
    return JSONResponse(
        body or {"detail": message}, status_code=429, headers={"Retry-After": retry_after(wait)}
    )


async def _load_ranges(service: Service, model: ServedModel) -> None:
    """The version's training ranges, read once per version; without them only unseen
    categories are flagged (a version whose data cannot be read still serves)."""
    if model.version_id in service.ranges:
        return
    try:
        found = await run_in_threadpool(
            training_ranges, service.home, model.version_id, model.columns
        )
    except Exception:  # the answers matter more than the flag
        log.exception("could not read the training ranges of %s", model.label)
        found = TrainingRanges({})
    service.ranges[model.version_id] = found


async def _json_raw(request: Request, most: int, seconds: float) -> bytes:
    """The raw body of a request that says it is JSON (BodyError 415 otherwise)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/json":
        raise BodyError(415, NOT_JSON)
    return await read_body(request, most, seconds)


def _body_refusal(error: BodyError) -> Response:
    if error.json_invalid:
        detail = [{"loc": ["body"], "msg": error.message, "type": "json_invalid"}]
        return JSONResponse({"detail": detail}, status_code=422)
    return _refusal({"detail": error.message}, error.status)


def _refusal(body: dict[str, Any], status: int) -> Response:
    # a body cut off part-way (408, 413) leaves the connection unusable: close it
    headers = {"Connection": "close"} if status in (408, 413) else None
    return JSONResponse(body, status_code=status, headers=headers)


def _record_labels(service: Service, labels: list[tuple[str, int | None, str]]) -> list[str]:
    with connection.connect(service.home) as db:
        return deployments.record_labels(db, service.deployment_id, labels, time.time())
