"""The CLI: each command works on a temp home, --json prints one object, errors are one line."""

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from app.cli import COMMANDS, cli
from core.jobs.runner import wait_for_job
from tests.studio_cli import run, run_json

ROOT = Path(__file__).resolve().parents[2]
CREDIT = ROOT / "sample_data" / "credit.csv"


def test_import_then_datasets_then_reimport_reuses(tmp_path: Path) -> None:
    home = tmp_path / "h"
    first = run_json(home, "import", str(CREDIT), "--name", "credit")
    assert first["reused"] is False and first["version"]["version"] == 1
    assert first["version"]["rows"] >= 20_000 and len(first["version"]["content_hash"]) == 64
    again = run_json(home, "import", str(CREDIT), "--name", "credit")
    assert again["reused"] is True and again["version"]["id"] == first["version"]["id"]
    listed = run_json(home, "datasets")
    assert [d["name"] for d in listed["datasets"]] == ["credit"]
    assert listed["datasets"][0]["versions"] == 1


def test_import_takes_the_decimal_mark(tmp_path: Path) -> None:
    path = tmp_path / "prices.csv"
    path.write_text('item,price\napple,"3,50"\npear,"2,25"\n')
    home = tmp_path / "h"
    commas = run_json(home, "import", str(path), "--name", "prices", "--decimal", "comma")
    assert commas["report"]["warnings"] == []
    dtypes = {column["name"]: column["dtype"] for column in commas["version"]["schema"]}
    assert dtypes["price"] == "double"
    points = run_json(home, "import", str(path), "--name", "prices", "--decimal", "point")
    dtypes = {column["name"]: column["dtype"] for column in points["version"]["schema"]}
    assert dtypes["price"] == "string"


def _stray_quote_csv(folder: Path) -> Path:
    lines = ["id,amount,note"] + [f"{i},{i * 3},note {i}" for i in range(3_000)]
    lines[1_001] = '12,"broken,3'  # line 1,002
    path = folder / "notes.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_import_reads_a_quote_that_never_closes_as_a_character(tmp_path: Path) -> None:
    path, home = _stray_quote_csv(tmp_path), tmp_path / "h"
    code, output = run(home, "import", str(path), "--name", "notes")
    assert code == 0 and "3,000 rows x 3 columns" in output, output
    assert 'Note: Line 1002 has a quote mark that never closes on its row (12,"broken,3)' in output
    always = run_json(home, "import", str(path), "--name", "notes", "--quotes", "always")
    assert always["version"]["rows"] == 1_000 and always["report"]["skipped_rows"] == 1
    assert any("take up 2,000 lines" in warning for warning in always["report"]["warnings"])
    never = run_json(home, "import", str(path), "--name", "notes", "--quotes", "never")
    assert never["version"]["rows"] == 3_000 and never["report"]["literal_quote_lines"] == []


def test_import_refuses_a_file_of_unpaired_quotes_until_told_to_ignore_them(
    tmp_path: Path,
) -> None:
    path, home = tmp_path / "sizes.csv", tmp_path / "h"
    lines = [f'{i},"{i} inch,y' if i % 2 == 0 else f'{i},{i}" tall,x' for i in range(400)]
    path.write_text("id,size,note\n" + "\n".join(lines) + "\n")
    code, output = run(home, "import", str(path), "--name", "sizes")
    assert code == 1 and "Choose quote marks 'never'" in output and "Traceback" not in output
    assert run_json(home, "datasets")["datasets"] == []
    never = run_json(home, "import", str(path), "--name", "sizes", "--quotes", "never")
    assert never["version"]["rows"] == 400


def test_profile_a_dataset_and_a_file(tmp_path: Path) -> None:
    home = tmp_path / "h"
    run_json(home, "import", str(CREDIT), "--name", "credit")
    stored = run_json(home, "profile", "credit@1", "--target", "default")
    direct = run_json(home, "profile", str(CREDIT), "--target", "default")
    for payload in (stored, direct):
        by_name = {c["name"]: c for c in payload["columns"]}
        assert by_name["annual_income"]["missing"] > 0
        assert by_name["annual_income"]["mean"] is not None
        assert by_name["sex"]["top_values"]
        assert {"check", "severity", "message"} <= set(payload["quality"][0])
        assert any(f["check"] == "duplicate_rows" for f in payload["quality"])
    assert stored["columns"] == direct["columns"]


