"""The prediction service: a FastAPI app factory serving one model version at a time."""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from core.serving.inputs import PayloadError, check_rows, payload_rows, record_model
from core.serving.keys import key_matches
from core.serving.prediction_log import PredictionLog
from core.serving.scoring import Scores, ServedModel, load_served_model, score
from core.serving.shadow import ShadowRequest, ShadowScorer
from core.store import connection, deployments

MAX_BODY_BYTES = 16 * 1024 * 1024  # 10,000 rows of a few dozen columns, spaced JSON included
MAX_ROWS = 10_000
MAX_BATCH_ROWS = 4_096
WATCH_SECONDS = 0.5
HOME_ENV = "MLOPS_STUDIO_HOME"
DEPLOYMENT_ENV = "MLOPS_STUDIO_DEPLOYMENT"
NOT_JSON = "Send JSON (Content-Type: application/json)."
TOO_LARGE = "The body is larger than {most:,} bytes; send fewer rows per request."
BAD_JSON = "The body is not valid JSON ({error})."
NO_KEY = "Missing or wrong API key: send it as 'Authorization: Bearer KEY' or 'X-API-Key: KEY'."
REVOKED = "This deployment's API key was revoked; rotate the key to get a new one."
INTERNAL = "The service could not answer this request; its log has details."
NO_DEPLOYMENT = "Deployment {id} is not in the studio store at {home}."
FEEDBACK_SHAPE = (
    'Send {"request_id": "...", "label": ...} (optionally "row": N for one row of a batch), '
    'or {"feedback": [those, ...]}.'
)
UNKNOWN_REQUESTS = "No prediction of this deployment has request id {ids}; nothing was recorded."
NOT_A_CLASS = "Expected one of the classes {classes}."
NOT_A_NUMBER = "Expected a finite number."
DOCS_ASSETS = "/docs-assets/"
log = logging.getLogger("mlops_studio.serving")


@dataclass
class _Pending:
    """One request waiting in the micro-batch queue, with the model that checked it."""

    model: ServedModel
    values: dict[str, list[Any]]
    rows: list[Any]
    started: float
    request_id: str = field(default_factory=lambda: os.urandom(16).hex())


@dataclass
class _Answer:
    model: ServedModel
    scores: Scores
    logged: Any


