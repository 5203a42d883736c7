"""Drift of large tables on a real two-process Dask LocalCluster: the workers summarise the
partitions (reading the Parquet row groups themselves, or sent them), never open the store, and
the report is the one this process makes."""

from __future__ import annotations

import dataclasses
import json
import math
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from app.cli import cli
from core.data.schema import infer_schema
from core.jobs.compute import DaskBackend, LocalBackend, compute_backend
from core.monitor.drift import compute_drift
from core.monitor.drift.cluster import (
    ParquetShare,
    parquet_shares,
    summarize_share,
    summarize_shares_on,
)
from core.monitor.drift.partitions import SummaryPlan, summarize_partitions
from core.monitor.drift.sources import DriftSource, drift_of_sources
from core.serving.deployments import free_port
from tests.core.jobs.test_compute_tuning import _forbid_the_store, _refused_opens
from tests.core.monitor.test_drift_partitions import _assert_same, _frames

ROWS = 6_000


def _parquet_pair(folder: Path, rows: int = ROWS) -> tuple[DriftSource, DriftSource, list]:
    """Reference and drifted current, 8 row groups each, and the frames they hold."""
    frames = _frames(rows=rows, seed=4)
    sources = []
    for name, frame in zip(("reference", "current"), frames, strict=True):
        path = folder / f"{name}.parquet"
        pq.write_table(
            pa.Table.from_pandas(frame, preserve_index=False), path, row_group_size=rows // 8
        )
        sources.append(DriftSource(name, pq.read_schema(path), path=path))
    return sources[0], sources[1], list(frames)


@pytest.mark.slow
def test_parquet_drift_on_the_cluster_is_the_drift_made_here(
    tmp_path: Path, dask_cluster, cluster_settings
) -> None:
    from distributed import Client

    reference, current, _ = _parquet_pair(tmp_path)
    here = drift_of_sources(reference, current, backend=LocalBackend(), rows=500)
    with Client(dask_cluster.scheduler_address, set_as_default=False) as client:
        client.run(_forbid_the_store)
        before = client.run(_refused_opens)
        with compute_backend(cluster_settings) as backend:
            assert isinstance(backend, DaskBackend)
            there = drift_of_sources(reference, current, backend=backend, rows=500)
            placement = backend.placement()
            tasks = backend.tasks_run
        assert client.run(_refused_opens) == before  # no worker even tried to open a database
    _assert_same(there, here)  # the same but for rounding: partials merge in another order
    assert tasks == 8  # 2 files x 2 slots x 2 shares of row groups
    assert placement.on_cluster and len(placement.workers) == 2  # both workers summarised


@pytest.mark.slow
def test_summaries_capped_on_the_workers_stay_within_the_stated_error(
    tmp_path: Path, cluster_settings
) -> None:
    reference, current, frames = _parquet_pair(tmp_path, rows=24_000)
    roles = {c.name: c.role for c in infer_schema(pq.read_table(reference.path))}
    whole = compute_drift(*frames, roles=roles, method="wasserstein")
    capped = {"method": "wasserstein", "rows": 1500, "max_points": 1200}
    here = drift_of_sources(reference, current, backend=LocalBackend(), **capped)
    with compute_backend(cluster_settings) as backend:
        there = drift_of_sources(reference, current, backend=backend, **capped)
    summarised = [c for c in there.columns if c.note and "within" in c.note]
    assert {c.column for c in summarised} >= {"income", "big_count"}
    for mine, exact, local in zip(there.columns, whole.columns, here.columns, strict=True):
        assert (
            (mine.column, mine.drifted)
            == (exact.column, exact.drifted)
            == (
                local.column,
                local.drifted,
            )
        )
        assert (mine.reference_missing, mine.current_missing) == (
            exact.reference_missing,
            exact.current_missing,
        )
        stated = re.search(r"within ([-+.e\d]+) of", mine.note or "")
        error = float(stated.group(1)) * 1.05 if stated else 0.0  # shown to 2 digits
        assert mine.statistic is not None and exact.statistic is not None
        assert abs(mine.statistic - exact.statistic) <= error + 1e-9 * abs(exact.statistic), mine
    assert there.drift_share == whole.drift_share == here.drift_share


@pytest.mark.slow
def test_a_table_in_memory_is_sent_to_the_workers_in_partitions(cluster_settings) -> None:
    frames = _frames(rows=ROWS, seed=6)
    tables = [pa.Table.from_pandas(frame, preserve_index=False) for frame in frames]
    roles = {c.name: c.role for c in infer_schema(tables[0])}
    reference = DriftSource("reference", tables[0].schema, roles, table=tables[0])
    current = DriftSource("current", tables[1].schema, roles, table=tables[1])
    here = drift_of_sources(reference, current, rows=700)
    with compute_backend(cluster_settings) as backend:
        there = drift_of_sources(reference, current, backend=backend, rows=700)
        placement = backend.placement()
    _assert_same(there, here)
    _assert_same(there, compute_drift(*frames, roles=roles))
    assert len(placement.workers) == 2


