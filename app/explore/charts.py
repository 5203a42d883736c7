"""Plotly figures for the Explore page: one builder per result, with all user text escaped."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from app.charts.figures import base_figure, empty_figure
from app.charts.theme import (
    ACCENT,
    COLORWAY,
    MUTED,
    TEMPLATE,
    in_template,
    plain,
    series_color,
    short,
)
from core.data.explore import (
    BoxStats,
    CategoryCounts,
    Correlations,
    DatetimeCounts,
    MissingPattern,
    NumericSummary,
    PairSample,
    ScatterSample,
)

HEIGHT = 420
EMPTY_CELL = "#eef1f5"
MAX_OUTLIER_POINTS = 2_000
METHOD_TITLES = {
    "pearson": "Pearson correlation",
    "spearman": "Spearman rank correlation",
    "cramers_v": "Cramér's V (bias-corrected)",
}


def category_axis(labels: Sequence[str]) -> dict[str, object]:
    """Positions 0..n-1 with short escaped tick labels, so equal or numeric labels stay apart."""
    return {
        "tickmode": "array",
        "tickvals": list(range(len(labels))),
        "ticktext": [short(label) for label in labels],
    }


def bin_centres(edges: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    array = np.asarray(edges, dtype=float)
    return (array[:-1] + array[1:]) / 2, np.diff(array)


# ---------------------------------------------------------------- single columns


def histogram_box_figure(summary: NumericSummary) -> go.Figure:
    """A box (Tukey whiskers, outliers as points) over a histogram of all finite values."""
    name = plain(summary.column)
    title = f"Distribution of {name}"
    if summary.box is None:
        return empty_figure(title, f"{name} has no numeric values to show.")
    figure = make_subplots(
        rows=2, cols=1, shared_xaxes=True, row_heights=[0.22, 0.78], vertical_spacing=0.03
    )
    figure.update_layout(template=TEMPLATE, height=440, showlegend=False)
    box = summary.box
    figure.add_trace(_box_trace(box, name), row=1, col=1)
    outliers = _outlier_points(summary)
    if outliers.size:
        figure.add_trace(_outlier_trace(outliers), row=1, col=1)
    centres, widths = bin_centres(summary.bin_edges)
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
        return empty_figure(title, f"{name} has no rows.")
    share = np.asarray(values, dtype=float) / max(counts.total, 1)
    figure = base_figure(title, subtitle=_category_note(counts), height=140 + 26 * len(labels))
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
    figure.update_yaxes(**category_axis(labels), autorange="reversed")
    figure.update_xaxes(title_text="rows")
    return figure


def _category_note(counts: CategoryCounts) -> str:
    return f"{counts.distinct:,} distinct values · {counts.missing:,} missing of {counts.total:,}"


def datetime_counts_figure(counts: DatetimeCounts) -> go.Figure:
    """Bars of rows per period on a time axis."""
    name = plain(counts.column)
    title = f"Rows per {counts.period} of {name}"
    if not counts.counts:
        return empty_figure(title, f"{name} has no dates to show.")
    zone = f" · times in {plain(counts.timezone)}" if counts.timezone else ""
    note = f"{counts.first} to {counts.last} · {counts.missing:,} missing{zone}"
    figure = base_figure(title, subtitle=note, height=HEIGHT)
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
        return empty_figure(title, "No columns qualify for this method.")
    labels = [plain(column) for column in corr.columns]
    signed = corr.method != "cramers_v"
    size = len(labels)
    figure = base_figure(title, subtitle=note, height=max(420, 160 + 22 * size))
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
    ticks = {"type": "category", "tickvals": labels, "ticktext": [short(c) for c in corr.columns]}
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
        return empty_figure(title, "No column has missing values.")
    pairs.sort(key=lambda item: -item[1])
    complete = len(pattern.columns) - len(pairs)
    note = f"{len(pairs)} of {len(pattern.columns)} columns have gaps · {complete} complete"
    figure = base_figure(title, subtitle=note, height=140 + 26 * len(pairs))
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
    figure.update_yaxes(**category_axis([name for name, _, _ in pairs]), autorange="reversed")
    figure.update_xaxes(title_text="share of rows missing", tickformat=".0%", rangemode="tozero")
    return figure


def missing_matrix_figure(pattern: MissingPattern) -> go.Figure:
    """Which cells are missing on a sample of rows, for the columns that have gaps."""
    title = "Where values are missing"
    if not pattern.matrix_columns or not pattern.matrix:
        return empty_figure(title, "No column has missing values.")
    labels = [plain(column) for column in pattern.matrix_columns]
    note = f"{len(pattern.matrix_rows):,} of {pattern.rows:,} rows"
    note += " (random sample, in row order)" if len(pattern.matrix_rows) < pattern.rows else ""
    figure = base_figure(title, subtitle=note, height=480)
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
    ticks = [short(column) for column in pattern.matrix_columns]
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
        return empty_figure(title, "No rows have both values.")
    alpha = opacity if opacity is not None else auto_opacity(len(sample.x_values))
    hover = f"{in_template(sample.x)}: %{{x}}<br>{in_template(sample.y)}: %{{y}}"
    figure = base_figure(title, subtitle=note, height=500)
    for trace in _scatter_traces(sample, alpha, hover):
        figure.add_trace(trace)
    figure.update_xaxes(title_text=x_name)
    figure.update_yaxes(title_text=y_name)
    if sample.color is not None:
        figure.update_layout(legend_title_text=plain(sample.color))
    return figure


def auto_opacity(points: int) -> float:
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
            "colorbar": {"title": {"text": short(sample.color)}},
        }
        template = hover + f"<br>{in_template(sample.color)}: %{{marker.color:.4g}}<extra></extra>"
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
                marker={
                    "color": MUTED if muted else series_color(index),
                    "opacity": alpha,
                    "size": 5,
                },
                hovertemplate=hover + "<extra>%{fullData.name}</extra>",
            )
        )
    return traces


def _pick(values: np.ndarray | list[str], rows: np.ndarray) -> np.ndarray | list[str]:
    if isinstance(values, np.ndarray):
        return values[rows]
    return [values[i] for i in rows]


def pair_plot_figure(sample: PairSample) -> go.Figure:
    """A WebGL scatter matrix of a few numeric columns, coloured by the target when given."""
    title = "Pair plot"
    note = f"{len(sample.values[0]) if sample.values else 0:,} of {sample.rows:,} rows" + (
        " (random sample)" if sample.sampled else ""
    )
    if len(sample.columns) < 2:
        return empty_figure(title, "Choose at least two numeric columns.")
    dimensions = [
        {"label": short(name), "values": values}
        for name, values in zip(sample.columns, sample.values, strict=True)
    ]
    figure = base_figure(title, subtitle=note, height=180 * len(sample.columns) + 80)
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
                    name=short(level),
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
