"""Every role against every write action's entry point in core/: refused with a message naming
the role needed, or let through to the action itself (which then fails on the made-up ids
given here, never on permission)."""

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from core.auth import ROLES, NotAllowed, Permission
from core.auth.duties import set_separation_of_duties
from core.data.datasets import import_dataset, set_column_roles
from core.jobs.runner import submit_job
from core.monitor import alerts
from core.monitor.labels import apply_labels
from core.prep.prepare import prepare_dataset
from core.prep.recipe import Recipe
from core.retrain.challenger import dry_run, start_retrain
from core.retrain.challenger.decision import keep_champion, promote
from core.retrain.policies import set_policy_enabled
from core.review.review import submit_explanation, submit_review
from core.review.signoff import record_decision, set_intended_use
from core.review.threshold import set_threshold
from core.samples import import_samples
from core.serving import deployments
from core.train import tracking
from core.train.registry import register_run, remove_alias, set_alias
from core.train.training import submit_training

MISSING = Path("/nonexistent/file.csv")
ACTIONS: dict[str, tuple[Permission, Callable[[Path], object]]] = {
    "import a file": (Permission.IMPORT, lambda h: import_dataset(h, path=MISSING, name="x")),
    "import the samples": (
        Permission.IMPORT,
        lambda h: import_samples(h, progress=_stop),
    ),
    "set column roles": (
        Permission.PREPARE,
        lambda h: set_column_roles(h, version_id=999, roles={}),
    ),
    "prepare": (
        Permission.PREPARE,
        lambda h: prepare_dataset(h, version_id=999, recipe=Recipe()),
    ),
    "train": (Permission.TRAIN, lambda h: submit_training(h, None)),  # type: ignore[arg-type]
    "delete runs": (Permission.TRAIN, lambda h: tracking.delete_runs(h, [999])),
    "register": (Permission.REGISTER, lambda h: register_run(h, 999, name="m")),
    "set an alias": (
        Permission.REGISTER,
        lambda h: set_alias(h, name="nope", version=1, alias="champion"),
    ),
    "remove an alias": (
        Permission.REGISTER,
        lambda h: remove_alias(h, name="nope", alias="champion"),
    ),
    "explain": (Permission.EXPLAIN, lambda h: submit_explanation(h, None)),  # type: ignore[arg-type]
    "review": (Permission.REVIEW, lambda h: submit_review(h, None)),  # type: ignore[arg-type]
    "set the threshold": (
        Permission.REVIEW,
        lambda h: set_threshold(h, None, 0.5, basis="", actor="t"),  # type: ignore[arg-type]
    ),
    "write the intended use": (
        Permission.REVIEW,
        lambda h: set_intended_use(h, None, "x", actor="t"),  # type: ignore[arg-type]
    ),
    "sign off": (
        Permission.SIGN_OFF,
        lambda h: record_decision(h, "nope:1", reviewer="x", decision="reject", comment="no"),
    ),
    "deploy": (Permission.DEPLOY, lambda h: deployments.deploy(h, "nope:1")),
    "stop a service": (Permission.DEPLOY, lambda h: deployments.undeploy(h, 999)),
    "switch": (Permission.SWITCH, lambda h: deployments.switch_version(h, 999, "nope:1")),
    "make champion": (Permission.SWITCH, lambda h: promote(h, 999)),
    "keep champion": (Permission.SWITCH, lambda h: keep_champion(h, 999)),
    "roll back": (Permission.ROLL_BACK, lambda h: deployments.roll_back(h, 999)),
    "rotate a key": (Permission.KEYS, lambda h: deployments.rotate_key(h, 999)),
    "revoke a key": (Permission.KEYS, lambda h: deployments.revoke_key(h, 999)),
    "start a shadow": (Permission.SHADOW, lambda h: deployments.start_shadow(h, 999, "nope:1")),
    "stop a shadow": (Permission.SHADOW, lambda h: deployments.stop_shadow(h, 999)),
    "change a policy": (Permission.POLICIES, lambda h: set_policy_enabled(h, 999, False)),
    "retrain now": (Permission.POLICIES, lambda h: start_retrain(h, 999)),
    "send true labels": (
        Permission.LABELS,
        lambda h: apply_labels(h, 999, pd.DataFrame({"x": [1]}), classes=None),
    ),
    "dry run a retrain": (Permission.POLICIES, lambda h: dry_run(h, 999)),
    "acknowledge an alert": (Permission.ALERTS, lambda h: alerts.acknowledge(h, 999)),
    "switch an alert rule off": (
        Permission.ALERTS,
        lambda h: alerts.set_rule_enabled(h, 999, False),
    ),
    "change settings": (
        Permission.SETTINGS,
        lambda h: set_separation_of_duties(h, True, reason="as it was"),
    ),
}