def test_text_output_is_readable(tmp_path: Path) -> None:
    home = tmp_path / "h"
    code, output = run(home, "import", str(CREDIT), "--name", "credit")
    assert code == 0 and re.search(r"Imported credit v1 .* rows x 23 columns", output)
    code, output = run(home, "profile", "credit")
    assert code == 0 and "Quality checks:" in output and "annual_income" in output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["profile", "nope"], "There is no dataset 'nope'"),
        (["import", "missing.csv", "--name", "x"], "There is no file at"),
        (["import", str(CREDIT), "--name", "  "], "A dataset name must be"),
    ],
)
def test_errors_are_one_clear_line(tmp_path: Path, args: list[str], message: str) -> None:
    result = CliRunner().invoke(cli, [*args, "--home", str(tmp_path / "h"), "--json"])
    assert result.exit_code == 1
    assert message in json.loads(result.output)["error"]
    assert "Traceback" not in result.output


def test_empty_file_is_refused_and_nothing_saved_is_lost(tmp_path: Path) -> None:
    home = tmp_path / "h"
    run_json(home, "import", str(CREDIT), "--name", "credit")
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    code, output = run(home, "import", str(empty), "--name", "credit")
    assert code == 1 and "empty" in output.lower() and "Traceback" not in output
    assert run_json(home, "datasets")["datasets"][0]["versions"] == 1


def test_demo_seeds_once_and_jobs_lists(tmp_path: Path) -> None:
    home = tmp_path / "h"
    first = run_json(home, "demo")
    again = run_json(home, "demo")
    assert set(first["datasets"]) >= {"credit", "credit_production", "houses"}
    assert again["datasets"] == first["datasets"]
    # the sample project is built by one background job, which a second run joins
    assert again["job_id"] == first["job_id"] is not None
    (job,) = run_json(home, "jobs", "--all")["jobs"]
    assert job["kind"] == "seed_demo" and job["id"] == first["job_id"]
    assert job["title"] == "Building the sample project"
    code, listed = run(home, "jobs", "--all")
    assert code == 0 and "Building the sample project" in listed and "seed_demo" not in listed
    cancelled = run_json(home, "cancel", str(job["id"]))
    assert cancelled["status"] in ("running", "starting", "queued", "cancelled")
    wait_for_job(home, job["id"], timeout=60)


