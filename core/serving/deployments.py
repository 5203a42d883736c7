"""Deployments: start a supervised prediction service for a model version, follow it, switch
its version, rotate its key and stop it. The store keeps every deployment's state, so the UI
and the CLI find running services again after they restart."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from core import store
from core.artifacts import new_artifact_path, resolve
from core.auth import Permission
from core.auth.access import authorized_actor
from core.auth.duties import check_may_promote
from core.processes import process_running, spawn_detached
from core.serving.hardening import checked_settings
from core.serving.keys import key_hash, new_api_key
from core.serving.supervisor import (
    APP_FACTORY,
    SUPERVISOR_MODULE,
    answers,
    older_log,
    server_env,
)
from core.store import audit, connect, deployments, models
from core.store.deployments import Deployment, ServingSettings

LOOPBACK = "127.0.0.1"
READY_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 30.0
LOG_FOLDER = "deployments"
UNKNOWN_DEPLOYMENT = "There is no deployment {id}. `mlops-studio deployments` lists them."
PORT_TAKEN = "Port {port} on {host} is already in use; choose another port or leave it empty."
BAD_PORT = "A port must be a whole number from 1024 to 65535, not {port}."
BAD_WORKERS = "Workers must be a whole number from 1 to {most}, not {workers}."
NOT_APPROVED = (
    "{label} is {state}: only an approved version is deployed. Approve it on the Review page, "
    "or give a written reason to deploy it anyway (it is recorded in the audit log)."
)
SHORT_REASON = "An override reason must say why, in at least 10 characters."
NOT_READY = "{label} did not start within {seconds:.0f} s. The service log ends with:\n{tail}"
NOT_RUNNING = "Deployment {id} is {status}; start it again first."
NO_PREVIOUS = "Deployment {id} has served only {label}, so there is nothing to roll back to."
SAME_VERSION = "Deployment {id} already serves {label}."
SAME_SHADOW = "Deployment {id} serves {label}; a shadow must be another version."
SWITCH_TIMEOUT = "Deployment {id} did not switch to {label} within {seconds:.0f} s; see its log."
MAX_WORKERS = 16


class DeployError(ValueError):
    """A deployment action that cannot be done; the message says what to change."""


def find_model_version(home: Path, ref: str) -> models.ModelVersion:
    # imported on use: core.train.registry brings scikit-learn, which listing commands skip
    from core.train.registry import find_model_version as find

    return find(home, ref)


def model_version_by_id(home: Path, version_id: int) -> models.ModelVersion:
    from core.train.registry import model_version_by_id as by_id

    return by_id(home, version_id)


def model_version(home: Path, ref: str | int) -> models.ModelVersion:
    from core.train.registry import model_version as named

    return named(home, ref)


def free_port(host: str = LOOPBACK) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def deploy(
    home: Path,
    ref: str,
    *,
    host: str = LOOPBACK,
    port: int | None = None,
    workers: int = 1,
    actor: str = "studio",
    override_reason: str | None = None,
    wait: bool = True,
    settings: ServingSettings | None = None,
) -> tuple[Deployment, str]:
    """Start a supervised service for model version ``ref`` (with ``settings``' rate limit and
    answer shape); returns it and its API key (the only time the key is shown: the store keeps
    its hash)."""
    actor = authorized_actor(home, Permission.DEPLOY, actor)
    version = find_model_version(home, ref)
    reason = _approved_or_reason(version, override_reason)
    check_may_promote(home, version)
    check_files(home, version)  # before any row or process: a bad file is refused at once
    api_key = new_api_key()
    fields = {"log_path": new_artifact_path(LOG_FOLDER, ".log"), **_setting_fields(settings)}
    deployment = _new_deployment(home, version, host, port, workers, api_key, actor, fields)
    with connect(home) as db:
        _audit(db, actor, "deployment.create", deployment, version=version.label, reason=reason)
    _spawn_supervisor(home, deployment)
    return (wait_until_ready(home, deployment.id) if wait else deployment), api_key


def set_hardening(
    home: Path, deployment_id: int, settings: ServingSettings, *, actor: str = "studio"
) -> Deployment:
    """Change a deployment's rate limit and answer shape; its service follows within a second,
    without a restart."""
    actor = authorized_actor(home, Permission.DEPLOY, actor)
    deployment = get_deployment(home, deployment_id)
    with connect(home) as db:
        deployments.update(db, deployment_id, **_setting_fields(settings))
        _audit(db, actor, "deployment.hardening", deployment, **settings.to_dict())
    return get_deployment(home, deployment_id)


def hardening_of(deployment: Deployment) -> ServingSettings:
    """The rate limit and answer shape a deployment's service follows."""
    return ServingSettings(
        deployment.rate_limit,
        deployment.rate_burst,
        deployment.round_decimals,
        deployment.labels_only,
    )


