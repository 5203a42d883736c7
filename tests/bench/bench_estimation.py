"""Benchmark: monitoring before labels over ROWS logged rows, the studio's real path vs NannyML.

The studio side is what a deployment does: a logistic and a ridge model trained by the studio
(fixed holdout of the last HOLDOUT_ROWS rows), registered and deployed; ROWS analysis rows are
logged in the prediction log as the service logs them (requests of REQUEST_ROWS rows, five-minute
windows of WINDOW_ROWS rows, so every logged row is read); then `update_drift` is timed in a
fresh process: it reads the logged rows back from SQLite, learns the references from the stored
run (CBPE and DLE from the holdout, joint drift and quality from the training rows) and stores
per window the per-feature drift, CBPE or DLE, domain classifier, PCA reconstruction error and
quality tests. Those stored windows are what is compared.

NannyML 0.13.1 (its own venv, .bench/nannyml-venv, made on first use; never in the studio's
venv) gets the same rows as DataFrames: the holdout with the served model's outputs as the
reference, the logged rows as the analysis data, chunks of WINDOW_ROWS rows (the windows), and
runs CBPE, DLE, DomainClassifierCalculator and DataReconstructionDriftCalculator, timed from the
frames in memory. Its reference for the joint drift is the holdout (its convention); ours is the
training rows; both come from one distribution here. Inputs shift more in each tenth of the rows
(crowding towards the boundary: true accuracy falls) and two features' correlation flips in the
last fifth. Per-window figures must agree within TOLERANCE, joint-drift verdicts in at least
VERDICTS of the windows, and the studio must be TARGET_RATIO times faster.
Run: `python tests/bench/bench_estimation.py [--rows N] [--window-rows W] [--holdout-rows H]`.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

ROWS = 1_000_000
WINDOW_ROWS = 20_000  # the studio reads at most drift_windows.MAX_ROWS rows of a window
TRAIN_ROWS = 200_000
HOLDOUT_ROWS = 100_000  # NannyML's thresholds come from reference chunks of WINDOW_ROWS rows
REQUEST_ROWS = 10
SHIFTS = 10
FEATURES = ["a", "b", "c", "d", "e"]
TARGET_RATIO = 10.0
# The largest per-window gap allowed between our figure and NannyML's, and why it is that wide:
TOLERANCE = {
    # CBPE: both calibrate isotonically on the same holdout; only ties and interpolation differ
    "accuracy": 0.01,
    "precision": 0.01,
    "recall": 0.01,
    "f1": 0.01,
    "roc_auc": 0.01,
    # DLE: our error model is scikit-learn's histogram boosting, NannyML's LightGBM; both are
    # fitted on the holdout, so they differ by two models' fitting noise (MAE here is about 1)
    "mae": 0.03,
    # domain classifier: we train small early-stopped boosted trees on at most 5,000 rows a
    # side (AUC known to about +-0.01), NannyML LightGBM on every reference and window row
    "domain_auc": 0.03,
    # PCA: the same quantity; our reference is the training rows, NannyML's the holdout, so the
    # scaling and components differ by the sampling of 200k against 100k rows
    "reconstruction_error": 0.01,
}
# the share of windows whose drift verdicts must agree: near a threshold the two sides' learned
# thresholds (ours from random reference chunks, NannyML's from HOLDOUT/WINDOW sequential ones)
# can fall either side of a value
VERDICTS = {"domain_alert": 0.8, "reconstruction_alert": 0.95}
# NannyML's domain classifier cross-validates LightGBM on every reference row plus the window's,
# per window: on this shared 2-core machine that took about a minute a window at 50k reference
# rows, so past DOMAIN_SAMPLE windows (--domain-windows) it runs on that many windows spread
# over the shifts and its time is scaled to every window (fit once + per-window time x windows;
# each window costs the same, so the scaling is linear). Said so in the output.
DOMAIN_SAMPLE = 10
# both sides on one thread: on a shared machine LightGBM's and scikit-learn's OpenMP threads
# wait on busy cores far longer than they save (our DLE fit took 50x longer with them)
ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
NO_USAGE_UPLOAD = {"NML_DISABLE_USAGE_LOGGING": "1"}  # NannyML reports usage online otherwise
NANNYML_VENV = ROOT / ".bench" / "nannyml-venv"
NANNYML_PINS = ["nannyml==0.13.1", "statsmodels"]
CBPE_METRICS = ["accuracy", "precision", "recall", "f1", "roc_auc"]
NANNYML_SCRIPT = """
import json, sys, time, warnings
import pandas as pd
warnings.simplefilter("ignore")
import nannyml as nml
from nannyml.drift.multivariate.domain_classifier.calculator import DEFAULT_LGBM_HYPERPARAMS
ref_c, ana_c, ref_r, ana_r = (pd.read_parquet(p) for p in sys.argv[1:5])
chunk, features, metrics = int(sys.argv[5]), json.loads(sys.argv[6]), json.loads(sys.argv[7])
out, seconds, started = {}, {}, time.perf_counter()
cbpe = nml.CBPE(y_pred_proba="proba", y_pred="pred", y_true="y", chunk_size=chunk,
                problem_type="classification_binary", metrics=metrics)
