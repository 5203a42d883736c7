"""Feedback to the service: true labels for earlier predictions, checked against the model."""

from __future__ import annotations

import math
from typing import Any

import orjson

from core.data.booleans import class_of
from core.serving.inputs import PayloadError
from core.serving.scoring import ServedModel

FEEDBACK_SHAPE = (
    'Send {"request_id": "...", "label": ...} (optionally "row": N for one row of a batch), '
    'or {"feedback": [those, ...]}.'
)
NOT_A_CLASS = "Expected one of the classes {classes}."
NOT_A_NUMBER = "Expected a finite number."
MAX_ROW = 2**31  # beyond any request's rows, and within what SQLite stores


def labels(body: Any, model: ServedModel, most: int) -> list[tuple[str, int | None, str]]:
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
    if type(row) is float and row.is_integer():  # JSON's 3.0 is the integer 3
        row = int(row)
    if row is not None and (type(row) is not int or not 0 <= row < MAX_ROW):
        raise PayloadError(f"row must be a whole number from 0 to {MAX_ROW - 1}.", (*path, "row"))
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
    found, known = class_of(label, model.classes) if _plain(label) else (False, None)
    if found:
        return known
    raise PayloadError(NOT_A_CLASS.format(classes=model.classes), path)


def _plain(label: Any) -> bool:
    return label is not None and type(label) in (str, int, float, bool)