def test_a_worker_that_sees_another_file_at_the_path_says_so(tmp_path: Path) -> None:
    reference, _, _ = _parquet_pair(tmp_path, rows=800)
    assert reference.path is not None
    plan = SummaryPlan({"income": "numeric", "purpose": "categorical"})
    share = parquet_shares(reference.path, columns=list(plan.kinds), tasks=3)[0]
    assert share.row_groups == (0, 1, 2) and share.columns == ("income", "purpose")
    read = summarize_share(share, plan=plan)
    assert read is not None and read.rows == 300
    changed = dataclasses.replace(share, modified_ns=share.modified_ns + 1)
    assert summarize_share(changed, plan=plan) is None
    gone = dataclasses.replace(share, path=str(tmp_path / "elsewhere.parquet"))
    assert summarize_share(gone, plan=plan) is None


@pytest.mark.slow
def test_row_groups_the_workers_cannot_read_are_sent_to_them(
    tmp_path: Path, cluster_settings
) -> None:
    reference, _, _ = _parquet_pair(tmp_path)
    assert reference.path is not None
    plan = SummaryPlan({"income": "numeric", "age": "numeric", "purpose": "categorical"})
    shares = parquet_shares(reference.path, columns=list(plan.kinds), tasks=4, rows=500)
    # as a worker on another machine finds it: not the file this process read
    unseen: list[ParquetShare] = [
        dataclasses.replace(share, size=share.size + 1) if index % 2 else share
        for index, share in enumerate(shares)
    ]
    whole = summarize_partitions(reference.partitions(list(plan.kinds), rows=500), plan)
    with compute_backend(cluster_settings) as backend:
        found = summarize_shares_on(backend, unseen, plan)
        tasks = backend.tasks_run
    assert found.rows == whole.rows == ROWS
    for name, summary in whole.columns.items():
        mine = found.columns[name]
        assert mine.total == summary.total and mine.missing == summary.missing
        assert mine.counts.tolist() == summary.counts.tolist()
    # 4 shares; then each unseen one's 2 row groups of 750 rows, in 4 partitions of at most
    # 500 rows sent in waves of 2 (the cluster's slots)
    assert tasks == 4 + 2 * 4


def _verdicts(payload: dict) -> list[tuple[str, str, bool]]:
    return [(c["column"], c["method"], c["drifted"]) for c in payload["columns"]]


def _cli(home: Path, *args: str) -> dict:
    result = CliRunner().invoke(cli, [*args, "--home", str(home), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output.strip().splitlines()[-1])


@pytest.mark.slow
def test_the_drift_command_uses_the_cluster_the_environment_names(
    tmp_path: Path, dask_cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    reference, current, frames = _parquet_pair(tmp_path)
    csv = tmp_path / "current.csv"
    frames[1].to_csv(csv, index=False)
    files = (str(reference.path), str(current.path))
    monkeypatch.delenv("DASK_SCHEDULER_ADDRESS", raising=False)
    monkeypatch.delenv("MLOPS_STUDIO_DASK", raising=False)
    here = _cli(tmp_path / "h", "drift", *files)
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", dask_cluster.scheduler_address)
    there = _cli(tmp_path / "h", "drift", *files)
    from_csv = _cli(tmp_path / "h", "drift", files[0], str(csv))
    assert here["compute"] == {"where": "local", "address": None, "workers": [], "notice": None}
    assert there["compute"]["where"] == "cluster" and len(there["compute"]["workers"]) == 2
    assert there["compute"]["address"] == dask_cluster.scheduler_address
    assert _verdicts(there) == _verdicts(here)
    assert there["drift_share"] == here["drift_share"] and there["notes"] == here["notes"]
    for mine, local in zip(there["columns"], here["columns"], strict=True):
        assert math.isclose(mine["statistic"], local["statistic"], rel_tol=1e-9)
    assert from_csv["compute"]["where"] == "cluster"
    assert _verdicts(from_csv) == _verdicts(here)
    text = CliRunner().invoke(cli, ["drift", *files, "--home", str(tmp_path / "h")]).output
    assert f"Summarised on the Dask cluster at {dask_cluster.scheduler_address}, 2 workers." in text


def test_an_unreachable_scheduler_compares_here_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reference, current, _ = _parquet_pair(tmp_path, rows=1200)
    address = f"tcp://127.0.0.1:{free_port()}"  # nothing listens there
    files = (str(reference.path), str(current.path))
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", address)
    monkeypatch.setenv("MLOPS_STUDIO_DASK_CONNECT_TIMEOUT", "2")
    found = _cli(tmp_path / "h", "drift", *files)
    assert found["compute"]["where"] == "local"
    assert found["compute"]["notice"].startswith(f"The Dask cluster at {address} could not")
    expected = drift_of_sources(reference, current)
    assert [(c["column"], c["method"], c["drifted"]) for c in found["columns"]] == [
        (c.column, c.method, c.drifted) for c in expected.columns
    ]
    text = CliRunner().invoke(cli, ["drift", *files, "--home", str(tmp_path / "h")]).output
    assert "Summarised on this machine. The Dask cluster at" in text


def test_only_skipped_columns_read_no_column_yet_count_the_rows(tmp_path: Path) -> None:
    reference, current, _ = _parquet_pair(tmp_path, rows=1600)
    roles = {"income": "id"}
    marked = dataclasses.replace(reference, roles=roles)
    found = drift_of_sources(marked, current, columns=["income"], rows=500)
    assert (found.rows_reference, found.rows_current) == (1600, 1600)
    assert list(found.columns) == []
    assert any("income" in note for note in found.notes)