def _setting_fields(settings: ServingSettings | None) -> dict[str, Any]:
    if settings is None:
        return {}
    checked = checked_settings(**settings.to_dict())
    return {**checked.to_dict(), "labels_only": int(checked.labels_only)}


def check_files(home: Path, version: models.ModelVersion) -> None:
    """DeployError in one line unless the version's files are present, unchanged and hold only
    trusted types: checked in the studio, so no service process starts for a bad file."""
    from core.serving.model_check import ModelCheckError, check_model_files

    try:
        check_model_files(home, version)
    except ModelCheckError as error:
        raise DeployError(str(error)) from None


def check_deployable(home: Path, ref: str, *, override_reason: str | None = None) -> str | None:
    """Refuse an unapproved version unless a written reason is given; returns the reason."""
    return _approved_or_reason(find_model_version(home, ref), override_reason)


def serve_in_foreground(
    home: Path,
    ref: str,
    *,
    host: str,
    port: int,
    workers: int,
    api_key: str,
    actor: str,
    override_reason: str | None = None,
    announce: Callable[[Deployment], None] = lambda deployment: None,
) -> None:
    """Run the service in this process until Ctrl+C or SIGTERM, as a deployment in the store
    (so its predictions are logged and the Deploy page lists it)."""
    import uvicorn

    check_deployable(home, ref, override_reason=override_reason)
    check_files(home, find_model_version(home, ref))
    deployment = open_foreground(
        home, ref, host=host, port=port, workers=workers, api_key=api_key, actor=actor
    )
    announce(deployment)
    os.environ.update(server_env(home, deployment.id))
    try:
        uvicorn.run(
            APP_FACTORY,
            factory=True,
            host=host,
            port=port,
            workers=workers,
            access_log=False,
            log_level="info",
        )
    finally:
        close_foreground(home, deployment.id)


def open_foreground(
    home: Path, ref: str, *, host: str, port: int, workers: int, api_key: str, actor: str
) -> Deployment:
    """The store row of a service run in the foreground (``mlops-studio serve``)."""
    version = find_model_version(home, ref)
    fields = {
        "status": "running",
        "foreground": 1,
        "supervisor_pid": os.getpid(),
        "server_pid": os.getpid(),
        "started_at": store.now(),
        "log_path": "",
    }
    deployment = _new_deployment(home, version, host, port, workers, api_key, actor, fields)
    with connect(home) as db:
        _audit(db, actor, "deployment.serve", deployment, version=version.label)
    return deployment


def _new_deployment(
    home: Path,
    version: models.ModelVersion,
    host: str,
    port: int | None,
    workers: int,
    api_key: str,
    actor: str,
    fields: Mapping[str, object],
) -> Deployment:
    """A deployment row for ``version`` on a checked port, keeping only the key's hash."""
    port = _usable_port(host, port)
    _check_workers(workers)
    with connect(home) as db:
        return deployments.insert(
            db,
            model_version_id=version.id,
            host=host,
            port=port,
            workers=workers,
            api_key_hash=key_hash(api_key),
            key_hint=api_key[-4:],
            key_created_at=store.now(),
            created_by=actor,
            **fields,
        )


