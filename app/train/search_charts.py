"""Plotly figures of a hyperparameter search (progress, parameters against the score) and of
runs compared side by side."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import plotly.graph_objects as go

from app.charts.figures import base_figure, empty_figure
from app.charts.theme import ACCENT, MUTED, TEMPLATE, in_template, plain, series_color, short
from core import words
from core.train.evaluate import HIGHER_IS_BETTER

LOG_DECADES = 2


# -- helpers ---------------------------------------------------------------------------------


def _metric(metric: str) -> str:
    return plain(words.metric(metric))


def _metric_in_template(metric: str) -> str:
    return in_template(words.metric(metric))


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


# -- search and experiments ------------------------------------------------------------------


def search_progress_figure(trials: list[dict], *, metric: str, higher_is_better: bool) -> go.Figure:
    """Each trial's score by trial number (pruned ones grey) and the best finished so far."""
    label, hover = _metric(metric), _metric_in_template(metric)
    title = f"Search progress · {label}"
    ordered = sorted(trials, key=lambda trial: trial.get("number", 0))
    scored = [trial for trial in ordered if _finite(trial.get("score"))]
    if not scored:
        return empty_figure(title)
    failed = sum(trial.get("status") == "failed" for trial in ordered)
    note = f"{len(ordered)} trials · {'higher' if higher_is_better else 'lower'} is better"
    figure = base_figure(
        title, x="Trial", y=label, subtitle=note + (f" · {failed} failed" if failed else "")
    )
    for status, color, name in (("done", ACCENT, "finished"), ("pruned", MUTED, "pruned early")):
        group = [trial for trial in scored if trial.get("status", "done") == status]
        if group:
            figure.add_trace(
                go.Scatter(
                    x=[trial.get("number") for trial in group],
                    y=[trial["score"] for trial in group],
                    customdata=[_params_text(trial.get("params")) for trial in group],
                    mode="markers",
                    marker={"color": color, "size": 8, "opacity": 0.85},
                    name=name,
                    hovertemplate=f"trial %{{x}} ({name})<br>{hover} %{{y:.4g}}"
                    "<br>%{customdata}<extra></extra>",
                )
            )
    numbers, best = _best_so_far(ordered, higher_is_better)
    if any(value is not None for value in best):
        figure.add_trace(
            go.Scatter(
                x=numbers,
                y=best,
                mode="lines",
                line={"color": "#222222", "width": 2, "shape": "hv"},
                name="best so far",
                hovertemplate=f"after trial %{{x}}<br>best {hover} %{{y:.4g}}<extra></extra>",
            )
        )
    return figure


def _best_so_far(
    ordered: list[dict], higher_is_better: bool
) -> tuple[list[Any], list[float | None]]:
    best: float | None = None
    curve: list[float | None] = []
    for trial in ordered:
        if trial.get("status", "done") == "done" and _finite(trial.get("score")):
            score = float(trial["score"])
            if best is None or (score > best if higher_is_better else score < best):
                best = score
        curve.append(best)
    return [trial.get("number") for trial in ordered], curve


def _params_text(params: Any) -> str:
    if not isinstance(params, dict):
        return ""
    return "<br>".join(
        f"{in_template(words.param(name))} = {in_template(words.value(v))}"
        for name, v in params.items()
    )


def _finished(trials: list[dict]) -> list[dict]:
    """Trials with a score that ran to the end (no status counts as finished)."""
    return [
        trial
        for trial in trials
        if _finite(trial.get("score")) and trial.get("status", "done") == "done"
    ]


def _spans_decades(values: np.ndarray) -> bool:
    return (
        bool(values.size)
        and bool((values > 0).all())
        and (float(values.max()) / float(values.min()) > 10**LOG_DECADES)
    )


def _levels(values: list[Any]) -> tuple[list[int], list[str]]:
    """Integer codes in first-seen order and the level names they stand for."""
    names: list[str] = []
    codes: list[int] = []
    for value in values:
        name = words.value(value)
        if name not in names:
            names.append(name)
        codes.append(names.index(name))
    return codes, names


def _param_names(trials: list[dict]) -> list[str]:
    names: list[str] = []
    for trial in trials:
        for name in trial.get("params") or {}:
            if name not in names:
                names.append(name)
    return names


