"""Benchmark: monitoring before labels on ROWS logged rows, ours vs NannyML (the open anchor).

The same reference (a holdout the models never trained on) and analysis rows (covariate shift
that grows chunk by chunk, and a flipped correlation between two features in the last chunks)
go to both sides from the same Parquet files, each in its own process: ours in this venv,
NannyML's CBPE, DLE, DomainClassifierCalculator and DataReconstructionDriftCalculator in a venv
of its own (.bench/nannyml-venv, made on first use; never installed into the studio's venv).
Both get the same chunks. Estimates must agree within the stated tolerances, and ours must be
at least TARGET_RATIO times faster. Run: `python tests/bench/bench_estimation.py [--rows N]`.
"""

from __future__ import annotations

import argparse
import json
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
CHUNKS = 10
REFERENCE_ROWS = 50_000
FEATURES = ["a", "b", "c", "d", "e"]
TARGET_RATIO = 10.0
# how close our per-chunk figures must be to NannyML's
TOLERANCE = {"accuracy": 0.02, "roc_auc": 0.02, "f1": 0.03, "mae": 0.05, "domain_auc": 0.05}
# both sides on one thread: on a shared machine LightGBM's and scikit-learn's OpenMP threads
# wait on busy cores far longer than they save (our DLE fit took 50x longer with them)
ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
NO_USAGE_UPLOAD = {"NML_DISABLE_USAGE_LOGGING": "1"}  # NannyML reports usage online otherwise
NANNYML_VENV = ROOT / ".bench" / "nannyml-venv"
NANNYML_PINS = ["nannyml==0.13.1", "statsmodels"]
NANNYML_SCRIPT = """
import json, sys, time, warnings
import pandas as pd
warnings.simplefilter("ignore")
import nannyml as nml
ref_c, ana_c, ref_r, ana_r = (pd.read_parquet(p) for p in sys.argv[1:5])
chunk, features = int(sys.argv[5]), json.loads(sys.argv[6])
out, started = {}, time.perf_counter()
cbpe = nml.CBPE(y_pred_proba="proba", y_pred="pred", y_true="y", chunk_size=chunk,
                problem_type="classification_binary", metrics=["accuracy", "roc_auc", "f1"])
frame = cbpe.fit(ref_c).estimate(ana_c).filter(period="analysis").to_df()
for m in ["accuracy", "roc_auc", "f1"]:
    out[m] = frame[(m, "value")].tolist()
dle = nml.DLE(feature_column_names=features, y_pred="pred", y_true="y", chunk_size=chunk,
              metrics=["mae"])
frame = dle.fit(ref_r).estimate(ana_r).filter(period="analysis").to_df()
out["mae"] = frame[("mae", "value")].tolist()
dc = nml.DomainClassifierCalculator(feature_column_names=features, chunk_size=chunk)
frame = dc.fit(ref_c).calculate(ana_c).filter(period="analysis").to_df()
out["domain_auc"] = frame[("domain_classifier_auroc", "value")].tolist()
out["domain_alert"] = frame[("domain_classifier_auroc", "alert")].tolist()
rec = nml.DataReconstructionDriftCalculator(column_names=features, chunk_size=chunk)
frame = rec.fit(ref_c).calculate(ana_c).filter(period="analysis").to_df()
out["reconstruction_alert"] = frame[("reconstruction_error", "alert")].tolist()
out["seconds"] = time.perf_counter() - started
print(json.dumps(out))
"""


def nannyml_python() -> Path:
    python = NANNYML_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(NANNYML_VENV)], check=True)
        pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        subprocess.run([*pip, *NANNYML_PINS], check=True)
    return python