def close_foreground(home: Path, deployment_id: int) -> None:
    with connect(home) as db:
        deployments.update(
            db,
            deployment_id,
            status="stopped",
            desired="stopped",
            stopped_at=store.now(),
            supervisor_pid=None,
            server_pid=None,
        )


def get_deployment(home: Path, deployment_id: int) -> Deployment:
    with connect(home) as db:
        found = deployments.get(db, deployment_id)
    if found is None:
        raise DeployError(UNKNOWN_DEPLOYMENT.format(id=deployment_id))
    return found


def list_deployments(home: Path, *, include_stopped: bool = True) -> list[Deployment]:
    with connect(home) as db:
        return deployments.find(db, include_stopped=include_stopped)


def wait_until_ready(
    home: Path, deployment_id: int, *, timeout: float = READY_TIMEOUT_S
) -> Deployment:
    """Wait until the service answers /health; DeployError with the log's tail if it cannot."""
    deadline = time.monotonic() + timeout
    while True:
        deployment = get_deployment(home, deployment_id)
        if deployment.status == "running":
            return deployment
        failed = deployment.status in ("failed", "stopped")
        if failed or time.monotonic() > deadline:
            tail = service_log(home, deployment, lines=15) or "(empty)"
            label = deployment.model_label
            raise DeployError(NOT_READY.format(label=label, seconds=timeout, tail=tail))
        time.sleep(0.1)


def undeploy(home: Path, deployment_id: int, *, actor: str = "studio") -> Deployment:
    """Stop a deployment gracefully (buffered predictions are written first)."""
    actor = authorized_actor(home, Permission.DEPLOY, actor)
    deployment = get_deployment(home, deployment_id)
    with connect(home) as db:
        deployments.update(db, deployment_id, desired="stopped")
        _audit(db, actor, "deployment.stop", deployment)
    supervisor = _live_supervisor(deployment)
    if supervisor is not None:
        os.kill(supervisor, signal.SIGTERM)
        _wait_for_status(home, deployment_id, ("stopped", "failed"), STOP_TIMEOUT_S)
    else:
        _stop_orphan(deployment)
        with connect(home) as db:
            deployments.update(
                db, deployment_id, status="stopped", stopped_at=store.now(), server_pid=None
            )
    return get_deployment(home, deployment_id)


def restart(home: Path, deployment_id: int, *, actor: str = "studio") -> Deployment:
    """Start a stopped or failed deployment again, on its port, with its key."""
    actor = authorized_actor(home, Permission.DEPLOY, actor)
    deployment = get_deployment(home, deployment_id)
    check_files(home, model_version_by_id(home, deployment.model_version_id))
    if deployment.active and _live_supervisor(deployment) is not None:
        undeploy(home, deployment_id, actor=actor)
    _usable_port(deployment.host, deployment.port)
    with connect(home) as db:
        deployments.update(db, deployment_id, desired="running", status="starting", last_error=None)
        _audit(db, actor, "deployment.start", deployment)
    _spawn_supervisor(home, get_deployment(home, deployment_id))
    return wait_until_ready(home, deployment_id)


def switch_version(
    home: Path,
    deployment_id: int,
    ref: str | int,
    *,
    actor: str = "studio",
    override_reason: str | None = None,
    timeout: float = READY_TIMEOUT_S,
    rolling_back: bool = False,
) -> Deployment:
    """Hot swap: the running service loads ``ref`` beside the current version and switches
    when it is ready; no request fails and each is answered by exactly one version."""
    actor = authorized_actor(home, Permission.SWITCH, actor)
    deployment = get_deployment(home, deployment_id)
    version = model_version(home, ref)
    if version.id == deployment.model_version_id:
        raise DeployError(SAME_VERSION.format(id=deployment_id, label=version.label))
    reason = None if rolling_back else _approved_or_reason(version, override_reason)
    if not rolling_back:
        check_may_promote(home, version)
    check_files(home, version)
    with connect(home) as db:
        deployments.update(
            db,
            deployment_id,
            model_version_id=version.id,
            previous_version_id=deployment.model_version_id,
        )
        _audit(db, actor, "deployment.switch", deployment, version=version.label, reason=reason)
    if deployment.active:
        _wait_for_version(get_deployment(home, deployment_id), version.label, timeout)
    return get_deployment(home, deployment_id)


