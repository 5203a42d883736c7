"""The `mlops-studio` command line: a thin layer over core/, each command with --json output."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

import click

from core import settings

APP_FILE = Path(__file__).resolve().parent / "streamlit_app.py"
API_KEY_ENV = "MLOPS_STUDIO_API_KEY"


class StudioContext:
    def __init__(self, home: str | None) -> None:
        self.home_option = home

    @property
    def home(self) -> Path:
        return settings.studio_home(self.home_option)


def _emit(payload: dict[str, Any], as_json: bool, text: Callable[[dict[str, Any]], str]) -> None:
    click.echo(json.dumps(payload, default=str) if as_json else text(payload))


def _fail(message: str, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps({"error": message}))
    else:
        click.echo(f"Error: {message}", err=True)
    sys.exit(1)


def studio_command(function: Callable[..., None]) -> Callable[..., None]:
    """Add --home and --json, and turn expected errors into a clear message and exit code 1."""

    @click.option(
        "--home",
        "home",
        default=None,
        help="Studio home (default $MLOPS_STUDIO_HOME or ./.studio).",
    )
    @click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
    @click.pass_obj
    @wraps(function)
    def wrapper(obj: StudioContext, home: str | None, as_json: bool, **kwargs: Any) -> None:
        context = StudioContext(home or obj.home_option)
        try:
            function(context, as_json=as_json, **kwargs)
        except (ValueError, KeyError, FileNotFoundError, RuntimeError, TimeoutError) as error:
            message = error.args[0] if isinstance(error, KeyError) and error.args else str(error)
            _fail(str(message), as_json)

    return wrapper


@click.group()
@click.option("--home", default=None, help="Studio home (default $MLOPS_STUDIO_HOME or ./.studio).")
@click.version_option(package_name="mlops-studio")
@click.pass_context
def cli(ctx: click.Context, home: str | None) -> None:
    """MLOps Studio: the machine-learning life cycle for tabular data."""
    ctx.obj = StudioContext(home)


@cli.command()
@click.option("--port", default=8501, show_default=True, type=int)
@click.option("--host", default="localhost", show_default=True, help="Address the UI listens on.")
@click.option("--demo", is_flag=True, help="Seed the sample project first (once per home).")
@studio_command
def ui(ctx: StudioContext, *, as_json: bool, port: int, host: str, demo: bool) -> None:
    """Open the studio in the browser."""
    if demo:
        from core.demo import seed_demo

        seed_demo(ctx.home)
    command = [
        sys.executable,
        "-m",
        "app.serve",
        "run",
        str(APP_FILE),
        "--server.port",
        str(port),
        "--server.address",
        host,
        "--server.maxUploadSize",
        str(settings.max_import_mb()),
        "--browser.gatherUsageStats",
        "false",
        "--client.toolbarMode",
        "viewer",
        "--server.fileWatcherType",
        "none",
    ]
    env = {**os.environ, settings.HOME_ENV: str(ctx.home)}
    from core.scheduler import start_in_background

    scheduler = start_in_background(ctx.home)  # monitoring goes on after the UI closes
    if as_json:
        shown = {"url": f"http://{host}:{port}", "home": str(ctx.home), "scheduler_pid": scheduler}
        click.echo(json.dumps(shown))
    os.execve(sys.executable, command, env)


@cli.command(name="import")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--name", required=True, help="Dataset name; a new version is added if it exists.")
@click.option("--delimiter", default=None, help="CSV delimiter, when sniffing guesses wrong.")
@click.option("--encoding", default=None, help="Text encoding, when sniffing guesses wrong.")
@studio_command
def import_(
    ctx: StudioContext,
    *,
    as_json: bool,
    path: Path,
    name: str,
    delimiter: str | None,
    encoding: str | None,
) -> None:
    """Import a CSV/TSV, Parquet or JSON-lines file (optionally gzipped) as a dataset version."""
    from core.data.datasets import import_dataset

    if not path.is_file():
        raise FileNotFoundError(f"There is no file at {path}. Check the path and try again.")
    outcome = import_dataset(
        ctx.home, path=path, name=name, delimiter=delimiter, encoding=encoding, actor="cli"
    )
    _emit(outcome.to_dict(), as_json, _import_text)


def _import_text(payload: dict[str, Any]) -> str:
    version, report = payload["version"], payload["report"]
    verb = "Reused" if payload["reused"] else "Imported"
    lines = [
        f"{verb} {version['dataset']} v{version['version']} (id {version['id']}): "
        f"{version['rows']:,} rows x {version['columns']} columns, "
        f"sha256 {version['content_hash'][:12]}"
    ]
    if report.get("skipped_rows"):
        lines.append(f"Skipped {report['skipped_rows']} ragged rows.")
    lines += [f"Note: {warning}" for warning in report.get("warnings", [])]
    return "\n".join(lines)


@cli.command()
@studio_command
def datasets(ctx: StudioContext, *, as_json: bool) -> None:
    """List datasets with their newest version."""
    from core.data.datasets import list_datasets

    summaries = [summary.to_dict() for summary in list_datasets(ctx.home)]
    _emit({"datasets": summaries}, as_json, _datasets_text)


def _datasets_text(payload: dict[str, Any]) -> str:
    if not payload["datasets"]:
        return "No datasets yet. Import one with `mlops-studio import FILE --name NAME`."
    rows = [f"{'name':<28} {'versions':>8} {'rows':>10} {'columns':>8}  imported"]
    for item in payload["datasets"]:
        latest = item["latest_version"]
        rows.append(
            f"{item['name'][:28]:<28} {item['versions']:>8} {latest['rows']:>10,} "
            f"{latest['columns']:>8}  {latest['created_at'][:19]}"
        )
    return "\n".join(rows)


@cli.command()
@click.argument("dataset_or_path")
@click.option("--target", default=None, help="Target column, for imbalance and leakage checks.")
@studio_command
def profile(ctx: StudioContext, *, as_json: bool, dataset_or_path: str, target: str | None) -> None:
    """Column statistics and quality checks of a dataset (NAME or NAME@VERSION) or a file."""
    from core.data.datasets import profile_source

    result = profile_source(ctx.home, dataset_or_path, target=target)
    _emit(result, as_json, _profile_text)


def _profile_text(payload: dict[str, Any]) -> str:
    lines = [
        f"{payload['source']}: {payload['rows']:,} rows x {payload['column_count']} columns, "
        f"{payload['duplicate_rows']:,} duplicate rows, "
        f"{payload['missing_pct']:.1f}% cells missing",
        "",
        f"{'column':<28} {'role':<11} {'missing':>8} {'distinct':>9}  summary",
    ]
    for column in payload["columns"]:
        lines.append(
            f"{column['name'][:28]:<28} {column['role']:<11} {column['missing']:>8,} "
            f"{column['distinct']:>9,}  {_column_summary(column)}"
        )
    lines += ["", "Quality checks:"]
    lines += [
        f"  [{finding['severity']}] {finding['message']}" for finding in payload["quality"]
    ] or ["  no issues found"]
    return "\n".join(lines)


def _column_summary(column: dict[str, Any]) -> str:
    if column.get("mean") is not None:
        return (
            f"mean {column['mean']:.4g}, std {column.get('std') or 0:.4g}, "
            f"min {column['min']:.4g}, max {column['max']:.4g}"
        )
    top = column.get("top_values") or []
    return ", ".join(f"{value} ({count})" for value, count in top[:3])


@cli.command()
@click.argument("dataset")
@click.option(
    "--recipe",
    "recipe_ref",
    required=True,
    help="A recipe JSON file, or a saved recipe as NAME or NAME@N.",
)
@studio_command
def prepare(ctx: StudioContext, *, as_json: bool, dataset: str, recipe_ref: str) -> None:
    """Apply a recipe's cleaning steps to a dataset (NAME or NAME@VERSION) as a new version."""
    from core.data.datasets import find_version
    from core.prep.prepare import find_recipe, prepare_dataset

    source = find_version(ctx.home, dataset)
    recipe = find_recipe(ctx.home, recipe_ref)
    outcome = prepare_dataset(ctx.home, version_id=source.id, recipe=recipe, actor="cli")
    _emit(outcome.to_dict(), as_json, _prepare_text)