def make_data(
    rows: int, reference_rows: int = REFERENCE_ROWS, seed: int = 0
) -> dict[str, pd.DataFrame]:
    """A logistic and a linear model trained on their own rows; a holdout as reference; analysis
    rows whose inputs shift more in each chunk, with the a-b correlation flipped at the end."""
    from sklearn.linear_model import LinearRegression, LogisticRegression

    rng = np.random.default_rng(seed)

    def inputs(count: int, shift: np.ndarray, flip: np.ndarray) -> pd.DataFrame:
        x = rng.normal(size=(count, len(FEATURES)))
        x[:, 1] = 0.8 * x[:, 0] + 0.6 * x[:, 1]
        x[:, 1] = np.where(flip, -x[:, 1], x[:, 1])
        x = x * (1.0 - 0.6 * shift[:, None])  # crowd the inputs towards the boundary
        return pd.DataFrame(x, columns=FEATURES)

    def outcome(x: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        logit = 1.5 * x["a"] - x["c"] + 0.5 * x["d"]
        label = (rng.random(len(x)) < 1 / (1 + np.exp(-logit))).astype(int)
        value = 2 * x["a"] - x["c"] + rng.normal(0, 0.3 + np.abs(x["d"]), len(x))
        return label.to_numpy(), value.to_numpy()

    zeros = np.zeros(reference_rows)
    train = inputs(reference_rows, zeros, zeros.astype(bool))
    train_label, train_value = outcome(train)
    classifier = LogisticRegression().fit(train, train_label)
    regressor = LinearRegression().fit(train, train_value)
    reference = inputs(reference_rows, zeros, zeros.astype(bool))
    position = np.arange(rows) / rows
    analysis = inputs(rows, np.floor(position * CHUNKS) / CHUNKS, position >= 0.8)
    frames = {}
    for name, x in (("reference", reference), ("analysis", analysis)):
        label, value = outcome(x)
        proba = classifier.predict_proba(x[FEATURES])[:, 1]
        frames[f"{name}_c"] = x.assign(proba=proba, pred=(proba >= 0.5).astype(int), y=label)
        frames[f"{name}_r"] = x.assign(pred=regressor.predict(x[FEATURES]), y=value)
    return frames


def ours(frames: dict[str, pd.DataFrame], chunk: int) -> dict[str, list]:
    from core.monitor.estimation.cbpe import fit_cbpe
    from core.monitor.estimation.dle import fit_dle
    from core.monitor.estimation.encoding import fit_encoder
    from core.monitor.estimation.multivariate import fit_domain, fit_reconstruction

    ref_c, ana_c, ref_r, ana_r = (
        frames[k] for k in ("reference_c", "analysis_c", "reference_r", "analysis_r")
    )
    started = time.perf_counter()
    scores = np.column_stack([1 - ref_c["proba"], ref_c["proba"]])
    cbpe = fit_cbpe(scores, ref_c["y"].to_numpy(), threshold=0.5)
    dle = fit_dle(ref_r[FEATURES], ref_r["pred"].to_numpy(), ref_r["y"].to_numpy())
    encoder = fit_encoder(ref_c[FEATURES])
    domain, pca = fit_domain(encoder, ref_c[FEATURES]), fit_reconstruction(encoder, ref_c[FEATURES])
    out: dict[str, list] = {k: [] for k in ("accuracy", "roc_auc", "f1", "mae", "domain_auc",
                                            "domain_alert", "reconstruction_alert")}  # fmt: skip
    for start in range(0, len(ana_c), chunk):
        part, rpart = ana_c.iloc[start : start + chunk], ana_r.iloc[start : start + chunk]
        scores = np.column_stack([1 - part["proba"], part["proba"]])
        for e in cbpe.estimate(scores, part["pred"].to_numpy()):
            if e.metric in out:
                out[e.metric].append(e.value)
        out["mae"].append(dle.estimate(rpart[FEATURES], rpart["pred"].to_numpy())[0].value)
        found = domain.check(part[FEATURES])
        out["domain_auc"].append(found.value)
        out["domain_alert"].append(found.drifted)
        out["reconstruction_alert"].append(pca.check(part[FEATURES]).drifted)
    out["seconds"] = [time.perf_counter() - started]
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=ROWS)
    parser.add_argument("--reference-rows", type=int, default=REFERENCE_ROWS)
    args = parser.parse_args()
    chunk = args.rows // CHUNKS
    frames = make_data(args.rows, args.reference_rows)
    with tempfile.TemporaryDirectory() as folder:
        paths = []
        for name in ("reference_c", "analysis_c", "reference_r", "analysis_r"):
            path = Path(folder) / f"{name}.parquet"
            frames[name].to_parquet(path)
            paths.append(str(path))
        theirs_run = subprocess.run(
            [str(nannyml_python()), "-c", NANNYML_SCRIPT, *paths, str(chunk), json.dumps(FEATURES)],
            capture_output=True, text=True, env={**os.environ, **ONE_THREAD, **NO_USAGE_UPLOAD},
        )  # fmt: skip
    if theirs_run.returncode != 0:
        sys.exit(f"NannyML failed:\n{theirs_run.stderr[-3000:]}")
    theirs = json.loads(theirs_run.stdout.strip().splitlines()[-1])
    mine = ours(frames, chunk)
    print(f"{args.rows:,} analysis rows in {CHUNKS} chunks, {args.reference_rows:,} reference rows")
    failures = []
    for metric, tolerance in TOLERANCE.items():
        gap = float(np.max(np.abs(np.subtract(mine[metric], theirs[metric]))))
        verdict = "ok" if gap <= tolerance else "OUTSIDE"
        failures += [] if gap <= tolerance else [metric]
        print(f"  {metric:<11} largest per-chunk gap {gap:.4f} (tolerance {tolerance}) {verdict}")
    for flag in ("domain_alert", "reconstruction_alert"):
        agree = sum(bool(a) == bool(b) for a, b in zip(mine[flag], theirs[flag], strict=True))
        flagged = sum(map(bool, mine[flag])), sum(map(bool, theirs[flag]))
        print(f"  {flag:<21} verdicts agree in {agree}/{CHUNKS} chunks "
              f"(ours {flagged[0]} flagged, NannyML {flagged[1]})")  # fmt: skip
    ratio = theirs["seconds"] / mine["seconds"][0]
    print(f"  time: studio {mine['seconds'][0]:.1f} s, NannyML {theirs['seconds']:.1f} s, "
          f"ratio {ratio:.1f}x (target >= {TARGET_RATIO:g}x)")  # fmt: skip
    if failures or ratio < TARGET_RATIO:
        sys.exit(1)


if __name__ == "__main__":
    main()