def version_changes(home: Path, deployment_id: int, *, limit: int = 50) -> list[tuple[str, str]]:
    """(time, version label) of each switch or roll-back of a deployment, newest first."""
    with connect(home) as db:
        found = audit.events(
            db, entity_type="deployment", entity_id=str(deployment_id), limit=limit
        )
    return [
        (event.at, str(event.details.get("version", "")))
        for event in found
        if event.action == "deployment.switch"
    ]


def start_shadow(
    home: Path, deployment_id: int, ref: str | int, *, actor: str = "studio"
) -> Deployment:
    """Shadow mode: ``ref`` scores every answered request beside the served version, off the
    request path; its answers are logged for comparison and never returned."""
    actor = authorized_actor(home, Permission.SHADOW, actor)
    deployment = get_deployment(home, deployment_id)
    version = model_version(home, ref)
    if version.id == deployment.model_version_id:
        raise DeployError(SAME_SHADOW.format(id=deployment_id, label=version.label))
    with connect(home) as db:
        deployments.update(db, deployment_id, shadow_version_id=version.id)
        _audit(db, actor, "deployment.shadow.start", deployment, version=version.label)
    return get_deployment(home, deployment_id)


def stop_shadow(home: Path, deployment_id: int, *, actor: str = "studio") -> Deployment:
    """The shadow version stops scoring traffic (its logged answers stay for comparison)."""
    actor = authorized_actor(home, Permission.SHADOW, actor)
    deployment = get_deployment(home, deployment_id)
    with connect(home) as db:
        deployments.update(db, deployment_id, shadow_version_id=None)
        _audit(db, actor, "deployment.shadow.stop", deployment)
    return get_deployment(home, deployment_id)


def roll_back(home: Path, deployment_id: int, *, actor: str = "studio") -> Deployment:
    """Switch back to the version served before the current one."""
    actor = authorized_actor(home, Permission.ROLL_BACK, actor)
    deployment = get_deployment(home, deployment_id)
    if deployment.previous_version_id is None:
        raise DeployError(NO_PREVIOUS.format(id=deployment_id, label=deployment.model_label))
    # it was served before, so it passed the approval check then
    previous = deployment.previous_version_id
    return switch_version(home, deployment_id, previous, actor=actor, rolling_back=True)


def rotate_key(home: Path, deployment_id: int, *, actor: str = "studio") -> str:
    """A new API key; the old one stops working within a second. Shown once."""
    actor = authorized_actor(home, Permission.KEYS, actor)
    deployment = get_deployment(home, deployment_id)
    api_key = new_api_key()
    with connect(home) as db:
        deployments.update(
            db,
            deployment_id,
            api_key_hash=key_hash(api_key),
            key_hint=api_key[-4:],
            key_created_at=store.now(),
            key_revoked_at=None,
        )
        _audit(db, actor, "deployment.rotate_key", deployment)
    return api_key


def revoke_key(home: Path, deployment_id: int, *, actor: str = "studio") -> Deployment:
    """No key works until the key is rotated; the service answers 401 to every request."""
    actor = authorized_actor(home, Permission.KEYS, actor)
    deployment = get_deployment(home, deployment_id)
    with connect(home) as db:
        deployments.update(db, deployment_id, api_key_hash=None, key_revoked_at=store.now())
        _audit(db, actor, "deployment.revoke_key", deployment)
    return get_deployment(home, deployment_id)


def reattach(home: Path) -> list[Deployment]:
    """Find the services that should be running: keep the live ones, restart the supervisor of
    any that died (e.g. after a reboot), and mark ended foreground services stopped."""
    for deployment in list_deployments(home, include_stopped=False):
        if deployment.desired != "running" or _live_supervisor(deployment) is not None:
            continue
        if deployment.foreground:
            close_foreground(home, deployment.id)
            continue
        _stop_orphan(deployment)
        with connect(home) as db:
            deployments.update(db, deployment.id, status="restarting", server_pid=None)
        _spawn_supervisor(home, get_deployment(home, deployment.id))
    return list_deployments(home)