frame = cbpe.fit(ref_c).estimate(ana_c).filter(period="analysis").to_df()
for m in metrics:
    out[m] = frame[(m, "value")].tolist()
seconds["cbpe"] = time.perf_counter() - started
dle = nml.DLE(feature_column_names=features, y_pred="pred", y_true="y", chunk_size=chunk,
              metrics=["mae"])
frame = dle.fit(ref_r).estimate(ana_r).filter(period="analysis").to_df()
out["mae"] = frame[("mae", "value")].tolist()
seconds["dle"] = time.perf_counter() - started - sum(seconds.values())
# joint drift for each model's traffic, as the studio computes it per deployment (the inputs
# are the same here); the domain classifier on the sampled windows only: its cost is the same
# for every window. Its defaults but one LightGBM thread (n_jobs=-1 ignores OMP_NUM_THREADS)
picked = json.loads(sys.argv[8])
hyperparameters = {**DEFAULT_LGBM_HYPERPARAMS, "n_jobs": 1}
for name in ("domain classifier fit", "domain classifier windows", "reconstruction"):
    seconds[name] = 0.0
for ref, ana, kept in ((ref_c, ana_c, True), (ref_r, ana_r, False)):
    clock = time.perf_counter()
    dc = nml.DomainClassifierCalculator(feature_column_names=features, chunk_size=chunk,
                                        hyperparameters=hyperparameters)
    dc.fit(ref)
    seconds["domain classifier fit"] += time.perf_counter() - clock
    clock = time.perf_counter()
    sampled = pd.concat([ana.iloc[w * chunk:(w + 1) * chunk] for w in picked], ignore_index=True)
    frame = dc.calculate(sampled).filter(period="analysis").to_df()
    seconds["domain classifier windows"] += time.perf_counter() - clock
    if kept:
        out["domain_auc"] = frame[("domain_classifier_auroc", "value")].tolist()
        out["domain_alert"] = frame[("domain_classifier_auroc", "alert")].tolist()
    clock = time.perf_counter()
    rec = nml.DataReconstructionDriftCalculator(column_names=features, chunk_size=chunk)
    frame = rec.fit(ref).calculate(ana).filter(period="analysis").to_df()
    seconds["reconstruction"] += time.perf_counter() - clock
    if kept:
        out["reconstruction_error"] = frame[("reconstruction_error", "value")].tolist()
        out["reconstruction_alert"] = frame[("reconstruction_error", "alert")].tolist()
out["measured"], out["parts"] = time.perf_counter() - started, seconds
print(json.dumps(out))
"""
STUDIO_SCRIPT = """
import json, sys, time
from pathlib import Path
from core.monitor.drift_windows import update_drift
home, now, ids = Path(sys.argv[1]), float(sys.argv[2]), json.loads(sys.argv[3])
started, windows, parts = time.perf_counter(), [], []
for deployment_id in ids:
    windows.append(update_drift(home, deployment_id, now=now))
    parts.append(time.perf_counter() - started - sum(parts))
