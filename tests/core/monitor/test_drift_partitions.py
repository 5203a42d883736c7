"""Drift read in partitions and merged equals drift of whole frames; summaries state their error."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from scipy import stats

from core.data.schema import infer_schema
from core.monitor.drift import DriftError, compute_drift
from core.monitor.drift.arrow import merge_numbers, numeric_summary, summarize
from core.monitor.drift.partitions import (
    drift_of_parquet,
    drift_of_partitions,
    profile_partitions,
    table_partitions,
)
from core.monitor.drift.values import ColumnPair

ROWS = 6_000


def _frames(rows: int = ROWS, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Numbers (continuous, whole, few values, gaps, infinities), text, flags and a code."""
    rng = np.random.default_rng(seed)

    def frame(shift: float, new_category: bool) -> pd.DataFrame:
        income = rng.lognormal(10, 0.5, rows) * (1 + shift)
        income[rng.random(rows) < 0.05] = np.nan
        income[:3] = np.inf
        purpose = rng.choice(["car", "home", "study"], rows).astype(object)
        if new_category:
            purpose[rng.random(rows) < 0.1] = "boat"
        purpose[rng.random(rows) < 0.02] = None
        return pd.DataFrame(
            {
                "income": income,
                "age": rng.integers(18, 80, rows) + int(shift * 10),
                "big_count": rng.integers(0, 10**12, rows),
                "term": rng.choice([12, 24, 36], rows),
                "purpose": purpose,
                "has_car": rng.random(rows) < 0.3 + shift,
                "zip_code": rng.integers(1000, 1010, rows),
                "score": rng.normal(600 + 40 * shift, 50, rows).round(),
            }
        )

    return frame(0.0, False), frame(0.5, True)


def _table_drift(reference: pd.DataFrame, current: pd.DataFrame, rows: int, **options):
    reference_table = pa.Table.from_pandas(reference, preserve_index=False)
    current_table = pa.Table.from_pandas(current, preserve_index=False)
    roles = {column.name: column.role for column in infer_schema(reference_table)}
    profile = profile_partitions(
        table_partitions(reference_table, rows=rows), reference_table.schema, roles=roles
    )
    return drift_of_partitions(
        profile, table_partitions(current_table, rows=rows), current_table.schema, **options
    ), roles


def _assert_same(ours, theirs) -> None:
    assert [c.column for c in ours.columns] == [c.column for c in theirs.columns]
    assert ours.rows_reference == theirs.rows_reference
    assert ours.rows_current == theirs.rows_current
    assert ours.drift_share == theirs.drift_share and ours.notes == theirs.notes
    for mine, whole in zip(ours.columns, theirs.columns, strict=True):
        assert (mine.method, mine.drifted, mine.note) == (whole.method, whole.drifted, whole.note)
        assert mine.reference_missing == whole.reference_missing
        assert mine.current_missing == whole.current_missing
        assert mine.new_category_rate == whole.new_category_rate
        for found, exact in ((mine.statistic, whole.statistic), (mine.p_value, whole.p_value)):
            assert (found is None) == (exact is None)
            if found is not None and exact is not None:
                assert math.isclose(abs(found), abs(exact), rel_tol=1e-9, abs_tol=1e-12), mine


@pytest.mark.parametrize("rows", [ROWS, 997, 250])
def test_partitions_merged_give_the_whole_frames_drift(rows: int) -> None:
    reference, current = _frames()
    ours, roles = _table_drift(reference, current, rows)
    _assert_same(ours, compute_drift(reference, current, roles=roles))
    assert {c.method for c in ours.columns} >= {"wasserstein", "jensenshannon"}


@pytest.mark.parametrize("method", ["ks", "psi", "wasserstein", "jensenshannon"])
def test_every_numeric_method_is_exact_across_partitions(method: str) -> None:
    reference, current = _frames(rows=3000, seed=2)
    ours, roles = _table_drift(reference, current, 700, method=method)
    _assert_same(ours, compute_drift(reference, current, roles=roles, method=method))


def test_small_samples_use_the_same_tests_in_partitions() -> None:
    reference, current = _frames(rows=800, seed=3)
    ours, roles = _table_drift(reference, current, 300)
    whole = compute_drift(reference, current, roles=roles)
    _assert_same(ours, whole)
    assert {"ks", "chisquare", "z"} <= {c.method for c in whole.columns}


def test_a_parquet_file_read_by_row_groups_matches_the_frames(tmp_path: Path) -> None:
    reference, current = _frames()
    paths = tmp_path / "reference.parquet", tmp_path / "current.parquet"
    for frame, path in zip((reference, current), paths, strict=True):
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path, row_group_size=900)
    ours = drift_of_parquet(*paths, rows=500)
    table = pq.read_table(paths[0])
    roles = {column.name: column.role for column in infer_schema(table)}
    _assert_same(ours, compute_drift(reference, current, roles=roles))
    assert "zip_code" in roles and roles["zip_code"] == "categorical"
    assert ours.column("zip_code").kind == "categorical"  # guessed from its name, as imports do


