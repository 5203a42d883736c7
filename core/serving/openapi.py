"""The service's /openapi.json (request schemas generated from the training columns) and its
/docs page, served offline."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.responses import Response

from core.data.booleans import is_yes_no
from core.serving.feedback import MAX_ROW
from core.serving.inputs import BOOLEAN_PATTERN, record_model
from core.serving.mlflow_protocol import FORMATS, OURS
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


def _body(schema_name: str) -> dict[str, Any]:
    schema = {"$ref": f"#/components/schemas/{schema_name}"}
    return {"required": True, "content": {"application/json": {"schema": schema}}}


CSV_NOTE = (
    "Also takes `text/csv`: a header line naming the model's columns, then one row per line "
    "(not generated into the schema, which JSON Schema cannot say of CSV)."
)
KEY_SCHEME = {"ApiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"}}


def document(app: FastAPI, model: ServedModel) -> None:
    """Put the request schemas, generated from the training columns, into /openapi.json:
    every body the schema allows is one the service answers, and every other is refused."""
    app.openapi_schema = None
    schema = app.openapi()
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    components["securitySchemes"] = KEY_SCHEME
    record = record_model(model.columns).model_json_schema()
    schemas["Record"] = record
    forms = _payload_forms(
        [record["properties"][column.name] for column in model.columns],
        [column.name for column in model.columns],
    )
    schemas["PredictionRequest"] = {"oneOf": [_one_key(key, form) for key, form in forms.items()]}
    schemas["MlflowRequest"] = {
        "oneOf": [
            _one_key(key, form, params=True) for key, form in forms.items() if key != "records"
        ]
    }
    schemas["Feedback"] = _feedback(model)
    paths = schema.setdefault("paths", {})
    for path, summary, body, responses in (
        ("/predict", "Predict", _body("PredictionRequest"), _RESPONSES),
        (
            "/invocations",
            "Predict (MLflow's scoring protocol, with MLflow's error shape)",
            _body("MlflowRequest"),
            _MLFLOW_RESPONSES,
        ),
        ("/feedback", "Send true labels for earlier predictions", _body("Feedback"), _RESPONSES),
    ):
        operation = {"summary": summary, "requestBody": body, "responses": responses}
        paths[path] = {"post": {**operation, "security": [{"ApiKey": []}]}}
    paths["/invocations"]["post"]["description"] = CSV_NOTE
    paths["/metadata"]["get"]["security"] = [{"ApiKey": []}]
    paths["/metadata"]["get"]["responses"] |= _KEY_RESPONSES
    for path in ("/ping", "/version"):
        paths[path]["get"]["responses"] = _TEXT_RESPONSES
    app.openapi_schema = schema


def _one_key(key: str, form: dict[str, Any], *, params: bool = False) -> dict[str, Any]:
    """/predict's body holds its payload alone; /invocations (``params``), like MLflow's, also
    takes ``params`` and ignores other keys (noting them), but never a second payload key."""
    if not params:
        return {"type": "object", "properties": {key: form}, "required": [key]} | _CLOSED
    others = {other: False for other in (*FORMATS, OURS) if other != key}
    properties = {key: form, "params": {"type": "object"}, **others}
    return {"type": "object", "properties": properties, "required": [key]}


_CLOSED = {"additionalProperties": False}


def _payload_forms(values: list[dict[str, Any]], names: list[str]) -> dict[str, Any]:
    """Each payload key's form: rows as objects, rows as lists in training order, a
    dataframe_split, or MLflow's ``inputs`` as columns."""
    records = {"type": "array", "items": {"$ref": "#/components/schemas/Record"}, "minItems": 1}
    row = {"type": "array", "prefixItems": values, "items": False, "minItems": len(values)}
    rows = {"type": "array", "items": row, "minItems": 1}
    named = [{"const": name} for name in names]
    split = {
        "type": "object",
        "properties": {
            "columns": {
                "description": "The inputs' names; without it, each row is in training order.",
                "type": "array",
                "prefixItems": named,
                "items": False,
                "minItems": len(names),
            },
            "data": rows,
        },
        "required": ["data"],  # columns default to training order, as the service reads them
        "additionalProperties": False,
    }
    columns = {
        "type": "object",
        "description": "One list per column, all of the same length (one value per row).",
        "properties": {
            name: {"type": "array", "items": value, "minItems": 1, "maxItems": 1}
            for name, value in zip(names, values, strict=True)
        },
        "required": names,
        "additionalProperties": False,
    }
    return {
        "records": records,
        "dataframe_split": split,
        "dataframe_records": records,
        "instances": {"oneOf": [records, rows]},
        "inputs": {"oneOf": [records, rows, columns]},
    }


def _feedback(model: ServedModel) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "request_id": {"type": "string", "minLength": 1},
            "row": {"type": "integer", "minimum": 0, "maximum": MAX_ROW - 1},
            "label": _label(model),
        },
        "required": ["request_id", "label"],
        "additionalProperties": False,
    }


def _label(model: ServedModel) -> dict[str, Any]:
    """What /feedback takes as a label: a number for regression; else a class, its text, or
    for a yes/no target any word meaning the same (core.data.booleans.class_of)."""
    if model.task == "regression":
        return {"type": "number"}
    texts = [str(known) for known in model.classes if not isinstance(known, str)]
    label: dict[str, Any] = {"enum": [*model.classes, *texts]}
    if is_yes_no(model.classes):  # the same rule class_of matches labels by
        words = {"type": "string", "pattern": BOOLEAN_PATTERN}
        return {"anyOf": [label, words, {"type": "boolean"}, {"enum": [0, 1]}]}
    return label


_RETRY_AFTER = {
    "Retry-After": {
        "description": "Whole seconds until the API key may send again",
        "schema": {"type": "integer", "minimum": 1},
    }
}
_TOO_MANY = {
    "description": "Too many requests for this API key (the deployment's rate limit)",
    "headers": _RETRY_AFTER,
}
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
    "429": _TOO_MANY,
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
_KEY_RESPONSES = {"401": {"description": "Missing, wrong or revoked API key"}, "429": _TOO_MANY}
_TEXT_RESPONSES = {
    "200": {"description": "Ready", "content": {"text/plain": {"schema": {"type": "string"}}}},
    "503": {"description": "Still loading the model"},
}
_MLFLOW_RESPONSES = {
    "200": _RESPONSES["200"],
    "400": {"description": "Input refused (MLflow's shape)", "content": _MLFLOW_ERROR},
    "401": {"description": "Missing, wrong or revoked API key", "content": _MLFLOW_ERROR},
    "408": {"description": "The body arrived too slowly", "content": _MLFLOW_ERROR},
    "413": {"description": "Body too large", "content": _MLFLOW_ERROR},
    "415": {"description": "Not JSON or CSV, or not UTF-8", "content": _MLFLOW_ERROR},
    "429": {**_TOO_MANY, "content": _MLFLOW_ERROR},
}