def test_console_script_runs_in_a_real_process(tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "app.cli", "--home", str(tmp_path / "h"), "datasets", "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(completed.stdout) == {"datasets": []}


def test_every_command_is_documented_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    missing = [name for name in COMMANDS if f"mlops-studio {name}" not in readme]
    assert missing == []


def test_prepare_with_the_sample_recipe_and_list_recipes(tmp_path: Path) -> None:
    home = tmp_path / "h"
    run_json(home, "import", str(CREDIT), "--name", "credit")
    recipe = ROOT / "sample_data" / "credit_recipe.json"
    prepared = run_json(home, "prepare", "credit", "--recipe", str(recipe))
    assert prepared["version"]["version"] == 2 and prepared["steps"][0]["rows_dropped"] == 360
    assert {c["name"] for c in prepared["schema"]} >= {"default", "sex"}
    listed = run_json(home, "recipes")
    assert [(r["name"], r["version"]) for r in listed["recipes"]] == [("credit baseline", 1)]
    replayed = run_json(home, "prepare", "credit@1", "--recipe", "credit baseline")
    assert replayed["reused"] is True
    code, output = run(home, "prepare", "credit", "--recipe", str(recipe))
    assert code == 1 and "Step 2" in output and "applicant_id" in output


def _houses_small(tmp_path: Path) -> Path:
    import pandas as pd

    path = tmp_path / "houses_small.csv"
    pd.read_csv(ROOT / "sample_data" / "houses.csv").head(600).to_csv(path, index=False)
    return path


def _small_credit(tmp_path: Path, rows: int) -> Path:
    """A studio home holding the first ``rows`` rows of the sample credit table."""
    import pandas as pd

    home = tmp_path / "h"
    path = tmp_path / "credit_small.csv"
    pd.read_csv(CREDIT).head(rows).to_csv(path, index=False)
    run_json(home, "import", str(path), "--name", "credit")
    return home


def test_train_runs_register_models(tmp_path: Path) -> None:
    home = _small_credit(tmp_path, 1500)
    trained = run_json(
        home,
        "train",
        "credit",
        "--target",
        "default",
        "--model",
        "logistic_regression",
        "--model",
        "decision_tree",
        "--tune",
        "random",
        "--trials",
        "3",
        "--cv",
        "3",
    )
    assert trained["task"] == "binary" and trained["metric"] == "roc_auc"
    models = {row["model"] for row in trained["runs"]}
    assert models == {"dummy", "logistic_regression", "decision_tree"}
    best = trained["runs"][0]
    assert best["run_id"] == trained["best_run_id"] and best["cv_score"] > 0.6
    listed = run_json(home, "runs")
    assert {row["run_id"] for row in listed["runs"]} == {row["run_id"] for row in trained["runs"]}
    version = run_json(
        home, "register", str(best["run_id"]), "--name", "credit-risk", "--alias", "challenger"
    )
    assert version["version"] == 1 and version["aliases"] == ["challenger"]
    assert "max_abs_difference" in version["onnx"]
    registered = run_json(home, "models")
    assert [(m["model_name"], m["version"]) for m in registered["models"]] == [("credit-risk", 1)]
    code, text = run(home, "runs")
    assert code == 0 and "Logistic regression" in text


def test_train_regression_with_a_recipe_file(tmp_path: Path) -> None:
    import json as json_module

    home = tmp_path / "h"
    run_json(home, "import", str(_houses_small(tmp_path)), "--name", "houses")
    recipe = tmp_path / "r.json"
    recipe.write_text(json_module.dumps({"name": "houses", "cleaning": [], "features": None}))
    trained = run_json(
        home,
        "train",
        "houses",
        "--target",
        "price",
        "--recipe",
        str(recipe),
        "--model",
        "ridge",
        "--cv",
        "3",
    )
    assert trained["task"] == "regression" and trained["metric"] == "rmse"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "credit", "--target", "nope"], "not in the data"),
        (["train", "credit", "--target", "default", "--model", "xgboost"], "no model called"),
        (["register", "999", "--name", "x"], "no run 999"),
    ],
)
def test_training_errors_are_one_clear_line(tmp_path: Path, args: list[str], message: str) -> None:
    home = tmp_path / "h"
    run_json(home, "import", str(CREDIT), "--name", "credit")
    code, output = run(home, *args, "--json")
    assert code == 1
    assert message in json.loads(output.strip().splitlines()[-1])["error"]


def test_review_card_approve_and_champion(tmp_path: Path) -> None:
    home = _small_credit(tmp_path, 2000)
    trained = run_json(
        home,
        "train",
        "credit",
        "--target",
        "default",
        "--model",
        "logistic_regression",
        "--cv",
        "3",
    )
    run_json(home, "register", str(trained["best_run_id"]), "--name", "risk", "--no-onnx")
    card_path = tmp_path / "card.md"
    run_json(home, "card", "risk@1", "--out", str(card_path))
    assert "The review has not been run yet" in card_path.read_text()
    reviewed = run_json(home, "review", "risk@1", "--shap-rows", "200")
    assert {gate["name"] for gate in reviewed["gates"]} >= {"min_metric", "max_overfit_gap"}
    assert set(reviewed["sensitive_features"]) >= {"sex"}
    assert reviewed["fairness"]["disparities"]
    assert reviewed["top_features"][0]["mean_abs_shap"] > 0
    assert reviewed["passed"], [g for g in reviewed["gates"] if g["passed"] is False]
    # the CLI's review is the version's saved review: the card shows its gates and fairness
    assert run_json(home, "card", "risk@1", "--out", str(card_path))["path"] == str(card_path)
    card = card_path.read_text()
    assert "Passes every gate that was checked" in card and "from the command line" in card
    assert "| Holdout ROC AUC | pass |" in card
    assert "Not run." not in card and "Not measured." not in card
    assert "Demographic parity difference" in card
    html_path = tmp_path / "card.html"
    run_json(home, "card", "risk@1", "--out", str(html_path))
    assert "Model card: risk v1" in html_path.read_text()
    code, output = run(home, "alias", "risk@1", "champion", "--json")
    assert code == 1 and "only an approved version" in output
    approve = ("approve", "risk@1", "--reviewer", "Ana", "--decision", "approve")
    code, output = run(home, *approve, "--comment", "ok", "--json")
    assert code == 1 and "tick every checklist item" in output
    why = "Gates pass; fairness gap explained"
    code, output = run(home, *approve, "--comment", why, "--confirm-checklist", "--json")
    assert code == 1 and "risk v1 has no intended use written" in output
    assert "give a reason of at least 10 characters" in output
    use = "Pre-screening of consumer loan applications; not for final decisions"
    assert run_json(home, "intended-use", "risk@1", use)["intended_use"] == use
    approved = run_json(home, *approve, "--comment", why, "--confirm-checklist")
    assert approved["decision"] == "approve" and approved["override_reason"] is None
    evidence = approved["evidence"]
    assert evidence["passed"] is True and evidence["review_source"] == "the command line"
    assert {gate["name"] for gate in evidence["gates"]} >= {"min_metric", "max_overfit_gap"}
    assert evidence["fairness"]
    assert run_json(home, "alias", "risk@1", "champion")["aliases"] == ["champion"]


