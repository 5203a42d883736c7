"""CLI commands for datasets: import a file, list datasets, profile one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from app.cli.group import Column, StudioContext, cli, emit, emit_list, studio_command, table
from core import words

DATASET_COLUMNS = (
    Column("name", 28, cut=True),
    Column("versions", 8, ">"),
    Column("rows", 10, ">", ","),
    Column("columns", 8, ">"),
    Column("imported", gap="  "),
)
PROFILE_COLUMNS = (
    Column("column", 28, cut=True),
    Column("role", 11),
    Column("missing", 8, ">", ","),
    Column("distinct", 9, ">", ","),
    Column("summary", gap="  "),
)


@cli.command(name="import")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--name", required=True, help="Dataset name; a new version is added if it exists.")
@click.option("--delimiter", default=None, help="CSV delimiter, when sniffing guesses wrong.")
@click.option("--encoding", default=None, help="Text encoding, when sniffing guesses wrong.")
@click.option(
    "--decimal",
    type=click.Choice(["point", "comma"]),
    default=None,
    help="Decimal mark of the file's numbers (1,234.5 or 1.234,5), when sniffing guesses wrong.",
)
@click.option(
    "--quotes",
    type=click.Choice(["detect", "always", "never"]),
    default=None,
    help="How CSV quote marks are read: detect (default) encloses values but reads a quote "
    "that never closes on its row as a character; always encloses, even over many lines; "
    "never treats them as ordinary characters.",
)
@studio_command
def import_(
    ctx: StudioContext,
    *,
    as_json: bool,
    path: Path,
    name: str,
    delimiter: str | None,
    encoding: str | None,
    decimal: str | None,
    quotes: str | None,
) -> None:
    """Import a CSV/TSV, Parquet or JSON-lines file (optionally gzipped) as a dataset version."""
    from core.data.datasets import import_dataset

    if not path.is_file():
        raise FileNotFoundError(f"There is no file at {path}. Check the path and try again.")
    outcome = import_dataset(
        ctx.home,
        path=path,
        name=name,
        delimiter=delimiter,
        encoding=encoding,
        decimal=decimal,
        quotes=quotes,
        actor="cli",
    )
    emit(outcome.to_dict(), as_json, _import_text)


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
    empty = "No datasets yet. Import one with `mlops-studio import FILE --name NAME`."
    emit_list("datasets", summaries, as_json, empty=empty, lines=_dataset_lines)


def _dataset_lines(items: list[dict[str, Any]]) -> list[str]:
    rows = [
        (
            item["name"],
            item["versions"],
            latest["rows"],
            latest["columns"],
            words.when(latest["created_at"]),
        )
        for item in items
        for latest in [item["latest_version"]]
    ]
    return table(DATASET_COLUMNS, rows)


@cli.command()
@click.argument("dataset_or_path")
@click.option("--target", default=None, help="Target column, for imbalance and leakage checks.")
@studio_command
def profile(ctx: StudioContext, *, as_json: bool, dataset_or_path: str, target: str | None) -> None:
    """Column statistics and quality checks of a dataset (NAME or NAME@VERSION) or a file."""
    path = Path(dataset_or_path)
    if path.is_file():  # a file needs no store: its modules are not even imported
        from core.data.profile_files import profile_file

        result = profile_file(path, target=target)
    else:
        from core.data.datasets import profile_source

        result = profile_source(ctx.home, dataset_or_path, target=target)
    emit(result, as_json, _profile_text)


def _profile_text(payload: dict[str, Any]) -> str:
    lines = [
        f"{payload['source']}: {payload['rows']:,} rows x {payload['column_count']} columns, "
        f"{payload['duplicate_rows']:,} duplicate rows, "
        f"{payload['missing_pct']:.1f}% cells missing",
        *_where_it_ran(payload.get("compute")),
        "",
    ]
    lines += table(
        PROFILE_COLUMNS,
        [
            (c["name"], c["role"], c["missing"], c["distinct"], _column_summary(c))
            for c in payload["columns"]
        ],
    )
    lines += ["", "Quality checks:"]
    lines += [
        f"  [{finding['severity']}] {finding['message']}" for finding in payload["quality"]
    ] or ["  no issues found"]
    return "\n".join(lines)


def _where_it_ran(compute: dict[str, Any] | None) -> list[str]:
    """A big table's profile says where its columns were profiled (and any fallback notice)."""
    from core.jobs.compute import Placement

    placement = Placement.from_dict(compute)
    if placement is None:
        return []
    where = placement.describe()
    return [f"Columns profiled {where[0].lower()}{where[1:]}", *filter(None, [placement.notice])]


def _column_summary(column: dict[str, Any]) -> str:
    if column.get("mean") is not None:
        return (
            f"mean {column['mean']:.4g}, std {column.get('std') or 0:.4g}, "
            f"min {column['min']:.4g}, max {column['max']:.4g}"
        )
    top = column.get("top_values") or []
    return ", ".join(f"{value} ({count})" for value, count in top[:3])