print(json.dumps({"seconds": time.perf_counter() - started, "windows": windows, "parts": parts}))
"""


def nannyml_python() -> Path:
    python = NANNYML_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(NANNYML_VENV)], check=True)
        pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        subprocess.run([*pip, *NANNYML_PINS], check=True)
    return python


# -- data --------------------------------------------------------------------------------------


def inputs(
    rng: np.random.Generator, rows: int, shift: np.ndarray, flip: np.ndarray
) -> pd.DataFrame:
    x = rng.normal(size=(rows, len(FEATURES)))
    x[:, 1] = 0.8 * x[:, 0] + 0.6 * x[:, 1]
    x[:, 1] = np.where(flip, -x[:, 1], x[:, 1])
    x = x * (1.0 - 0.6 * shift[:, None])  # crowd the inputs towards the boundary
    return pd.DataFrame(x, columns=FEATURES)


def outcome(rng: np.random.Generator, x: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    logit = 1.5 * x["a"] - x["c"] + 0.5 * x["d"]
    label = (rng.random(len(x)) < 1 / (1 + np.exp(-logit))).astype(int)
    value = 2 * x["a"] - x["c"] + rng.normal(0, 0.3 + np.abs(x["d"]), len(x))
    return label.to_numpy(), value.to_numpy()


def make_data(rows: int, known_rows: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rows to train on (with both targets; the last ones become the holdout) and analysis
    inputs whose shift grows in SHIFTS steps, the a-b correlation flipped in the last fifth."""
    rng = np.random.default_rng(seed)
    none = np.zeros(known_rows)
    known = inputs(rng, known_rows, none, none.astype(bool))
    label, value = outcome(rng, known)
    position = np.arange(rows) / rows
    analysis = inputs(rng, rows, np.floor(position * SHIFTS) / SHIFTS, position >= 0.8)
    return known.assign(y=label, value=value), analysis


# -- the studio's side: a trained, deployed model and its prediction log ----------------------


def deploy(home: Path, frame: pd.DataFrame, *, name: str, model: str, holdout: int) -> int:
    """Import, train (fixed holdout of the last rows), register and deploy: the deployment id."""
    from core.data.datasets import import_dataset
    from core.store import connect, deployments
    from core.train.plan import ValidationPlan
    from core.train.registry import register_run
    from core.train.training import TrainRequest, train

    path = home.parent / f"{name}.parquet"
    frame.to_parquet(path, index=False)
    version = import_dataset(home, path=path, name=name).version.id
    target = "y" if "y" in frame.columns else "value"
    plan = ValidationPlan(folds=2, holdout_rows=holdout)
    outcome = train(
        home, TrainRequest(version_id=version, target=target, models=(model,), plan=plan)
    )
    registered = register_run(home, outcome.best.id, name=name, onnx=False)
    with connect(home) as db:
        row = deployments.insert(
            db, model_version_id=registered.id, host="127.0.0.1", port=1, log_path="",
            created_by="bench", status="stopped", desired="stopped",
        )  # fmt: skip
    return row.id


def served_outputs(home: Path, deployment_id: int, x: pd.DataFrame) -> pd.DataFrame:
    """The served version's answers for ``x``: proba and pred (classifier) or pred."""
    from core.serving.scoring import load_served_model
    from core.store import connect, deployments

    with connect(home) as db:
        version_id = deployments.get(db, deployment_id).model_version_id
    served = load_served_model(home, version_id, engine="sklearn")
    if served.task == "regression":
        return x.assign(pred=np.asarray(served.pipeline.predict(x), dtype=float))
    proba = np.asarray(served.pipeline.predict_proba(x), dtype=float)[:, 1]
    cut = 0.5 if served.threshold is None else served.threshold
    return x.assign(proba=proba, pred=(proba >= cut).astype(int))