def _registered_credit(tmp_path: Path) -> Path:
    home = _small_credit(tmp_path, 1500)
    trained = run_json(
        home, "train", "credit", "--target", "default", "--model", "decision_tree", "--cv", "2"
    )
    run_json(home, "register", str(trained["best_run_id"]), "--name", "risk")
    return home


def test_deploy_list_rotate_restart_and_undeploy(tmp_path: Path) -> None:
    import httpx

    home = _registered_credit(tmp_path)
    code, output = run(home, "deploy", "risk@1", "--json")
    assert code == 1 and "only an approved version is deployed" in output
    deployed = run_json(home, "deploy", "risk@1", "--reason", "CLI test of deployment")
    assert deployed["status"] == "running" and deployed["api_key"].startswith("mls_")
    url, key = deployed["url"], deployed["api_key"]
    try:
        meta = httpx.get(f"{url}/metadata", headers={"Authorization": f"Bearer {key}"}).json()
        assert meta["label"] == "risk v1" and meta["engine"] == "onnx"
        listed = run_json(home, "deployments")["deployments"]
        assert [(d["id"], d["health"]["status"]) for d in listed] == [(deployed["id"], "ok")]
        assert "api_key_hash" not in listed[0]
        assert "answers /health" in run_json(home, "logs", str(deployed["id"]))["log"]
        new_key = run_json(home, "rotate-key", str(deployed["id"]))["api_key"]
        assert new_key != key
        assert run_json(home, "revoke-key", str(deployed["id"]))["key_revoked_at"]
        assert run_json(home, "undeploy", str(deployed["id"]))["status"] == "stopped"
        assert run_json(home, "deployments")["deployments"] == []
        assert run_json(home, "restart", str(deployed["id"]))["status"] == "running"
        code, output = run(home, "rollback", str(deployed["id"]))
        assert code == 1 and "nothing to roll back to" in output
    finally:
        run(home, "undeploy", str(deployed["id"]))
    assert [d["status"] for d in run_json(home, "deployments", "--all")["deployments"]] == [
        "stopped"
    ]


