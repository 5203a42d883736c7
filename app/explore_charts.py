"""Plotly figures for the Explore page: one builder per result, with all user text escaped."""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import Protocol

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
from plotly.colors import qualitative
from plotly.subplots import make_subplots

from core.data.explore import (
    BoxStats,
    CategoryCounts,
    Correlations,
    DatetimeCounts,
    LevelTarget,
    MissingPattern,
    NumericSummary,
    PairSample,
    ScatterSample,
    TargetAnalysis,
)

COLORWAY: list[str] = list(qualitative.Safe)
ACCENT = "#3366cc"
MUTED = "#9aa0a6"
EMPTY_CELL = "#eef1f5"
LABEL_LIMIT = 32
MAX_OUTLIER_POINTS = 2_000
METHOD_TITLES = {
    "pearson": "Pearson correlation",
    "spearman": "Spearman rank correlation",
    "cramers_v": "Cramér's V (bias-corrected)",
}
METRIC_TITLES = {"roc_auc": "ROC AUC", "abs_corr": "|correlation|", "cramers_v": "Cramér's V"}

TEMPLATE = go.layout.Template(pio.templates["plotly_white"])
TEMPLATE.layout.update(
    font={"family": "Inter, 'Segoe UI', Helvetica, Arial, sans-serif", "size": 13},
    colorway=COLORWAY,
    title={"x": 0.0, "xanchor": "left", "font": {"size": 17}},
    margin={"l": 70, "r": 30, "t": 80, "b": 60},
    hoverlabel={"namelength": -1},
    legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1.0},
)


class StrengthItem(Protocol):
    """One feature's univariate strength against the target (see core/data/quality.py)."""

    @property
    def name(self) -> str: ...

    @property
    def metric(self) -> str: ...

    @property
    def value(self) -> float | None: ...


def plain(text: object) -> str:
    """User text made inert for plotly's HTML-like labels: ``<``, ``>`` and ``&`` escaped."""
    return html.escape(str(text), quote=False)


def _in_template(text: object) -> str:
    """Plain text that can sit inside a hovertemplate without ``%{...}`` being substituted."""
    return plain(text).replace("%{", "%&#123;")


def _short(text: object, limit: int = LABEL_LIMIT) -> str:
    """A tick label: cut before escaping so an entity is never split, shown as plain text."""
    raw = str(text) or "(empty)"
    return plain(raw if len(raw) <= limit else raw[: limit - 1] + "…")


def _figure(title: str, subtitle: str = "", *, height: int = 420) -> go.Figure:
    figure = go.Figure()
    figure.update_layout(
        template=TEMPLATE,
        title={"text": title, "subtitle": {"text": subtitle}},
        height=height,
    )
    return figure