def _prepare_text(payload: dict[str, Any]) -> str:
    version = payload["version"]
    verb = "Reused" if payload["reused"] else "Created"
    lines = [
        f"{verb} {version['dataset']} v{version['version']} (id {version['id']}) from version "
        f"id {version['parent_version_id']} with recipe {payload['recipe']['name']} "
        f"v{payload['recipe']['version']}: {version['rows']:,} rows x {version['columns']} columns",
        "",
        f"{'step':>4}  {'rows before':>11} {'dropped':>8}  what",
    ]
    lines += [
        f"{s['step']:>4}  {s['rows_before']:>11,} {s['rows_dropped']:>8,}  {s['description']}"
        for s in payload["steps"]
    ]
    lines += ["", "Output schema:"]
    lines += [f"  {c['name']}: {c['dtype']} ({c['role']})" for c in payload["schema"]]
    return "\n".join(lines)


@cli.command()
@studio_command
def recipes(ctx: StudioContext, *, as_json: bool) -> None:
    """List saved recipes, newest first."""
    from core.prep.prepare import list_recipes

    found = [recipe.to_dict() for recipe in list_recipes(ctx.home)]
    _emit({"recipes": found}, as_json, _recipes_text)


def _recipes_text(payload: dict[str, Any]) -> str:
    if not payload["recipes"]:
        return "No recipes yet. Build one on the Prepare page or write one (docs/recipes.md)."
    return "\n".join(
        f"{r['id']:>4} {r['name']} v{r['version']}  {len(r['recipe']['cleaning'])} steps  "
        f"{r['created_at'][:19]}"
        for r in payload["recipes"]
    )


@cli.command()
@click.option("--all", "show_all", is_flag=True, help="Include finished jobs (newest 50).")
@studio_command
def jobs(ctx: StudioContext, *, as_json: bool, show_all: bool) -> None:
    """List background jobs and their progress."""
    from core.jobs.runner import list_recent_jobs

    found = [job.to_dict() for job in list_recent_jobs(ctx.home, include_finished=show_all)]
    _emit({"jobs": found}, as_json, _jobs_text)


