"""The prediction service: a FastAPI app factory serving one verified model version."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from core.serving.inputs import (
    InputColumn,
    PayloadError,
    input_columns,
    payload_rows,
    record_model,
    rows_to_frame,
)

MAX_BODY_BYTES = 5 * 1024 * 1024
MAX_ROWS = 10_000
NOT_JSON = "Send JSON (Content-Type: application/json)."
TOO_LARGE = "The body is larger than {most:,} bytes; send fewer rows per request."
BAD_JSON = "The body is not valid JSON ({error})."
NO_KEY = "Missing or wrong API key: send it as 'Authorization: Bearer KEY' or 'X-API-Key: KEY'."
INTERNAL = "The service could not answer this request; its log has details."
log = logging.getLogger("mlops_studio.serving")


@dataclass(frozen=True)
class ServedModel:
    """What the service holds in memory: the pipeline, its inputs and what to say about it."""

    label: str
    pipeline: Any
    task: str
    columns: list[InputColumn]
    classes: list[Any]
    metadata: dict[str, Any]


def key_hash(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


def load_served_model(home: Path, ref: str) -> ServedModel:
    """Load a registered version (hash and types verified) with its input schema."""
    from core.data.datasets import get_version
    from core.train.registry import find_model_version, load_model_version
    from core.train.tracking import get_run

    version = find_model_version(home, ref)
    run = get_run(home, version.run_id)
    pipeline = load_model_version(home, version)
    names = [str(name) for name in getattr(pipeline, "feature_names_in_", [])]
    schema = get_version(home, run.dataset_version_id).schema if run.dataset_version_id else []
    columns = input_columns(schema, names)
    classes = [_plain(c) for c in getattr(pipeline, "classes_", [])]
    metadata = {
        "model": version.model_name,
        "version": version.version,
        "label": version.label,
        "aliases": list(version.aliases),
        "task": run.task,
        "target": run.target,
        "classes": classes,
        "inputs": [column.to_dict() for column in columns],
        "metrics": run.metrics.get("holdout", {}),
    }
    return ServedModel(version.label, pipeline, run.task, columns, classes, metadata)


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def create_app(
    home: Path,
    ref: str,
    *,
    api_key_hash: str | None,
    max_body_bytes: int = MAX_BODY_BYTES,
    max_rows: int = MAX_ROWS,
) -> FastAPI:
    """The service for model version ``ref``; the model is loaded once, at startup."""
    state: dict[str, ServedModel] = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state["model"] = load_served_model(home, ref)
        _document(app, state["model"])
        yield

    app = FastAPI(title="MLOps Studio prediction service", lifespan=lifespan)

    @app.exception_handler(Exception)
    async def no_tracebacks(request: Request, error: Exception) -> JSONResponse:
        log.exception("request failed")
        return JSONResponse({"detail": INTERNAL}, status_code=500)

    @app.middleware("http")
    async def guard(request: Request, call_next: Any) -> Any:
        if request.url.path in ("/health", "/openapi.json", "/docs", "/docs/oauth2-redirect"):
            return await call_next(request)
        if api_key_hash is not None and not _authorised(request, api_key_hash):
            return JSONResponse({"detail": NO_KEY}, status_code=401)
        return await call_next(request)

    @app.get("/health")
    def health() -> dict[str, Any]:
        model = state.get("model")
        return {"status": "ok" if model else "starting", "model_version": model and model.label}

    @app.get("/metadata")
    def metadata() -> dict[str, Any]:
        return state["model"].metadata

    async def scored(request: Request) -> Any:
        body = await _json_body(request, max_body_bytes)
        if isinstance(body, JSONResponse):
            return body
        model = state["model"]
        try:
            key, rows = payload_rows(body, model.columns)
            frame = rows_to_frame(rows, model.columns, key=key, max_rows=max_rows)
        except PayloadError as error:
            return JSONResponse({"detail": error.to_detail()}, status_code=422)
        return await run_in_threadpool(_predict, model, frame)

    @app.post("/predict", openapi_extra={"requestBody": _request_body()})
    async def predict(request: Request) -> Any:
        return await scored(request)

    @app.post("/invocations", openapi_extra={"requestBody": _request_body()})
    async def invocations(request: Request) -> Any:
        return await scored(request)

    return app


def _authorised(request: Request, expected_hash: str) -> bool:
    header = request.headers.get("authorization", "")
    key = header[7:].strip() if header.lower().startswith("bearer ") else ""
    key = key or request.headers.get("x-api-key", "")
    return bool(key) and hmac.compare_digest(key_hash(key), expected_hash)


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
    try:
        return json.loads(raw, parse_constant=_refuse_constant)
    except (ValueError, UnicodeDecodeError) as error:
        detail = [{"loc": ["body"], "msg": BAD_JSON.format(error=error), "type": "json_invalid"}]
        return JSONResponse({"detail": detail}, status_code=422)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed; numbers must be finite")


def _predict(model: ServedModel, frame: Any) -> dict[str, Any]:
    predicted = model.pipeline.predict(frame)
    response: dict[str, Any] = {
        "predictions": [_plain(value) for value in predicted],
        "model_version": model.label,
        "request_id": uuid.uuid4().hex,
    }
    if model.task != "regression" and hasattr(model.pipeline, "predict_proba"):
        response["classes"] = model.classes
        response["probabilities"] = np.asarray(model.pipeline.predict_proba(frame)).tolist()
    return response


def _request_body() -> dict[str, Any]:
    return {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"$ref": "#/components/schemas/PredictionRequest"},
            }
        },
    }


def _document(app: FastAPI, model: ServedModel) -> None:
    """Put the request schema, generated from the training columns, into /openapi.json."""
    record = record_model(model.columns).model_json_schema()
    schema = app.openapi()
    schema.setdefault("components", {}).setdefault("schemas", {})
    schema["components"]["schemas"]["Record"] = record
    schema["components"]["schemas"]["PredictionRequest"] = {
        "type": "object",
        "properties": {
            "records": {"type": "array", "items": {"$ref": "#/components/schemas/Record"}}
        },
        "required": ["records"],
    }
    app.openapi_schema = schema