def health(deployment: Deployment) -> dict | None:
    """The service's own /health answer, or None when it does not answer."""
    return answers(deployment.url) if deployment.active else None


def service_log(home: Path, deployment: Deployment, *, lines: int = 200) -> str:
    """The last ``lines`` lines of the deployment's service log."""
    if not deployment.log_path:
        return ""
    path = resolve(home, deployment.log_path)
    found = _tail(path, lines)
    if len(found) < lines:  # just rotated: the older part holds the lines before
        found = _tail(older_log(path), lines - len(found)) + found
    return "\n".join(found)


def _tail(path: Path, lines: int) -> list[str]:
    if lines <= 0 or not path.exists():
        return []
    with path.open("rb") as file:
        file.seek(max(0, path.stat().st_size - 256 * 1024))
        text = file.read().decode("utf-8", "replace")
    return text.splitlines()[-lines:]


def recent_predictions(home: Path, deployment_id: int, *, limit: int = 50) -> list[dict[str, Any]]:
    """The deployment's newest logged predictions, one per row, newest first."""
    with connect(home) as db:
        return deployments.predictions(db, deployment_id, limit=limit)


# -- helpers -----------------------------------------------------------------------------------


def _approved_or_reason(version: models.ModelVersion, reason: str | None) -> str | None:
    if version.review_state == "approved":
        return None
    if reason is None or not reason.strip():
        raise DeployError(NOT_APPROVED.format(label=version.label, state=version.review_state))
    if len(reason.strip()) < 10:
        raise DeployError(SHORT_REASON)
    return reason.strip()


def _usable_port(host: str, port: int | None) -> int:
    if port is None:
        return free_port(host)
    if type(port) is not int or not 1024 <= port <= 65535:
        raise DeployError(BAD_PORT.format(port=port))
    with socket.socket() as probe:
        # as uvicorn binds: a port whose old connections linger in TIME_WAIT is free
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            raise DeployError(PORT_TAKEN.format(port=port, host=host)) from error
    return port


def _check_workers(workers: int) -> None:
    if type(workers) is not int or not 1 <= workers <= MAX_WORKERS:
        raise DeployError(BAD_WORKERS.format(most=MAX_WORKERS, workers=workers))


def _spawn_supervisor(home: Path, deployment: Deployment) -> None:
    args = [sys.executable, "-m", SUPERVISOR_MODULE, "--home", str(home)]
    args += ["--deployment", str(deployment.id)]
    process = spawn_detached(args, resolve(home, deployment.log_path))
    with connect(home) as db:
        deployments.update(db, deployment.id, supervisor_pid=process.pid)


def _live_supervisor(deployment: Deployment) -> int | None:
    pid = deployment.supervisor_pid
    marker = "serve" if deployment.foreground else SUPERVISOR_MODULE
    return pid if pid is not None and process_running(pid, marker) else None


def _stop_orphan(deployment: Deployment) -> None:
    """A service whose supervisor is gone: end its process group if it is still ours."""
    pid = deployment.server_pid
    if pid is not None and process_running(pid, "core.serving.app:deployment_app"):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGTERM)


def _wait_for_status(
    home: Path, deployment_id: int, wanted: tuple[str, ...], timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while get_deployment(home, deployment_id).status not in wanted:
        if time.monotonic() > deadline:
            return
        time.sleep(0.1)


def _wait_for_version(deployment: Deployment, label: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = answers(deployment.url)
        if found and found.get("model_version") == label:
            return
        time.sleep(0.1)
    raise DeployError(SWITCH_TIMEOUT.format(id=deployment.id, label=label, seconds=timeout))


def _audit(db, actor: str, action: str, deployment: Deployment, **details: object) -> None:
    details = {k: v for k, v in details.items() if v is not None}
    audit.record(
        db,
        actor=actor,
        action=action,
        entity_type="deployment",
        entity_id=deployment.id,
        details={"model_version": deployment.model_label, **details},
    )
