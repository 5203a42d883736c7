"""Plotly figures for fairness review: metrics by group, the gaps, and the trade-off chart."""

from __future__ import annotations

import math
from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from app.charts.figures import base_figure, empty_figure
from app.charts.theme import ACCENT, MUTED, TEMPLATE, in_template, plain, series_color, short
from core.review.fairness import METRIC_LABELS, MIN_GROUP_ROWS, FairnessReport

LABEL_LIMIT = 28
SMALL_COLOR = "#c3c7cc"
SMALL_PATTERN = "/"
FOUR_FIFTHS = 0.8
RATE_METRICS = frozenset(
    {"selection_rate", "true_positive_rate", "false_positive_rate", "accuracy", "precision"}
)
METHOD_SYMBOLS = {"threshold_optimizer": "diamond", "exponentiated_gradient": "square"}


# -- helpers ---------------------------------------------------------------------------------


def _label(name: str) -> str:
    return METRIC_LABELS.get(name) or plain(name.replace("_", " "))


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _interval_text(interval: Any) -> str:
    if isinstance(interval, list | tuple) and len(interval) == 2 and all(map(_finite, interval)):
        return f"[{interval[0]:.3f}, {interval[1]:.3f}]"
    return "no interval"


def _confidence_text(report: FairnessReport) -> str:
    if not report.n_boot:
        return "no intervals"
    return f"{report.confidence:.0%} bootstrap intervals ({report.n_boot} resamples)"


# -- metrics by group ------------------------------------------------------------------------


def group_metric_figure(report: FairnessReport, *, metric: str, feature: str) -> go.Figure:
    """One bar per group with its interval; small groups greyed and hatched; overall dashed."""
    title = f"{_label(metric)} by {plain(feature)}"
    groups = report.groups_of(feature)
    if not groups or metric not in report.metrics:
        return empty_figure(title)
    values = [group.metrics.get(metric) for group in groups]
    intervals = [group.intervals.get(metric) for group in groups]
    small = [group.small for group in groups]
    figure = base_figure(
        title,
        x=plain(feature),
        y=_label(metric),
        subtitle=f"{_confidence_text(report)} · hatched grey: under {MIN_GROUP_ROWS} rows",
    )
    figure.add_trace(
        go.Bar(
            x=[plain(group.group) for group in groups],
            y=[value if _finite(value) else None for value in values],
            error_y=_error_bars(values, intervals),
            marker={
                "color": [SMALL_COLOR if flag else ACCENT for flag in small],
                "pattern": {"shape": [SMALL_PATTERN if flag else "" for flag in small]},
            },
            customdata=[
                [_interval_text(interval), group.count, "small group" if flag else ""]
                for group, interval, flag in zip(groups, intervals, small, strict=True)
            ],
            hovertemplate=(
                f"{in_template(feature)} %{{x}}<br>{_label(metric)} %{{y:.4f}} "
                "%{customdata[0]}<br>%{customdata[1]} rows %{customdata[2]}<extra></extra>"
            ),
            name=_label(metric),
            showlegend=False,
        )
    )
    overall = report.overall.get(metric)
    if _finite(overall):
        figure.add_hline(
            y=overall,
            line={"color": MUTED, "dash": "dash", "width": 1.5},
            annotation={"text": f"overall {overall:.3f}", "font": {"color": MUTED}},
            annotation_position="top right",
        )
    figure.update_xaxes(
        type="category",
        tickvals=[plain(group.group) for group in groups],
        ticktext=[short(group.group, LABEL_LIMIT) for group in groups],
    )
    if metric in RATE_METRICS or metric == "roc_auc":
        figure.update_yaxes(range=[0, 1.05])
    return figure


def _error_bars(values: list[Any], intervals: list[Any]) -> dict[str, Any]:
    above, below = [], []
    for value, interval in zip(values, intervals, strict=True):
        ok = _finite(value) and isinstance(interval, list | tuple) and len(interval) == 2
        ok = ok and all(map(_finite, interval))
        above.append(max(interval[1] - value, 0.0) if ok else None)
        below.append(max(value - interval[0], 0.0) if ok else None)
    return {
        "type": "data",
        "symmetric": False,
        "array": above,
        "arrayminus": below,
        "color": "#444",
        "thickness": 1.2,
        "width": 6,
    }


# -- the gaps --------------------------------------------------------------------------------