@dataclass
class _Service:
    """The service's moving parts: the current model, the key, the batcher and the log."""

    home: Path
    deployment_id: int | None
    model: ServedModel | None = None
    key_hash: str | None = None
    require_key: bool = True
    queue: asyncio.Queue[tuple[_Pending, asyncio.Future[Any]]] | None = None
    log: PredictionLog | None = None
    executor: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(1, thread_name_prefix="scoring")
    )
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)
    answering: set[asyncio.Future[Any]] = field(default_factory=set)
    shadow: ShadowScorer | None = None

    def log_row(self, pending: _Pending, scores: Scores, latency_ms: float) -> tuple:
        """The request's log row (deployments.PREDICTION_COLUMNS order): its rows as JSON arrays."""
        probabilities = scores.probabilities
        return (
            self.deployment_id,
            pending.model.version_id,
            pending.request_id,
            time.time(),
            latency_ms,
            200,
            len(pending.rows),
            orjson.dumps(pending.rows).decode(),
            orjson.dumps(scores.predictions).decode(),
            None if probabilities is None else _json(probabilities),
            orjson.dumps(scores.unseen).decode() if any(scores.unseen) else None,
            None,
        )

    def error_row(self, request_id: str, status: int, detail: Any, started: float) -> tuple:
        version = self.model.version_id if self.model else None
        latency = (time.perf_counter() - started) * 1000
        error = detail if isinstance(detail, str) else orjson.dumps(detail).decode()
        row = (self.deployment_id, version, request_id, time.time(), latency, status, 0)
        return (*row, None, None, None, None, error)


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
) -> FastAPI:
    """The service for a deployment (its version and key followed live from the store), or for
    version ``ref`` with a fixed key hash (None: no key, for tests in process)."""
    service = _Service(home, deployment_id, key_hash=api_key_hash)
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
    _serve_docs_offline(app)

    @app.exception_handler(Exception)
    async def no_tracebacks(request: Request, error: Exception) -> JSONResponse:
        log.exception("request failed")
        return JSONResponse({"detail": INTERNAL}, status_code=500)

    def refused(request: Request) -> JSONResponse | None:
        """401 unless the request carries the deployment's key (checked in each endpoint:
        an HTTP middleware would cost a task per request)."""
        if not service.require_key:
            return None
        if service.key_hash is None:
            return JSONResponse({"detail": REVOKED}, status_code=401)
        if not _authorised(request, service.key_hash):
            return JSONResponse({"detail": NO_KEY}, status_code=401)
        return None

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

    @app.get("/metadata")
    def metadata(request: Request) -> Any:
        assert service.model is not None
        return refused(request) or {
            **service.model.metadata,
            "deployment_id": service.deployment_id,
        }

    async def allowed_body(request: Request) -> tuple[Any, bool] | Response:
        """(the parsed JSON body, whether the parser was strict), or the refusal to send."""
        return refused(request) or await _json_body(request, max_body_bytes)

    async def scored(request: Request) -> Response:
        started = time.perf_counter()
        body = await allowed_body(request)
        if isinstance(body, Response):
            return body
        body, strict = body
        model = service.model
        assert model is not None and service.queue is not None
        try:
            key, rows = payload_rows(body, model.columns)
            values = check_rows(rows, model.columns, key=key, max_rows=max_rows, finite=strict)
        except PayloadError as error:
            detail = error.to_detail()
            _log_error(service, 422, detail, started)
            return JSONResponse({"detail": detail}, status_code=422)
        pending = _Pending(model, values, rows, started)
        answered: asyncio.Future[_Answer] = asyncio.get_running_loop().create_future()
        await service.queue.put((pending, answered))
        return _prediction_response(pending, await answered)

    async def feedback(request: Request) -> Response:
        body = await allowed_body(request)
        if isinstance(body, Response):
            return body
        assert service.model is not None
        try:
            labels = _labels(body[0], service.model, max_rows)
        except PayloadError as error:
            return JSONResponse({"detail": error.to_detail()}, status_code=422)
        unknown = await run_in_threadpool(_record_labels, service, labels)
        if unknown:
            shown = ", ".join(unknown[:10]) + (" ..." if len(unknown) > 10 else "")
            return JSONResponse({"detail": UNKNOWN_REQUESTS.format(ids=shown)}, status_code=404)
        return JSONResponse({"recorded": len(labels)})

    # Plain Starlette routes: FastAPI's request handling (dependencies, response models) costs
    # more than scoring one row; their OpenAPI entries are written by _document.
    app.add_route("/predict", scored, methods=["POST"])
    app.add_route("/invocations", scored, methods=["POST"])
    app.add_route("/feedback", feedback, methods=["POST"])
    return app


def deployment_app() -> FastAPI:
    """The app of the deployment named by $MLOPS_STUDIO_DEPLOYMENT (uvicorn --factory)."""
    from core.settings import studio_home

    home = studio_home(os.environ.get(HOME_ENV))
    return create_app(home, deployment_id=int(os.environ[DEPLOYMENT_ENV]))


# -- lifecycle ---------------------------------------------------------------------------------


