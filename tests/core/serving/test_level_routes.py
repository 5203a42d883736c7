"""The NumPy engine runs a text or yes/no column's chain (levels, fill, rare levels, encoder)
once per distinct row and spreads the outputs back (core/train/fast_levels.by_distinct_rows):
the answers are the per-row run's and the pandas pipeline's to the last bit, whatever the
columns hold; columns it cannot read safely that way (numbers, NaN, 1 beside True) run per row.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from core.data.schema import ColumnSchema
from core.prep.features.pipeline import build_feature_pipeline
from core.train.fast_levels import by_distinct_rows, column_levels, distinct_rows
from core.train.fast_path import _compile, _of_levels, compile_pipeline

SCHEMA = [
    ColumnSchema("city", "string", "categorical"),
    ColumnSchema("grade", "string", "categorical"),
    ColumnSchema("channel", "string", "categorical"),
    ColumnSchema("member", "bool", "boolean"),
    ColumnSchema("rate", "double", "numeric"),
    ColumnSchema("y", "double", "target"),
]
SPEC = {
    "columns": {
        "city": {"encode": "onehot", "min_frequency": 0.05, "max_categories": 4},
        "grade": {"encode": "ordinal", "order": ["low", "mid", "high"], "impute": "constant"},
        "channel": {"encode": "target"},
        "member": {"encode": "onehot"},
        "rate": {"impute": "median"},
    },
}
CITIES = ["north", "south", "east", "west", "harbour", "hills"]
ROWS = 400  # well above the rows from which the distinct rows are looked for


def requests(rows: int, seed: int) -> pd.DataFrame:
    """Rows typed as a request's checked values: text and yes/no as objects, None for a gap,
    a few levels training never saw."""
    rng = np.random.default_rng(seed)
    out = pd.DataFrame(
        {
            "city": rng.choice([*CITIES, "atlantis"], rows).astype(object),
            "grade": rng.choice(["low", "mid", "high", "unheard-of"], rows).astype(object),
            "channel": rng.choice(["web", "shop", "phone"], rows).astype(object),
            "member": rng.choice([True, False], rows).astype(object),
            "rate": rng.normal(5, 2, rows),
        }
    )
    for name in ("city", "grade", "channel", "member"):
        out.loc[rng.random(rows) < 0.1, name] = None
    return out


@pytest.fixture(scope="module")
def pipeline() -> Pipeline:
    rows = requests(300, seed=1)
    signal = rows["rate"] + (rows["channel"] == "web") * 2
    features = build_feature_pipeline(SPEC, schema=SCHEMA, target="y")
    model = Pipeline([("features", features), ("model", LogisticRegression(max_iter=500))])
    return model.fit(rows, (signal > 6).astype(int))


# what a column may hold: text and gaps, yes/no and gaps, and what must run per row
COMPOSITIONS = {
    "text and gaps": lambda rows: rows,
    "only gaps": lambda rows: rows.assign(city=None, member=None),
    "numbers as text levels": lambda rows: rows.assign(
        grade=[3, 3.0, "low", None] * (len(rows) // 4)
    ),
    "1 beside True": lambda rows: rows.assign(member=[True, 1, False, 0.0] * (len(rows) // 4)),
    "NaN as a gap": lambda rows: rows.assign(
        channel=["web", np.nan, "shop", None] * (len(rows) // 4)
    ),
}
# whether every level column of the composition may be read once per distinct row
ONCE_PER_DISTINCT_ROW = {
    "text and gaps": True,
    "only gaps": True,
    "numbers as text levels": False,
    "1 beside True": False,
    "NaN as a gap": False,
}


def _level_routes(pipeline: Pipeline) -> list[tuple[list[str], object]]:
    columns = pipeline.named_steps["features"].named_steps["columns"]
    return [
        (list(selected), transformer)
        for _, transformer, selected in columns.transformers_
        if not isinstance(transformer, str) and _of_levels(transformer)
    ]


@pytest.mark.parametrize("composition", COMPOSITIONS)
def test_each_level_route_gives_the_per_row_runs_outputs(pipeline, composition):
    rows = COMPOSITIONS[composition](requests(ROWS, seed=7))
    routes = _level_routes(pipeline)
    assert {name for names, _ in routes for name in names} == {"city", "grade", "channel", "member"}
    took = []
    for names, transformer in routes:
        per_row = _compile(transformer, "route")
        columns = [rows[name].to_numpy(dtype=object) for name in names]
        found = by_distinct_rows(per_row)(columns)
        expected = per_row(columns)
        assert len(found) == len(expected)
        for a, b in zip(found, expected, strict=True):
            assert a.dtype == b.dtype
            np.testing.assert_array_equal(a, b)  # exactly, NaN where NaN
        took.append(distinct_rows(columns) is not None)
    assert all(took) == ONCE_PER_DISTINCT_ROW[composition]


@pytest.mark.parametrize("composition", COMPOSITIONS)
def test_the_plan_answers_as_the_pandas_pipeline(pipeline, composition):
    rows = COMPOSITIONS[composition](requests(ROWS, seed=8))
    plan = compile_pipeline(pipeline, task="binary")
    columns = [rows[name].to_numpy(dtype=object if rows[name].dtype == object else None)
               for name in plan.inputs]  # fmt: skip
    np.testing.assert_array_equal(plan.output(columns), pipeline.predict_proba(rows))


@pytest.mark.parametrize("repeats", [1, 30])  # more possible combinations than rows, fewer
def test_distinct_rows_give_each_row_a_row_of_its_combination(repeats):
    city = np.array(["a", "b", None, "a", "b", None, "a"] * repeats, dtype=object)
    member = np.array([True, True, None, True, False, None, True] * repeats, dtype=object)
    first, inverse = distinct_rows([city, member])
    assert len(set(inverse.tolist())) == 4  # (a, True), (b, True), (None, None), (b, False)
    for row, combination in enumerate(inverse):
        assert (city[first[combination]], member[first[combination]]) == (city[row], member[row])


def test_the_plan_uses_a_factorization_its_caller_gives(pipeline):
    """Reading a body factorizes its text columns once; the plan takes that factorization
    (given for the very array it scores) instead of making its own, with the same answers."""
    rows = requests(ROWS, seed=9)
    plan = compile_pipeline(pipeline, task="binary")
    columns = [rows[name].to_numpy(dtype=object if rows[name].dtype == object else None)
               for name in plan.inputs]  # fmt: skip
    text = [index for index, name in enumerate(plan.inputs) if name in ("city", "grade")]
    given = {index: column_levels(columns[index]) for index in text}
    assert all(found is not None for found in given.values())
    expected = pipeline.predict_proba(rows)
    np.testing.assert_array_equal(plan.output(columns, levels=given), expected)
    # proof it is used: a factorization saying every row holds the first level changes answers
    same = {i: replace(found, codes=np.zeros_like(found.codes)) for i, found in given.items()}
    assert not np.array_equal(plan.output(columns, levels=same), expected)
    np.testing.assert_array_equal(plan.output(columns), expected)  # and nothing stays behind


def test_a_columns_levels_say_its_types_and_distinct_values():
    column = np.array(["b", None, "a", "b", None], dtype=object)
    found = column_levels(column)
    assert found is not None and found.levels == ["b", "a"] and found.nulls
    assert found.codes.tolist() == [0, 2, 1, 0, 2] and found.count == 3
    assert found.types == {str, type(None)} and found.distinct() == set(column.tolist())
    assert found.padded(3).codes.tolist() == [0, 2, 1, 0, 2, 2, 2, 2]
    mixed = np.array([True, 1, None], dtype=object)  # equal, but read apart by the steps
    assert column_levels(mixed) is None
