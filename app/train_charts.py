"""Plotly figures for the Train page: evaluation charts, search progress and run comparison."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from app.explore_charts import ACCENT, COLORWAY, MUTED, TEMPLATE, plain
from core.train.evaluate import HIGHER_IS_BETTER, METRIC_LABELS

NOTHING = "Nothing to show yet"
LABEL_LIMIT = 32
LOG_DECADES = 2
ANNOTATED_CLASSES = 20
UNSET = "(unset)"
CHANCE_LINE = {"color": MUTED, "dash": "dash", "width": 1}


# -- helpers ---------------------------------------------------------------------------------


def _in_template(text: object) -> str:
    """Escaped text that can sit inside a hovertemplate without ``%{...}`` being substituted."""
    return plain(text).replace("%{", "%&#123;")


def _short(text: object, limit: int = LABEL_LIMIT) -> str:
    """A tick label: cut before escaping so an entity is never split."""
    raw = str(text) or "(empty)"
    return plain(raw if len(raw) <= limit else raw[: limit - 1] + "…")


def _metric(metric: str) -> str:
    return METRIC_LABELS.get(metric) or plain(metric)


def _metric_in_template(metric: str) -> str:
    return METRIC_LABELS.get(metric) or _in_template(metric)


def _color(index: int) -> str:
    return COLORWAY[index % len(COLORWAY)]


def _numbers(values: Sequence[Any] | None) -> np.ndarray:
    """JSON numbers as floats, None (JSON null) as NaN."""
    return np.array([math.nan if value is None else value for value in values or []], dtype=float)


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def base_figure(title: str, *, x: str, y: str, subtitle: str = "", height: int = 440) -> go.Figure:
    figure = go.Figure()
    figure.update_layout(
        template=TEMPLATE,
        title={"text": title, "subtitle": {"text": subtitle}},
        height=height,
        xaxis_title={"text": x},
        yaxis_title={"text": y},
    )
    return figure


def empty_figure(title: str, message: str = NOTHING) -> go.Figure:
    figure = base_figure(title, x="", y="", height=260)
    figure.add_annotation(text=message, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
    figure.update_xaxes(visible=False)
    figure.update_yaxes(visible=False)
    return figure


def _curves(plots: dict, key: str) -> list[dict]:
    section = plots.get(key) or {}
    return [curve for curve in section.get("curves") or [] if curve]


def _for_class(title: str, curves: list[dict]) -> str:
    """The title, naming the class when there is a single curve (the positive class)."""
    if len(curves) == 1:
        return f"{title} · positive class {plain(curves[0].get('label', ''))}"
    return f"{title}, each class against the rest"


def _unit_square(figure: go.Figure) -> go.Figure:
    figure.update_xaxes(range=[0, 1], constrain="domain")
    figure.update_yaxes(range=[0, 1.02], scaleanchor="x", scaleratio=1, constrain="domain")
    return figure


def _value(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


# -- evaluation: classification --------------------------------------------------------------


def confusion_matrix_figure(plots: dict) -> go.Figure:
    """Counts as text, coloured by the share of each actual class (row-normalised, in hover)."""
    title = "Confusion matrix"
    data = plots.get("confusion_matrix") or {}
    labels = list(data.get("labels") or [])
    counts = _numbers([value for row in data.get("counts") or [] for value in row])
    if not labels or counts.size != len(labels) ** 2:
        return empty_figure(title)
    counts = counts.reshape(len(labels), len(labels))
    totals = counts.sum(axis=1, keepdims=True)
    share = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    names = [plain(label) for label in labels]
    figure = base_figure(
        title,
        x="Predicted class",
        y="Actual class",
        subtitle=f"{int(counts.sum()):,} rows · colour shows the share of each actual class",
        height=max(420, 160 + 28 * len(labels)),
    )
    figure.add_trace(
        go.Heatmap(
            z=share,
            x=names,
            y=names,
            text=[[f"{int(value):,}" for value in row] for row in counts],
            texttemplate="%{text}" if len(labels) <= ANNOTATED_CLASSES else None,
            zmin=0.0,
            zmax=1.0,
            colorscale="Blues",
            colorbar={"title": {"text": "share of actual"}, "tickformat": ".0%"},
            hovertemplate=(
                "actual %{y}<br>predicted %{x}<br>%{text} rows"
                "<br>%{z:.1%} of actual %{y}<extra></extra>"
            ),
        )
    )
    ticks = {"type": "category", "tickvals": names, "ticktext": [_short(x) for x in labels]}
    figure.update_xaxes(**ticks)
    figure.update_yaxes(**ticks, autorange="reversed")
    return figure


def roc_figure(plots: dict) -> go.Figure:
    """True against false positive rate, with the chance diagonal."""
    curves = _curves(plots, "roc")
    if not curves:
        return empty_figure("ROC curve")
    figure = base_figure(
        _for_class("ROC curve", curves), x="False positive rate", y="True positive rate"
    )
    figure.add_trace(
        go.Scatter(
            x=[0, 1], y=[0, 1], mode="lines", line=CHANCE_LINE, name="chance", hoverinfo="skip"
        )
    )
    for index, curve in enumerate(curves):
        label = curve.get("label", "")
        auc = curve.get("auc")
        figure.add_trace(
            go.Scatter(
                x=curve.get("fpr") or [],
                y=curve.get("tpr") or [],
                mode="lines",
                line={"color": _color(index), "width": 2},
                name=plain(label) + (f" (AUC {auc:.3f})" if _finite(auc) else ""),
                hovertemplate=(
                    f"{_in_template(label)}<br>FPR %{{x:.3f}} · TPR %{{y:.3f}}<extra></extra>"
                ),
            )
        )
    return _unit_square(figure)


def pr_figure(plots: dict) -> go.Figure:
    """Precision against recall; the dotted line is the class's prevalence (a random model)."""
    curves = _curves(plots, "pr")
    if not curves:
        return empty_figure("Precision–recall curve")
    prevalence = list((plots.get("pr") or {}).get("prevalence") or [])
    figure = base_figure(_for_class("Precision–recall curve", curves), x="Recall", y="Precision")
    for index, curve in enumerate(curves):
        label = curve.get("label", "")
        average = curve.get("average_precision")
        color = _color(index)
        figure.add_trace(
            go.Scatter(
                x=curve.get("recall") or [],
                y=curve.get("precision") or [],
                mode="lines",
                line={"color": color, "width": 2, "shape": "hv"},
                name=plain(label) + (f" (AP {average:.3f})" if _finite(average) else ""),
                hovertemplate=(
                    f"{_in_template(label)}<br>recall %{{x:.3f}} · "
                    "precision %{y:.3f}<extra></extra>"
                ),
            )
        )
        base = prevalence[index] if index < len(prevalence) else None
        if _finite(base):
            figure.add_trace(
                go.Scatter(
                    x=[0, 1],
                    y=[base, base],
                    mode="lines",
                    line={"color": color, "dash": "dot", "width": 1},
                    name=f"{plain(label)} prevalence {base:.1%}",
                    showlegend=len(curves) == 1,
                    hoverinfo="skip",
                )
            )
    return _unit_square(figure)