async def _start(
    service: _Service, app: FastAPI, ref: str | int | None, *, engine: str, watch_seconds: float
) -> None:
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)  # one thread per worker process; the service scales by processes
    watched: tuple[int, str | None, str, int | None] | None = None
    if service.deployment_id is not None:
        watched = await run_in_threadpool(_watch, service)
        ref = watched[0]
    assert ref is not None
    service.model = await run_in_threadpool(load_served_model, service.home, ref, engine=engine)
    _document(app, service.model)
    service.log = PredictionLog(service.home)
    service.shadow = ShadowScorer(service.home, service.deployment_id)
    if watched is not None and watched[3] is not None:
        await _load_shadow(service, watched[3], engine)
    service.queue = asyncio.Queue()
    service.tasks.append(asyncio.create_task(_batch_forever(service)))
    if service.deployment_id is not None:
        service.tasks.append(asyncio.create_task(_follow_store(service, engine, watch_seconds)))
    log.info("serving %s with %s", service.model.label, service.model.engine)


async def _stop(service: _Service) -> None:
    for task in service.tasks:
        task.cancel()
    await asyncio.gather(*service.tasks, return_exceptions=True)
    service.executor.shutdown(wait=True)
    if service.shadow is not None:
        await run_in_threadpool(service.shadow.close)
    if service.log is not None:
        await run_in_threadpool(service.log.close)


def _watch(service: _Service) -> tuple[int, str | None, str, int | None]:
    assert service.deployment_id is not None
    with connection.connect(service.home) as db:
        watched = deployments.watch(db, service.deployment_id)
    if watched is None:
        raise RuntimeError(NO_DEPLOYMENT.format(id=service.deployment_id, home=service.home))
    service.key_hash = watched[1]
    return watched


async def _follow_store(service: _Service, engine: str, every: float) -> None:
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
                service.model = new
                log.info("now serving %s with %s", new.label, new.engine)
            await _follow_shadow(service, shadow_id, engine)
        except Exception:  # keep serving the current version; say why in the service log
            log.exception("could not follow the deployment's changes")


async def _follow_shadow(service: _Service, shadow_id: int | None, engine: str) -> None:
    assert service.shadow is not None
    current = service.shadow.model
    if shadow_id is None and current is not None:
        service.shadow.model = None
        log.info("shadow %s stopped", current.label)
    elif shadow_id is not None and (current is None or current.version_id != shadow_id):
        await _load_shadow(service, shadow_id, engine)


async def _load_shadow(service: _Service, version_id: int, engine: str) -> None:
    assert service.shadow is not None
    try:
        model = await run_in_threadpool(load_served_model, service.home, version_id, engine=engine)
    except Exception:  # a shadow that cannot load must not stop the service
        log.exception("could not load shadow version %s; serving goes on without it", version_id)
        return
    service.shadow.model = model
    log.info("shadow %s scores the traffic beside the served version", model.label)


async def _batch_forever(service: _Service) -> None:
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
            continue
        # the next batch is scored while this one's log rows are written
        task = asyncio.ensure_future(_answer_when_logged(batch, answers))
        service.answering.add(task)
        task.add_done_callback(service.answering.discard)


async def _answer_when_logged(batch: list[tuple[_Pending, Any]], answers: list[_Answer]) -> None:
    """Answer a batch's requests once its log rows are committed: one wait per batch."""
    try:
        await asyncio.wrap_future(answers[0].logged)
    except Exception as error:
        _fail(batch, error)
        return
    for (_, answered), answer in zip(batch, answers, strict=True):
        if not answered.done():
            answered.set_result(answer)


def _fail(batch: list[tuple[_Pending, Any]], error: Exception) -> None:
    for _, answered in batch:
        if not answered.done():
            answered.set_exception(error)


def _score_batch(service: _Service, batch: list[tuple[_Pending, Any]]) -> list[_Answer]:
    assert service.log is not None
    answers: list[_Answer] = []
    log_rows: list[tuple] = []
    for group in _same_model_runs([pending for pending, _ in batch]):
        model = group[0].model
        values = {
            name: [v for pending in group for v in pending.values[name]] for name in group[0].values
        }
        scores = score(model, values)
        start = 0
        for pending in group:
            end = start + len(pending.rows)
            part = _slice(scores, start, end)
            latency = (time.perf_counter() - pending.started) * 1000
            log_rows.append(service.log_row(pending, part, latency))
            answers.append(_Answer(model, part, None))
            start = end
    logged = service.log.append(log_rows)
    for answer in answers:
        answer.logged = logged
    if service.shadow is not None and service.shadow.model is not None:
        service.shadow.submit(
            [ShadowRequest(p.request_id, p.values, len(p.rows)) for p, _ in batch]
        )
    return answers