def _stop(fraction: float, message: str) -> None:
    raise RuntimeError("stopped after the permission check")


@pytest.mark.parametrize("role", list(ROLES))
def test_every_role_is_refused_or_allowed_each_action_as_documented(team, as_role, role) -> None:
    outcomes = {}
    for action, (permission, call) in ACTIONS.items():
        with as_role(role):
            try:
                call(team)
                outcomes[action] = "allowed"
            except NotAllowed as error:
                assert f"that needs the {' or '.join(_roles(permission))} role" in str(error)
                outcomes[action] = "refused"
            except Exception:  # noqa: BLE001 - past the check, the made-up ids fail
                outcomes[action] = "allowed"
    expected = {
        action: "allowed" if permission in ROLES[role] else "refused"
        for action, (permission, _) in ACTIONS.items()
    }
    assert outcomes == expected


def _roles(permission: Permission) -> list[str]:
    return [role for role, allowed in ROLES.items() if permission in allowed]


def test_signed_out_on_a_studio_with_accounts_every_write_is_refused(team) -> None:
    for _, call in ACTIONS.values():
        with pytest.raises(NotAllowed, match="Sign in"):
            call(team)


def test_without_accounts_the_local_user_is_admin(studio_home) -> None:
    with pytest.raises(ValueError, match="There is no run 999"):  # past the check
        register_run(studio_home, 999, name="m")


def test_jobs_submitted_directly_are_checked_by_their_kind(team, as_role) -> None:
    with as_role("viewer"), pytest.raises(NotAllowed, match="data scientist or admin"):
        submit_job(team, kind="train", params={})
    with as_role("data scientist"), pytest.raises(NotAllowed, match="operator or admin"):
        submit_job(team, kind="batch_score", params={})
    with as_role("operator"), pytest.raises(NotAllowed, match="admin"):
        submit_job(team, kind="a kind nobody listed", params={})


def test_every_job_kind_says_what_its_submitter_needs() -> None:
    # a kind left out falls back to admin only: a new kind must be placed on purpose
    from core.auth.jobs import JOB_PERMISSIONS
    from core.jobs.kinds import JOB_KINDS

    assert set(JOB_KINDS) == set(JOB_PERMISSIONS)


def test_the_documented_role_sets(team) -> None:
    assert ROLES["viewer"] == {Permission.READ, Permission.DOWNLOAD_CARD}
    assert ROLES["admin"] == set(Permission)
    assert Permission.SIGN_OFF not in ROLES["data scientist"]
    assert Permission.TRAIN not in ROLES["reviewer"]
    assert Permission.DEPLOY in ROLES["operator"] and Permission.USERS not in ROLES["operator"]


def test_a_jobs_worker_does_every_step_its_checked_job_needs(team) -> None:
    from core.auth import Identity, acting_as

    # an operator's retrain registers the challenger it trained, inside the job's worker
    worker = Identity("opal", "operator", "job")
    with acting_as(worker), pytest.raises(ValueError, match="There is no run 999"):
        register_run(team, 999, name="m")
    with acting_as(Identity("opal", "operator", "session")), pytest.raises(NotAllowed):
        register_run(team, 999, name="m")