def disparity_figure(report: FairnessReport) -> go.Figure:
    """Each gap per feature (and intersection) with its interval: differences, then ratios."""
    title = "Gaps between groups"
    disparities = report.by_feature
    intervals = report.intervals_by_feature
    names = _disparity_names(disparities)
    differences = [name for name in names if not name.endswith("_ratio")]
    ratios = [name for name in names if name.endswith("_ratio")]
    if not differences and not ratios:
        return empty_figure(title)
    panels = [panel for panel in (differences, ratios) if panel]
    figure = make_subplots(
        rows=1,
        cols=len(panels),
        subplot_titles=[
            "Difference (0 = parity)" if panel is differences else "Ratio (1 = parity)"
            for panel in panels
        ],
        horizontal_spacing=0.22,
    )
    for index, feature in enumerate(disparities):
        for column, panel in enumerate(panels, start=1):
            figure.add_trace(
                _disparity_bars(
                    feature,
                    panel,
                    disparities[feature],
                    intervals.get(feature) or {},
                    color=series_color(index),
                    legend=column == 1,
                ),
                row=1,
                col=column,
            )
    if ratios:
        figure.add_vline(
            x=FOUR_FIFTHS,
            line={"color": MUTED, "dash": "dot", "width": 1},
            annotation={"text": "four-fifths rule", "font": {"color": MUTED}},
            row=1,
            col=len(panels),
        )
        figure.update_xaxes(range=[0, 1.05], row=1, col=len(panels))
    figure.update_layout(
        template=TEMPLATE,
        title={"text": title, "subtitle": {"text": _confidence_text(report)}},
        barmode="group",
        height=max(320, 140 + 24 * max(len(differences), len(ratios)) * len(disparities)),
    )
    figure.update_yaxes(autorange="reversed")
    return figure


def _disparity_names(disparities: dict[str, dict[str, Any]]) -> list[str]:
    return list(dict.fromkeys(name for values in disparities.values() for name in values))


def _disparity_bars(
    feature: str,
    names: list[str],
    values: dict[str, Any],
    intervals: dict[str, Any],
    *,
    color: str,
    legend: bool,
) -> go.Bar:
    shown = [values.get(name) for name in names]
    return go.Bar(
        y=[_label(name) for name in names],
        x=[value if _finite(value) else None for value in shown],
        orientation="h",
        name=plain(feature),
        legendgroup=plain(feature),
        showlegend=legend,
        marker={"color": color},
        error_x=_error_bars(shown, [intervals.get(name) for name in names]),
        customdata=[_interval_text(intervals.get(name)) for name in names],
        hovertemplate=(
            f"{in_template(feature)}<br>%{{y}} %{{x:.4f}} %{{customdata}}<extra></extra>"
        ),
    )


# -- the trade-off ---------------------------------------------------------------------------


def trade_off_figure(
    candidates: list[dict], *, metric_label: str, disparity_label: str
) -> go.Figure:
    """Performance against disparity, one labelled point per candidate; the original stands out."""
    title = "Performance vs disparity"
    drawn = [c for c in candidates if _finite(c.get("performance")) and _finite(c.get("disparity"))]
    if not drawn:
        return empty_figure(title)
    left_out = len(candidates) - len(drawn)
    subtitle = "left is fairer · the original run is the large ring"
    if left_out:
        subtitle += f" · {left_out} without a value not shown"
    figure = base_figure(title, x=plain(disparity_label), y=plain(metric_label), subtitle=subtitle)
    originals = [c for c in drawn if _is_original(c)]
    others = [c for c in drawn if not _is_original(c)]
    if others:
        figure.add_trace(_points(others, metric_label, disparity_label, original=False))
    if originals:
        figure.add_trace(_points(originals, metric_label, disparity_label, original=True))
    figure.update_xaxes(rangemode="tozero")
    return figure


def _is_original(candidate: dict) -> bool:
    """``original`` when given (Candidate.to_dict), else no mitigation method (its __dict__)."""
    if "original" in candidate:
        return bool(candidate["original"])
    return candidate.get("method") is None


def _points(
    candidates: list[dict], metric_label: str, disparity_label: str, *, original: bool
) -> go.Scatter:
    details = [
        [
            plain(c.get("name", "")),
            plain(c.get("method") or "original"),
            plain(c.get("constraint") or "—"),
        ]
        for c in candidates
    ]
    return go.Scatter(
        x=[c["disparity"] for c in candidates],
        y=[c["performance"] for c in candidates],
        mode="markers+text",
        text=[short(c.get("name", ""), LABEL_LIMIT) for c in candidates],
        textposition="top center",
        name="original" if original else "mitigated",
        marker={
            "size": 18 if original else 12,
            "color": "rgba(0,0,0,0)"
            if original
            else [series_color(i + 1) for i in range(len(candidates))],
            "symbol": (
                "circle"
                if original
                else [METHOD_SYMBOLS.get(str(c.get("method")), "circle") for c in candidates]
            ),
            "line": {"color": ACCENT, "width": 3} if original else {"color": "#333", "width": 1},
        },
        customdata=details,
        hovertemplate=(
            "%{customdata[0]}<br>%{customdata[1]} · %{customdata[2]}<br>"
            f"{in_template(metric_label)} %{{y:.4f}}<br>"
            f"{in_template(disparity_label)} %{{x:.4f}}<extra></extra>"
        ),
    )