def _jobs_text(payload: dict[str, Any]) -> str:
    if not payload["jobs"]:
        return "No jobs."
    return "\n".join(
        f"{job['id']:>5} {job['kind']:<16} {job['status']:<10} {job['progress']:>5.0%}  "
        f"{job['message']}"
        for job in payload["jobs"]
    )


@cli.command()
@click.argument("job_id", type=int)
@studio_command
def cancel(ctx: StudioContext, *, as_json: bool, job_id: int) -> None:
    """Cancel a queued or running job."""
    from core.jobs import cancel_job

    job = cancel_job(ctx.home, job_id, actor="cli")
    if job is None:
        raise KeyError(f"There is no job {job_id}. Run `mlops-studio jobs --all` to list them.")
    _emit(job.to_dict(), as_json, lambda p: f"Job {p['id']} is {p['status']}.")


@cli.command()
@click.option("--reset", is_flag=True, help="Delete the studio home and seed it again.")
@studio_command
def demo(ctx: StudioContext, *, as_json: bool, reset: bool) -> None:
    """Seed the sample project into the studio home (once; --reset rebuilds it)."""
    from core.demo import seed_demo

    summary = seed_demo(ctx.home, reset=reset)
    _emit(
        summary,
        as_json,
        lambda p: f"Sample project ready in {p['home']}: {', '.join(p['datasets'])}.",
    )


# -- train, track, register --------------------------------------------------------------------


@cli.command()
@click.argument("dataset")
@click.option("--target", required=True, help="The column to predict.")
@click.option(
    "--recipe", "recipe_ref", default=None, help="Saved recipe id, NAME[@N] or JSON file."
)
@click.option(
    "--task",
    type=click.Choice(["binary", "multiclass", "regression"]),
    default=None,
    help="Override the detected task.",
)
@click.option("--model", "models", multiple=True, help="Catalog model (repeat; default: all).")
@click.option(
    "--tune",
    "strategy",
    type=click.Choice(["none", "grid", "random", "halving", "bayes"]),
    default="none",
    show_default=True,
)
@click.option("--trials", default=20, show_default=True, type=int, help="Tuning budget in trials.")
@click.option("--seconds", default=None, type=float, help="Tuning budget in seconds per model.")
@click.option(
    "--cv", "folds", default=5, show_default=True, type=int, help="Cross-validation folds."
)
@click.option("--holdout", default=0.2, show_default=True, type=float, help="Holdout share.")
@click.option("--group", "group_column", default=None, help="Group column: group k-fold.")
@click.option("--time", "time_column", default=None, help="Date column: time-ordered split.")
@click.option("--seed", default=42, show_default=True, type=int)
@click.option("--drop-missing-target", is_flag=True, help="Drop rows whose target is missing.")
@click.option("--experiment", default=None, help="Experiment name (default: the dataset name).")
@click.option("--tag", "tags", multiple=True, help="Tag the runs (repeat).")
@studio_command
def train(ctx: StudioContext, *, as_json: bool, dataset: str, **options: Any) -> None:
    """Train (and tune) models on DATASET (NAME or NAME@VERSION); prints the leaderboard."""
    from core.data.datasets import find_version
    from core.jobs.runner import wait_for_job
    from core.prep.prepare import find_stored_recipe
    from core.train.plan import ValidationPlan
    from core.train.training import TrainRequest, submit_training

    version = find_version(ctx.home, dataset)
    recipe_ref = options.pop("recipe_ref")
    recipe_id = find_stored_recipe(ctx.home, recipe_ref, actor="cli").id if recipe_ref else None
    plan = ValidationPlan(
        folds=options.pop("folds"),
        holdout=options.pop("holdout"),
        group_column=options.pop("group_column"),
        time_column=options.pop("time_column"),
        seed=options.pop("seed"),
    )
    request = TrainRequest(
        version_id=version.id,
        recipe_id=recipe_id,
        plan=plan,
        models=tuple(options.pop("models")),
        tags=tuple(options.pop("tags")),
        **options,
    )
    job = submit_training(ctx.home, request, actor="cli")
    try:
        finished = wait_for_job(ctx.home, job.id, timeout=24 * 3600)
    except KeyboardInterrupt:
        from core.jobs import cancel_job

        cancel_job(ctx.home, job.id, actor="cli")
        raise RuntimeError(f"Cancelled training job {job.id}.") from None
    if finished.status != "done" or finished.result is None:
        raise RuntimeError(finished.error or f"Training job {job.id} was {finished.status}.")
    _emit({"job_id": job.id, **finished.result}, as_json, _train_text)


def _train_text(payload: dict[str, Any]) -> str:
    metric = payload["metric"]
    lines = [
        f"{payload['task']} task, ranked by cross-validated {metric} (job {payload['job_id']})"
    ]
    lines.append(f"{'run':>5}  {'model':<24} {'CV':>16} {'holdout':>8}")
    for row in payload["runs"]:
        cv = _score(row["cv_score"]) + " ± " + _score(row["cv_std"])
        lines.append(
            f"{row['run_id']:>5}  {row['model']:<24} {cv:>16} {_score(row['holdout_score']):>8}"
        )
    lines += [f"  failed: {row['model']}: {row['error']}" for row in payload["failed"]]
    lines.append(f"Best run: {payload['best_run_id']}")
    return "\n".join(lines)


