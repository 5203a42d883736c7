"""The `mlops-studio` command line: a thin layer over core/, one module per life-cycle step,
each command with --json output."""

from app.cli import datasets, deploy, monitor, prepare, retrain, review, studio, train
from app.cli.group import cli

# Importing the step modules registers their commands on ``cli``.
STEPS = (studio, datasets, prepare, train, review, deploy, monitor, retrain)
from app.cli import cluster  # noqa: E402, F401  (registers `mlops-studio cluster`)


def main() -> None:
    cli(prog_name="mlops-studio")


__all__ = ["cli", "main"]
