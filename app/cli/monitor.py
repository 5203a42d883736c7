"""CLI commands for monitoring: the scheduler, a deployment's live numbers, true labels,
simulated traffic and data drift."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from app.cli.group import API_KEY_ENV, Column, StudioContext, cli, emit, studio_command, table

if TYPE_CHECKING:  # imported where used: the CLI starts without loading drift
    from core.monitor.drift.sources import DriftSource

DRIFT_COLUMNS = (
    Column("column", 24, cut=True),
    Column("method", 14),
    Column("statistic", 10, ">"),
    Column("p/distance", 10, ">"),
    Column("threshold", 9, ">", ".4g"),
    Column("verdict", gap="  "),
)


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
    """Traffic, latency, errors, predictions, labels, drift, estimated performance, quality tests
    and alerts of DEPLOYMENT_ID."""
    from core.monitor import alerts
    from core.monitor.dashboard import drift_metrics, prediction_mix, summarise
    from core.monitor.drift_windows import update_drift
    from core.monitor.estimation.history import estimate_history
    from core.serving.deployments import get_deployment
    from core.serving.scoring import load_served_model

    deployment = get_deployment(ctx.home, deployment_id)
    served = load_served_model(ctx.home, deployment.model_version_id, engine="sklearn")
    regression = served.task == "regression"
    summary = summarise(ctx.home, deployment_id, minutes=minutes, regression=regression)
    update_drift(ctx.home, deployment_id)
    alerts.evaluate(ctx.home, deployment_id)
    payload = summary.to_dict()
    payload["drift"] = [
        {
            "start": window.start,
            "end": window.end,
            "rows": window.rows,
            "drift_share": window.drift_share,
            "dataset_drift": window.dataset_drift,
            "drifted_features": [n for n, f in window.features.items() if f.drifted],
        }
        for window in drift_metrics(ctx.home, deployment_id, minutes=minutes).windows
    ]
    history = estimate_history(
        ctx.home, deployment_id, minutes=minutes, classes=None if regression else served.classes
    )
    payload["before_labels"] = history.to_dict()
    payload["model_version"] = deployment.model_label
    payload["prediction_mix"] = prediction_mix(summary.windows)
    payload["open_alerts"] = [
        alert.to_dict()
        for alert in alerts.open_alerts(ctx.home)
        if alert.deployment_id == deployment_id
    ]
    emit(payload, as_json, _monitor_text)


def _monitor_text(payload: dict[str, Any]) -> str:
    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value:.1f} ms"

    mix = ", ".join(f"{answer} {count:,}" for answer, count in payload["prediction_mix"].items())

    lines = [
        f"Deployment {payload['deployment_id']} ({payload['model_version']}): "
        f"{payload['requests']:,} requests, {payload['requests_per_minute']:.1f}/min, "
        f"errors {payload['error_rate']:.1%}",
        f"latency p50 {ms(payload['p50_ms'])}, p95 {ms(payload['p95_ms'])}, "
        f"p99 {ms(payload['p99_ms'])}",
        f"predictions: {mix or 'none yet'}",
    ]
    for window in payload["drift"][-3:]:
        drifted = ", ".join(window["drifted_features"]) or "none"
        lines.append(f"drift share {window['drift_share'] or 0:.2f}; drifted: {drifted}")
    latest = (payload["before_labels"]["windows"] or [None])[-1]
    if latest is not None:
        for name, estimate in latest["estimated"].items():
            if None in (estimate["value"], estimate["lower"], estimate["upper"]):
                continue
            lines.append(
                f"estimated {name} {estimate['value']:.3f} "
                f"[{estimate['lower']:.3f}, {estimate['upper']:.3f}]"
            )
        for name, joint in latest["multivariate_drift"].items():
            verdict = "DRIFT" if joint["drifted"] else "ok"
            band = f"threshold {joint['threshold']:.3f}"
            if joint.get("lower") is not None:
                band = f"band {joint['lower']:.3f} to {joint['threshold']:.3f}"
            lines.append(f"{name} {joint['value']:.3f} ({band}) {verdict}")
        lines.append(f"quality tests failed: {latest['failed_quality_tests']}")
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
    report = apply_labels(
        ctx.home, deployment_id, read_label_file(path), classes=classes, actor="cli"
    )
    emit(report.to_dict(), as_json, _labels_text)


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
    emit(
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
    """Data drift of CURRENT against REFERENCE, each a dataset (NAME or NAME@N) or a file.

    With a Dask cluster set (DASK_SCHEDULER_ADDRESS), its workers summarise the partitions."""
    # Parquet files and stored datasets are read in partitions of the needed columns only and
    # never become pandas frames, so a table larger than memory compares in bounded memory.
    from core.jobs.compute import compute_backend
    from core.monitor.drift.sources import drift_of_sources

    reference_source = _drift_source(ctx.home, reference)
    current_source = _drift_source(ctx.home, current)
    with compute_backend() as backend:
        report = drift_of_sources(
            reference_source,
            current_source,
            backend=backend,
            columns=list(columns) or None,
            method=method,
            threshold=threshold,
        )
        placement = backend.placement()
    payload = {
        "reference": reference_source.label,
        "current": current_source.label,
        **report.to_dict(),
        "compute": placement.to_dict(),
    }
    emit(payload, as_json, _drift_text)


def _drift_source(home: Path, source: str) -> DriftSource:
    """A file (Parquet read as it is; others read as imports read them), else a stored dataset;
    with its column roles (a file's are guessed from its values, as an import guesses them)."""
    path = Path(source)
    if path.is_file():
        return _file_source(path)
    from core.data.datasets import DatasetError, find_version, version_path

    try:
        version = find_version(home, source)
    except DatasetError:
        if not (path.suffix or path.parent != Path(".")):
            raise
        raise FileNotFoundError(
            f"There is no file at {source} and no dataset called {source!r}. Check the path, "
            "or run `mlops-studio datasets` to see the names."
        ) from None
    import pyarrow.parquet as pq

    from core.monitor.drift.sources import DriftSource

    stored = version_path(home, version)
    roles = {column.name: column.role for column in version.schema}
    return DriftSource(version.label, pq.read_schema(stored), roles, path=stored)


def _file_source(path: Path) -> DriftSource:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from core.monitor.drift.sources import DriftSource

    if _plain_parquet(path):
        try:
            schema = pq.read_schema(path)
        except (pa.ArrowException, OSError):
            schema = None
        if schema is not None and _import_names(schema.names):
            return DriftSource(str(path), schema, None, path=path)
    from core.data.ingest import ImportLimits, read_table
    from core.data.schema import infer_schema

    table = read_table(path, limits=ImportLimits.from_env()).table
    roles = {column.name: column.role for column in infer_schema(table)}
    return DriftSource(str(path), table.schema, roles, table=table)


def _plain_parquet(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(4) == b"PAR1"


def _import_names(names: list[str]) -> bool:
    """Names an import keeps as they are: stripped, not blank, no two alike."""
    return all(name == name.strip() and name for name in names) and len(set(names)) == len(names)


def _drift_text(payload: dict[str, Any]) -> str:
    def number(value: float | None) -> str:
        return "-" if value is None else f"{value:.4g}"

    columns = sorted(payload["columns"], key=lambda column: not column["drifted"])
    lines = [
        f"{payload['current']} ({payload['rows_current']:,} rows) against "
        f"{payload['reference']} ({payload['rows_reference']:,} rows)",
    ]
    lines += table(
        DRIFT_COLUMNS,
        [
            (
                c["column"],
                c["method"],
                number(c["statistic"]),
                number(c["score"]),
                c["threshold"],
                "DRIFT" if c["drifted"] else "ok",
            )
            for c in columns
        ],
    )
    lines += [
        f"{DRIFT_COLUMNS[0].pad(name)} missing from the current data"
        for name in payload["missing_columns"]
    ]
    lines += [f"Note: {note}" for note in payload["notes"]]
    lines += [f"  {c['column']}: {c['note']}" for c in columns if c["note"]]
    lines.append(_where_text(payload["compute"]))
    verdict = "DATASET DRIFT" if payload["dataset_drift"] else "no dataset drift"
    lines.append(
        f"Drift share {payload['drifted_columns']}/{payload['compared_columns']} = "
        f"{payload['drift_share']:.2f} (dataset drift at >= {payload['share_threshold']:.2f}): "
        f"{verdict}"
    )
    return "\n".join(lines)


def _where_text(compute: dict[str, Any]) -> str:
    from core.jobs.compute import Placement

    placement = Placement.from_dict(compute) or Placement()
    where = placement.describe()
    text = f"Summarised {where[0].lower()}{where[1:]}."
    return f"{text} {placement.notice}" if placement.notice else text