def _score(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


@cli.command()
@click.option("--experiment", default=None, help="Only this experiment.")
@click.option("--archived", is_flag=True, help="Include archived runs.")
@click.option("--limit", default=50, show_default=True, type=int)
@studio_command
def runs(
    ctx: StudioContext, *, as_json: bool, experiment: str | None, archived: bool, limit: int
) -> None:
    """List training runs, newest first."""
    from core.train.tracking import list_runs, runs_table

    found = list_runs(ctx.home, include_archived=archived, experiment=experiment, limit=limit)
    _emit({"runs": runs_table(found)}, as_json, _runs_text)


def _runs_text(payload: dict[str, Any]) -> str:
    if not payload["runs"]:
        return "No runs yet. Train one with `mlops-studio train DATASET --target COLUMN`."
    return "\n".join(
        f"{r['run_id']:>5} {r['status']:<9} {r['model']:<24} {r['metric']:<8} "
        f"CV {_score(r['cv_score'])}  holdout {_score(r['holdout_score'])}  {r['experiment']}"
        for r in payload["runs"]
    )


@cli.command()
@click.argument("run_id", type=int)
@click.option("--name", required=True, help="Model name; the run becomes its next version.")
@click.option("--alias", "aliases", multiple=True, help="Alias for this version (repeat).")
@click.option("--no-onnx", is_flag=True, help="Skip the ONNX export.")
@studio_command
def register(
    ctx: StudioContext,
    *,
    as_json: bool,
    run_id: int,
    name: str,
    aliases: tuple[str, ...],
    no_onnx: bool,
) -> None:
    """Register a finished run as a version of a named model."""
    from core.train.registry import register_run

    version = register_run(
        ctx.home, run_id, name=name, aliases=aliases, onnx=not no_onnx, actor="cli"
    )
    _emit(version.to_dict(), as_json, _version_text)


def _version_text(payload: dict[str, Any]) -> str:
    aliases = ", ".join(payload["aliases"]) or "no aliases"
    onnx = (
        "ONNX copy saved" if payload["onnx_path"] else (payload["onnx"].get("reason") or "no ONNX")
    )
    return (
        f"{payload['model_name']} v{payload['version']} <- run {payload['run_id']} "
        f"({aliases}); {onnx}"
    )


@cli.command()
@studio_command
def models(ctx: StudioContext, *, as_json: bool) -> None:
    """List registered models, their versions and aliases."""
    from core.train.registry import list_model_versions

    versions = [version.to_dict() for version in list_model_versions(ctx.home)]
    _emit({"models": versions}, as_json, _models_text)


def _models_text(payload: dict[str, Any]) -> str:
    if not payload["models"]:
        return (
            "No registered models. Register a run with `mlops-studio register RUN_ID --name NAME`."
        )
    return "\n".join(_version_text(version) for version in payload["models"])


# -- review and sign-off -----------------------------------------------------------------------


@cli.command()
@click.argument("model_version")
@click.option("--sensitive", "sensitive", multiple=True, help="Sensitive column (repeat).")
@click.option("--shap-rows", default=500, show_default=True, type=int, help="Rows to explain.")
@studio_command
def review(
    ctx: StudioContext,
    *,
    as_json: bool,
    model_version: str,
    sensitive: tuple[str, ...],
    shap_rows: int,
) -> None:
    """Review MODEL_VERSION (NAME, NAME@N or NAME@ALIAS): gates, fairness, top features."""
    from core.review.review import review_version, top_features

    result = review_version(ctx.home, model_version, sensitive=list(sensitive) or None)
    payload = {**result.to_dict(), "top_features": top_features(ctx.home, result, rows=shap_rows)}
    _emit(payload, as_json, _review_text)


def _review_text(payload: dict[str, Any]) -> str:
    version = payload["version"]
    verdict = "PASSES" if payload["passed"] else "DOES NOT PASS"
    lines = [f"{version['model_name']} v{version['version']} {verdict} its gates"]
    marks = {True: "pass", False: "FAIL", None: "  - "}
    lines += [f"  [{marks[g['passed']]:>4}] {g['title']}: {g['message']}" for g in payload["gates"]]
    fairness = payload.get("fairness") or {}
    for name, value in (fairness.get("disparities") or {}).items():
        lines.append(f"  {name}: {_score(value)}")
    lines += [f"  note: {note}" for note in payload["notes"]]
    lines.append("Top features (mean |SHAP|):")
    lines += [f"  {row['feature']}: {row['mean_abs_shap']:.4f}" for row in payload["top_features"]]
    return "\n".join(lines)


@cli.command()
@click.argument("model_version")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@studio_command
def card(ctx: StudioContext, *, as_json: bool, model_version: str, out: Path) -> None:
    """Write the model card of MODEL_VERSION as self-contained HTML (or Markdown for .md)."""
    from core.review.card import write_card

    written = write_card(ctx.home, model_version, out)
    _emit({"path": str(written)}, as_json, lambda p: f"Wrote the model card to {p['path']}.")


@cli.command()
@click.argument("model_version")
@click.option("--reviewer", required=True, help="Who decides.")
@click.option("--decision", required=True, type=click.Choice(["approve", "changes", "reject"]))
@click.option("--comment", required=True, help="Why.")
@click.option(
    "--confirm-checklist",
    is_flag=True,
    help="Confirm every sign-off checklist item (needed to approve).",
)
@studio_command
def approve(
    ctx: StudioContext,
    *,
    as_json: bool,
    model_version: str,
    reviewer: str,
    decision: str,
    comment: str,
    confirm_checklist: bool,
) -> None:
    """Record a review decision on MODEL_VERSION (approve, changes or reject)."""
    from core.review.signoff import CHECKLIST, record_decision

    ticks = {key: confirm_checklist for key in CHECKLIST}
    recorded = record_decision(
        ctx.home,
        model_version,
        reviewer=reviewer,
        decision=decision,
        comment=comment,
        checklist=ticks,
    )
    _emit(
        recorded.to_dict(),
        as_json,
        lambda p: f"Recorded {p['decision']} by {p['reviewer']} on {model_version}.",
    )


@cli.command()
@click.argument("model_version")
@click.argument("alias")
@click.option(
    "--reason", default=None, help="Override reason (champion for an unapproved version)."
)
@studio_command
def alias(
    ctx: StudioContext, *, as_json: bool, model_version: str, alias: str, reason: str | None
) -> None:
    """Point ALIAS (e.g. champion) at MODEL_VERSION (NAME@N)."""
    from core.train.registry import find_model_version, set_alias

    found = find_model_version(ctx.home, model_version)
    updated = set_alias(
        ctx.home,
        name=found.model_name,
        version=found.version,
        alias=alias,
        actor="cli",
        override_reason=reason,
    )
    _emit(updated.to_dict(), as_json, _version_text)


# -- deploy and serve --------------------------------------------------------------------------


@cli.command()
@click.argument("model_version")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int, help="Worker processes.")
@click.option("--reason", default=None, help="Override reason (an unapproved version).")
@studio_command
def serve(
    ctx: StudioContext,
    *,
    as_json: bool,
    model_version: str,
    host: str,
    port: int,
    workers: int,
    reason: str | None,
) -> None:
    """Serve MODEL_VERSION in the foreground until Ctrl+C (key: $MLOPS_STUDIO_API_KEY or new)."""
    from core.serving.deployments import new_api_key, serve_in_foreground

    api_key = os.environ.get(API_KEY_ENV) or new_api_key()

    def announce(found: Any) -> None:
        shown = {"deployment_id": found.id, "url": found.url, "model_version": found.model_label}
        if API_KEY_ENV not in os.environ:
            shown["api_key"] = api_key
        _emit(shown, as_json, _serve_text)

    serve_in_foreground(
        ctx.home,
        model_version,
        host=host,
        port=port,
        workers=workers,
        api_key=api_key,
        actor="cli",
        override_reason=reason,
        announce=announce,
    )


