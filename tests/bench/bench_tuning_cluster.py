"""Benchmark: grid tuning on a 2-worker local Dask cluster vs the same search in one process.

Both search the 36-candidate grid of a HistGradientBoosting pipeline (the default feature spec in
front) over the same 3 precomputed folds of the 20,000-row credit table, with `tune(strategy=
"grid")` — the median pruning rule on, as the studio runs a grid. The one-process baseline runs
every fit here, one after another, under one BLAS/OpenMP thread (threadpoolctl). The cluster is a
`LocalCluster(n_workers=2, threads_per_worker=1, processes=True)`: each worker process runs one
fit at a time, and each fit runs under one BLAS/OpenMP thread too (`fit_fold` limits it; Dask's
nanny also sets OMP_NUM_THREADS=1), so the comparison is one core against two. The cluster is
started and its workers have imported the studio before the clock starts (a cluster people use
is already up); the clock includes connecting, sending the data and every fit.
Targets: the cluster at least 1.7x faster; the same best parameters, best score and trials.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import pyarrow as pa
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import Pipeline

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "bench"))

from bench_tuning import MAX_ITER, credit_table  # noqa: E402

from core.data.schema import infer_schema  # noqa: E402
from core.jobs.compute import ComputeSettings, compute_backend  # noqa: E402
from core.prep.features import build_feature_pipeline, default_feature_spec  # noqa: E402
from core.train.catalog import CATALOG, grid_of  # noqa: E402
from core.train.evaluate import PRIMARY_METRIC  # noqa: E402
from core.train.plan import ValidationPlan, cv_folds  # noqa: E402
from core.train.tuning import Budget, SearchResult, tune  # noqa: E402

TARGET_RATIO = 1.7
WORKERS = 2


def _warm_up() -> int:
    """On a worker: import what a fit needs, as a worker that has run one job has."""
    import core.prep.features  # noqa: F401
    import core.train.tuning  # noqa: F401

    return os.getpid()


def search_inputs(rows: int, folds_k: int):
    frame, target = credit_table()
    frame = frame.iloc[:rows].reset_index(drop=True)
    schema = infer_schema(pa.Table.from_pandas(frame, preserve_index=False))
    features = default_feature_spec(schema, target=target)

    def pipeline(params: dict) -> Pipeline:
        model = HistGradientBoostingClassifier(
            max_iter=MAX_ITER, early_stopping=False, random_state=0, **params
        )
        head = build_feature_pipeline(features, schema=schema, target=target)
        return Pipeline([("features", head), ("model", model)])

    folds = cv_folds(frame, target, "binary", ValidationPlan(folds=folds_k))
    return frame.drop(columns=[target]), frame[target], folds, pipeline


def search(X, y, folds, pipeline, backend=None) -> SearchResult:
    return tune(
        pipeline,
        X,
        y,
        folds=folds,
        space=CATALOG["hist_gradient_boosting"].search_space("binary"),
        strategy="grid",
        metric=PRIMARY_METRIC["binary"],
        task="binary",
        budget=Budget(trials=None),
        backend=backend,
    )


def main() -> int:
    from distributed import Client, LocalCluster
    from threadpoolctl import threadpool_limits

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--folds", type=int, default=3)
    args = parser.parse_args()
    X, y, folds, pipeline = search_inputs(args.rows, args.folds)
    grid = len(grid_of(CATALOG["hist_gradient_boosting"].search_space("binary")))
    print(f"credit table: {len(X):,} rows, {grid} candidates x {args.folds} folds", flush=True)

    with threadpool_limits(limits=1):
        started = time.perf_counter()
        alone = search(X, y, folds, pipeline)
        alone_seconds = time.perf_counter() - started
    print(f"  one process (1 thread): best {alone.best_score:.5f} in {alone_seconds:.1f} s")

    with LocalCluster(
        n_workers=WORKERS, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as cluster:
        with Client(cluster.scheduler_address, set_as_default=False) as client:
            client.run(_warm_up)
        started = time.perf_counter()
        with compute_backend(ComputeSettings(address=cluster.scheduler_address)) as backend:
            spread = search(X, y, folds, pipeline, backend)
            fits = backend.tasks_run
        spread_seconds = time.perf_counter() - started
    print(
        f"  {WORKERS}-worker cluster (1 thread each): best {spread.best_score:.5f} in "
        f"{spread_seconds:.1f} s ({fits} fits)"
    )

    same = (
        spread.best_params == alone.best_params
        and spread.best_score == alone.best_score
        and [t.fold_scores for t in spread.trials] == [t.fold_scores for t in alone.trials]
    )
    ratio = alone_seconds / spread_seconds
    verdict = "PASS" if same and ratio >= TARGET_RATIO else "MISS"
    print(
        f"  same best parameters, score and trials: {same}; speed-up {ratio:.2f}x "
        f"(target >= {TARGET_RATIO}x) -> {verdict}",
        flush=True,
    )
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    raise SystemExit(main())
