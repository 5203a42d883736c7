"""The people commands: the first admin, accounts and roles, tokens through
$MLOPS_STUDIO_TOKEN, refusals with a clear message and exit code 1, the audit commands, and a
UI that will not listen beyond this machine before anyone must sign in."""

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from app.cli import cli

ROOT = Path(__file__).resolve().parents[3]
PASSWORD = "correct horse battery"


def run(home: Path, *args: str, token: str | None = None, stdin: str | None = None):
    env = {"MLOPS_STUDIO_TOKEN": token} if token else {"MLOPS_STUDIO_TOKEN": ""}
    result = CliRunner().invoke(
        cli, [*args, "--home", str(home), "--json"], input=stdin, env=env, catch_exceptions=False
    )
    return result.exit_code, json.loads(result.stdout.strip().splitlines()[-1])


def _team(home: Path) -> str:
    code, added = run(home, "users", "add", "ada", "--role", "admin", "--password-stdin",
                      stdin=PASSWORD + "\n")  # fmt: skip
    assert code == 0 and added["role"] == "admin"
    code, made = run(home, "token", "create", "--user", "ada", token=None)
    assert code == 1 and "MLOPS_STUDIO_TOKEN" in made["error"]  # accounts now: a token is needed
    return _admin_token(home)


def _admin_token(home: Path) -> str:
    from core.auth import Identity, acting_as
    from core.auth.tokens import create_token

    with acting_as(Identity("ada", "admin", "session")):
        return create_token(home, "test").secret


def test_without_accounts_commands_run_as_the_local_admin(tmp_path) -> None:
    code, listed = run(tmp_path / "h", "users", "list")
    assert code == 0 and listed == {"users": []}
    code, first = run(tmp_path / "h", "users", "add", "vic", "--role", "viewer",
                      "--password-stdin", stdin=PASSWORD + "\n")  # fmt: skip
    assert code == 1 and "first account must be an admin" in first["error"]


def test_a_team_manages_people_and_tokens(tmp_path) -> None:
    home = tmp_path / "h"
    admin = _team(home)
    code, added = run(home, "users", "add", "<i>dan</i>", "--role", "data scientist",
                      "--password-stdin", token=admin, stdin=PASSWORD + "\n")  # fmt: skip
    assert code == 0 and added["name"] == "<i>dan</i>"
    code, made = run(home, "token", "create", "--user", "<i>dan</i>", "--days", "7", token=admin)
    assert code == 0 and made["token"].startswith("mls_")
    dans = made["token"]
    code, refused = run(home, "users", "role", "<i>dan</i>", "admin", token=dans)
    assert code == 1 and "that needs the admin role" in refused["error"]
    code, changed = run(home, "users", "role", "<i>dan</i>", "reviewer", token=admin)
    assert code == 0 and changed["role"] == "reviewer"
    code, listed = run(home, "token", "list", token=dans)
    assert code == 0 and [t["id"] for t in listed["tokens"]] == [made["id"]]
    assert "token" not in listed["tokens"][0]  # the secret is never listed
    code, _ = run(home, "token", "revoke", str(made["id"]), token=admin)
    assert code == 0
    code, revoked = run(home, "users", "list", token=dans)
    assert code == 1 and "was revoked" in revoked["error"]
    code, users = run(home, "users", "list", token=admin)
    assert code == 0 and {u["name"] for u in users["users"]} == {"ada", "<i>dan</i>"}
    code, _ = run(home, "users", "remove", "<i>dan</i>", token=admin)
    assert code == 0


def test_audit_verify_and_list(tmp_path) -> None:
    home = tmp_path / "h"
    admin = _team(home)
    code, check = run(home, "audit", "verify", token=admin)
    assert code == 0 and check["intact"] and check["checked"] >= 2
    code, events = run(home, "audit", "list", "--person", "ada", token=admin)
    assert code == 0 and {e["action"] for e in events["events"]} >= {"token.create"}
    assert {e["role"] for e in events["events"]} == {"admin"}
    from core.store import connect, writing

    with connect(home) as db, writing(db):
        db.execute("UPDATE audit_events SET action = 'nothing' WHERE id = 1")
    code, check = run(home, "audit", "verify", token=admin)
    assert code == 1 and check["problems"][0]["event_id"] == 1
    code, _ = run(home, "settings", "separation-of-duties", "off", "--reason", "test", token=admin)
    assert code == 0


def test_a_bad_token_is_one_clear_line_and_exit_code_1(tmp_path) -> None:
    home = tmp_path / "h"
    _team(home)
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "datasets", "--home", str(home)],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "MLOPS_STUDIO_TOKEN": "mls_x"},
    )  # fmt: skip
    assert result.returncode == 1
    assert "not one this studio issued" in result.stderr and "Traceback" not in result.stderr


def test_the_ui_will_not_listen_beyond_this_machine_without_sign_in(tmp_path) -> None:
    code, refused = run(tmp_path / "h", "ui", "--host", "0.0.0.0")
    assert code == 1 and "users add NAME --role admin" in refused["error"]