def _serve_text(payload: dict[str, Any]) -> str:
    lines = [
        f"Deployment {payload['deployment_id']}: {payload['model_version']} at {payload['url']}"
    ]
    if "api_key" in payload:
        lines.append(f"API key (shown once): {payload['api_key']}")
    return "\n".join(lines)


@cli.command()
@click.argument("model_version")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=None, type=int, help="Port (default: a free one).")
@click.option("--workers", default=1, show_default=True, type=int, help="Worker processes.")
@click.option("--reason", default=None, help="Override reason (an unapproved version).")
@studio_command
def deploy(
    ctx: StudioContext,
    *,
    as_json: bool,
    model_version: str,
    host: str,
    port: int | None,
    workers: int,
    reason: str | None,
) -> None:
    """Deploy MODEL_VERSION as a supervised background service; prints its URL and API key."""
    from core.serving.deployments import deploy as start

    found, api_key = start(
        ctx.home,
        model_version,
        host=host,
        port=port,
        workers=workers,
        actor="cli",
        override_reason=reason,
    )
    payload = {**found.to_dict(), "api_key": api_key}
    _emit(payload, as_json, _deployed_text)


def _deployed_text(payload: dict[str, Any]) -> str:
    return (
        f"Deployment {payload['id']}: {payload['model_label']} live at {payload['url']}\n"
        f"API key (shown once, stored hashed): {payload['api_key']}\n"
        f"Try: curl -H 'Authorization: Bearer {payload['api_key']}' {payload['url']}/metadata"
    )


@cli.command()
@click.option("--all", "show_all", is_flag=True, help="Include stopped deployments.")
@studio_command
def deployments(ctx: StudioContext, *, as_json: bool, show_all: bool) -> None:
    """List deployments (restarting any whose supervisor died) with their health."""
    from core.serving.deployments import health, reattach

    found = [d for d in reattach(ctx.home) if show_all or d.desired == "running"]
    rows = [{**d.to_dict(), "health": health(d)} for d in found]
    _emit({"deployments": rows}, as_json, _deployments_text)