def test_stop_ends_the_scheduler_and_sample_traffic_and_with_a_flag_every_deployment(
    tmp_path: Path, wait_until
) -> None:
    from core import scheduler
    from core.demo import keep_sample_key, start_live_traffic
    from core.jobs import refresh_job
    from core.processes import process_running
    from core.serving.deployments import get_deployment, recent_predictions

    home = _registered_credit(tmp_path)
    deployed = run_json(home, "deploy", "risk@1", "--reason", "CLI test of stopping")
    deployment = deployed["id"]
    try:
        keep_sample_key(home, deployment, deployed["api_key"])  # as the seeding job does
        traffic = start_live_traffic(home, deployment, seconds=600)
        wait_until(lambda: "Sent" in refresh_job(home, traffic.id).message, timeout=60)
        pid = scheduler.start_in_background(home)
        wait_until(lambda: scheduler.running_pid(home) == pid, timeout=60)
        sending = refresh_job(home, traffic.id).message  # "Sent 12 requests (0 failed)"
        sent = int(re.sub(r"\D", "", sending.split("(")[0]))

        stopped = run_json(home, "stop")
        assert (stopped["scheduler_pid"], stopped["sample_traffic_job"]) == (pid, traffic.id)
        assert stopped["deployments"] == [] and stopped["deployments_running"] == [deployment]
        assert not process_running(pid, scheduler.SCHEDULER_MODULE)
        assert refresh_job(home, traffic.id).status == "cancelled"
        assert get_deployment(home, deployment).status == "running"  # only with --deployments
        code, output = run(home, "stop")
        assert code == 0 and output.splitlines() == [
            "No scheduler was running.",
            f"Deployment(s) {deployment} still run: `mlops-studio stop --deployments` stops them.",
        ]

        code, output = run(home, "stop", "--deployments")
        assert code == 0 and output.splitlines() == [
            "No scheduler was running.",
            f"Stopped deployment(s) {deployment}.",
        ]
        assert get_deployment(home, deployment).status == "stopped"
        # stopped gracefully: every request the traffic reported is in the prediction log
        assert len(recent_predictions(home, deployment, limit=10_000)) >= sent > 0
    finally:
        run(home, "undeploy", str(deployment))
        scheduler.stop(home)


def test_stop_says_which_jobs_still_run_or_wait_and_how_to_cancel_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, wait_until: Any
) -> None:
    from core.jobs import cancel_job, refresh_job, submit_job
    from core.jobs.pool import SLOTS_ENV

    monkeypatch.setenv(SLOTS_ENV, "1")
    home = tmp_path / "h"
    params = {"steps": 600, "seconds": 0.05}
    running = submit_job(home, kind="sleep", params=params)
    waiting = submit_job(home, kind="sleep", params={**params, "seconds": 0.06})
    try:
        wait_until(lambda: (job := refresh_job(home, running.id)) and job.status == "running")
        code, output = run(home, "stop")
        assert code == 0 and output.splitlines() == [
            "No scheduler was running.",
            f"Job {running.id} (Waiting) is still running: "
            f"`mlops-studio cancel {running.id}` stops it.",
            f"Job {waiting.id} (Waiting) waits for a free slot: "
            f"`mlops-studio cancel {waiting.id}` stops it.",
        ]
    finally:
        for job in (waiting, running):
            cancel_job(home, job.id)
            wait_for_job(home, job.id, timeout=60)


def test_serve_in_the_foreground_until_interrupted(tmp_path: Path, wait_until) -> None:
    import os
    import signal

    import httpx

    from core.serving.deployments import free_port

    home = _registered_credit(tmp_path)
    port = free_port()
    env = {**os.environ, "MLOPS_STUDIO_API_KEY": "a-key-for-this-test"}
    args = [sys.executable, "-m", "app.cli", "--home", str(home), "serve", "risk@1"]
    args += ["--port", str(port), "--reason", "foreground test run", "--json"]
    server = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        announced = json.loads(server.stdout.readline())
        assert announced["url"] == f"http://127.0.0.1:{port}" and "api_key" not in announced
        wait_until(
            lambda: httpx.get(f"{announced['url']}/health").json()["status"] == "ok",
            timeout=90,
            every=0.2,
            ignoring=(httpx.HTTPError,),
        )
        key = {"X-API-Key": "a-key-for-this-test"}
        inputs = httpx.get(f"{announced['url']}/metadata", headers=key).json()["inputs"]
        known = {"age": 40, "annual_income": 50000}  # every other input sent as missing (null)
        row = {"records": [{c["name"]: known.get(c["name"]) for c in inputs}]}
        answer = httpx.post(f"{announced['url']}/predict", json=row, headers=key)
        assert answer.status_code == 200 and answer.json()["model_version"] == "risk v1"
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(30)
        server.stdout.close()
    assert run_json(home, "deployments", "--all")["deployments"][0]["status"] == "stopped"


