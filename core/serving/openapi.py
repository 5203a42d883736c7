"""The service's /openapi.json (request schemas generated from the training columns) and its
/docs page, served offline."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.responses import Response

from core.serving.inputs import record_model
from core.serving.scoring import ServedModel

DOCS_ASSETS = "/docs-assets/"


def serve_docs_offline(app: FastAPI) -> None:
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


def document(app: FastAPI, model: ServedModel) -> None:
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
    schemas["MlflowRequest"] = _mlflow_request()
    paths = schema.setdefault("paths", {})
    for path, summary, body, responses in (
        ("/predict", "Predict", _request_body(), _RESPONSES),
        (
            "/invocations",
            "Predict (MLflow's scoring protocol: JSON payloads or CSV, MLflow's error shape)",
            _mlflow_body(),
            _MLFLOW_RESPONSES,
        ),
        ("/feedback", "Send true labels for earlier predictions", _feedback_body(), _RESPONSES),
    ):
        paths[path] = {"post": {"summary": summary, "requestBody": body, "responses": responses}}
    app.openapi_schema = schema


def _mlflow_request() -> dict[str, Any]:
    record = {"$ref": "#/components/schemas/Record"}
    records = {"type": "array", "items": record, "minItems": 1}
    split = {
        "type": "object",
        "properties": {
            "columns": {"type": "array", "items": {"type": "string"}},
            "data": {"type": "array", "items": {"type": "array"}, "minItems": 1},
            "index": {"type": "array"},
        },
        "required": ["columns", "data"],
        "additionalProperties": False,
    }
    rows = {"oneOf": [records, {"type": "array", "items": {"type": "array"}, "minItems": 1}]}
    columns = {"type": "object", "additionalProperties": {"type": "array"}}
    forms = {
        "dataframe_split": split,
        "dataframe_records": records,
        "instances": rows,
        "inputs": {"oneOf": [rows, columns]},
    }
    return {
        "oneOf": [
            {
                "type": "object",
                "properties": {key: form, "params": {"type": "object"}},
                "required": [key],
                "additionalProperties": False,
            }
            for key, form in forms.items()
        ]
    }


def _mlflow_body() -> dict[str, Any]:
    schema = {"$ref": "#/components/schemas/MlflowRequest"}
    csv = {"schema": {"type": "string", "description": "CSV with a header line"}}
    return {"required": True, "content": {"application/json": {"schema": schema}, "text/csv": csv}}


_RESPONSES = {
    "200": {
        "description": "Answered",
        "content": {"application/json": {"schema": {"type": "object"}}},
    },
    "401": {"description": "Missing, wrong or revoked API key"},
    "404": {"description": "Unknown request id (feedback)"},
    "408": {"description": "The body arrived too slowly"},
    "413": {"description": "Body too large"},
    "415": {"description": "Not JSON"},
    "422": {"description": "Input that does not fit the model, with the field path"},
}
_MLFLOW_ERROR = {
    "application/json": {
        "schema": {
            "type": "object",
            "properties": {"error_code": {"type": "string"}, "message": {"type": "string"}},
            "required": ["error_code", "message"],
        }
    }
}
_MLFLOW_RESPONSES = {
    "200": _RESPONSES["200"],
    "400": {"description": "Input refused (MLflow's shape)", "content": _MLFLOW_ERROR},
    "401": {"description": "Missing, wrong or revoked API key", "content": _MLFLOW_ERROR},
    "408": {"description": "The body arrived too slowly", "content": _MLFLOW_ERROR},
    "413": {"description": "Body too large", "content": _MLFLOW_ERROR},
    "415": {"description": "Not JSON or CSV, or not UTF-8", "content": _MLFLOW_ERROR},
}