def calibration_figure(plots: dict) -> go.Figure:
    """Observed share of the class against mean predicted probability, per quantile bin."""
    curves = _curves(plots, "calibration")
    if not curves:
        return empty_figure("Calibration")
    figure = base_figure(
        _for_class("Calibration", curves),
        x="Mean predicted probability",
        y="Observed share of the class",
        subtitle="Points on the diagonal are perfectly calibrated; bins hold equal row counts",
    )
    figure.add_trace(
        go.Scatter(
            x=[0, 1],
            y=[0, 1],
            mode="lines",
            line=CHANCE_LINE,
            name="perfectly calibrated",
            hoverinfo="skip",
        )
    )
    for index, curve in enumerate(curves):
        label = curve.get("label", "")
        figure.add_trace(
            go.Scatter(
                x=curve.get("mean_predicted") or [],
                y=curve.get("fraction_positive") or [],
                customdata=curve.get("count") or [],
                mode="lines+markers",
                line={"color": _color(index), "width": 2},
                name=plain(label),
                hovertemplate=(
                    f"{_in_template(label)}<br>predicted %{{x:.3f}} · observed %{{y:.3f}}"
                    "<br>%{customdata:,} rows<extra></extra>"
                ),
            )
        )
    return _unit_square(figure)


def gain_figure(plots: dict) -> go.Figure:
    """Cumulative gain (left) and lift (right) when targeting the highest-scored rows first."""
    data = plots.get("gain") or {}
    targeted = [0.0, *(data.get("fraction_targeted") or [])]
    if len(targeted) < 2:
        return empty_figure("Cumulative gain and lift")
    captured = [0.0, *(data.get("fraction_captured") or [])]
    lift = [None, *(data.get("lift") or [])]
    label = data.get("label", "")
    figure = make_subplots(rows=1, cols=2, subplot_titles=("Cumulative gain", "Lift"))
    figure.update_layout(
        template=TEMPLATE,
        title={"text": f"Cumulative gain and lift · positive class {plain(label)}"},
        height=420,
    )
    figure.add_trace(
        go.Scatter(
            x=[0, 1], y=[0, 1], mode="lines", line=CHANCE_LINE, name="random", hoverinfo="skip"
        ),
        row=1,
        col=1,
    )
    figure.add_trace(
        go.Scatter(
            x=targeted,
            y=captured,
            mode="lines",
            line={"color": ACCENT, "width": 2},
            name="model",
            hovertemplate="top %{x:.1%} of rows<br>%{y:.1%} of positives<extra></extra>",
        ),
        row=1,
        col=1,
    )
    figure.add_trace(
        go.Scatter(
            x=targeted,
            y=lift,
            mode="lines",
            line={"color": ACCENT, "width": 2},
            name="lift",
            showlegend=False,
            hovertemplate="top %{x:.1%} of rows<br>lift %{y:.2f}×<extra></extra>",
        ),
        row=1,
        col=2,
    )
    figure.add_hline(y=1.0, line=CHANCE_LINE, row=1, col=2)
    figure.update_xaxes(title_text="Share of rows targeted", tickformat=".0%", range=[0, 1])
    figure.update_yaxes(title_text="Share of positives captured", tickformat=".0%", row=1, col=1)
    figure.update_yaxes(title_text="Lift over random", row=1, col=2)
    return figure


