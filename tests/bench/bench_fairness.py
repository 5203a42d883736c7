"""Benchmark: the fairness report with bootstrap intervals against fairlearn's MetricFrame."""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from core.review.fairness import FEATURE_JOINER, FairnessReport, fairness_report  # noqa: E402

TARGET_SECONDS = 2.0
N_BOOT = 200
FEATURES = ["sex", "age_band"]
CREDIT = ROOT / "sample_data" / "credit.csv"


def credit_rows(rows: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """The sample table's sensitive columns and target, with a seeded biased score."""
    frame = pd.read_csv(CREDIT, usecols=[*FEATURES, "default"])
    if rows > len(frame):
        frame = frame.sample(rows, replace=True, random_state=0)
    frame = frame.head(rows).reset_index(drop=True)
    rng = np.random.default_rng(0)
    risk = 0.5 * frame["default"] + 0.1 * (frame["sex"] == "female")
    score = np.clip(0.2 + risk + rng.normal(0, 0.25, rows), 0, 1).to_numpy()
    return frame, (score > 0.45).astype(int), score


def run_ours(
    frame: pd.DataFrame, predicted: np.ndarray, score: np.ndarray | None, repeats: int
) -> tuple[float, FairnessReport]:
    times, report = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        report = fairness_report(
            frame["default"],
            predicted,
            sensitive=frame[FEATURES],
            task="binary",
            y_score=score,
            n_boot=N_BOOT,
        )
        times.append(time.perf_counter() - started)
    assert report is not None
    return statistics.median(times), report


def run_fairlearn(frame: pd.DataFrame, predicted: np.ndarray) -> tuple[float, dict]:
    """The same metrics, groups and intersection, each as a bootstrapped MetricFrame."""
    from fairlearn.metrics import (
        MetricFrame,
        false_positive_rate,
        selection_rate,
        true_positive_rate,
    )
    from sklearn.metrics import accuracy_score, precision_score

    metrics = {
        "selection_rate": selection_rate,
        "true_positive_rate": true_positive_rate,
        "false_positive_rate": false_positive_rate,
        "accuracy": accuracy_score,
        "precision": partial(precision_score, zero_division=np.nan),
    }
    frames = {}
    started = time.perf_counter()
    for feature in [*FEATURES, FEATURES]:
        name = feature if isinstance(feature, str) else FEATURE_JOINER.join(feature)
        frames[name] = MetricFrame(
            metrics=metrics,
            y_true=frame["default"],
            y_pred=predicted,
            sensitive_features=frame[feature],
            n_boot=N_BOOT,
            ci_quantiles=[0.025, 0.975],
            random_state=0,
        )
    return time.perf_counter() - started, frames


def largest_difference(report: FairnessReport, frames: dict) -> float:
    """The largest gap between our point estimates and fairlearn's by_group."""
    worst = 0.0
    for name, theirs in frames.items():
        for group, (_, row) in zip(report.groups_of(name), theirs.by_group.iterrows(), strict=True):
            for metric, value in row.items():
                worst = max(worst, abs(group.metrics[str(metric)] - float(value)))
    return worst


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=3, help="runs of ours (median reported)")
    parser.add_argument("--skip-fairlearn", action="store_true")
    args = parser.parse_args()

    frame, predicted, score = credit_rows(args.rows)
    print(f"rows: {len(frame):,}; sensitive: {', '.join(FEATURES)} and their intersection")
    ours_s, report = run_ours(frame, predicted, None, args.repeats)
    groups = len(report.groups)
    print(f"studio fairness_report, {N_BOOT} bootstrap resamples, {groups} groups:", end=" ")
    print(f"{ours_s:.3f} s (median of {args.repeats})", flush=True)
    auc_s, _ = run_ours(frame, predicted, score, args.repeats)
    print(f"  with ROC AUC by group as well: {auc_s:.3f} s (median of {args.repeats})")
    status = "PASS" if max(ours_s, auc_s) <= TARGET_SECONDS else "MISS"
    if not args.skip_fairlearn:
        theirs_s, frames = run_fairlearn(frame, predicted)
        print(f"fairlearn MetricFrame(n_boot={N_BOOT}) x3 (same metrics): {theirs_s:.2f} s")
        print(f"largest point-estimate difference: {largest_difference(report, frames):.2e}")
        print(f"ratio fairlearn/studio: {theirs_s / ours_s:.0f}x")
    print(f"fairness_report_seconds={ours_s:.3f} (target <= {TARGET_SECONDS:.0f} s): {status}")
    return 0 if status == "PASS" else 1


if __name__ == "__main__":
    raise SystemExit(main())