def test_predict_scores_a_file_and_refuses_bad_input(tmp_path: Path) -> None:
    import pandas as pd

    home = _small_credit(tmp_path, 1500)
    model = ("--model", "logistic_regression", "--cv", "2")
    trained = run_json(home, "train", "credit", "--target", "default", *model)
    run_json(home, "register", str(trained["best_run_id"]), "--name", "scorer", "--no-onnx")
    source = tmp_path / "new.csv"
    pd.read_csv(CREDIT).iloc[1500:1800].drop(columns=["default"]).to_csv(source, index=False)
    out = tmp_path / "scored.csv"
    scored = run_json(home, "predict", "scorer@1", str(source), "--out", str(out))
    assert scored["rows"] == 300 and scored["model_version"] == "scorer v1"
    assert scored["out"] == str(out) and scored["seconds"] > 0
    assert any("'applicant_id'" in note for note in scored["notes"])
    written = pd.read_csv(out)
    assert list(written.columns[-3:]) == ["prediction", "probability_0", "probability_1"]
    assert written["applicant_id"].tolist() == pd.read_csv(source)["applicant_id"].tolist()
    code, text = run(home, "predict", "scorer", str(source), "--out", str(tmp_path / "s.parquet"))
    assert code == 0 and re.match(r"Scored 300 rows with scorer v1 in [\d.]+ s; wrote ", text)
    code, output = run(home, "predict", "scorer", str(source), "--out", "s.xlsx", "--json")
    assert code == 1 and ".csv or .parquet" in json.loads(output)["error"]
    pd.read_csv(source).drop(columns=["age"]).to_csv(tmp_path / "no_age.csv", index=False)
    code, output = run(home, "predict", "scorer", str(tmp_path / "no_age.csv"), "--out", str(out))
    assert code == 1 and "lacks 1 column(s) that scorer v1 needs: 'age'" in output
    assert "Traceback" not in output
    code, output = run(home, "predict", "nope@1", str(source), "--out", str(out))
    assert code == 1 and "Cannot score with 'nope@1'" in output
    engine = ("predict", "scorer", str(source), "--out", str(out), "--engine")
    code, output = run(home, *engine, "fast", "--json")
    assert code == 1
    error = "engine must be one of auto, onnx, numpy, sklearn, not 'fast'."
    assert json.loads(output) == {"error": error}
    code, output = run(home, *engine, "onnx")  # registered with --no-onnx: no silent fallback
    assert code == 1 and output.startswith("Error: scorer v1 has no ONNX copy (")
    assert "use engine 'sklearn' or 'auto'." in output and "Traceback" not in output
    assert run_json(home, *engine, "sklearn")["rows"] == 300
    assert run_json(home, *engine, "numpy")["rows"] == 300  # verified when it was registered
    usage = CliRunner().invoke(cli, ["predict", "scorer", str(source), "--home", str(home)])
    assert usage.exit_code == 2 and "--out" in usage.output


def test_simulate_traffic_then_monitor(tmp_path: Path) -> None:
    import pandas as pd

    home = _registered_credit(tmp_path)
    deployed = run_json(home, "deploy", "risk@1", "--reason", "CLI test of monitoring")
    deployment = str(deployed["id"])
    production = ROOT / "sample_data" / "credit_production.csv"
    labels = ROOT / "sample_data" / "credit_production_labels.csv"
    try:
        code, output = run(home, "simulate", deployment, "--file", str(production), "--json")
        assert code == 1 and "API key" in output
        partial = tmp_path / "partial.csv"
        pd.read_csv(production).drop(columns="annual_income").head(20).to_csv(partial, index=False)
        key = ["--api-key", deployed["api_key"]]
        code, output = run(home, "simulate", deployment, "--file", str(partial), *key)
        assert code == 1 and "no column for the model's input(s) annual_income" in output
        args = ["--file", str(production), "--labels", str(labels), "--rate", "25"]
        args += ["--seconds", "3", "--label-delay", "0.5", "--api-key", deployed["api_key"]]
        sent = run_json(home, "simulate", deployment, *args)
        assert sent["sent"] == 75 and sent["failed"] == 0 and sent["labelled"] == 75
        seen = run_json(home, "monitor", deployment, "--minutes", "10")
        assert seen["requests"] == 75 and seen["error_rate"] == 0
        assert seen["labelled"] == 75 and 0 <= seen["performance"] <= 1
        assert sum(seen["prediction_mix"].values()) == 75 and seen["p50_ms"] > 0
        code, output = run(home, "monitor", deployment)
        assert code == 0 and "75 requests" in output
        from core.serving.deployments import recent_predictions

        ids = [row["request_id"] for row in recent_predictions(home, deployed["id"], limit=3)]
        label_file = tmp_path / "labels.csv"
        label_file.write_text("request_id,label\n" + "".join(f"{i},1\n" for i in ids) + "nope,1\n")
        report = run_json(home, "labels", deployment, str(label_file))
        assert report["applied"] == 3 and report["unknown"] == ["nope"]
    finally:
        run(home, "undeploy", deployment)


