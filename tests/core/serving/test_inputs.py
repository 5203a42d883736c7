"""Prediction inputs: typed from the training schema; MLflow payloads; bad fields with a path."""

import json

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from core.data.schema import ColumnSchema
from core.serving.inputs import (
    BOOLEAN,
    NUMBER,
    TEXT,
    PayloadError,
    input_columns,
    record_model,
    rows_to_frame,
)
from core.serving.mlflow_protocol import json_rows

SCHEMA = [
    ColumnSchema("age", "int64", "numeric"),
    ColumnSchema("region", "string", "categorical"),
    ColumnSchema("guarantor", "bool", "boolean"),
    ColumnSchema("applied", "timestamp[ns]", "datetime"),
    ColumnSchema("default", "int64", "target"),
]
NAMES = ["age", "region", "guarantor", "applied"]
ROW = {"age": 1, "region": "a", "guarantor": None, "applied": None}


@pytest.fixture
def columns():
    return input_columns(SCHEMA, NAMES)


def test_columns_follow_training_order_and_roles(columns):
    assert [(c.name, c.kind) for c in columns] == [
        ("age", NUMBER),
        ("region", TEXT),
        ("guarantor", BOOLEAN),
        ("applied", "datetime"),
    ]


def test_records_become_a_typed_frame(columns):
    rows = [
        {"age": 30, "region": "north", "guarantor": True, "applied": "2024-01-02"},
        {"age": None, "region": 3.0, "guarantor": None, "applied": None},
    ]
    frame = rows_to_frame(rows, columns)
    assert list(frame.columns) == NAMES
    assert frame["age"].dtype == np.float64 and np.isnan(frame["age"].iloc[1])
    assert frame["region"].tolist() == ["north", "3"]
    assert pd.isna(frame["applied"].iloc[1])


@pytest.mark.parametrize(
    "body",
    [
        {"records": [ROW]},
        {"dataframe_records": [ROW]},
        {"dataframe_split": {"columns": NAMES, "data": [[1, "a", None, None]]}},
        {"instances": [ROW]},
        {"instances": [[1, "a", None, None]]},
    ],
)
def test_mlflow_payloads_and_ours_give_the_same_rows(columns, body):
    key, rows, _ = json_rows(body, columns, strict=True)
    frame = rows_to_frame(rows, columns, key=key)
    assert frame["age"].tolist() == [1.0] and frame["region"].tolist() == ["a"]


def test_yes_no_columns_take_the_words_their_source_file_used(columns):
    sent = [True, "yes", "No", " Y ", "n", "TRUE", "false", "t", "F", 1, 0, "1", "0", None]
    rows = [{**ROW, "guarantor": value} for value in sent]
    frame = rows_to_frame(rows, columns)
    expected = [True, True, False, True, False, True, False, True, False, True, False, True, False]
    assert frame["guarantor"].tolist() == [*expected, None]


def test_the_schema_of_a_yes_no_column_names_what_it_takes(columns):
    model = record_model(columns)
    for value in (True, "Yes", "no", " t ", 1, 0, None):
        model.model_validate({**ROW, "guarantor": value})
    for value in ("maybe", 2, "yess"):
        with pytest.raises(ValidationError):
            model.model_validate({**ROW, "guarantor": value})


@pytest.mark.parametrize(
    ("body", "path", "message"),
    [
        ({"records": [{"age": 1, "nope": 2}]}, ("records", 0, "nope"), "Unknown column"),
        ({"records": [{"age": "old"}]}, ("records", 0, "age"), "Expected a number, got text"),
        ({"records": [{"age": float("nan")}]}, ("records", 0, "age"), "finite"),
        ({"records": [{"guarantor": "maybe"}]}, ("records", 0, "guarantor"), "true or false"),
        ({"records": [{"guarantor": 2}]}, ("records", 0, "guarantor"), "yes/no"),
        ({"records": [{"region": {"a": 1}}]}, ("records", 0, "region"), "an object"),
        ({"records": [{"age": True}]}, ("records", 0, "age"), "true/false"),
        ({"records": []}, ("records",), "no rows"),
        ({"records": [1]}, ("records", 0), "mapping column names"),
        ({"rows": []}, (), "exactly one of"),
        ({"records": [], "instances": []}, (), "exactly one of"),
        ({"records": [ROW], "params": {}}, ("params",), "Unknown key"),
        (
            {"dataframe_split": {"columns": ["age"], "data": [[1, 2]]}},
            ("dataframe_split", "data", 0),
            "2 values",
        ),
    ],
)
def test_bad_fields_are_refused_with_their_path(columns, body, path, message):
    with pytest.raises(PayloadError) as caught:
        key, rows, _ = json_rows(body, columns, strict=True)
        rows_to_frame(rows, columns, key=key)
    assert caught.value.path == path
    assert message in caught.value.message
    detail = caught.value.to_detail()
    assert detail[0]["loc"] == ["body", *path]
    json.dumps(detail)


def test_invocations_params_that_are_not_an_object_are_refused(columns):
    # MLflow reads params as names and values; any other shape is refused, not ignored
    for params in ([1], "fast", 3):
        with pytest.raises(PayloadError) as caught:
            json_rows({"dataframe_records": [ROW], "params": params}, columns)
        assert caught.value.path == ("params",) and "must be an object" in caught.value.message
    _, _, notes = json_rows({"dataframe_records": [ROW], "params": {"p": 1}}, columns)
    assert notes == ["This model takes no params; 'params' was ignored."]


def test_batch_cap(columns):
    with pytest.raises(PayloadError, match="at most 5 rows"):
        rows_to_frame([{"age": 1}] * 6, columns, max_rows=5)


def test_the_record_model_documents_and_forbids_extras(columns):
    model = record_model(columns)
    schema = model.model_json_schema()
    assert set(schema["properties"]) == set(NAMES)
    assert schema.get("additionalProperties") is False
    model(age=1.5, region="a", guarantor=None, applied=None)
    with pytest.raises(ValidationError):
        model(age=1, extra=2)
    with pytest.raises(ValidationError):
        model(age=float("inf"))


@pytest.mark.parametrize(
    ("rows", "missing"),
    [
        ([{"age": 1, "region": "a"}], [(0, "guarantor"), (0, "applied")]),
        ([{}], [(0, name) for name in NAMES]),
        ([ROW, {"age": 2, "region": "b", "guarantor": True}], [(1, "applied")]),
    ],
)
def test_an_omitted_input_is_refused_naming_each_one(columns, rows, missing):
    with pytest.raises(PayloadError) as caught:
        rows_to_frame(rows, columns)
    assert [path for _, path in caught.value.problems] == [("records", i, n) for i, n in missing]
    assert [item["loc"] for item in caught.value.to_detail()] == [
        ["body", "records", i, n] for i, n in missing
    ]
    assert all("null for a missing value" in item["msg"] for item in caught.value.to_detail())


def test_null_stays_a_legal_missing_value(columns):
    frame = rows_to_frame([dict.fromkeys(NAMES)], columns)
    assert frame.isna().all(axis=None)
