"""Plotly figures for explanations: SHAP importance, beeswarm, dependence, waterfall, PDP/ICE."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go

from app.charts.figures import base_figure, empty_figure
from app.charts.theme import ACCENT, LABEL_LIMIT, MUTED, in_template, plain, short
from core.review.explain.inspection import Contribution, PartialDependence
from core.review.explain.result import Explanation, ExplanationPoints

TOP = 15
WATERFALL_TOP = 10
JITTER = 0.38
RISE = "#d62728"
FALL = "#1f77b4"
ICE_LINE = {"color": "rgba(120, 130, 140, 0.25)", "width": 1}
MISSING = "(missing)"


# -- helpers ---------------------------------------------------------------------------------


def _number(value: Any) -> float:
    """A JSON number as a float; None, text and booleans as NaN."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        return math.nan
    return float(value)


def _points(source: Explanation | ExplanationPoints) -> ExplanationPoints:
    """The rows to draw, from an Explanation or its points (a stored one is read back with
    ExplanationPoints.from_dict where it is loaded, not here)."""
    return source if isinstance(source, ExplanationPoints) else source.points()


def _category_axis(labels: Sequence[Any]) -> dict[str, Any]:
    return {
        "tickmode": "array",
        "tickvals": list(range(len(labels))),
        "ticktext": [short(label) for label in labels],
    }


def _subtitle(output: Any) -> str:
    return f"SHAP values of the {plain(output)}" if output else "SHAP values"


# -- global importance -----------------------------------------------------------------------


def _importance_pairs(source: Explanation | Sequence[tuple[str, float]]) -> list[tuple[str, float]]:
    found = source.mean_abs() if isinstance(source, Explanation) else source
    pairs = [(str(name), _number(value)) for name, value in found]
    return sorted(pairs, key=lambda pair: -pair[1] if math.isfinite(pair[1]) else math.inf)


def importance_bar_figure(
    source: Explanation | Sequence[tuple[str, float]], *, top: int = TOP
) -> go.Figure:
    """Mean |SHAP| per raw column, largest at the top; takes ``mean_abs()`` or an explanation."""
    title = "Global importance (mean |SHAP|)"
    pairs = _importance_pairs(source)[:top]
    if not pairs:
        return empty_figure(title)
    names = [name for name, _ in pairs][::-1]
    values = [value for _, value in pairs][::-1]
    figure = base_figure(
        title, subtitle="Average size of each column's effect on the output", height=_tall(pairs)
    )
    figure.add_trace(
        go.Bar(
            x=values,
            y=list(range(len(names))),
            orientation="h",
            marker_color=ACCENT,
            customdata=[[in_template(name)] for name in names],
            hovertemplate="%{customdata[0]}: %{x:.4g}<extra></extra>",
        )
    )
    figure.update_yaxes(**_category_axis(names))
    figure.update_xaxes(title_text="mean |SHAP value|", rangemode="tozero")
    return figure


def _tall(rows: Sequence[Any]) -> int:
    return max(300, 120 + 26 * len(rows))


# -- beeswarm --------------------------------------------------------------------------------


def _ranked(points: ExplanationPoints, top: int) -> list[int]:
    """Feature positions by mean |SHAP|, at most ``top``."""
    if points.values.size == 0 or not points.features:
        return []
    means = np.abs(points.values).mean(axis=0)
    return [int(i) for i in np.argsort(-means, kind="stable")[:top]]