def _deployments_text(payload: dict[str, Any]) -> str:
    if not payload["deployments"]:
        return "No deployments. Deploy a version with `mlops-studio deploy NAME@N`."
    lines = []
    for row in payload["deployments"]:
        answering = "answering" if row["health"] else "not answering"
        lines.append(
            f"{row['id']}: {row['model_label']} at {row['url']} — {row['status']} ({answering}), "
            f"{_key_text(row)}, {row['restarts']} restarts"
        )
    return "\n".join(lines)


def _key_text(row: dict[str, Any]) -> str:
    return "key revoked" if row["key_revoked_at"] else f"key …{row['key_hint']}"


@cli.command()
@click.argument("deployment_id", type=int)
@click.option("--lines", default=100, show_default=True, type=int, help="How many last lines.")
@studio_command
def logs(ctx: StudioContext, *, as_json: bool, deployment_id: int, lines: int) -> None:
    """Print the end of deployment DEPLOYMENT_ID's service log (supervisor and uvicorn)."""
    from core.serving.deployments import get_deployment, service_log

    text = service_log(ctx.home, get_deployment(ctx.home, deployment_id), lines=lines)
    _emit({"deployment_id": deployment_id, "log": text}, as_json, lambda p: p["log"])


@cli.command()
@click.argument("deployment_id", type=int)
@studio_command
def undeploy(ctx: StudioContext, *, as_json: bool, deployment_id: int) -> None:
    """Stop deployment DEPLOYMENT_ID gracefully (its logged predictions are kept)."""
    from core.serving.deployments import undeploy as stop

    found = stop(ctx.home, deployment_id, actor="cli")
    _emit(found.to_dict(), as_json, lambda p: f"Deployment {p['id']} is {p['status']}.")


@cli.command()
@click.argument("deployment_id", type=int)
@click.argument("model_version")
@click.option("--reason", default=None, help="Override reason (an unapproved version).")
@studio_command
def switch(
    ctx: StudioContext, *, as_json: bool, deployment_id: int, model_version: str, reason: str | None
) -> None:
    """Hot-swap deployment DEPLOYMENT_ID to MODEL_VERSION with no failed requests."""
    from core.serving.deployments import switch_version

    found = switch_version(
        ctx.home, deployment_id, model_version, actor="cli", override_reason=reason
    )
    _emit(
        found.to_dict(), as_json, lambda p: f"Deployment {p['id']} now serves {p['model_label']}."
    )


@cli.command()
@click.argument("deployment_id", type=int)
@studio_command
def rollback(ctx: StudioContext, *, as_json: bool, deployment_id: int) -> None:
    """Switch deployment DEPLOYMENT_ID back to the version it served before."""
    from core.serving.deployments import roll_back

    found = roll_back(ctx.home, deployment_id, actor="cli")
    _emit(
        found.to_dict(), as_json, lambda p: f"Deployment {p['id']} now serves {p['model_label']}."
    )


@cli.command()
@click.argument("deployment_id", type=int)
@studio_command
def restart(ctx: StudioContext, *, as_json: bool, deployment_id: int) -> None:
    """Start a stopped or failed deployment again, on its port and with its key."""
    from core.serving.deployments import restart as start_again

    found = start_again(ctx.home, deployment_id, actor="cli")
    _emit(found.to_dict(), as_json, lambda p: f"Deployment {p['id']} is {p['status']}.")


@cli.command("rotate-key")
@click.argument("deployment_id", type=int)
@studio_command
def rotate_key(ctx: StudioContext, *, as_json: bool, deployment_id: int) -> None:
    """Give deployment DEPLOYMENT_ID a new API key (shown once); the old one stops working."""
    from core.serving.deployments import rotate_key as rotate

    api_key = rotate(ctx.home, deployment_id, actor="cli")
    payload = {"deployment_id": deployment_id, "api_key": api_key}
    _emit(payload, as_json, lambda p: f"New API key (shown once): {p['api_key']}")


@cli.command("revoke-key")
@click.argument("deployment_id", type=int)
@studio_command
def revoke_key(ctx: StudioContext, *, as_json: bool, deployment_id: int) -> None:
    """Revoke deployment DEPLOYMENT_ID's API key: every request gets 401 until a rotation."""
    from core.serving.deployments import revoke_key as revoke

    found = revoke(ctx.home, deployment_id, actor="cli")
    _emit(found.to_dict(), as_json, lambda p: f"Deployment {p['id']}'s API key is revoked.")


# -- batch scoring -----------------------------------------------------------------------------


@cli.command()
@click.argument("model_version")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the scored rows: a .csv or .parquet file.",
)
@studio_command
def predict(
    ctx: StudioContext, *, as_json: bool, model_version: str, file: Path, out: Path
) -> None:
    """Score every row of FILE with MODEL_VERSION (NAME, NAME@N or NAME@ALIAS) into --out."""
    from core.serving.batch import score_file

    result = score_file(ctx.home, model_version, file, out)
    _emit(result.to_dict(), as_json, _predict_text)