def threshold_figure(plots: dict) -> go.Figure:
    """Precision, recall and F1 as the decision threshold moves; the best F1 is marked."""
    title = "Precision, recall and F1 by threshold"
    data = plots.get("threshold") or {}
    thresholds = data.get("threshold") or []
    if not thresholds:
        return empty_figure(title)
    scale = "decision score" if data.get("scale") == "decision" else "predicted probability"
    figure = base_figure(title, x=f"Threshold on the {scale}", y="Value")
    for index, name in enumerate(("precision", "recall", "f1")):
        figure.add_trace(
            go.Scatter(
                x=thresholds,
                y=data.get(name) or [],
                mode="lines",
                line={"color": _color(index), "width": 2},
                name="F1" if name == "f1" else name,
                hovertemplate=f"threshold %{{x:.3f}}<br>{name} %{{y:.3f}}<extra></extra>",
            )
        )
    f1 = _numbers(data.get("f1"))
    if f1.size and np.isfinite(f1).any():
        best = int(np.nanargmax(f1))
        figure.add_vline(
            x=thresholds[best],
            line={"color": MUTED, "dash": "dot", "width": 1},
            annotation_text=f"best F1 {f1[best]:.3f} at {thresholds[best]:.3g}",
        )
    figure.update_yaxes(range=[0, 1.02])
    return figure


# -- evaluation: regression ------------------------------------------------------------------


def residuals_figure(plots: dict) -> go.Figure:
    """Residual (actual − predicted) against the prediction, with the zero line."""
    title = "Residuals vs predicted"
    data = plots.get("residuals") or {}
    if not data.get("predicted"):
        return empty_figure(title)
    figure = base_figure(title, x="Predicted", y="Residual (actual − predicted)")
    figure.add_trace(
        go.Scatter(
            x=data["predicted"],
            y=data.get("residual") or [],
            mode="markers",
            marker={"color": ACCENT, "size": 5, "opacity": 0.5},
            name="rows",
            hovertemplate="predicted %{x:.4g}<br>residual %{y:.4g}<extra></extra>",
        )
    )
    figure.add_hline(y=0.0, line=CHANCE_LINE)
    return figure


def predicted_vs_actual_figure(plots: dict) -> go.Figure:
    """Predicted against actual values; perfect predictions sit on the y = x line."""
    title = "Predicted vs actual"
    data = plots.get("predicted_vs_actual") or {}
    actual, predicted = _numbers(data.get("actual")), _numbers(data.get("predicted"))
    if not actual.size:
        return empty_figure(title)
    figure = base_figure(title, x="Actual", y="Predicted")
    both = np.concatenate([actual, predicted])
    both = both[np.isfinite(both)]
    if both.size:
        low, high = float(both.min()), float(both.max())
        figure.add_trace(
            go.Scatter(
                x=[low, high],
                y=[low, high],
                mode="lines",
                line=CHANCE_LINE,
                name="y = x",
                hoverinfo="skip",
            )
        )
    figure.add_trace(
        go.Scatter(
            x=data.get("actual"),
            y=data.get("predicted"),
            mode="markers",
            marker={"color": ACCENT, "size": 5, "opacity": 0.5},
            name="rows",
            hovertemplate="actual %{x:.4g}<br>predicted %{y:.4g}<extra></extra>",
        )
    )
    return figure


