"""The `mlops-studio` command line: a thin layer over core/, one module per life-cycle step,
each command with --json output."""

from app.cli.group import cli

# Every command in one table: its name, the step module (app/cli/<module>.py) that defines it with
# @cli.command(), and the line `mlops-studio --help` shows for it. `--help` reads only this table,
# and a command imports only its own step module (whose commands import what they need when they
# run), so start-up stays under half a second however heavy a step's dependencies are. Adding a
# command is its function in its step module plus one line here; tests/app/cli/test_startup.py
# checks that the two agree.
COMMANDS: dict[str, tuple[str, str]] = {
    # cluster
    "cluster": ("cluster", "Run tuning, batch scoring and explanations on a Dask cluster."),
    # datasets
    "datasets": ("datasets", "List datasets with their newest version."),
    "import": (
        "datasets",
        "Import a CSV/TSV, Parquet or JSON-lines file (optionally gzipped) as a dataset version.",
    ),
    "profile": (
        "datasets",
        "Column statistics and quality checks of a dataset (NAME or NAME@VERSION) or a file.",
    ),
    # deploy
    "deploy": (
        "deploy",
        "Deploy MODEL_VERSION as a supervised background service; prints its URL and API key.",
    ),
    "deployments": (
        "deploy",
        "List deployments (restarting any whose supervisor died) with their health.",
    ),
    "logs": (
        "deploy",
        "Print the end of deployment DEPLOYMENT_ID's service log (supervisor and uvicorn).",
    ),
    "predict": (
        "deploy",
        "Score every row of FILE with MODEL_VERSION (NAME, NAME@N or NAME@ALIAS) into --out, "
        "with the answers the prediction service gives.",
    ),
    "restart": (
        "deploy",
        "Start a stopped or failed deployment again, on its port and with its key.",
    ),
    "revoke-key": (
        "deploy",
        "Revoke deployment DEPLOYMENT_ID's API key: every request gets 401 until a rotation.",
    ),
    "rollback": ("deploy", "Switch deployment DEPLOYMENT_ID back to the version it served before."),
    "rotate-key": (
        "deploy",
        "Give deployment DEPLOYMENT_ID a new API key (shown once); the old one stops working.",
    ),
    "serve": (
        "deploy",
        "Serve MODEL_VERSION in the foreground until Ctrl+C (key: $MLOPS_STUDIO_API_KEY or new).",
    ),
    "switch": (
        "deploy",
        "Hot-swap deployment DEPLOYMENT_ID to MODEL_VERSION with no failed requests.",
    ),
    "undeploy": (
        "deploy",
        "Stop deployment DEPLOYMENT_ID gracefully (its logged predictions are kept).",
    ),
    # monitor
    "drift": (
        "monitor",
        "Data drift of CURRENT against REFERENCE, each a dataset (NAME or NAME@N) or a file.",
    ),
    "labels": (
        "monitor",
        "Send true labels from a file (request_id, label[, row]) to DEPLOYMENT_ID's log.",
    ),
    "monitor": (
        "monitor",
        "Traffic, latency, errors, predictions, labels, drift, estimated performance, quality "
        "tests and alerts of DEPLOYMENT_ID.",
    ),
    "simulate": (
        "monitor",
        "Replay FILE's rows against DEPLOYMENT_ID at --rate, sending true labels back later.",
    ),
    "worker": (
        "monitor",
        "Run the scheduler in the foreground: monitoring, alerts and retraining policies.",
    ),
    # people
    "audit": ("people", "The audit trail: who did what, with which role, hash-chained."),
    "settings": ("people", "Studio-wide settings (admins)."),
    "token": ("people", "Personal access tokens for the CLI and automation ($MLOPS_STUDIO_TOKEN)."),
    "users": ("people", "Accounts: who may sign in, and with which role."),
    # prepare
    "prepare": (
        "prepare",
        "Apply a recipe's cleaning steps to a dataset (NAME or NAME@VERSION) as a new version.",
    ),
    "recipes": ("prepare", "List saved recipes, newest first."),
    # retrain
    "policies": ("retrain", "DEPLOYMENT_ID's retraining policies and its recent retrains."),
    "policy": (
        "retrain",
        "Add a retraining policy to DEPLOYMENT_ID; the scheduler runs it from now on.",
    ),
    "promote": (
        "retrain",
        "Make RETRAIN_ID's challenger the champion and switch its deployment to it.",
    ),
    "retrain": (
        "retrain",
        "Retrain DEPLOYMENT_ID's model now on its training rows plus the labelled traffic.",
    ),
    "shadow": (
        "retrain",
        "Run MODEL_VERSION in shadow beside DEPLOYMENT_ID's version (or --stop it).",
    ),
    # review
    "alias": ("review", "Point ALIAS (e.g. champion) at MODEL_VERSION (NAME@N)."),
    "approve": (
        "review",
        "Record a review decision on MODEL_VERSION (approve, changes or reject), "
        "with the saved review as its evidence.",
    ),
    "card": (
        "review",
        "Write the model card of MODEL_VERSION as self-contained HTML (or Markdown for .md).",
    ),
    "intended-use": (
        "review",
        "Write who should use MODEL_VERSION, for what and for what not (on its model card).",
    ),
    "review": (
        "review",
        "Review MODEL_VERSION (NAME, NAME@N or NAME@ALIAS): gates, fairness, top features.",
    ),
    "threshold": (
        "review",
        "Show MODEL_VERSION's decision threshold on its holdout, or keep a new one with it.",
    ),
    # security
    "security": (
        "security",
        "Security review of MODEL_VERSION: membership inference, robustness, extraction exposure "
        "and artefact integrity, run as the Security tab's job (so the tab and the card show it).",
    ),
    # studio
    "cancel": ("studio", "Cancel a queued or running job."),
    "demo": ("studio", "Seed the sample project into the studio home (once; --reset rebuilds it)."),
    "jobs": (
        "studio",
        "List background jobs, their progress and each waiting job's place in the queue.",
    ),
    "stop": (
        "studio",
        "Stop the scheduler and the sample traffic (and, with --deployments, every deployment).",
    ),
    "ui": ("studio", "Open the studio in the browser."),
    # train
    "models": ("train", "List registered models, their versions and aliases."),
    "register": ("train", "Register a finished run as a version of a named model."),
    "runs": ("train", "List training runs, newest first."),
    "train": (
        "train",
        "Train (and tune) models on DATASET (NAME or NAME@VERSION); prints the leaderboard.",
    ),
}
cli.list_from(COMMANDS)


def main() -> None:
    cli(prog_name="mlops-studio")


__all__ = ["COMMANDS", "cli", "main"]