def _predict_text(payload: dict[str, Any]) -> str:
    lines = [
        f"Scored {payload['rows']:,} rows with {payload['model_version']} "
        f"in {payload['seconds']:.1f} s; wrote {payload['out']}."
    ]
    lines += [f"Note: {note}" for note in payload["notes"]]
    return "\n".join(lines)


# -- monitor -----------------------------------------------------------------------------------


@cli.command()
@click.option("--every", default=5.0, show_default=True, type=float, help="Seconds per round.")
@studio_command
def worker(ctx: StudioContext, *, as_json: bool, every: float) -> None:
    """Run the scheduler in the foreground: monitoring, alerts and retraining policies."""
    from core.scheduler import run

    if as_json:
        click.echo(json.dumps({"home": str(ctx.home), "every": every}))
    else:
        click.echo(f"Scheduler for {ctx.home}: a round every {every:g} s (Ctrl+C stops it).")
    run(ctx.home, every=every)


@cli.command()
@click.argument("deployment_id", type=int)
@click.option("--minutes", default=60, show_default=True, type=float, help="Time range.")
@studio_command
def monitor(ctx: StudioContext, *, as_json: bool, deployment_id: int, minutes: float) -> None:
    """Traffic, latency, errors, predictions, labels and alerts of DEPLOYMENT_ID."""
    from core.monitor import alerts
    from core.monitor.dashboard import prediction_mix, summarise
    from core.serving.deployments import get_deployment

    deployment = get_deployment(ctx.home, deployment_id)
    summary = summarise(ctx.home, deployment_id, minutes=minutes)
    alerts.evaluate(ctx.home, deployment_id)
    payload = summary.to_dict()
    payload["model_version"] = deployment.model_label
    payload["prediction_mix"] = prediction_mix(summary.windows)
    payload["open_alerts"] = [
        alert.to_dict()
        for alert in alerts.open_alerts(ctx.home)
        if alert.deployment_id == deployment_id
    ]
    _emit(payload, as_json, _monitor_text)


def _monitor_text(payload: dict[str, Any]) -> str:
    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value:.1f} ms"

    lines = [
        f"Deployment {payload['deployment_id']} ({payload['model_version']}): "
        f"{payload['requests']:,} requests, {payload['requests_per_minute']:.1f}/min, "
        f"errors {payload['error_rate']:.1%}",
        f"latency p50 {ms(payload['p50_ms'])}, p95 {ms(payload['p95_ms'])}, "
        f"p99 {ms(payload['p99_ms'])}",
        f"predictions: {payload['prediction_mix'] or 'none yet'}",
    ]
    if payload["performance"] is not None:
        lines.append(
            f"{payload['performance_name']} on {payload['labelled']:,} labelled rows: "
            f"{payload['performance']:.3f}"
        )
    for alert in payload["open_alerts"]:
        lines.append(f"ALERT [{alert['severity']}] {alert['message']}")
    return "\n".join(lines)


@cli.command()
@click.argument("deployment_id", type=int)
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@studio_command
def labels(ctx: StudioContext, *, as_json: bool, deployment_id: int, path: Path) -> None:
    """Send true labels from a file (request_id, label[, row]) to DEPLOYMENT_ID's log."""
    from core.monitor.labels import apply_labels, read_label_file
    from core.serving.deployments import get_deployment
    from core.serving.scoring import load_served_model

    deployment = get_deployment(ctx.home, deployment_id)
    model = load_served_model(ctx.home, deployment.model_version_id, engine="sklearn")
    classes = None if model.task == "regression" else model.classes
    report = apply_labels(ctx.home, deployment_id, read_label_file(path), classes=classes)
    _emit(report.to_dict(), as_json, _labels_text)


def _labels_text(payload: dict[str, Any]) -> str:
    duplicates = payload["duplicates"]
    lines = [f"Applied {payload['applied']:,} labels ({duplicates:,} duplicate lines: last won)."]
    if payload["unknown"]:
        shown = ", ".join(payload["unknown"][:10])
        lines.append(
            f"{len(payload['unknown']):,} request ids this deployment never answered: {shown}"
        )
    if payload["wrong_type"]:
        shown = ", ".join(payload["wrong_examples"])
        lines.append(
            f"{payload['wrong_type']:,} labels are not valid for this model (e.g. {shown})."
        )
    return "\n".join(lines)