def _same_model_runs(pending: list[_Pending]) -> list[list[_Pending]]:
    runs: list[list[_Pending]] = []
    for item in pending:
        if runs and runs[-1][0].model is item.model:
            runs[-1].append(item)
        else:
            runs.append([item])
    return runs


def _slice(scores: Scores, start: int, end: int) -> Scores:
    probabilities = None if scores.probabilities is None else scores.probabilities[start:end]
    return Scores(scores.predictions[start:end], probabilities, scores.unseen[start:end])


def _log_error(service: _Service, status: int, detail: Any, started: float) -> None:
    if service.log is not None:
        service.log.append([service.error_row(os.urandom(16).hex(), status, detail, started)])


def _prediction_response(pending: _Pending, answer: _Answer) -> Response:
    scores = answer.scores
    body: dict[str, Any] = {
        "predictions": scores.predictions,
        "model_version": answer.model.label,
        "request_id": pending.request_id,
    }
    if scores.probabilities is not None:
        body["classes"] = answer.model.classes
        body["probabilities"] = scores.probabilities
    unseen = sum(len(columns) for columns in scores.unseen)
    if unseen:
        body["unseen_categories"] = unseen
    return Response(
        orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY), media_type="application/json"
    )


# -- requests ----------------------------------------------------------------------------------


def _authorised(request: Request, expected_hash: str) -> bool:
    header = request.headers.get("authorization", "")
    key = header[7:].strip() if header.lower().startswith("bearer ") else ""
    key = key or request.headers.get("x-api-key", "")
    return key_matches(key, expected_hash)


async def _json_body(request: Request, most: int) -> Any:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/json":
        return JSONResponse({"detail": NOT_JSON}, status_code=415)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > most:
        return JSONResponse({"detail": TOO_LARGE.format(most=most)}, status_code=413)
    raw = await request.body()
    if len(raw) > most:
        return JSONResponse({"detail": TOO_LARGE.format(most=most)}, status_code=413)
    try:  # strict JSON: no NaN or Infinity gets past orjson
        return orjson.loads(raw), True
    except orjson.JSONDecodeError:
        pass
    try:  # NaN, Infinity and 1e999 parse here, so the 422 can name the field that holds them
        return json.loads(raw), False
    except (ValueError, UnicodeDecodeError) as error:
        detail = [{"loc": ["body"], "msg": BAD_JSON.format(error=error), "type": "json_invalid"}]
        return JSONResponse({"detail": detail}, status_code=422)


def _labels(body: Any, model: ServedModel, most: int) -> list[tuple[str, int | None, str]]:
    if isinstance(body, dict) and "feedback" in body:
        items = body["feedback"]
        if not isinstance(items, list) or not items:
            raise PayloadError(FEEDBACK_SHAPE, ("feedback",))
        if len(items) > most:
            raise PayloadError(f"Send at most {most:,} labels per request.", ("feedback",))
        return [_label(item, model, ("feedback", index)) for index, item in enumerate(items)]
    return [_label(body, model, ())]


def _label(item: Any, model: ServedModel, path: tuple[str | int, ...]) -> tuple:
    if not isinstance(item, dict) or set(item) - {"request_id", "row", "label"}:
        raise PayloadError(FEEDBACK_SHAPE, path)
    request_id, row = item.get("request_id"), item.get("row")
    if not isinstance(request_id, str) or not request_id:
        raise PayloadError(FEEDBACK_SHAPE, (*path, "request_id"))
    if row is not None and (type(row) is not int or row < 0):
        raise PayloadError("row must be a whole number from 0.", (*path, "row"))
    if "label" not in item:
        raise PayloadError(FEEDBACK_SHAPE, (*path, "label"))
    label = _checked_label(item["label"], model, (*path, "label"))
    return request_id, row, orjson.dumps(label).decode()


