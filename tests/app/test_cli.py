"""The CLI: each command works on a temp home, --json prints one object, errors are one line."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from app.cli import cli

ROOT = Path(__file__).resolve().parents[2]
CREDIT = ROOT / "sample_data" / "credit.csv"


def run(home: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, [*args, "--home", str(home)], catch_exceptions=False)
    return result.exit_code, result.output


def run_json(home: Path, *args: str) -> dict:
    code, output = run(home, *args, "--json")
    assert code == 0, output
    lines = output.strip().splitlines()
    assert len(lines) == 1, output
    return json.loads(lines[0])


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
    assert run_json(home, "jobs", "--all") == {"jobs": []}


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
    missing = [name for name in cli.commands if f"mlops-studio {name}" not in readme]
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
    assert code == 0 and "logistic_regression" in text


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
    reviewed = run_json(home, "review", "risk@1", "--shap-rows", "200")
    assert {gate["name"] for gate in reviewed["gates"]} >= {"min_metric", "max_overfit_gap"}
    assert set(reviewed["sensitive_features"]) >= {"sex"}
    assert reviewed["fairness"]["disparities"]
    assert reviewed["top_features"][0]["mean_abs_shap"] > 0
    card_path = tmp_path / "card.html"
    assert run_json(home, "card", "risk@1", "--out", str(card_path))["path"] == str(card_path)
    assert "Model card: risk v1" in card_path.read_text()
    code, output = run(home, "alias", "risk@1", "champion", "--json")
    assert code == 1 and "only an approved version" in output
    code, output = run(
        home,
        "approve",
        "risk@1",
        "--reviewer",
        "Ana",
        "--decision",
        "approve",
        "--comment",
        "ok",
        "--json",
    )
    assert code == 1 and "tick every checklist item" in output
    approved = run_json(
        home,
        "approve",
        "risk@1",
        "--reviewer",
        "Ana",
        "--decision",
        "approve",
        "--comment",
        "Gates pass; fairness gap explained",
        "--confirm-checklist",
    )
    assert approved["decision"] == "approve"
    assert run_json(home, "alias", "risk@1", "champion")["aliases"] == ["champion"]
