"""Plotly figures of a run's evaluation: classification curves and matrices, regression errors."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from app.charts.figures import base_figure, empty_figure
from app.charts.theme import ACCENT, MUTED, TEMPLATE, in_template, plain, series_color, short
from core import words
from core.train.evaluate import CalibrationCurve, PlotData, PrCurve, RocCurve

ANNOTATED_CLASSES = 20
CHANCE_LINE = {"color": MUTED, "dash": "dash", "width": 1}


# -- helpers ---------------------------------------------------------------------------------


def _numbers(values: Sequence[Any] | None) -> np.ndarray:
    """JSON numbers as floats, None (JSON null) as NaN."""
    return np.array([math.nan if value is None else value for value in values or []], dtype=float)


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _for_class(
    title: str, curves: Sequence[RocCurve] | Sequence[PrCurve] | Sequence[CalibrationCurve]
) -> str:
    """The title, naming the class when there is a single curve (the positive class)."""
    if len(curves) == 1:
        return f"{title} · positive class {plain(curves[0].label)}"
    return f"{title}, each class against the rest"


def _unit_square(figure: go.Figure) -> go.Figure:
    figure.update_xaxes(range=[0, 1], constrain="domain")
    figure.update_yaxes(range=[0, 1.02], scaleanchor="x", scaleratio=1, constrain="domain")
    return figure


# -- evaluation: classification --------------------------------------------------------------


def confusion_matrix_figure(plots: PlotData) -> go.Figure:
    """Counts as text, coloured by the share of each actual class (row-normalised, in hover)."""
    title = "Confusion matrix"
    data = plots.confusion_matrix
    labels = list(data.labels) if data else []
    counts = _numbers([value for row in data.counts for value in row] if data else [])
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
    ticks = {"type": "category", "tickvals": names, "ticktext": [short(x) for x in labels]}
    figure.update_xaxes(**ticks)
    figure.update_yaxes(**ticks, autorange="reversed")
    return figure


def roc_figure(plots: PlotData) -> go.Figure:
    """True against false positive rate, with the chance diagonal."""
    curves = plots.roc.curves if plots.roc else ()
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
        label, auc = curve.label, curve.auc
        figure.add_trace(
            go.Scatter(
                x=list(curve.fpr),
                y=list(curve.tpr),
                mode="lines",
                line={"color": series_color(index), "width": 2},
                name=plain(label) + (f" (AUC {auc:.3f})" if _finite(auc) else ""),
                hovertemplate=(
                    f"{in_template(label)}<br>FPR %{{x:.3f}} · TPR %{{y:.3f}}<extra></extra>"
                ),
            )
        )
    return _unit_square(figure)


def pr_figure(plots: PlotData) -> go.Figure:
    """Precision against recall; the dotted line is the class's prevalence (a random model)."""
    curves = plots.pr.curves if plots.pr else ()
    if not plots.pr or not curves:
        return empty_figure("Precision–recall curve")
    prevalence = list(plots.pr.prevalence)
    figure = base_figure(_for_class("Precision–recall curve", curves), x="Recall", y="Precision")
    for index, curve in enumerate(curves):
        label, average = curve.label, curve.average_precision
        color = series_color(index)
        figure.add_trace(
            go.Scatter(
                x=list(curve.recall),
                y=list(curve.precision),
                mode="lines",
                line={"color": color, "width": 2, "shape": "hv"},
                name=plain(label) + (f" (AP {average:.3f})" if _finite(average) else ""),
                hovertemplate=(
                    f"{in_template(label)}<br>recall %{{x:.3f}} · "
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


def calibration_figure(plots: PlotData) -> go.Figure:
    """Observed share of the class against mean predicted probability, per quantile bin."""
    curves = plots.calibration.curves if plots.calibration else ()
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
        label = curve.label
        figure.add_trace(
            go.Scatter(
                x=list(curve.mean_predicted),
                y=list(curve.fraction_positive),
                customdata=list(curve.count),
                mode="lines+markers",
                line={"color": series_color(index), "width": 2},
                name=plain(label),
                hovertemplate=(
                    f"{in_template(label)}<br>predicted %{{x:.3f}} · observed %{{y:.3f}}"
                    "<br>%{customdata:,} rows<extra></extra>"
                ),
            )
        )
    return _unit_square(figure)


def gain_figure(plots: PlotData) -> go.Figure:
    """Cumulative gain (left) and lift (right) when targeting the highest-scored rows first."""
    data = plots.gain
    if data is None or not data.fraction_targeted:
        return empty_figure("Cumulative gain and lift")
    targeted = [0.0, *data.fraction_targeted]
    captured = [0.0, *data.fraction_captured]
    lift = [None, *data.lift]
    label = data.label
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


def threshold_figure(plots: PlotData) -> go.Figure:
    """Precision, recall and F1 as the decision threshold moves; the best F1 is marked."""
    title = "Precision, recall and F1 by threshold"
    data = plots.threshold
    if data is None or not data.threshold:
        return empty_figure(title)
    thresholds = list(data.threshold)
    scale = "decision score" if data.scale == "decision" else "predicted probability"
    figure = base_figure(title, x=f"Threshold on the {scale}", y="Value")
    for index, name in enumerate(("precision", "recall", "f1")):
        label = words.metric_in_sentence(name)
        figure.add_trace(
            go.Scatter(
                x=thresholds,
                y=list(getattr(data, name)),
                mode="lines",
                line={"color": series_color(index), "width": 2},
                name=label,
                hovertemplate=f"threshold %{{x:.3f}}<br>{label} %{{y:.3f}}<extra></extra>",
            )
        )
    f1 = _numbers(data.f1)
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


def residuals_figure(plots: PlotData) -> go.Figure:
    """Residual (actual − predicted) against the prediction, with the zero line."""
    title = "Residuals vs predicted"
    data = plots.residuals
    if data is None or not data.predicted:
        return empty_figure(title)
    figure = base_figure(title, x="Predicted", y="Residual (actual − predicted)")
    figure.add_trace(
        go.Scatter(
            x=list(data.predicted),
            y=list(data.residual),
            mode="markers",
            marker={"color": ACCENT, "size": 5, "opacity": 0.5},
            name="rows",
            hovertemplate="predicted %{x:.4g}<br>residual %{y:.4g}<extra></extra>",
        )
    )
    figure.add_hline(y=0.0, line=CHANCE_LINE)
    return figure


def predicted_vs_actual_figure(plots: PlotData) -> go.Figure:
    """Predicted against actual values; perfect predictions sit on the y = x line."""
    title = "Predicted vs actual"
    data = plots.predicted_vs_actual
    if data is None:
        return empty_figure(title)
    actual, predicted = _numbers(data.actual), _numbers(data.predicted)
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
            x=list(data.actual),
            y=list(data.predicted),
            mode="markers",
            marker={"color": ACCENT, "size": 5, "opacity": 0.5},
            name="rows",
            hovertemplate="actual %{x:.4g}<br>predicted %{y:.4g}<extra></extra>",
        )
    )
    return figure


def residual_histogram_figure(plots: PlotData) -> go.Figure:
    """How the residuals spread; centred on zero and narrow is good."""
    title = "Residual distribution"
    data = plots.residual_histogram
    edges = _numbers(data.edges if data else None)
    counts = list(data.counts) if data else []
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


_CLASSIFICATION_FIGURES: tuple[tuple[str, str, Callable[[PlotData], go.Figure]], ...] = (
    ("confusion_matrix", "Confusion matrix", confusion_matrix_figure),
    ("roc", "ROC curve", roc_figure),
    ("pr", "Precision–recall", pr_figure),
    ("calibration", "Calibration", calibration_figure),
    ("gain", "Gain and lift", gain_figure),
    ("threshold", "Threshold", threshold_figure),
)
_REGRESSION_FIGURES: tuple[tuple[str, str, Callable[[PlotData], go.Figure]], ...] = (
    ("predicted_vs_actual", "Predicted vs actual", predicted_vs_actual_figure),
    ("residuals", "Residuals", residuals_figure),
    ("residual_histogram", "Residual distribution", residual_histogram_figure),
)


def evaluation_figures(plots: PlotData, task: str) -> dict[str, go.Figure]:
    """Tab title → figure for each chart whose data is present, in reading order."""
    order = _REGRESSION_FIGURES if task == "regression" else _CLASSIFICATION_FIGURES
    present = set(plots.present())
    return {title: build(plots) for key, title, build in order if key in present}