@cli.command()
@click.argument("deployment_id", type=int)
@click.option("--file", "path", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--rate", default=5.0, show_default=True, type=float, help="Requests per second.")
@click.option("--seconds", default=60.0, show_default=True, type=float, help="How long.")
@click.option(
    "--labels", "labels_path", default=None, type=click.Path(dir_okay=False, path_type=Path)
)
@click.option("--target", default=None, help="Label column inside FILE (instead of --labels).")
@click.option("--label-delay", default=30.0, show_default=True, type=float, help="Seconds.")
@click.option(
    "--api-key", default=None, help="The deployment's key (default $MLOPS_STUDIO_API_KEY)."
)
@studio_command
def simulate(
    ctx: StudioContext,
    *,
    as_json: bool,
    deployment_id: int,
    path: Path,
    rate: float,
    seconds: float,
    labels_path: Path | None,
    target: str | None,
    label_delay: float,
    api_key: str | None,
) -> None:
    """Replay FILE's rows against DEPLOYMENT_ID at --rate, sending true labels back later."""
    from core.monitor.simulate import labels_for, read_table_file
    from core.monitor.simulate import simulate as replay
    from core.serving.deployments import get_deployment

    key = api_key or os.environ.get(API_KEY_ENV)
    if not key:
        raise ValueError(f"Give the deployment's API key with --api-key or ${API_KEY_ENV}.")
    deployment = get_deployment(ctx.home, deployment_id)
    frame = read_table_file(path)
    labels = read_table_file(labels_path) if labels_path else None
    result = replay(
        deployment.url,
        key,
        frame,
        rate=rate,
        seconds=seconds,
        labels=labels_for(frame, labels, target),
        label_delay=label_delay,
        deployment_id=deployment_id,
    )
    _emit(
        result.to_dict(),
        as_json,
        lambda p: (
            f"Sent {p['sent']:,} requests ({p['failed']:,} failed), {p['labelled']:,} labels."
        ),
    )


@cli.command()
@click.argument("reference")
@click.argument("current")
@click.option("--column", "columns", multiple=True, help="Compare only this column (repeat).")
@click.option(
    "--method",
    default=None,
    help="One drift method for every column it applies to: ks, wasserstein, psi, "
    "jensenshannon, chisquare, z or linf (default: chosen per column, as Evidently does).",
)
@click.option(
    "--threshold",
    default=None,
    type=float,
    help="Threshold for every column: a p-value for tests, a distance otherwise.",
)
@studio_command
def drift(
    ctx: StudioContext,
    *,
    as_json: bool,
    reference: str,
    current: str,
    columns: tuple[str, ...],
    method: str | None,
    threshold: float | None,
) -> None:
    """Data drift of CURRENT against REFERENCE, each a dataset (NAME or NAME@N) or a file."""
    from core.monitor.drift import compute_drift

    reference_frame, roles, reference_label = _drift_source(ctx.home, reference)
    current_frame, _, current_label = _drift_source(ctx.home, current)
    report = compute_drift(
        reference_frame,
        current_frame,
        columns=list(columns) or None,
        roles=roles,
        method=method,
        threshold=threshold,
    )
    payload = {"reference": reference_label, "current": current_label, **report.to_dict()}
    _emit(payload, as_json, _drift_text)


def _drift_source(home: Path, source: str) -> tuple[Any, dict[str, str], str]:
    """A file read as imports read it, else a stored dataset; with its column roles."""
    from core.data.datasets import DatasetError, find_version, load_frame
    from core.data.ingest import ImportLimits, read_table
    from core.data.schema import infer_schema

    path = Path(source)
    if path.is_file():
        table = read_table(path, limits=ImportLimits.from_env()).table
        schema, label, frame = infer_schema(table), str(path), table.to_pandas()
        return frame, {column.name: column.role for column in schema}, label
    try:
        version = find_version(home, source)
    except DatasetError:
        if not (path.suffix or path.parent != Path(".")):
            raise
        raise FileNotFoundError(
            f"There is no file at {source} and no dataset called {source!r}. Check the path, "
            "or run `mlops-studio datasets` to see the names."
        ) from None
    frame = load_frame(home, version)
    return frame, {column.name: column.role for column in version.schema}, version.label


def _drift_text(payload: dict[str, Any]) -> str:
    def number(value: float | None) -> str:
        return "-" if value is None else f"{value:.4g}"

    columns = sorted(payload["columns"], key=lambda column: not column["drifted"])
    lines = [
        f"{payload['current']} ({payload['rows_current']:,} rows) against "
        f"{payload['reference']} ({payload['rows_reference']:,} rows)",
        f"{'column':<24} {'method':<14} {'statistic':>10} {'p/distance':>10} "
        f"{'threshold':>9}  verdict",
    ]
    lines += [
        f"{c['column'][:24]:<24} {c['method']:<14} {number(c['statistic']):>10} "
        f"{number(c['score']):>10} {c['threshold']:>9.4g}  {'DRIFT' if c['drifted'] else 'ok'}"
        for c in columns
    ]
    lines += [
        f"{name[:24]:<24} missing from the current data" for name in payload["missing_columns"]
    ]
    lines += [f"Note: {note}" for note in payload["notes"]]
    lines += [f"  {c['column']}: {c['note']}" for c in columns if c["note"]]
    verdict = "DATASET DRIFT" if payload["dataset_drift"] else "no dataset drift"
    lines.append(
        f"Drift share {payload['drifted_columns']}/{payload['compared_columns']} = "
        f"{payload['drift_share']:.2f} (dataset drift at >= {payload['share_threshold']:.2f}): "
        f"{verdict}"
    )
    return "\n".join(lines)


def main() -> None:
    cli(prog_name="mlops-studio")


# the retraining commands live in their own module and register themselves on ``cli``
from app import cli_retrain  # noqa: E402, F401

if __name__ == "__main__":
    main()