def _spread(shap: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Vertical offsets that widen where points crowd, so the strip reads like a beeswarm."""
    if shap.size < 2 or np.ptp(shap) == 0:
        return rng.uniform(-JITTER, JITTER, shap.size) * min(1.0, shap.size / 50)
    counts, edges = np.histogram(shap, bins=min(40, max(5, shap.size // 10)))
    crowd = counts[np.clip(np.digitize(shap, edges[1:-1]), 0, len(counts) - 1)] / counts.max()
    return rng.uniform(-1.0, 1.0, shap.size) * JITTER * np.sqrt(crowd)


def _scaled(cells: list[Any]) -> np.ndarray:
    """Numeric cells scaled 0..1 within the column (NaN where missing or not a number)."""
    numbers = np.array([_number(cell) for cell in cells], dtype=float)
    finite = numbers[np.isfinite(numbers)]
    if finite.size == 0:
        return numbers
    low, high = finite.min(), finite.max()
    return (
        (numbers - low) / (high - low)
        if high > low
        else np.where(np.isfinite(numbers), 0.5, np.nan)
    )


def beeswarm_figure(
    source: Explanation | ExplanationPoints, *, top: int = TOP, seed: int = 0
) -> go.Figure:
    """Every row's SHAP value per column (top columns by mean |SHAP|), coloured by the
    column's value from low (blue) to high (red); text and missing values are grey."""
    points = _points(source)
    title = "SHAP values by row"
    order = _ranked(points, top)
    if not order:
        return empty_figure(title)
    features = list(points.features)
    values = points.values
    data = points.cells
    rng = np.random.default_rng(seed)
    coloured: dict[str, list[Any]] = {"x": [], "y": [], "c": [], "text": []}
    grey: dict[str, list[Any]] = {"x": [], "y": [], "text": []}
    for level, position in enumerate(reversed(order)):
        cells = [row[position] for row in data]
        shap = values[:, position]
        offsets = level + _spread(shap, rng)
        scale = _scaled(cells)
        for value, y, cell, colour in zip(shap, offsets, cells, scale, strict=True):
            hover = [in_template(features[position]), in_template(_cell(cell))]
            target = coloured if math.isfinite(colour) else grey
            target["x"].append(float(value))
            target["y"].append(float(y))
            target["text"].append(hover)
            if target is coloured:
                coloured["c"].append(float(colour))
    figure = base_figure(title, subtitle=_subtitle(points.output), height=_tall(order) + 60)
    hovertemplate = "%{customdata[0]} = %{customdata[1]}<br>SHAP %{x:.4g}<extra></extra>"
    figure.add_trace(
        go.Scattergl(
            x=np.asarray(grey["x"], dtype=float),
            y=np.asarray(grey["y"], dtype=float),
            mode="markers",
            name="text or missing",
            marker={"color": MUTED, "size": 5, "opacity": 0.6},
            # arrays, not nested lists: plotly validates lists element by element (1 s here)
            customdata=_text_array(grey["text"]),
            hovertemplate=hovertemplate,
            showlegend=bool(grey["x"]),
        )
    )
    figure.add_trace(
        go.Scattergl(
            x=np.asarray(coloured["x"], dtype=float),
            y=np.asarray(coloured["y"], dtype=float),
            mode="markers",
            name="value",
            marker={
                "color": np.asarray(coloured["c"], dtype=float),
                "colorscale": "RdBu_r",
                "cmin": 0.0,
                "cmax": 1.0,
                "size": 5,
                "opacity": 0.75,
                "colorbar": {
                    "title": {"text": "value"},
                    "tickvals": [0, 1],
                    "ticktext": ["low", "high"],
                },
            },
            customdata=_text_array(coloured["text"]),
            hovertemplate=hovertemplate,
            showlegend=False,
        )
    )
    figure.add_vline(x=0, line={"color": MUTED, "width": 1})
    figure.update_yaxes(**_category_axis([features[i] for i in reversed(order)]))
    figure.update_xaxes(title_text="SHAP value (effect on the output)")
    return figure


def _text_array(rows: list[list[str]]) -> np.ndarray:
    array = np.empty((len(rows), 2), dtype=object)
    if rows:
        array[:] = rows
    return array


def _cell(cell: Any) -> str:
    return MISSING if cell is None else str(cell)


# -- dependence ------------------------------------------------------------------------------


def dependence_figure(source: Explanation | ExplanationPoints, feature: str) -> go.Figure:
    """One column's SHAP value against its value, one point per explained row."""
    points = _points(source)
    title = f"How {plain(feature)} moves the output"
    features = list(points.features)
    if str(feature) not in features or points.values.size == 0:
        return empty_figure(title, f"No SHAP values for {plain(feature)}")
    position = features.index(str(feature))
    shap = points.values[:, position]
    cells = [row[position] for row in points.cells]
    figure = base_figure(title, subtitle=_subtitle(points.output))
    numbers = np.array([_number(cell) for cell in cells], dtype=float)
    texts = [[in_template(_cell(cell))] for cell in cells]
    if cells and np.isfinite(numbers).sum() >= max(1, len(cells) // 2):
        x: Any = numbers
    elif cells and all(_is_date(cell) for cell in cells if cell is not None):
        x = [cell for cell in cells]
    else:
        levels = sorted({_cell(cell) for cell in cells})
        where = {level: index for index, level in enumerate(levels)}
        rng = np.random.default_rng(0)
        x = np.array([where[_cell(cell)] for cell in cells], dtype=float)
        x = x + rng.uniform(-0.2, 0.2, len(x))
        figure.update_xaxes(**_category_axis(levels))
    figure.add_trace(
        go.Scattergl(
            x=x,
            y=shap,
            mode="markers",
            marker={"color": ACCENT, "size": 5, "opacity": 0.6},
            customdata=texts,
            hovertemplate="value %{customdata[0]}<br>SHAP %{y:.4g}<extra></extra>",
        )
    )
    figure.add_hline(y=0, line={"color": MUTED, "width": 1})
    figure.update_xaxes(title_text=short(feature))
    figure.update_yaxes(title_text="SHAP value")
    return figure


def _is_date(cell: Any) -> bool:
    text = str(cell)
    return len(text) >= 10 and text[4] == "-" and text[7] == "-" and text[:4].isdigit()


# -- one row ---------------------------------------------------------------------------------


def _contributions(values: Any) -> list[tuple[str, float]]:
    """A dict, (feature, value) pairs, what_if's contributions or [{"feature", "shap"}, ...]."""
    if isinstance(values, Mapping):
        return [(str(name), _number(value)) for name, value in values.items()]
    pairs = []
    for item in values:
        if isinstance(item, Contribution):
            pairs.append((item.feature, _number(item.shap)))
        elif isinstance(item, Mapping):
            pairs.append((str(item["feature"]), _number(item.get("shap", item.get("value")))))
        else:
            pairs.append((str(item[0]), _number(item[1])))
    return pairs


def waterfall_figure(
    values: Any,
    base: float,
    prediction: float,
    *,
    top: int = WATERFALL_TOP,
    output: str = "",
    feature_values: Mapping[str, Any] | None = None,
) -> go.Figure:
    """From the base value (the average output) to this row's output, one bar per column
    (largest effects first; the rest summed as 'other columns')."""
    title = "Why this prediction"
    pairs = sorted(_contributions(values), key=lambda pair: -abs(np.nan_to_num(pair[1])))
    if not pairs:
        return empty_figure(title)
    shown, rest = pairs[:top], pairs[top:]
    names = ["base value"]
    for name, _ in shown:
        cell = None if feature_values is None else feature_values.get(name)
        names.append(name if cell is None else f"{name} = {cell}")
    amounts = [float(base), *[value for _, value in shown]]
    if rest:
        names.append(f"{len(rest)} other columns")
        amounts.append(float(np.nansum([value for _, value in rest])))
    names.append("prediction")
    amounts.append(float(prediction))
    labels = [short(name, LABEL_LIMIT + 16) for name in names]
    measures = ["absolute", *["relative"] * (len(amounts) - 2), "total"]
    subtitle = f"{plain(output) + ': ' if output else ''}{base:.4g} → {prediction:.4g}"
    figure = base_figure(title, subtitle=subtitle, height=_tall(labels))
    figure.add_trace(
        go.Waterfall(
            orientation="h",
            measure=measures,
            y=list(range(len(labels))),
            x=amounts,
            increasing={"marker": {"color": RISE}},
            decreasing={"marker": {"color": FALL}},
            totals={"marker": {"color": MUTED}},
            connector={"line": {"color": MUTED, "width": 1}},
            customdata=[[in_template(name)] for name in names],
            hovertemplate="%{customdata[0]}: %{x:.4g}<extra></extra>",
        )
    )
    figure.update_yaxes(
        tickmode="array", tickvals=list(range(len(labels))), ticktext=labels, autorange="reversed"
    )
    figure.update_xaxes(title_text=plain(output) if output else "model output")
    return figure


# -- permutation importance ------------------------------------------------------------------


def permutation_figure(importances: Any, *, metric: str = "", top: int = TOP) -> go.Figure:
    """How much the metric drops when each column is shuffled (mean ± std over repeats)."""
    title = "Permutation importance"
    rows = []
    for item in importances or []:
        if isinstance(item, Mapping):
            rows.append((str(item["feature"]), _number(item["mean"]), _number(item.get("std"))))
        else:
            rows.append((str(item[0]), _number(item[1]), _number(item[2])))
    rows = sorted(rows, key=lambda row: -row[1] if math.isfinite(row[1]) else math.inf)[:top]
    if not rows:
        return empty_figure(title)
    rows = rows[::-1]
    subtitle = (
        f"Drop in {plain(metric)} when a column is shuffled"
        if metric
        else ("Drop in the primary metric when a column is shuffled")
    )
    figure = base_figure(title, subtitle=subtitle, height=_tall(rows))
    figure.add_trace(
        go.Bar(
            x=[row[1] for row in rows],
            y=list(range(len(rows))),
            orientation="h",
            marker_color=ACCENT,
            error_x={"type": "data", "array": [np.nan_to_num(row[2]) for row in rows]},
            customdata=[[in_template(row[0]), row[2]] for row in rows],
            hovertemplate="%{customdata[0]}: %{x:.4g} ± %{customdata[1]:.2g}<extra></extra>",
        )
    )
    figure.add_vline(x=0, line={"color": MUTED, "width": 1})
    figure.update_yaxes(**_category_axis([row[0] for row in rows]))
    figure.update_xaxes(title_text="drop in the metric")
    return figure


# -- partial dependence ----------------------------------------------------------------------


def pdp_figure(pdp: PartialDependence) -> go.Figure:
    """The average prediction as one column sweeps its range (bold), and one faint line per
    sampled row (ICE), which shows whether rows respond alike."""
    feature = pdp.feature
    title = f"Partial dependence of {plain(feature)}"
    grid = list(pdp.grid)
    if not grid:
        return empty_figure(title)
    categorical = pdp.kind == "categorical"
    x: list[Any] = list(range(len(grid))) if categorical else grid
    figure = base_figure(title, subtitle=plain(pdp.output or ""))
    ice_x: list[Any] = []
    ice_y: list[Any] = []
    for line in pdp.ice:
        ice_x += [*x, None]
        ice_y += [*[_number(value) for value in line], None]
    if ice_x:
        figure.add_trace(
            go.Scatter(
                x=ice_x, y=ice_y, mode="lines", line=ICE_LINE, name="rows (ICE)", hoverinfo="skip"
            )
        )
    figure.add_trace(
        go.Scatter(
            x=x,
            y=[_number(value) for value in pdp.average],
            mode="lines+markers",
            line={"color": ACCENT, "width": 3},
            name="average",
            customdata=[[in_template(value)] for value in grid],
            hovertemplate="%{customdata[0]}: %{y:.4g}<extra></extra>",
        )
    )
    if categorical:
        figure.update_xaxes(**_category_axis(grid))
    figure.update_xaxes(title_text=short(feature))
    figure.update_yaxes(title_text=plain(pdp.output or "prediction"))
    return figure