def test_drift_between_two_files(tmp_path: Path) -> None:
    import pandas as pd

    credit = pd.read_csv(CREDIT, nrows=4000)
    credit.iloc[:2000].to_csv(tmp_path / "reference.csv", index=False)
    current = credit.iloc[2000:].assign(interest_rate=lambda f: f["interest_rate"] + 3)
    current.drop(columns=["region"]).to_csv(tmp_path / "current.csv", index=False)
    files = (str(tmp_path / "reference.csv"), str(tmp_path / "current.csv"))
    home = tmp_path / "h"
    report = run_json(home, "drift", *files)
    by_name = {column["column"]: column for column in report["columns"]}
    assert (
        by_name["interest_rate"]["drifted"] and by_name["interest_rate"]["method"] == "wasserstein"
    )
    assert not by_name["age"]["drifted"] and "applicant_id" not in by_name  # an id: skipped
    assert report["missing_columns"] == ["region"] and report["drifted_columns"] == 1
    assert report["drift_share"] == 1 / len(by_name) and report["dataset_drift"] is False
    code, text = run(home, "drift", *files, "--method", "ks", "--column", "age", "--column", "sex")
    assert code == 0 and "Drift share 0/2 = 0.00" in text
    assert re.search(r"^age\s+ks\s+[\d.e-]+\s+[\d.e-]+\s+0\.05\s+ok$", text, re.M)
    code, text = run(home, "drift", *files)
    assert text.splitlines()[2].startswith("interest_rate") and "DRIFT" in text.splitlines()[2]
    code, output = run(home, "drift", *files, "--method", "nope", "--json")
    assert code == 1 and "no drift method called 'nope'" in json.loads(output)["error"]


def test_json_output_writes_null_for_non_finite_numbers(capsys) -> None:
    import numpy as np

    from app.cli.group import emit

    payload = {
        "mean": float("nan"),
        "nested": {"values": [1.5, float("inf"), (float("-inf"), 2)], "deeper": [{"x": np.nan}]},
        "numpy": np.float32("nan"),
        "array": np.array([1.0, np.inf]),
        "path": Path("/tmp/x"),
    }
    emit(payload, True, str)
    printed = capsys.readouterr().out
    assert "NaN" not in printed and "Infinity" not in printed
    parsed = json.loads(printed, parse_constant=lambda name: pytest.fail(f"bare {name}"))
    assert parsed == {
        "mean": None,
        "nested": {"values": [1.5, None, [None, 2]], "deeper": [{"x": None}]},
        "numpy": None,
        "array": [1.0, None],
        "path": "/tmp/x",
    }


def test_threshold_shows_suggests_and_keeps_a_cut_off(tmp_path: Path, loans_studio) -> None:
    home = loans_studio(tmp_path / "studio", rows=400, seed=9)
    shown = run_json(home, "threshold", "loans@1")
    assert shown["decision_threshold"] is None and shown["at_threshold"]["threshold"] == 0.5
    assert shown["best_f1"]["f1"] >= shown["at_threshold"]["f1"]
    kept = run_json(home, "threshold", "loans@1", "--costs", "1", "20")
    assert kept["decision_threshold"] < 0.5 and "cheapest mistakes" in kept["basis"]
    code, text = run(home, "threshold", "loans@1")
    assert code == 0 and "decides by" in text and "Best F1:" in text
    code, text = run(home, "threshold", "loans@1", "--set", "1.5")
    assert code == 1 and "between 0 and 1" in text and "Traceback" not in text
    code, text = run(home, "threshold", "loans@1", "--set", "0.4", "--best-f1")
    assert code != 0 and "Choose one of" in text
    assert run_json(home, "threshold", "loans@1", "--clear")["decision_threshold"] is None
