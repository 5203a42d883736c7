"""Benchmark: the Experiments page's first script run with 5,000 tracked runs in the store.

The runs are written through core.store.runs in one transaction, each with realistic params,
metrics (CV mean ± std and holdout for every metric), plan, environment and tags. After one
warm-up run (imports, Streamlit's runtime), each measurement is a fresh AppTest with every
Streamlit cache cleared: the entrypoint runs, then the switch to Experiments is timed, as a
user's first visit to the page. The CLI's listing (`core.train.tracking.list_runs`) is timed too,
for reference.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from page_bench import cold_page  # noqa: E402  (tests/bench, beside this script)

RUNS = 5_000
REPEATS = 3
FIRST_RUN_TARGET_S = 1.0
MODELS = ("random_forest", "logistic_regression", "hist_gradient_boosting", "decision_tree", "knn")
METRICS = ("accuracy", "balanced_accuracy", "precision", "recall", "f1", "roc_auc", "pr_auc")
LOSSES = ("log_loss", "brier")


def seed_runs(home: Path, count: int = RUNS) -> None:
    """``count`` finished model runs in one write transaction."""
    from core.store import connect, writing
    from core.store import runs as runs_store
    from core.store.runs import NewRun
    from core.train.environment import environment

    rng = np.random.default_rng(0)
    with connect(home) as db, writing(db):
        for index in range(count):
            model = MODELS[index % len(MODELS)]
            new = NewRun(
                experiment=f"experiment-{index % 12}",
                kind="model",
                model=model,
                task="binary",
                target="default",
                metric="roc_auc",
                params=_params(model, rng),
                plan={"folds": 5, "holdout": 0.2, "seed": 42, "description": "5-fold CV"},
                environment=environment(),
                tags=["nightly"] if index % 7 == 0 else [],
                seed=42,
                strategy="random",
            )
            run_id = runs_store.insert(db, new, created_by="bench")
            runs_store.update(db, run_id, **_results(rng))


def _params(model: str, rng: np.random.Generator) -> dict:
    if model == "logistic_regression":
        return {"C": float(rng.uniform(0.01, 10)), "class_weight": None}
    return {
        "n_estimators": int(rng.integers(50, 500)),
        "max_depth": int(rng.integers(2, 16)),
        "min_samples_leaf": int(rng.integers(1, 20)),
        "max_features": "sqrt",
    }


def _results(rng: np.random.Generator) -> dict:
    score = float(rng.uniform(0.6, 0.9))
    holdout = {name: float(rng.uniform(0.5, 0.9)) for name in METRICS}
    holdout |= {name: float(rng.uniform(0.1, 0.6)) for name in LOSSES}
    cv = {
        name: {"mean": value, "std": float(rng.uniform(0, 0.03))} for name, value in holdout.items()
    }
    fit = float(rng.uniform(0.05, 30))
    return {
        "status": "done",
        "score": score,
        "score_std": float(rng.uniform(0, 0.03)),
        "holdout_score": holdout["roc_auc"],
        "metrics": {
            "cv": cv,
            "holdout": holdout,
            "cost": {"fit_seconds": fit, "size_bytes": 250_000, "predict_ms_single_row": 1.5},
        },
        "fit_seconds": fit,
        "duration_seconds": fit * 8,
        "size_bytes": int(rng.integers(10_000, 5_000_000)),
        "predict_ms": float(rng.uniform(0.2, 5)),
        "artifact_path": "models/bench.skops",
        "artifact_sha256": "0" * 64,
        "finished_at": "2025-01-01T00:00:00.000000+00:00",
    }


def page_first_run() -> tuple[float, float]:
    """(first script run of Experiments with cold caches, then a cached rerun), in seconds."""
    at = cold_page("experiments")
    started = time.perf_counter()
    at.run()
    first = time.perf_counter() - started
    assert not at.exception, [e.value for e in at.exception]
    assert len(at.dataframe[0].value) == RUNS, "every run is listed"
    started = time.perf_counter()
    at.run()
    return first, time.perf_counter() - started


def cli_listing() -> float:
    from core.settings import studio_home
    from core.train.tracking import list_runs

    started = time.perf_counter()
    runs = list_runs(studio_home())
    elapsed = time.perf_counter() - started
    assert len(runs) == RUNS
    return elapsed


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder) / "studio"
        os.environ["MLOPS_STUDIO_HOME"] = str(home)
        started = time.perf_counter()
        seed_runs(home)
        print(f"seeded {RUNS:,} runs in {time.perf_counter() - started:.2f} s")
        page_first_run()  # warm-up: imports and Streamlit's runtime, not a user's first visit
        pages = [page_first_run() for _ in range(REPEATS)]
        listing = statistics.median(cli_listing() for _ in range(REPEATS))
    first = statistics.median(first for first, _ in pages)
    rerun = statistics.median(rerun for _, rerun in pages)
    print(
        f"experiments page first render with {RUNS:,} runs: {first:.2f} s "
        f"(target <= {FIRST_RUN_TARGET_S:.0f} s)"
    )
    print(f"  cached rerun: {rerun:.3f} s")
    print(
        f"  CLI listing (tracking.list_runs): {listing:.3f} s; "
        f"page / listing = {first / listing:.1f}x"
    )
    print(
        f"experiments_first_run_s={first:.2f} ratio_to_target={first / FIRST_RUN_TARGET_S:.2f} "
        f"experiments_rerun_s={rerun:.3f} cli_listing_s={listing:.3f}"
    )


if __name__ == "__main__":
    main()