def residual_histogram_figure(plots: dict) -> go.Figure:
    """How the residuals spread; centred on zero and narrow is good."""
    title = "Residual distribution"
    data = plots.get("residual_histogram") or {}
    edges = _numbers(data.get("edges"))
    counts = list(data.get("counts") or [])
    if not counts or edges.size != len(counts) + 1:
        return empty_figure(title)
    figure = base_figure(title, x="Residual (actual − predicted)", y="Rows")
    figure.add_trace(
        go.Bar(
            x=(edges[:-1] + edges[1:]) / 2,
            y=counts,
            width=np.diff(edges),
            marker={"color": ACCENT},
            customdata=np.column_stack([edges[:-1], edges[1:]]),
            name="rows",
            hovertemplate="%{customdata[0]:.4g} to %{customdata[1]:.4g}<br>%{y:,} rows"
            "<extra></extra>",
        )
    )
    figure.add_vline(x=0.0, line=CHANCE_LINE)
    figure.update_layout(bargap=0.02)
    return figure


_CLASSIFICATION_FIGURES: tuple[tuple[str, str, Callable[[dict], go.Figure]], ...] = (
    ("confusion_matrix", "Confusion matrix", confusion_matrix_figure),
    ("roc", "ROC curve", roc_figure),
    ("pr", "Precision–recall", pr_figure),
    ("calibration", "Calibration", calibration_figure),
    ("gain", "Gain and lift", gain_figure),
    ("threshold", "Threshold", threshold_figure),
)
_REGRESSION_FIGURES: tuple[tuple[str, str, Callable[[dict], go.Figure]], ...] = (
    ("predicted_vs_actual", "Predicted vs actual", predicted_vs_actual_figure),
    ("residuals", "Residuals", residuals_figure),
    ("residual_histogram", "Residual distribution", residual_histogram_figure),
)


def evaluation_figures(plots: dict, task: str) -> dict[str, go.Figure]:
    """Tab title → figure for each chart whose data is present, in reading order."""
    order = _REGRESSION_FIGURES if task == "regression" else _CLASSIFICATION_FIGURES
    return {title: build(plots) for key, title, build in order if plots.get(key)}


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
        f"{_in_template(name)} = {_in_template(_value(v))}" for name, v in params.items()
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
        name = UNSET if value is None else str(value)
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
            return {"label": f"log10({plain(name)})", "values": np.log10(numbers).tolist()}
        return {"label": plain(name), "values": numbers.tolist()}
    codes, names = _levels(values)
    return {
        "label": plain(name),
        "values": codes,
        "tickvals": list(range(len(names))),
        "ticktext": [_short(level) for level in names],
        "range": [-0.5, len(names) - 0.5] if len(names) == 1 else [0, len(names) - 1],
    }


def metric_vs_param_figure(trials: list[dict], *, param: str, metric: str) -> go.Figure:
    """Score against one hyperparameter: a scatter for numbers, boxes with points for choices."""
    label, hover = _metric(metric), _metric_in_template(metric)
    title = f"{label} vs {plain(param)}"
    pairs = [
        ((trial.get("params") or {}).get(param), float(trial["score"]))
        for trial in _finished(trials)
        if param in (trial.get("params") or {})
    ]
    if not pairs:
        return empty_figure(title)
    values = [value for value, _ in pairs]
    scores = [score for _, score in pairs]
    figure = base_figure(title, x=plain(param), y=label, subtitle=f"{len(pairs)} finished trials")
    if all(_finite(value) for value in values):
        numbers = np.array(values, dtype=float)
        figure.add_trace(
            go.Scatter(
                x=numbers,
                y=scores,
                mode="markers",
                marker={"color": ACCENT, "size": 8, "opacity": 0.8},
                name="trials",
                hovertemplate=f"{_in_template(param)} %{{x:.4g}}<br>{hover} %{{y:.4g}}"
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
            hovertemplate=f"{_in_template(param)} %{{x}}<br>{hover} %{{y:.4g}}<extra></extra>",
        )
    )
    figure.update_xaxes(
        type="category",
        categoryorder="array",
        categoryarray=[plain(name) for name in names],
        tickvals=[plain(name) for name in names],
        ticktext=[_short(name) for name in names],
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
                marker={"color": _color(index)},
                text=[f"{value:.3g}" if value is not None else "" for value in values],
                textposition="outside",
                hovertemplate=f"{_in_template(run_label)}<br>%{{x}} %{{y:.4g}}<extra></extra>",
            )
        )
    figure.update_layout(barmode="group")
    figure.update_xaxes(type="category")
    return figure


def _direction(metric: str) -> str:
    if metric not in HIGHER_IS_BETTER:
        return ""
    return " ↑" if HIGHER_IS_BETTER[metric] else " ↓"
