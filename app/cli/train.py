"""CLI commands for training: train and tune, list runs, register a run as a model version."""

from __future__ import annotations

from typing import Any

import click

from app.cli.group import (
    Column,
    StudioContext,
    cli,
    emit,
    emit_list,
    score,
    studio_command,
    table,
)
from core import words

LEADERBOARD_COLUMNS = (
    Column("run", 5, ">"),
    Column("model", 27, gap="  "),
    Column("CV", 16, ">"),
    Column("holdout", 8, ">"),
)
RUN_COLUMNS = (
    Column(width=5, align=">"),
    Column(width=9),
    Column(width=27),
    Column(width=17),
    Column(),
    Column(gap="  "),
    Column(gap="  "),
)


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
    emit({"job_id": job.id, **finished.result}, as_json, _train_text)


def _train_text(payload: dict[str, Any]) -> str:
    metric = words.metric(payload["metric"])
    task = words.task(payload["task"]).capitalize()
    lines = [f"{task}, ranked by cross-validated {metric} (job {payload['job_id']})"]
    lines += table(
        LEADERBOARD_COLUMNS,
        [
            (
                row["run_id"],
                words.model(row["model"]),
                score(row["cv_score"]) + " ± " + score(row["cv_std"]),
                score(row["holdout_score"]),
            )
            for row in payload["runs"]
        ],
    )
    lines += [f"  failed: {words.model(row['model'])}: {row['error']}" for row in payload["failed"]]
    lines.append(f"Best run: {payload['best_run_id']}")
    return "\n".join(lines)


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
    empty = "No runs yet. Train one with `mlops-studio train DATASET --target COLUMN`."
    emit_list("runs", runs_table(found), as_json, empty=empty, lines=_run_lines)


def _run_lines(items: list[dict[str, Any]]) -> list[str]:
    rows = [
        (
            r["run_id"],
            r["status"],
            words.model(r["model"]),
            words.metric(r["metric"]) if r["metric"] else "-",
            f"CV {score(r['cv_score'])}",
            f"holdout {score(r['holdout_score'])}",
            r["experiment"],
        )
        for r in items
    ]
    return table(RUN_COLUMNS, rows, header=False)


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
    emit(version.to_dict(), as_json, version_text)


def version_text(payload: dict[str, Any]) -> str:
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
    empty = "No registered models. Register a run with `mlops-studio register RUN_ID --name NAME`."
    emit_list(
        "models", versions, as_json, empty=empty, lines=lambda items: map(version_text, items)
    )