def test_roles_guessed_from_summaries_skip_identifiers_and_free_text(tmp_path: Path) -> None:
    reference, current = _frames(rows=2000)
    for frame in (reference, current):
        frame["customer_id"] = np.arange(len(frame))
        frame["comment"] = [f"said thing number {i} about it" for i in range(len(frame))]
    paths = tmp_path / "reference.parquet", tmp_path / "current.parquet"
    for frame, path in zip((reference, current), paths, strict=True):
        frame.to_parquet(path, row_group_size=600)
    ours = drift_of_parquet(*paths, rows=450)
    roles = {c.name: c.role for c in infer_schema(pq.read_table(paths[0]))}
    assert roles["customer_id"] == "id" and roles["comment"] == "text"
    assert "customer_id" not in {c.column for c in ours.columns}
    assert any("'comment' is a free-text column" in note for note in ours.notes)
    _assert_same(ours, compute_drift(reference, current, roles=roles))


def test_the_partition_map_is_a_parameter() -> None:
    reference, current = _frames(rows=2000)
    table = pa.Table.from_pandas(reference, preserve_index=False)
    seen: list[int] = []

    def recording_map(function, partitions):
        for partition in partitions:
            seen.append(partition.num_rows)
            yield function(partition)

    profile = profile_partitions(
        table_partitions(table, rows=600), table.schema, mapper=recording_map
    )
    assert seen == [600, 600, 600, 200] and profile.rows == 2000


def test_a_summary_of_more_numbers_than_it_keeps_states_its_error() -> None:
    rng = np.random.default_rng(5)
    reference = pd.DataFrame({"x": rng.normal(0, 1, 40_000)})
    current = pd.DataFrame({"x": rng.normal(0.05, 1, 40_000)})
    exact, _ = _table_drift(reference, current, 5000)
    for method in ("wasserstein", "ks"):
        whole = compute_drift(reference, current, method=method).column("x")
        reference_table = pa.Table.from_pandas(reference, preserve_index=False)
        current_table = pa.Table.from_pandas(current, preserve_index=False)
        profile = profile_partitions(
            table_partitions(reference_table, rows=5000), reference_table.schema, max_points=2000
        )
        found = drift_of_partitions(
            profile,
            table_partitions(current_table, rows=5000),
            current_table.schema,
            method=method,
            max_points=2000,
        ).column("x")
        assert found.note is not None and "within" in found.note
        error = float(found.note.rsplit("within ", 1)[1].split(" ")[0])
        assert 0 < error < 0.02
        assert found.statistic is not None and whole.statistic is not None
        assert abs(found.statistic - whole.statistic) <= error
        assert found.drifted == whole.drifted
    assert exact.column("x").note is None  # under the cap nothing is summarised


def test_merged_numbers_keep_the_exact_mean_and_spread() -> None:
    values = np.random.default_rng(6).normal(3, 2, 10_001)
    parts = [numeric_summary(pa.array(part)) for part in np.array_split(values, 7)]
    merged = parts[0]
    for part in parts[1:]:
        merged = merge_numbers(merged, part, max_points=1500)
    assert merged.total == values.size and len(merged.values) <= 1500
    assert math.isclose(merged.mean, values.mean(), rel_tol=1e-12)
    assert math.isclose(merged.std, values.std(), rel_tol=1e-12)


def test_wasserstein_and_ks_of_arrow_summaries_equal_scipy() -> None:
    """The Arrow summaries and the merge-based grid replace scipy's own sorting."""
    rng = np.random.default_rng(7)
    reference, current = rng.normal(0, 1, 30_000), rng.normal(0.1, 1.2, 25_000)
    reference[:10] = np.nan
    pair = ColumnPair(
        summarize(pa.array(reference, from_pandas=True), "numeric"),
        summarize(pa.chunked_array([current[:9000], current[9000:]]), "numeric"),
    )
    from core.monitor.drift import kolmogorov_smirnov, wasserstein

    clean = reference[~np.isnan(reference)]
    distance, _ = wasserstein(pair)
    expected = stats.wasserstein_distance(clean, current) / np.std(clean)
    assert math.isclose(distance, expected, rel_tol=1e-10)
    statistic, p_value = kolmogorov_smirnov(pair)
    theirs = stats.ks_2samp(clean, current, method="asymp")
    assert math.isclose(statistic, theirs.statistic, rel_tol=1e-12)
    assert p_value is not None and math.isclose(p_value, theirs.pvalue, rel_tol=1e-6)


def test_empty_partitions_say_what_is_wrong() -> None:
    reference, _ = _frames(rows=100)
    table = pa.Table.from_pandas(reference, preserve_index=False)
    with pytest.raises(DriftError, match="reference data has no rows"):
        profile_partitions(iter(()), table.schema)
    profile = profile_partitions(table_partitions(table), table.schema)
    with pytest.raises(DriftError, match="current data has no rows"):
        drift_of_partitions(profile, iter(()), table.schema)