def log_traffic(home: Path, deployment_id: int, answered: pd.DataFrame, start: float, window: int):
    """Log ``answered`` as the service does, REQUEST_ROWS rows a request, ``window`` rows in
    each five-minute window from ``start``."""
    from core.monitor.drift_windows import DRIFT_WINDOW_SECONDS
    from core.store import connect, deployments

    with connect(home) as db:
        version_id = deployments.get(db, deployment_id).model_version_id
    records = answered[FEATURES].to_dict(orient="records")
    preds = answered["pred"].tolist()
    shares = (
        np.column_stack([1 - answered["proba"], answered["proba"]]).tolist()
        if "proba" in answered
        else None
    )
    step = DRIFT_WINDOW_SECONDS * REQUEST_ROWS / window
    batch = []
    for first in range(0, len(records), REQUEST_ROWS):
        part = slice(first, first + REQUEST_ROWS)
        at = (
            start
            + (first // window) * DRIFT_WINDOW_SECONDS
            + (first % window) / REQUEST_ROWS * step
        )
        batch.append(
            (deployment_id, version_id, f"{deployment_id}-{first}", at, 1.0, 200,
             len(records[part]), json.dumps(records[part]), json.dumps(preds[part]),
             None if shares is None else json.dumps(shares[part]), None, None)
        )  # fmt: skip
        if len(batch) == 5_000:
            with connect(home) as db:
                deployments.log_predictions(db, batch)
            batch = []
    with connect(home) as db:
        deployments.log_predictions(db, batch)


def holdout_frame(home: Path, deployment_id: int) -> pd.DataFrame:
    """The deployed run's holdout with its target and the served answers: NannyML's reference."""
    from core.store import connect, deployments
    from core.train.registry import model_version_by_id
    from core.train.tracking import get_run
    from core.train.training import run_data

    with connect(home) as db:
        version_id = deployments.get(db, deployment_id).model_version_id
    run = get_run(home, model_version_by_id(home, version_id).run_id)
    data = run_data(home, run)
    answered = served_outputs(home, deployment_id, data.X_holdout[FEATURES].reset_index(drop=True))
    return answered.assign(y=data.y_holdout.to_numpy())


def studio_windows(home: Path, deployment_id: int, end: float, count: int, task: str) -> dict:
    """The stored windows read back: per-window figures in time order."""
    from core.monitor.estimation.history import estimate_history

    classes = None if task == "regression" else [0, 1]
    history = estimate_history(
        home, deployment_id, minutes=(count + 2) * 5, end=end, classes=classes
    )
    out: dict[str, list] = {}
    for window in history.windows:
        for name, estimate in window.estimates.items():
            out.setdefault(name, []).append(estimate.value)
        if task == "regression":
            continue
        domain, pca = window.joint["domain_classifier"], window.joint["reconstruction_error"]
        out.setdefault("domain_auc", []).append(domain.value)
        out.setdefault("domain_alert", []).append(domain.drifted)
        out.setdefault("reconstruction_error", []).append(pca.value)
        out.setdefault("reconstruction_alert", []).append(pca.drifted)
    return out


# -- running both and comparing -----------------------------------------------------------------


def run_json(command: list[str], what: str) -> dict:
    env = {**os.environ, **ONE_THREAD, **NO_USAGE_UPLOAD, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        sys.exit(f"{what} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def picked_windows(windows: int, sample: int) -> list[int]:
    """The windows NannyML's domain classifier runs on: all, or ``sample`` spread evenly."""
    if windows <= sample:
        return list(range(windows))
    return sorted({round(i * (windows - 1) / (sample - 1)) for i in range(sample)})


def compare(mine: dict, theirs: dict, windows: int, picked: list[int]) -> list[str]:
    """Print each figure's per-window gap and each verdict's agreement; the ones outside."""
    mine = {
        name: [values[w] for w in picked] if name.startswith("domain") else values
        for name, values in mine.items()
        if len(values) == windows
    }
    failures = []
    for metric, tolerance in TOLERANCE.items():
        expected = len(picked) if metric.startswith("domain") else windows
        if len(mine.get(metric, [])) != expected or len(theirs[metric]) != expected:
            failures.append(metric)
            print(f"  {metric:<20} windows: ours {len(mine.get(metric, []))}, "
                  f"NannyML {len(theirs[metric])}, expected {expected}  MISSING")  # fmt: skip
            continue
        gaps = np.abs(np.subtract(mine[metric], theirs[metric]))
        verdict = "ok" if gaps.max() <= tolerance else "OUTSIDE"
        failures += [] if gaps.max() <= tolerance else [metric]
        print(f"  {metric:<20} largest per-window gap {gaps.max():.4f}, mean {gaps.mean():.4f} "
              f"over {expected} windows (tolerance {tolerance}) {verdict}")  # fmt: skip
    for flag, share in VERDICTS.items():
        pairs = list(zip(mine.get(flag, []), theirs[flag], strict=False))
        agree = sum(bool(a) == bool(b) for a, b in pairs)
        ok = len(pairs) == len(theirs[flag]) > 0 and agree >= share * len(pairs)
        failures += [] if ok else [flag]
        print(f"  {flag:<20} verdicts agree in {agree}/{len(pairs)} windows (ours flag "
              f"{sum(map(bool, mine.get(flag, [])))}, NannyML {sum(map(bool, theirs[flag]))}; "
              f"at least {share:.0%}) {'ok' if ok else 'OUTSIDE'}")  # fmt: skip
    return failures


def nannyml_seconds(theirs: dict, windows: int, picked: list[int]) -> float:
    """NannyML's whole time with the domain classifier's sampled windows scaled to all."""
    parts = theirs["parts"]
    return float(
        theirs["measured"] + parts["domain classifier windows"] * (windows / len(picked) - 1)
    )


def main() -> None:
    from core.monitor.drift_windows import DRIFT_WINDOW_SECONDS, MAX_ROWS

    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=ROWS)
    parser.add_argument("--window-rows", type=int, default=WINDOW_ROWS)
    parser.add_argument("--train-rows", type=int, default=TRAIN_ROWS)
    parser.add_argument("--holdout-rows", type=int, default=HOLDOUT_ROWS)
    parser.add_argument("--domain-windows", type=int, default=DOMAIN_SAMPLE)
    args = parser.parse_args()
    if args.window_rows > MAX_ROWS or args.rows % args.window_rows:
        sys.exit(f"--window-rows must divide --rows and be at most {MAX_ROWS:,}.")
    windows = args.rows // args.window_rows
    picked = picked_windows(windows, args.domain_windows)
    known, analysis = make_data(args.rows, args.train_rows + args.holdout_rows)
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder) / "studio"
        home.mkdir()
        set_up = time.perf_counter()
        ids = {
            "classifier": deploy(home, known.drop(columns="value"), name="bench_c",
                                 model="logistic_regression", holdout=args.holdout_rows),
            "regression": deploy(home, known.drop(columns="y"), name="bench_r", model="ridge",
                                 holdout=args.holdout_rows),
        }  # fmt: skip
        start = (
            math.floor(time.time() / DRIFT_WINDOW_SECONDS) - windows - 2
        ) * DRIFT_WINDOW_SECONDS
        end = start + windows * DRIFT_WINDOW_SECONDS
        frames = {}
        for task, deployment_id in ids.items():
            answered = served_outputs(home, deployment_id, analysis)
            log_traffic(home, deployment_id, answered, start, args.window_rows)
            frames[task] = (holdout_frame(home, deployment_id), answered)
        paths = []
        for task in ("classifier", "regression"):
            for side, frame in zip(("reference", "analysis"), frames[task], strict=True):
                path = Path(folder) / f"{side}_{task}.parquet"
                frame.to_parquet(path)
                paths.append(str(path))
        print(f"set up (import, train, deploy, log {args.rows:,} rows twice): "
              f"{time.perf_counter() - set_up:.0f} s", flush=True)  # fmt: skip
        ours = run_json(
            [
                sys.executable,
                "-c",
                STUDIO_SCRIPT,
                str(home),
                str(end),
                json.dumps(list(ids.values())),
            ],
            "the studio",
        )
        print(f"studio: {ours['seconds']:.1f} s for {ours['windows']} windows", flush=True)
        theirs = run_json(
            [str(nannyml_python()), "-c", NANNYML_SCRIPT, *paths, str(args.window_rows),
             json.dumps(FEATURES), json.dumps(CBPE_METRICS), json.dumps(picked)],
            "NannyML",
        )  # fmt: skip
        mine = {
            **studio_windows(home, ids["classifier"], end, windows, "classifier"),
            **studio_windows(home, ids["regression"], end, windows, "regression"),
        }
    print(f"{args.rows:,} logged rows in {windows} windows of {args.window_rows:,}; reference: "
          f"{args.holdout_rows:,} holdout rows (CBPE, DLE; NannyML's joint drift), "
          f"{args.train_rows:,} training rows (our joint drift and quality)")  # fmt: skip
    failures = compare(mine, theirs, windows, picked)
    total = nannyml_seconds(theirs, windows, picked)
    ratio = total / ours["seconds"]
    parts = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in theirs["parts"].items())
    scaled = (
        f" with the domain classifier's {len(picked)} measured windows scaled to {windows}"
        if len(picked) < windows
        else ""
    )
    print(f"  time: studio {ours['seconds']:.1f} s (classifier {ours['parts'][0]:.1f} s, "
          f"regression {ours['parts'][1]:.1f} s; update_drift in a cold process: reads the "
          f"log, learns the references, per-feature drift, estimates, joint drift, quality tests, "
          f"stores); NannyML measured {theirs['measured']:.1f} s ({parts}), "
          f"{total:.1f} s{scaled}")  # fmt: skip
    print(f"  ratio {ratio:.1f}x (target >= {TARGET_RATIO:g}x)")
    if failures or ratio < TARGET_RATIO:
        sys.exit(f"outside: {', '.join(failures) or 'speed'}")


if __name__ == "__main__":
    main()
