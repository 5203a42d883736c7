"""The `mlops-studio` command group and what every command shares: the studio context, the
--home and --json options, clear errors, and how results are printed (JSON or a table)."""

from __future__ import annotations

import importlib
import json
import math
import os
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import wraps
from pathlib import Path
from typing import Any, Literal

import click

from core import settings
from core.auth import Identity, NotAllowed, acting_as, local_user

API_KEY_ENV = "MLOPS_STUDIO_API_KEY"
SIGN_IN_ELSEWHERE = frozenset({"ui"})


class StudioContext:
    def __init__(self, home: str | None) -> None:
        self.home_option = home

    @property
    def home(self) -> Path:
        return settings.studio_home(self.home_option)


def emit(payload: dict[str, Any], as_json: bool, text: Callable[[dict[str, Any]], str]) -> None:
    """Print ``payload`` as one JSON object (--json), or as ``text`` renders it for people."""
    click.echo(json_text(payload) if as_json else text(payload))


def json_text(payload: Any) -> str:
    """``payload`` as strict JSON: NaN and ±Infinity (bare in Python's JSON, which no JSON
    parser must accept) become null, at any depth; other objects are written as text."""
    return json.dumps(_finite(payload), default=str, allow_nan=False)


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    if type(value).__module__ == "numpy" and hasattr(value, "tolist"):
        return _finite(value.tolist())  # numpy scalars and arrays, without importing numpy
    return value


def emit_list(
    name: str,
    items: list[dict[str, Any]],
    as_json: bool,
    *,
    empty: str,
    lines: Callable[[list[dict[str, Any]]], Iterable[str]],
) -> None:
    """Print a listing: ``{name: items}`` as JSON (--json), else ``lines`` of the items for
    people, or ``empty`` (what to do first) when there are none."""

    def text(payload: dict[str, Any]) -> str:
        return "\n".join(lines(payload[name])) if payload[name] else empty

    emit({name: items}, as_json, text)


def fail(message: str, as_json: bool) -> None:
    if as_json:
        click.echo(json_text({"error": message}))
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
            with acting_as(_identity(context, function)):
                function(context, as_json=as_json, **kwargs)
        except (
            ValueError, KeyError, FileNotFoundError, RuntimeError, TimeoutError, NotAllowed
        ) as error:  # fmt: skip
            message = error.args[0] if isinstance(error, KeyError) and error.args else str(error)
            fail(str(message), as_json)

    return wrapper


def _identity(context: StudioContext, function: Callable[..., None]) -> Identity | None:
    """Who the command acts as: the local admin without accounts, else $MLOPS_STUDIO_TOKEN's
    owner (the UI command starts the browser app, where people sign in themselves)."""
    if function.__name__ in SIGN_IN_ELSEWHERE:
        return None
    if not settings.database_path(context.home).exists():
        return local_user()  # no store, so no accounts: the store's modules are not imported
    from core.auth.tokens import TOKEN_ENV, cli_identity

    return cli_identity(context.home, os.environ.get(TOKEN_ENV))


class StepGroup(click.Group):
    """A command group that knows its commands from a table (name: step module and one line of
    help) and imports a step module only when one of its commands runs or shows its help, so
    `--help` and each command start without importing what the other commands need."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.listed: dict[str, tuple[str, str]] = {}

    def list_from(self, table: Mapping[str, tuple[str, str]]) -> None:
        self.listed.update(table)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(self.commands) | set(self.listed))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.listed:
            # the step module's @cli.command() decorators add its commands to this group
            importlib.import_module(f"{__package__}.{self.listed[cmd_name][0]}")
        return self.commands.get(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        names = [
            n for n in self.list_commands(ctx) if not getattr(self.commands.get(n), "hidden", 0)
        ]
        if not names:
            return
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = [(name, self._short_help(name, limit)) for name in names]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def _short_help(self, name: str, limit: int) -> str:
        if name in self.commands:
            return self.commands[name].get_short_help_str(limit)
        # shortened exactly as the command's own docstring would be, without importing it
        return click.Command(name, help=self.listed[name][1]).get_short_help_str(limit)


@click.group(cls=StepGroup)
@click.option("--home", default=None, help="Studio home (default $MLOPS_STUDIO_HOME or ./.studio).")
@click.version_option(package_name="mlops-studio")
@click.pass_context
def cli(ctx: click.Context, home: str | None) -> None:
    """MLOps Studio: the machine-learning life cycle for tabular data."""
    ctx.obj = StudioContext(home)


# -- text output -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """One column of a plain-text table: its header and how its cells are laid out."""

    header: str = ""
    width: int = 0  # padded to this many characters; 0 for free text (the last column)
    align: Literal["<", ">"] = "<"
    spec: str = ""  # how a cell's value is formatted, e.g. "," or ".4g"
    cut: bool = False  # cut longer cells to the width rather than push the next column along
    gap: str = " "  # what separates it from the column before

    def cell(self, value: Any) -> str:
        return self.pad(format(value, self.spec))

    def pad(self, text: str) -> str:
        if self.cut:
            text = text[: self.width]
        return f"{text:{self.align}{self.width}}" if self.width else text


def table(
    columns: Sequence[Column], rows: Iterable[Sequence[Any]], *, header: bool = True
) -> list[str]:
    """The lines of a table, one per row, under a line of headers unless ``header`` is False."""
    lines = [_line(columns, [column.pad(column.header) for column in columns])] if header else []
    for row in rows:
        cells = [column.cell(value) for column, value in zip(columns, row, strict=True)]
        lines.append(_line(columns, cells))
    return lines


def _line(columns: Sequence[Column], cells: Sequence[str]) -> str:
    return cells[0] + "".join(
        column.gap + cell for column, cell in zip(columns[1:], cells[1:], strict=True)
    )


def score(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"