def parallel_coordinates_figure(trials: list[dict], *, metric: str) -> go.Figure:
    """One axis per hyperparameter plus the score; each line is a finished trial."""
    label = _metric(metric)
    title = f"Hyperparameters and {label}"
    finished = _finished(trials)
    if not finished:
        return empty_figure(title)
    dimensions = []
    for name in _param_names(finished):
        values = [(trial.get("params") or {}).get(name) for trial in finished]
        dimensions.append(_dimension(name, values))
    scores = [float(trial["score"]) for trial in finished]
    dimensions.append({"label": label, "values": scores})
    figure = go.Figure(
        go.Parcoords(
            dimensions=dimensions,
            line={
                "color": scores,
                "colorscale": "Viridis",
                "reversescale": not HIGHER_IS_BETTER.get(metric, True),
                "showscale": True,
                "colorbar": {"title": {"text": label}},
            },
        )
    )
    figure.update_layout(
        template=TEMPLATE,
        title={"text": title, "subtitle": {"text": f"{len(finished)} finished trials"}},
        height=460,
        margin={"l": 80, "r": 80, "t": 110, "b": 40},
    )
    return figure


def _dimension(name: str, values: list[Any]) -> dict[str, Any]:
    if all(_finite(value) for value in values):
        numbers = np.array(values, dtype=float)
        if _spans_decades(numbers):
            label = f"log10({plain(words.param(name))})"
            return {"label": label, "values": np.log10(numbers).tolist()}
        return {"label": plain(words.param(name)), "values": numbers.tolist()}
    codes, names = _levels(values)
    return {
        "label": plain(words.param(name)),
        "values": codes,
        "tickvals": list(range(len(names))),
        "ticktext": [short(level) for level in names],
        "range": [-0.5, len(names) - 0.5] if len(names) == 1 else [0, len(names) - 1],
    }


def metric_vs_param_figure(trials: list[dict], *, param: str, metric: str) -> go.Figure:
    """Score against one hyperparameter: a scatter for numbers, boxes with points for choices."""
    label, hover = _metric(metric), _metric_in_template(metric)
    words_of_param = words.param(param)
    title = f"{label} vs {plain(words_of_param)}"
    pairs = [
        ((trial.get("params") or {}).get(param), float(trial["score"]))
        for trial in _finished(trials)
        if param in (trial.get("params") or {})
    ]
    if not pairs:
        return empty_figure(title)
    values = [value for value, _ in pairs]
    scores = [score for _, score in pairs]
    figure = base_figure(
        title, x=plain(words_of_param), y=label, subtitle=f"{len(pairs)} finished trials"
    )
    if all(_finite(value) for value in values):
        numbers = np.array(values, dtype=float)
        figure.add_trace(
            go.Scatter(
                x=numbers,
                y=scores,
                mode="markers",
                marker={"color": ACCENT, "size": 8, "opacity": 0.8},
                name="trials",
                hovertemplate=f"{in_template(words_of_param)} %{{x:.4g}}<br>{hover} %{{y:.4g}}"
                "<extra></extra>",
            )
        )
        if _spans_decades(numbers):
            figure.update_xaxes(type="log")
        return figure
    codes, names = _levels(values)
    labels = [plain(names[code]) for code in codes]
    figure.add_trace(
        go.Box(
            x=labels,
            y=scores,
            boxpoints="all",
            jitter=0.4,
            pointpos=0,
            marker={"color": ACCENT, "size": 7, "opacity": 0.8},
            line={"color": ACCENT},
            name="trials",
            hovertemplate=f"{in_template(words_of_param)} %{{x}}<br>{hover} %{{y:.4g}}"
            "<extra></extra>",
        )
    )
    figure.update_xaxes(
        type="category",
        categoryorder="array",
        categoryarray=[plain(name) for name in names],
        tickvals=[plain(name) for name in names],
        ticktext=[short(name) for name in names],
    )
    return figure


def runs_comparison_figure(runs: list[dict], *, metrics: list[str]) -> go.Figure:
    """Grouped bars: one group per metric (↑ higher / ↓ lower is better), one colour per run."""
    title = "Runs compared"
    if not runs or not metrics:
        return empty_figure(title)
    names = [_metric(metric) + _direction(metric) for metric in metrics]
    figure = base_figure(
        title, x="Metric", y="Value", subtitle=f"{len(runs)} runs · ↑ higher is better, ↓ lower"
    )
    for index, run in enumerate(runs):
        scores = run.get("metrics") or {}
        values = [scores.get(metric) if _finite(scores.get(metric)) else None for metric in metrics]
        run_label = run.get("label", f"run {index + 1}")
        figure.add_trace(
            go.Bar(
                x=names,
                y=values,
                name=plain(run_label),
                marker={"color": series_color(index)},
                text=[f"{value:.3g}" if value is not None else "" for value in values],
                textposition="outside",
                hovertemplate=f"{in_template(run_label)}<br>%{{x}} %{{y:.4g}}<extra></extra>",
            )
        )
    figure.update_layout(barmode="group")
    figure.update_xaxes(type="category")
    return figure


def _direction(metric: str) -> str:
    if metric not in HIGHER_IS_BETTER:
        return ""
    return " ↑" if HIGHER_IS_BETTER[metric] else " ↓"