def _empty(title: str, message: str) -> go.Figure:
    figure = _figure(title, height=260)
    figure.add_annotation(text=message, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
    figure.update_xaxes(visible=False)
    figure.update_yaxes(visible=False)
    return figure


def _category_axis(labels: Sequence[str]) -> dict[str, object]:
    """Positions 0..n-1 with short escaped tick labels, so equal or numeric labels stay apart."""
    return {
        "tickmode": "array",
        "tickvals": list(range(len(labels))),
        "ticktext": [_short(label) for label in labels],
    }


def _centres(edges: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    array = np.asarray(edges, dtype=float)
    return (array[:-1] + array[1:]) / 2, np.diff(array)


def _color(index: int) -> str:
    return COLORWAY[index % len(COLORWAY)]


# ---------------------------------------------------------------- single columns


def histogram_box_figure(summary: NumericSummary) -> go.Figure:
    """A box (Tukey whiskers, outliers as points) over a histogram of all finite values."""
    name = plain(summary.column)
    title = f"Distribution of {name}"
    if summary.box is None:
        return _empty(title, f"{name} has no numeric values to show.")
    figure = make_subplots(
        rows=2, cols=1, shared_xaxes=True, row_heights=[0.22, 0.78], vertical_spacing=0.03
    )
    figure.update_layout(template=TEMPLATE, height=440, showlegend=False)
    box = summary.box
    figure.add_trace(_box_trace(box, name), row=1, col=1)
    outliers = _outlier_points(summary)
    if outliers.size:
        figure.add_trace(_outlier_trace(outliers), row=1, col=1)
    centres, widths = _centres(summary.bin_edges)
    figure.add_trace(
        go.Bar(
            x=centres,
            y=np.asarray(summary.bin_counts),
            width=widths,
            customdata=np.column_stack([summary.bin_edges[:-1], summary.bin_edges[1:]]),
            marker={"color": ACCENT},
            hovertemplate="%{customdata[0]:.4g} to %{customdata[1]:.4g}<br>"
            "rows: %{y:,}<extra></extra>",
        ),
        row=2,
        col=1,
    )
    figure.update_layout(title={"text": title, "subtitle": {"text": _numeric_note(summary)}})
    figure.update_yaxes(visible=False, row=1, col=1)
    figure.update_yaxes(title_text="rows", row=2, col=1)
    figure.update_xaxes(title_text=name, row=2, col=1)
    figure.update_layout(bargap=0.02)
    return figure


def _box_trace(box: BoxStats, name: str) -> go.Box:
    return go.Box(
        y=[0],
        q1=[box.q1],
        median=[box.median],
        q3=[box.q3],
        lowerfence=[box.lower_whisker],
        upperfence=[box.upper_whisker],
        mean=[box.mean],
        orientation="h",
        name=name,
        marker={"color": ACCENT},
        boxpoints=False,
        hoverinfo="x",
    )


def _outlier_points(summary: NumericSummary) -> np.ndarray:
    values = np.asarray(summary.values, dtype=float)
    if summary.lower_bound is None or summary.upper_bound is None:
        return values[:0]
    outside = values[(values < summary.lower_bound) | (values > summary.upper_bound)]
    return outside[:: max(1, math.ceil(outside.size / MAX_OUTLIER_POINTS))]


def _outlier_trace(points: np.ndarray) -> go.Scatter:
    return go.Scatter(
        x=points,
        y=np.zeros(points.size),
        mode="markers",
        marker={"color": "#d62728", "size": 5, "opacity": 0.6},
        hovertemplate="outlier: %{x:.4g}<extra></extra>",
    )


def _numeric_note(summary: NumericSummary) -> str:
    parts = [f"{summary.count:,} values", f"{summary.missing:,} missing"]
    if summary.infinite:
        parts.append(f"{summary.infinite:,} infinite")
    parts.append(f"{summary.outlier_count:,} outside 1.5×IQR")
    if summary.sampled:
        parts.append("outlier points from a sample")
    return " · ".join(parts)


def category_bar_figure(counts: CategoryCounts) -> go.Figure:
    """Horizontal bars of the most frequent levels, then the other bucket and missing in grey."""
    name = plain(counts.column)
    title = f"Most frequent values of {name}"
    labels = list(counts.levels)
    values = list(counts.counts)
    colors = [ACCENT] * len(labels)
    if counts.other_count:
        labels.append(f"(other: {counts.other_levels:,} levels)")
        values.append(counts.other_count)
        colors.append(MUTED)
    if counts.missing:
        labels.append("(missing)")
        values.append(counts.missing)
        colors.append(MUTED)
    if not labels:
        return _empty(title, f"{name} has no rows.")
    share = np.asarray(values, dtype=float) / max(counts.total, 1)
    figure = _figure(title, _category_note(counts), height=140 + 26 * len(labels))
    figure.add_trace(
        go.Bar(
            y=np.arange(len(labels)),
            x=np.asarray(values),
            orientation="h",
            marker={"color": colors},
            customdata=np.array(
                [[plain(label), f"{s:.1%}"] for label, s in zip(labels, share, strict=True)],
                dtype=object,
            ),
            hovertemplate="%{customdata[0]}<br>rows: %{x:,} (%{customdata[1]})<extra></extra>",
        )
    )
    figure.update_yaxes(**_category_axis(labels), autorange="reversed")
    figure.update_xaxes(title_text="rows")
    return figure


def _category_note(counts: CategoryCounts) -> str:
    return f"{counts.distinct:,} distinct values · {counts.missing:,} missing of {counts.total:,}"


def datetime_counts_figure(counts: DatetimeCounts) -> go.Figure:
    """Bars of rows per period on a time axis."""
    name = plain(counts.column)
    title = f"Rows per {counts.period} of {name}"
    if not counts.counts:
        return _empty(title, f"{name} has no dates to show.")
    zone = f" · times in {plain(counts.timezone)}" if counts.timezone else ""
    note = f"{counts.first} to {counts.last} · {counts.missing:,} missing{zone}"
    figure = _figure(title, note)
    figure.add_trace(
        go.Bar(
            x=counts.starts,
            y=np.asarray(counts.counts),
            marker={"color": ACCENT},
            hovertemplate=f"{counts.period} of %{{x|%Y-%m-%d}}<br>rows: %{{y:,}}<extra></extra>",
        )
    )
    figure.update_xaxes(title_text=name, type="date")
    figure.update_yaxes(title_text="rows")
    figure.update_layout(bargap=0.05)
    return figure


# ---------------------------------------------------------------- relationships


def correlation_heatmap_figure(corr: Correlations) -> go.Figure:
    """A square heatmap of the association matrix, annotated when small enough to read."""
    title = METHOD_TITLES.get(corr.method, plain(corr.method))
    note = f"{len(corr.columns)} columns · {corr.rows_used:,} rows"
    if corr.sampled:
        note += " (sample)"
    if corr.left_out:
        note += f" · {len(corr.left_out)} left out"
    if not corr.columns:
        return _empty(title, "No columns qualify for this method.")
    labels = [plain(column) for column in corr.columns]
    signed = corr.method != "cramers_v"
    size = len(labels)
    figure = _figure(title, note, height=max(420, 160 + 22 * size))
    figure.add_trace(
        go.Heatmap(
            z=np.array(corr.matrix, dtype=float),
            x=labels,
            y=labels,
            zmin=-1.0 if signed else 0.0,
            zmax=1.0,
            colorscale="RdBu_r" if signed else "Blues",
            texttemplate="%{z:.2f}" if size <= 15 else None,
            hovertemplate="%{y} × %{x}<br>value: %{z:.3f}<extra></extra>",
            colorbar={"title": {"text": "r" if signed else "V"}},
            hoverongaps=False,
        )
    )
    ticks = {"type": "category", "tickvals": labels, "ticktext": [_short(c) for c in corr.columns]}
    figure.update_xaxes(**ticks)
    figure.update_yaxes(**ticks, autorange="reversed")
    return figure


def missing_bar_figure(pattern: MissingPattern) -> go.Figure:
    """Share of missing values per column that has any, largest first."""
    title = "Missing values per column"
    pairs = [
        (name, count, fraction)
        for name, count, fraction in zip(
            pattern.columns, pattern.missing_counts, pattern.fractions, strict=True
        )
        if count
    ]
    if not pairs:
        return _empty(title, "No column has missing values.")
    pairs.sort(key=lambda item: -item[1])
    complete = len(pattern.columns) - len(pairs)
    note = f"{len(pairs)} of {len(pattern.columns)} columns have gaps · {complete} complete"
    figure = _figure(title, note, height=140 + 26 * len(pairs))
    figure.add_trace(
        go.Bar(
            y=np.arange(len(pairs)),
            x=np.array([fraction for _, _, fraction in pairs]),
            orientation="h",
            marker={"color": ACCENT},
            customdata=np.array(
                [[plain(name), f"{count:,}"] for name, count, _ in pairs], dtype=object
            ),
            hovertemplate="%{customdata[0]}<br>missing: %{x:.1%} (%{customdata[1]} rows)"
            "<extra></extra>",
        )
    )
    figure.update_yaxes(**_category_axis([name for name, _, _ in pairs]), autorange="reversed")
    figure.update_xaxes(title_text="share of rows missing", tickformat=".0%", rangemode="tozero")
    return figure


def missing_matrix_figure(pattern: MissingPattern) -> go.Figure:
    """Which cells are missing on a sample of rows, for the columns that have gaps."""
    title = "Where values are missing"
    if not pattern.matrix_columns or not pattern.matrix:
        return _empty(title, "No column has missing values.")
    labels = [plain(column) for column in pattern.matrix_columns]
    note = f"{len(pattern.matrix_rows):,} of {pattern.rows:,} rows"
    note += " (random sample, in row order)" if len(pattern.matrix_rows) < pattern.rows else ""
    figure = _figure(title, note, height=480)
    figure.add_trace(
        go.Heatmap(
            z=np.array(pattern.matrix, dtype=np.int8),
            x=labels,
            y=np.asarray(pattern.matrix_rows),
            zmin=0,
            zmax=1,
            colorscale=[[0.0, EMPTY_CELL], [0.5, EMPTY_CELL], [0.5, ACCENT], [1.0, ACCENT]],
            showscale=False,
            hovertemplate="row %{y}<br>%{x}: %{z}<extra>1 = missing</extra>",
        )
    )
    ticks = [_short(column) for column in pattern.matrix_columns]
    figure.update_xaxes(type="category", tickvals=labels, ticktext=ticks)
    figure.update_yaxes(title_text="row", autorange="reversed")
    return figure


def scatter_figure(sample: ScatterSample, *, opacity: float | None = None) -> go.Figure:
    """A WebGL scatter of y against x, coloured by a column when the sample has one."""
    x_name, y_name = plain(sample.x), plain(sample.y)
    title = f"{y_name} against {x_name}"
    note = f"{len(sample.x_values):,} of {sample.rows:,} rows" + (
        " (random sample)" if sample.sampled else ""
    )
    if not sample.x_values:
        return _empty(title, "No rows have both values.")
    alpha = opacity if opacity is not None else _auto_opacity(len(sample.x_values))
    hover = f"{_in_template(sample.x)}: %{{x}}<br>{_in_template(sample.y)}: %{{y}}"
    figure = _figure(title, note, height=500)
    for trace in _scatter_traces(sample, alpha, hover):
        figure.add_trace(trace)
    figure.update_xaxes(title_text=x_name)
    figure.update_yaxes(title_text=y_name)
    if sample.color is not None:
        figure.update_layout(legend_title_text=plain(sample.color))
    return figure


def _auto_opacity(points: int) -> float:
    return float(np.clip(2_000 / max(points, 1), 0.15, 0.85))


def _axis_values(values: Sequence[float | str]) -> np.ndarray | list[str]:
    if values and isinstance(values[0], str):
        return [plain(value) for value in values]
    return np.asarray(values, dtype=float)


def _scatter_traces(sample: ScatterSample, alpha: float, hover: str) -> list[go.Scattergl]:
    x, y = _axis_values(sample.x_values), _axis_values(sample.y_values)
    if sample.color_kind == "numeric":
        colors = np.array([np.nan if v is None else v for v in sample.color_values], dtype=float)
        marker = {
            "color": colors,
            "colorscale": "Viridis",
            "opacity": alpha,
            "size": 5,
            "colorbar": {"title": {"text": _short(sample.color)}},
        }
        template = hover + f"<br>{_in_template(sample.color)}: %{{marker.color:.4g}}<extra></extra>"
        return [go.Scattergl(x=x, y=y, mode="markers", marker=marker, hovertemplate=template)]
    if sample.color_kind == "categorical":
        return _categorical_scatter(x, y, sample.color_values, alpha, hover)
    marker = {"color": ACCENT, "opacity": alpha, "size": 5}
    return [
        go.Scattergl(
            x=x, y=y, mode="markers", marker=marker, hovertemplate=hover + "<extra></extra>"
        )
    ]


def _categorical_scatter(
    x: np.ndarray | list[str],
    y: np.ndarray | list[str],
    colors: Sequence[object],
    alpha: float,
    hover: str,
) -> list[go.Scattergl]:
    labels = np.asarray(colors, dtype=object)
    levels = sorted(
        set(labels.tolist()),
        key=lambda level: (level in ("(other)", "(missing)"), -int((labels == level).sum())),
    )
    traces = []
    for index, level in enumerate(levels):
        rows = np.flatnonzero(labels == level)
        muted = level in ("(other)", "(missing)")
        traces.append(
            go.Scattergl(
                x=_pick(x, rows),
                y=_pick(y, rows),
                mode="markers",
                name=plain(level),
                marker={"color": MUTED if muted else _color(index), "opacity": alpha, "size": 5},
                hovertemplate=hover + "<extra>%{fullData.name}</extra>",
            )
        )
    return traces


def _pick(values: np.ndarray | list[str], rows: np.ndarray) -> np.ndarray | list[str]:
    if isinstance(values, np.ndarray):
        return values[rows]
    return [values[i] for i in rows]


# ---------------------------------------------------------------- target


def target_figure(analysis: TargetAnalysis) -> go.Figure:
    """The feature against the target, in the view that fits the task and the feature."""
    feature, target = plain(analysis.feature), plain(analysis.target)
    title = f"{feature} against the target {target}"
    note = f"{analysis.task} target · {analysis.rows:,} rows"
    if analysis.missing:
        note += f" · {analysis.missing:,} with a missing value left out"
    if analysis.rows == 0:
        return _empty(title, "No rows have both the feature and the target.")
    figure = _figure(title, note, height=460)
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
    centres, widths = _centres(histograms.bin_edges)
    for index, (label, counts) in enumerate(zip(analysis.classes, histograms.counts, strict=True)):
        array = np.asarray(counts, dtype=float)
        figure.add_trace(
            go.Bar(
                x=centres,
                y=array / max(array.sum(), 1.0),
                width=widths,
                name=plain(label),
                customdata=array,
                marker={"color": _color(index)},
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
            marker={"color": MUTED, "size": 4, "opacity": _auto_opacity(len(binned.sample_x))},
            hovertemplate="%{x:.4g}, %{y:.4g}<extra></extra>",
        )
    )
    centres, _ = _centres(binned.bin_edges)
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
        figure.update_xaxes(**_category_axis(levels.levels), title_text=plain(analysis.feature))


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
                marker={"color": _color(index)},
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
    """Horizontal bars of each feature's univariate strength against the target, strongest first."""
    title = "How strongly each feature alone relates to the target"
    rows = [item for item in items if item.value is not None and math.isfinite(item.value)]
    if not rows:
        return _empty(title, "No feature strengths to show.")
    rows.sort(key=lambda item: -(item.value or 0.0))
    metrics = list(dict.fromkeys(item.metric for item in rows))
    figure = _figure(title, "higher means more predictive on its own", height=140 + 24 * len(rows))
    for index, metric in enumerate(metrics):
        positions = [i for i, item in enumerate(rows) if item.metric == metric]
        figure.add_trace(
            go.Bar(
                y=np.asarray(positions),
                x=np.array([rows[i].value for i in positions], dtype=float),
                orientation="h",
                name=METRIC_TITLES.get(metric, plain(metric)),
                customdata=np.array([plain(rows[i].name) for i in positions], dtype=object),
                marker={"color": _color(index)},
                hovertemplate="%{customdata}<br>%{fullData.name}: %{x:.3f}<extra></extra>",
            )
        )
    figure.update_yaxes(**_category_axis([item.name for item in rows]), autorange="reversed")
    figure.update_xaxes(title_text="strength", rangemode="tozero")
    figure.update_layout(legend_title_text="metric")
    return figure


def pair_plot_figure(sample: PairSample) -> go.Figure:
    """A WebGL scatter matrix of a few numeric columns, coloured by the target when given."""
    title = "Pair plot"
    note = f"{len(sample.values[0]) if sample.values else 0:,} of {sample.rows:,} rows" + (
        " (random sample)" if sample.sampled else ""
    )
    if len(sample.columns) < 2:
        return _empty(title, "Choose at least two numeric columns.")
    dimensions = [
        {"label": _short(name), "values": values}
        for name, values in zip(sample.columns, sample.values, strict=True)
    ]
    figure = _figure(title, note, height=180 * len(sample.columns) + 80)
    if sample.color_kind == "categorical":
        levels = list(dict.fromkeys(str(value) for value in sample.color_values))
        for index, level in enumerate(levels):
            keep = [str(value) == level for value in sample.color_values]
            figure.add_trace(
                go.Splom(
                    dimensions=[
                        {**d, "values": [v for v, k in zip(d["values"], keep, strict=True) if k]}
                        for d in dimensions
                    ],
                    name=_short(level),
                    marker={"size": 3, "opacity": 0.5, "color": COLORWAY[index % len(COLORWAY)]},
                    diagonal_visible=False,
                    showupperhalf=False,
                )
            )
        figure.update_layout(legend_title_text=plain(sample.color))
    else:
        marker: dict[str, object] = {"size": 3, "opacity": 0.5}
        if sample.color_kind == "numeric":
            marker |= {"color": sample.color_values, "colorscale": "Viridis", "showscale": True}
        figure.add_trace(
            go.Splom(
                dimensions=dimensions, marker=marker, diagonal_visible=False, showupperhalf=False
            )
        )
    return figure
