"""The fast profile agrees with pandas (and ydata-profiling) and copes with odd names and widths."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from core.data.profile import (
    TOP_VALUES,
    UNKNOWN_TARGET,
    ColumnProfile,
    DatasetProfile,
    count_duplicate_rows,
    profile_columns,
    profile_table,
)
from core.data.schema import ColumnSchema, Role

ROLES: dict[str, Role] = {
    "id": "id",
    "age": "numeric",
    "income": "numeric",
    "balance": "numeric",
    "region": "categorical",
    "plan": "categorical",
    "active": "boolean",
    "signup": "datetime",
    "score": "numeric",
    "target": "target",
}


@pytest.fixture
def mixed_frame() -> pd.DataFrame:
    """Seeded mixed types with NaN, None and NaT scattered through them."""
    rng = np.random.default_rng(7)
    n = 600
    frame = pd.DataFrame(
        {
            "id": np.arange(n),
            "age": rng.integers(18, 90, n),
            "income": rng.lognormal(10, 0.6, n).round(2),
            "balance": rng.normal(0, 1000, n),
            "region": rng.choice(
                ["north", "south", "east", "west", "centre"], n, p=[0.4, 0.25, 0.2, 0.1, 0.05]
            ),
            "plan": rng.choice([f"plan-{i}" for i in range(30)], n).astype(object),
            "active": rng.random(n) < 0.3,
            "signup": pd.date_range("2023-01-01", periods=n, freq="7h"),
            "score": rng.integers(0, 5, n).astype(float),
            "target": rng.integers(0, 2, n),
        }
    )
    frame.loc[rng.choice(n, 60, replace=False), "income"] = np.nan
    frame.loc[rng.choice(n, 25, replace=False), "plan"] = None
    frame.loc[rng.choice(n, 10, replace=False), "signup"] = pd.NaT
    frame.loc[rng.choice(n, 90, replace=False), "score"] = np.nan
    frame.loc[rng.choice(n, 40, replace=False), "score"] = 0.0
    return frame


def schema_for(frame: pd.DataFrame, roles: dict[str, Role] | None = None) -> list[ColumnSchema]:
    roles = roles or {}
    return [
        ColumnSchema(name=str(name), dtype=str(dtype), role=roles.get(str(name), "numeric"))
        for name, dtype in frame.dtypes.items()
    ]


def profile_of(frame: pd.DataFrame, **kwargs: object) -> DatasetProfile:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    return profile_table(table, schema=schema_for(frame, ROLES), **kwargs)  # type: ignore[arg-type]


def by_name(profile: DatasetProfile) -> dict[str, ColumnProfile]:
    return {column.name: column for column in profile.columns}


def test_counts_match_pandas(mixed_frame: pd.DataFrame) -> None:
    columns = by_name(profile_of(mixed_frame))
    for name in mixed_frame.columns:
        series = mixed_frame[name]
        column = columns[name]
        assert column.missing == series.isna().sum(), name
        assert column.count == series.notna().sum(), name
        assert column.distinct == series.nunique(), name
        assert column.missing_pct == pytest.approx(100 * series.isna().mean()), name


@pytest.mark.parametrize("name", ["id", "age", "income", "balance", "score", "target"])
def test_numeric_stats_match_pandas(mixed_frame: pd.DataFrame, name: str) -> None:
    column = by_name(profile_of(mixed_frame))[name]
    series = mixed_frame[name]
    assert column.mean == pytest.approx(series.mean(), rel=1e-12)
    assert column.std == pytest.approx(series.std(ddof=1), rel=1e-12)
    assert column.min == series.min()
    assert column.max == series.max()
    quartiles = series.quantile([0.25, 0.5, 0.75]).tolist()
    assert [column.q1, column.median, column.q3] == pytest.approx(quartiles, rel=1e-12)
    assert column.zeros == (series == 0).sum()
    low, high = (
        quartiles[0] - 1.5 * (quartiles[2] - quartiles[0]),
        quartiles[2] + 1.5 * (quartiles[2] - quartiles[0]),
    )
    assert column.outliers == ((series < low) | (series > high)).sum()


@pytest.mark.parametrize("name", ["region", "plan", "active", "score", "target"])
def test_top_values_match_pandas(mixed_frame: pd.DataFrame, name: str) -> None:
    column = by_name(profile_of(mixed_frame))[name]
    expected = mixed_frame[name].value_counts()
    counts = [count for _, count in column.top_values]
    assert counts == expected.head(TOP_VALUES).tolist()
    for value, count in column.top_values:
        assert expected[value] == count


def test_datetime_range_is_iso_text(mixed_frame: pd.DataFrame) -> None:
    column = by_name(profile_of(mixed_frame))["signup"]
    assert column.min == mixed_frame["signup"].min().isoformat()
    assert column.max == mixed_frame["signup"].max().isoformat()
    assert column.mean is None


def test_dataset_totals(mixed_frame: pd.DataFrame) -> None:
    frame = pd.concat([mixed_frame, mixed_frame.iloc[:7]], ignore_index=True)
    profile = profile_of(frame, target="target")
    assert profile.rows == len(frame)
    assert profile.column_count == frame.shape[1]
    assert profile.missing_cells == frame.isna().sum().sum()
    assert profile.missing_pct == pytest.approx(100 * frame.isna().sum().sum() / frame.size)
    assert profile.duplicate_rows == frame.duplicated().sum() == 7
    assert profile.role_counts["numeric"] == 4
    assert profile.role_counts["target"] == 1
    assert profile.target == "target"
    assert by_name(profile)["target"].role == "target"
    assert profile.memory_bytes > 0
    assert profile.seconds > 0


def test_to_dict_is_strict_json(mixed_frame: pd.DataFrame) -> None:
    frame = mixed_frame.assign(single=np.where(np.arange(len(mixed_frame)) == 0, 1.0, np.nan))
    data = profile_of(frame, target="target").to_dict()
    text = json.dumps(data, allow_nan=False)
    single = next(column for column in json.loads(text)["columns"] if column["name"] == "single")
    assert single["std"] is None
    assert isinstance(data["columns"][0]["top_values"], list)


def test_float_nan_in_arrow_counts_as_missing() -> None:
    table = pa.table({"x": pa.array([1.0, float("nan"), None, -0.0, 0.0, 2.0])})
    schema = [ColumnSchema(name="x", dtype="double", role="numeric")]
    (column,) = profile_columns(table, schema=schema)
    assert column.missing == 2
    assert column.distinct == 3  # -0.0 and 0.0 are one value, as in pandas
    assert column.zeros == 2
    assert column.mean == pytest.approx(0.75)


def test_infinite_values_become_none_not_errors() -> None:
    inf = float("inf")
    table = pa.table({"x": [1.0, inf, -inf, 2.0], "y": [inf] * 4})
    schema = [ColumnSchema(name=n, dtype="double", role="numeric") for n in ("x", "y")]
    x, y = profile_columns(table, schema=schema)
    assert (x.mean, x.q1, x.median, x.outliers) == (None, None, 1.5, None)
    assert (y.distinct, y.mean, y.outliers) == (1, None, None)


def test_duplicates_match_pandas_without_unique_column() -> None:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(
        {
            "a": rng.integers(0, 3, 2000),
            "b": rng.choice(["x", "y", None], 2000),
            "c": np.where(rng.random(2000) < 0.2, np.nan, rng.integers(0, 4, 2000)),
        }
    )
    table = pa.Table.from_pandas(frame, preserve_index=False)
    assert count_duplicate_rows(table) == frame.duplicated().sum()


WEIRD_NAMES = [
    'a "quoted" name',
    "with space",
    "<script>alert(1)</script>",
    "",
    "ünïcode ✓",
    "A",
    "a",
    "x'); DROP TABLE t; --",
    "back\\slash",
]


def test_any_column_name_works() -> None:
    rng = np.random.default_rng(1)
    table = pa.table({name: rng.integers(0, i + 2, 50) for i, name in enumerate(WEIRD_NAMES)})
    schema = [ColumnSchema(name=name, dtype="int64", role="numeric") for name in WEIRD_NAMES]
    profile = profile_table(table, schema=schema, target="<script>alert(1)</script>")
    assert [column.name for column in profile.columns] == WEIRD_NAMES
    for column in profile.columns:
        assert column.distinct == len(set(table.column(column.name).to_pylist()))
    json.dumps(profile.to_dict(), allow_nan=False)


def test_twelve_thousand_columns() -> None:
    rng = np.random.default_rng(2)
    width = 12_000
    table = pa.table({f"feature {i}": rng.integers(0, 3, 5) for i in range(width)})
    schema = [
        ColumnSchema(name=f"feature {i}", dtype="int64", role="numeric") for i in range(width)
    ]
    profile = profile_table(table, schema=schema)
    assert profile.column_count == width
    assert len(profile.columns) == width
    assert profile.columns[-1].name == f"feature {width - 1}"
    assert profile.columns[123].distinct == len(set(table.column(123).to_pylist()))
    rows = {tuple(row.values()) for row in table.to_pylist()}
    assert profile.duplicate_rows == 5 - len(rows)


def test_empty_table() -> None:
    table = pa.table({"x": pa.array([], pa.float64()), "y": pa.array([], pa.string())})
    schema = [
        ColumnSchema(name="x", dtype="double", role="numeric"),
        ColumnSchema(name="y", dtype="string", role="categorical"),
    ]
    profile = profile_table(table, schema=schema)
    assert profile.rows == 0
    assert profile.missing_pct == 0.0
    assert profile.columns[0].mean is None
    assert profile.quality == ()


def test_unusual_types() -> None:
    table = pa.table(
        {
            "tags": pa.array([[1, 2], [1, 2], None, [3]]),
            "code": pa.array(["b", "a", "b", None]).dictionary_encode(),
            "nothing": pa.nulls(4),
            "day": pa.array([None, 19000, 19001, 19000], pa.date32()),
            "half": pa.array(np.array([1.0, np.nan, 1.0, 2.0], np.float16)),
        }
    )
    schema = [ColumnSchema(name="code", dtype="dictionary", role="categorical")]
    columns = {c.name: c for c in profile_columns(table, schema=schema)}
    assert (columns["tags"].distinct, columns["tags"].missing) == (2, 1)
    assert columns["tags"].top_values[0] == ("[1, 2]", 2)
    assert columns["code"].top_values == (("b", 2), ("a", 1))
    assert (columns["nothing"].distinct, columns["nothing"].missing) == (0, 4)
    assert (columns["day"].min, columns["day"].max) == ("2022-01-08", "2022-01-09")
    assert (columns["half"].distinct, columns["half"].missing) == (2, 1)
    assert count_duplicate_rows(table) == 0


def test_unknown_target_is_explained() -> None:
    table = pa.table({"x": [1, 2]})
    schema = [ColumnSchema(name="x", dtype="int64", role="numeric")]
    with pytest.raises(ValueError, match="not in the table") as caught:
        profile_table(table, schema=schema, target="y")
    assert str(caught.value).startswith(UNKNOWN_TARGET.split("{")[0])


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::DeprecationWarning:matplotlib.*")
def test_agrees_with_ydata_minimal(mixed_frame: pd.DataFrame) -> None:
    from ydata_profiling import ProfileReport

    frame = mixed_frame.drop(columns=["signup"])
    ours = by_name(profile_of(frame))
    report = ProfileReport(frame, minimal=True, progress_bar=False).get_description()
    for name, theirs in report.variables.items():
        assert ours[name].missing == theirs["n_missing"], name
        assert ours[name].distinct == theirs["n_distinct"], name
        mean = theirs.get("mean")
        if mean is not None and not math.isnan(mean):
            assert ours[name].mean == pytest.approx(mean, rel=1e-9), name
