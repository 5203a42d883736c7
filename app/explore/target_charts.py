"""Plotly figures of how features relate to the target on the Explore page: the target
against one feature, and every feature's strength on its own."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Protocol

import numpy as np
import plotly.graph_objects as go

from app.charts.figures import base_figure, empty_figure
from app.charts.theme import ACCENT, MUTED, in_template, plain, series_color
from app.explore.charts import auto_opacity, bin_centres, category_axis
from core import words
from core.data.explore import LevelTarget, TargetAnalysis
from core.data.quality import STRENGTH_SCALES, StrengthScale

METRIC_TITLES = {"roc_auc": "ROC AUC", "abs_corr": "|correlation|", "cramers_v": "Cramér's V"}


class StrengthItem(Protocol):
    """One feature's univariate strength against the target (see core/data/quality.py)."""

    @property
    def name(self) -> str: ...

    @property
    def metric(self) -> str: ...

    @property
    def value(self) -> float | None: ...


def target_figure(analysis: TargetAnalysis) -> go.Figure:
    """The feature against the target, in the view that fits the task and the feature."""
    feature, target = plain(analysis.feature), plain(analysis.target)
    title = f"{feature} against the target {target}"
    note = f"{words.task(analysis.task).capitalize()} · {analysis.rows:,} rows"
    if analysis.missing:
        note += f" · {analysis.missing:,} with a missing value left out"
    if analysis.rows == 0:
        return empty_figure(title, "No rows have both the feature and the target.")
    figure = base_figure(title, subtitle=note, height=460)
    if analysis.histograms is not None:
        _add_class_histograms(figure, analysis)
    elif analysis.binned is not None:
        _add_binned(figure, analysis)
    elif analysis.levels is not None:
        _add_levels(figure, analysis, analysis.levels)
    return figure


def _add_class_histograms(figure: go.Figure, analysis: TargetAnalysis) -> None:
    histograms = analysis.histograms
    assert histograms is not None
    centres, widths = bin_centres(histograms.bin_edges)
    for index, (label, counts) in enumerate(zip(analysis.classes, histograms.counts, strict=True)):
        array = np.asarray(counts, dtype=float)
        figure.add_trace(
            go.Bar(
                x=centres,
                y=array / max(array.sum(), 1.0),
                width=widths,
                name=plain(label),
                customdata=array,
                marker={"color": series_color(index)},
                opacity=0.55,
                hovertemplate="%{x:.4g}: %{y:.1%} of the class (%{customdata:,} rows)"
                "<extra>%{fullData.name}</extra>",
            )
        )
    figure.update_layout(barmode="overlay", legend_title_text=plain(analysis.target))
    figure.update_xaxes(title_text=plain(analysis.feature))
    figure.update_yaxes(title_text="share of the class", tickformat=".0%")


def _add_binned(figure: go.Figure, analysis: TargetAnalysis) -> None:
    binned = analysis.binned
    assert binned is not None
    figure.add_trace(
        go.Scattergl(
            x=np.asarray(binned.sample_x),
            y=np.asarray(binned.sample_y),
            mode="markers",
            name="rows (sample)",
            marker={"color": MUTED, "size": 4, "opacity": auto_opacity(len(binned.sample_x))},
            hovertemplate="%{x:.4g}, %{y:.4g}<extra></extra>",
        )
    )
    centres, _ = bin_centres(binned.bin_edges)
    means = np.array([np.nan if m is None else m for m in binned.means], dtype=float)
    figure.add_trace(
        go.Scatter(
            x=centres,
            y=means,
            mode="lines+markers",
            name="mean per bin",
            customdata=np.asarray(binned.counts),
            line={"color": ACCENT, "width": 3},
            hovertemplate="bin at %{x:.4g}: mean %{y:.4g} over %{customdata:,} rows<extra></extra>",
        )
    )
    figure.update_xaxes(title_text=plain(analysis.feature))
    figure.update_yaxes(title_text=plain(analysis.target))


def _level_positions(
    analysis: TargetAnalysis, levels: LevelTarget
) -> tuple[np.ndarray | list[str], bool]:
    """Dates for time periods, else 0..n-1 with escaped tick labels."""
    if analysis.feature_kind == "datetime":
        return levels.levels, True
    return np.arange(len(levels.levels)), False


def _add_levels(figure: go.Figure, analysis: TargetAnalysis, levels: LevelTarget) -> None:
    x, is_time = _level_positions(analysis, levels)
    hover_names = np.array([plain(level) for level in levels.levels], dtype=object)
    if analysis.task == "binary":
        _add_rates(figure, analysis, levels, x, hover_names)
    elif analysis.task == "multiclass":
        _add_class_mix(figure, analysis, levels, x, hover_names)
    else:
        _add_level_boxes(figure, analysis, levels, x)
    if is_time:
        figure.update_xaxes(type="date", title_text=plain(analysis.feature))
    else:
        figure.update_xaxes(**category_axis(levels.levels), title_text=plain(analysis.feature))


