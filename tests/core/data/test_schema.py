"""Tests for core.data.schema: role inference on a mixed frame, speed, and JSON round trips."""

from __future__ import annotations

import datetime as dt
import time

import numpy as np
import pyarrow as pa
import pytest

from core.data.schema import ROLES, ColumnSchema, infer_schema, schema_from_json, schema_to_json

N = 200


@pytest.fixture
def mixed_table() -> pa.Table:
    rng = np.random.default_rng(7)
    words = np.array(["red", "green", "blue", "amber", "grey", "pink", "teal", "navy"])
    review = [" ".join(rng.choice(words, 12)) for _ in range(N)]
    names = [f"{rng.choice(words)} {rng.choice(words)} {i % 150}" for i in range(N)]
    has_card = rng.integers(0, 2, N).astype(float)
    has_card[::10] = np.nan
    return pa.table(
        {
            "customer_id": np.arange(1, N + 1),
            "userId": [f"u-{i:05d}" for i in range(N)],
            "order key": [f"K{i}" for i in range(N)],
            "paid": rng.permutation(N),
            "age": rng.integers(18, 80, N),
            "income": rng.normal(50_000, 9_000, N),
            "is_active": rng.integers(0, 2, N),
            "churned": rng.integers(0, 2, N),
            "has_card": pa.array(has_card, from_pandas=True),
            "opted_in": rng.integers(0, 2, N).astype(bool),
            "signup": pa.array(
                [dt.datetime(2024, 1, 1) + dt.timedelta(hours=i) for i in range(N)],
                pa.timestamp("us"),
            ),
            "birthday": pa.array([dt.date(1990, 1, 1 + i % 28) for i in range(N)]),
            "region": rng.choice(["north", "south", "east", "west"], N),
            "zip_code": rng.integers(1000, 1100, N),
            "review": review,
            "email": [f"user{i}@example.com" for i in range(N)],
            "full_name": names,
            "answer": rng.choice(["Yes", "No"], N),
            "empty_text": pa.nulls(N, pa.string()),
            "empty": pa.nulls(N),
            "tags": [["a", "b"]] * N,
        }
    )


def test_roles_on_a_mixed_frame(mixed_table: pa.Table) -> None:
    roles = {column.name: column.role for column in infer_schema(mixed_table)}
    assert roles == {
        "customer_id": "id",
        "userId": "id",
        "order key": "id",
        "paid": "numeric",
        "age": "numeric",
        "income": "numeric",
        "is_active": "boolean",
        "churned": "numeric",
        "has_card": "boolean",
        "opted_in": "boolean",
        "signup": "datetime",
        "birthday": "datetime",
        "region": "categorical",
        "zip_code": "categorical",
        "review": "text",
        "email": "id",
        "full_name": "text",
        "answer": "boolean",
        "empty_text": "categorical",
        "empty": "categorical",
        "tags": "text",
    }


def test_dtype_is_the_arrow_type_as_text(mixed_table: pa.Table) -> None:
    dtypes = {column.name: column.dtype for column in infer_schema(mixed_table)}
    assert dtypes["customer_id"] == "int64"
    assert dtypes["income"] == "double"
    assert dtypes["region"] == "string"
    assert dtypes["signup"] == "timestamp[us]"
    assert dtypes["opted_in"] == "bool"
    assert dtypes["birthday"] == "date32[day]"
    assert all(column.role in ROLES for column in infer_schema(mixed_table))


def test_id_needs_all_distinct_values() -> None:
    table = pa.table({"customer_id": [1, 2, 2, 3], "user_id": ["a", "b", "c", None]})
    roles = [column.role for column in infer_schema(table)]
    assert roles == ["numeric", "id"]


def test_small_distinct_strings_without_an_id_name_are_categorical() -> None:
    table = pa.table({"colour": ["red", "green", "blue", "amber", "grey"]})
    assert infer_schema(table) == [ColumnSchema(name="colour", dtype="string", role="categorical")]


def test_zero_one_without_a_flag_name_and_other_numbers_stay_numeric() -> None:
    table = pa.table({"is_big": [0.0, 0.5, 1.0], "is_small": [0, 1, 2], "label": [0, 1, 1]})
    assert [column.role for column in infer_schema(table)] == ["numeric"] * 3


def test_schema_round_trips_through_json(mixed_table: pa.Table) -> None:
    schema = infer_schema(mixed_table)
    assert schema_from_json(schema_to_json(schema)) == schema


def test_fast_on_a_million_rows() -> None:
    rng = np.random.default_rng(0)
    n = 1_000_000
    columns: dict[str, object] = {f"num_{i}": rng.normal(size=n) for i in range(8)}
    columns |= {f"int_{i}": rng.integers(0, 1000, n) for i in range(6)}
    regions = pa.array(["north", "south", "east", "west"])
    columns |= {
        f"cat_{i}": pa.DictionaryArray.from_arrays(
            pa.array(rng.integers(0, 4, n, dtype=np.int32)), regions
        ).cast(pa.string())
        for i in range(5)
    }
    columns["row_id"] = np.arange(n)
    columns["when"] = pa.array(np.arange(n).astype("datetime64[s]"))
    table = pa.table(columns)
    started = time.perf_counter()
    schema = infer_schema(table)
    assert time.perf_counter() - started < 2.0
    assert len(schema) == 21
    assert {column.name: column.role for column in schema}["row_id"] == "id"


def test_fast_on_twelve_thousand_columns() -> None:
    table = pa.table(
        {f"f{i}": [1, 2, 3, 4, 5] if i % 2 else ["a", "b", "c", "d", "e"] for i in range(12_000)}
    )
    started = time.perf_counter()
    schema = infer_schema(table)
    assert time.perf_counter() - started < 5.0
    assert {column.role for column in schema} == {"numeric", "categorical"}