def _checked_label(label: Any, model: ServedModel, path: tuple[str | int, ...]) -> Any:
    if model.task == "regression":
        number = type(label) in (int, float) and math.isfinite(label)
        if not number:
            raise PayloadError(NOT_A_NUMBER, path)
        return label
    for known in model.classes:
        if label == known or (not isinstance(label, bool) and str(label) == str(known)):
            return known
    raise PayloadError(NOT_A_CLASS.format(classes=model.classes), path)


def _record_labels(service: _Service, labels: list[tuple[str, int | None, str]]) -> list[str]:
    with connection.connect(service.home) as db:
        return deployments.record_labels(db, service.deployment_id, labels, time.time())


# -- OpenAPI -----------------------------------------------------------------------------------


def _serve_docs_offline(app: FastAPI) -> None:
    """/docs with Swagger UI's files served from the package, not a CDN: nothing the studio
    shows reaches the internet."""
    from fastapi.openapi.docs import get_swagger_ui_html
    from fastapi.staticfiles import StaticFiles
    from swagger_ui_bundle import swagger_ui_path

    app.mount(DOCS_ASSETS.rstrip("/"), StaticFiles(directory=swagger_ui_path), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def docs() -> Response:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title=f"{app.title} - API",
            swagger_js_url=f"{DOCS_ASSETS}swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_ASSETS}swagger-ui.css",
            swagger_favicon_url=f"{DOCS_ASSETS}favicon-32x32.png",
        )


def _request_body() -> dict[str, Any]:
    schema = {"$ref": "#/components/schemas/PredictionRequest"}
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _feedback_body() -> dict[str, Any]:
    schema = {"$ref": "#/components/schemas/Feedback"}
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _document(app: FastAPI, model: ServedModel) -> None:
    """Put the request schemas, generated from the training columns, into /openapi.json."""
    app.openapi_schema = None
    schema = app.openapi()
    schemas = schema.setdefault("components", {}).setdefault("schemas", {})
    schemas["Record"] = record_model(model.columns).model_json_schema()
    schemas["PredictionRequest"] = {
        "type": "object",
        "properties": {
            "records": {
                "type": "array",
                "items": {"$ref": "#/components/schemas/Record"},
                "minItems": 1,
            }
        },
        "required": ["records"],
        "additionalProperties": False,
    }
    label: dict[str, Any] = (
        {"type": "number"} if model.task == "regression" else {"enum": model.classes}
    )
    one = {
        "type": "object",
        "properties": {
            "request_id": {"type": "string", "minLength": 1},
            "row": {"type": "integer", "minimum": 0},
            "label": label,
        },
        "required": ["request_id", "label"],
        "additionalProperties": False,
    }
    schemas["Feedback"] = one
    paths = schema.setdefault("paths", {})
    for path, summary, body in (
        ("/predict", "Predict", _request_body()),
        ("/invocations", "Predict (MLflow scoring-server payloads)", _request_body()),
        ("/feedback", "Send true labels for earlier predictions", _feedback_body()),
    ):
        paths[path] = {"post": {"summary": summary, "requestBody": body, "responses": _RESPONSES}}
    app.openapi_schema = schema


_RESPONSES = {
    "200": {
        "description": "Answered",
        "content": {"application/json": {"schema": {"type": "object"}}},
    },
    "401": {"description": "Missing, wrong or revoked API key"},
    "404": {"description": "Unknown request id (feedback)"},
    "413": {"description": "Body too large"},
    "415": {"description": "Not JSON"},
    "422": {"description": "Input that does not fit the model, with the field path"},
}