def _add_rates(
    figure: go.Figure,
    analysis: TargetAnalysis,
    levels: LevelTarget,
    x: np.ndarray | list[str],
    names: np.ndarray,
) -> None:
    rates = np.array([np.nan if r is None else r for r in levels.positive_rates], dtype=float)
    figure.add_trace(
        go.Bar(
            x=x,
            y=rates,
            customdata=np.column_stack([names, levels.counts]),
            marker={"color": ACCENT},
            hovertemplate="%{customdata[0]}<br>rate: %{y:.1%} of %{customdata[1]:,} rows"
            "<extra></extra>",
        )
    )
    if levels.overall is not None:
        figure.add_hline(
            y=levels.overall,
            line={"dash": "dash", "color": "#444"},
            annotation_text=f"overall {levels.overall:.1%}",
        )
    positive = plain(analysis.positive_class)
    figure.update_yaxes(
        title_text=f"share where {plain(analysis.target)} = {positive}", tickformat=".0%"
    )


def _add_class_mix(
    figure: go.Figure,
    analysis: TargetAnalysis,
    levels: LevelTarget,
    x: np.ndarray | list[str],
    names: np.ndarray,
) -> None:
    counts = np.asarray(levels.class_counts, dtype=float).reshape(len(levels.levels), -1)
    shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1.0)
    for index, label in enumerate(analysis.classes):
        figure.add_trace(
            go.Bar(
                x=x,
                y=shares[:, index],
                name=plain(label),
                customdata=np.column_stack([names, counts[:, index]]),
                marker={"color": series_color(index)},
                hovertemplate="%{customdata[0]}: %{y:.1%} (%{customdata[1]:,} rows)"
                "<extra>%{fullData.name}</extra>",
            )
        )
    figure.update_layout(barmode="stack", legend_title_text=plain(analysis.target))
    figure.update_yaxes(title_text="class mix", tickformat=".0%")


def _add_level_boxes(
    figure: go.Figure, analysis: TargetAnalysis, levels: LevelTarget, x: np.ndarray | list[str]
) -> None:
    kept = [(x[i], box) for i, box in enumerate(levels.boxes) if box is not None]
    figure.add_trace(
        go.Box(
            x=[position for position, _ in kept],
            q1=[box.q1 for _, box in kept],
            median=[box.median for _, box in kept],
            q3=[box.q3 for _, box in kept],
            lowerfence=[box.lower_whisker for _, box in kept],
            upperfence=[box.upper_whisker for _, box in kept],
            mean=[box.mean for _, box in kept],
            marker={"color": ACCENT},
            name=plain(analysis.target),
            boxpoints=False,
        )
    )
    if levels.overall is not None:
        figure.add_hline(
            y=levels.overall,
            line={"dash": "dash", "color": "#444"},
            annotation_text=f"overall mean {levels.overall:.4g}",
        )
    figure.update_layout(showlegend=False)
    figure.update_yaxes(title_text=plain(analysis.target))


# ---------------------------------------------------------------- feature strength


def feature_strength_figure(items: Sequence[StrengthItem]) -> go.Figure:
    """Horizontal bars of each feature's strength on its own, strongest first.

    Each bar starts at its metric's chance level (0.5 for ROC AUC, 0 for a correlation), so a
    feature that knows nothing draws no bar and the axis and hover name the metric in words.
    """
    title = "How well each feature alone predicts the target"
    rows = [item for item in items if item.value is not None and math.isfinite(item.value)]
    if not rows:
        return empty_figure(title, "No feature could be scored against the target.")
    rows.sort(key=lambda item: -(item.value or 0.0))
    metrics = list(dict.fromkeys(item.metric for item in rows))
    scales = {metric: _scale(metric) for metric in metrics}
    figure = base_figure(title, subtitle=_strength_note(scales), height=140 + 24 * len(rows))
    for index, metric in enumerate(metrics):
        figure.add_trace(_strength_bars(rows, metric, scales[metric], color=series_color(index)))
    figure.update_yaxes(**category_axis([item.name for item in rows]), autorange="reversed")
    floor = min(scale.chance for scale in scales.values())
    figure.update_xaxes(title_text=_strength_axis(scales), range=[floor, 1.0])
    figure.update_layout(showlegend=len(metrics) > 1, legend_title_text="measured by")
    return figure


def _scale(metric: str) -> StrengthScale:
    return STRENGTH_SCALES.get(metric) or StrengthScale(plain(metric), 0.0, "0 = none")


def _strength_bars(
    rows: Sequence[StrengthItem], metric: str, scale: StrengthScale, *, color: str
) -> go.Bar:
    positions = [i for i, item in enumerate(rows) if item.metric == metric]
    values = np.array([rows[i].value for i in positions], dtype=float)
    label = f"{scale.measure} ({scale.ends})"
    return go.Bar(
        y=np.asarray(positions),
        x=values - scale.chance,
        base=scale.chance,
        orientation="h",
        name=METRIC_TITLES.get(metric, plain(metric)),
        customdata=np.column_stack(
            [np.array([plain(rows[i].name) for i in positions], dtype=object), values]
        ),
        marker={"color": color},
        hovertemplate=f"%{{customdata[0]}}<br>{in_template(label)}: %{{customdata[1]:.3f}}"
        "<extra></extra>",
    )


def _strength_axis(scales: dict[str, StrengthScale]) -> str:
    if len(scales) == 1:
        (scale,) = scales.values()
        return f"Predictive strength ({scale.measure}; {scale.ends})"
    return "Predictive strength (each bar starts at its measure's chance level)"


def _strength_note(scales: dict[str, StrengthScale]) -> str:
    chance = sorted({f"{scale.chance:g}" for scale in scales.values()})
    return f"bars start at chance ({' or '.join(chance)}): a longer bar predicts better on its own"
