"""CLI commands for preparing data: apply a cleaning recipe, list saved recipes."""

from __future__ import annotations

from typing import Any

import click

from app.cli.group import Column, StudioContext, cli, emit, emit_list, studio_command, table
from core import words

STEP_COLUMNS = (
    Column("step", 4, ">"),
    Column("rows before", 11, ">", ",", gap="  "),
    Column("dropped", 8, ">", ","),
    Column("what", gap="  "),
)
RECIPE_COLUMNS = (Column(width=4, align=">"), Column(), Column(gap="  "), Column(gap="  "))


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
    emit(outcome.to_dict(), as_json, _prepare_text)


def _prepare_text(payload: dict[str, Any]) -> str:
    version = payload["version"]
    verb = "Reused" if payload["reused"] else "Created"
    lines = [
        f"{verb} {version['dataset']} v{version['version']} (id {version['id']}) from version "
        f"id {version['parent_version_id']} with recipe {payload['recipe']['name']} "
        f"v{payload['recipe']['version']}: {version['rows']:,} rows x {version['columns']} columns",
        "",
    ]
    lines += table(
        STEP_COLUMNS,
        [
            (s["step"], s["rows_before"], s["rows_dropped"], s["description"])
            for s in payload["steps"]
        ],
    )
    lines += ["", "Output schema:"]
    lines += [f"  {c['name']}: {c['dtype']} ({c['role']})" for c in payload["schema"]]
    return "\n".join(lines)


@cli.command()
@studio_command
def recipes(ctx: StudioContext, *, as_json: bool) -> None:
    """List saved recipes, newest first."""
    from core.prep.prepare import list_recipes

    found = [recipe.to_dict() for recipe in list_recipes(ctx.home)]
    empty = "No recipes yet. Build one on the Prepare page or write one (docs/recipes.md)."
    emit_list("recipes", found, as_json, empty=empty, lines=_recipe_lines)


def _recipe_lines(items: list[dict[str, Any]]) -> list[str]:
    rows = [
        (
            r["id"],
            f"{r['name']} v{r['version']}",
            f"{len(r['recipe']['cleaning'])} steps",
            words.when(r["created_at"]),
        )
        for r in items
    ]
    return table(RECIPE_COLUMNS, rows, header=False)
