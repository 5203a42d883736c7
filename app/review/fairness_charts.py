"""Plotly figures for fairness review: metrics by group, the gaps, and the trade-off chart."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from app.charts.figures import base_figure, empty_figure
from app.charts.theme import ACCENT, MUTED, TEMPLATE, in_template, plain, series_color, short
from core import words
from core.review.fairness import (
    MIN_COUNT,
    UNDEFINED_WHEN_NO,
    FairnessReport,
    GroupMetrics,
)

if TYPE_CHECKING:  # the trade-off draws candidates; mitigation itself loads only when run
    from core.review.mitigation.measuring import Candidate

LABEL_LIMIT = 28
SMALL_COLOR = "#c3c7cc"
SMALL_PATTERN = "/"
FOUR_FIFTHS = 0.8
RATE_METRICS = frozenset(
    {"selection_rate", "true_positive_rate", "false_positive_rate", "accuracy", "precision"}
)
METHOD_SYMBOLS = {"threshold_optimizer": "diamond", "exponentiated_gradient": "square"}
NO_GAPS = "This review measured no gaps between groups."
UNDEFINED_GAPS = (
    "Every gap is undefined: the figures it compares are undefined or zero in every group "
    "(for example when the model predicts no positives at all)."
)
UNDEFINED_GAP = "undefined: the figures it compares are undefined or zero in every group"


# -- helpers ---------------------------------------------------------------------------------


def _label(name: str) -> str:
    return plain(words.metric(name))


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
    """One bar per group with its interval and, under it, the rows the figure rests on; a
    figure on too few rows greyed and hatched; overall dashed; an empty chart says why."""
    title = f"{_label(metric)} by {plain(feature)}"
    why = _why_no_bars(report, metric=metric, feature=feature)
    if why:
        return empty_figure(title, why)
    groups = report.groups_of(feature)
    values = [group.metrics.get(metric) for group in groups]
    flagged = [group.too_few(metric) for group in groups]
    figure = base_figure(
        title,
        x=plain(feature),
        y=_label(metric),
        subtitle=f"{_confidence_text(report)} · under each group: the rows its figure rests on"
        f" · hatched grey: fewer than {MIN_COUNT} of them, read with caution",
    )
    figure.add_trace(_group_bars(feature, groups, metric, values, flagged))
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
        ticktext=[
            f"{short(group.group, LABEL_LIMIT)}<br>{_rests_on(group, metric, brief=True)}"
            for group in groups
        ],
    )
    if metric in RATE_METRICS or metric == "roc_auc":
        figure.update_yaxes(range=[0, 1.05])
    return figure


def _group_bars(
    feature: str,
    groups: tuple[GroupMetrics, ...],
    metric: str,
    values: list[Any],
    flagged: list[bool],
) -> go.Bar:
    intervals = [group.intervals.get(metric) for group in groups]
    defined = [_finite(value) for value in values]
    return go.Bar(
        x=[plain(group.group) for group in groups],
        y=[value if ok else 0.0 for value, ok in zip(values, defined, strict=True)],
        error_y=_error_bars(values, intervals),
        text=["" if ok else "undefined" for ok in defined],
        textposition="outside",
        marker={
            "color": [SMALL_COLOR if flag else ACCENT for flag in flagged],
            "pattern": {"shape": [SMALL_PATTERN if flag else "" for flag in flagged]},
        },
        customdata=[
            [
                f"{value:.4f} {_interval_text(interval)}" if ok else "undefined",
                plain(_rests_on(group, metric, brief=False)),
                _caution_text(group, metric, flag, ok),
            ]
            for group, value, interval, flag, ok in zip(
                groups, values, intervals, flagged, defined, strict=True
            )
        ],
        hovertemplate=(
            f"{in_template(feature)} %{{x}}<br>{_label(metric)} %{{customdata[0]}}"
            "<br>%{customdata[1]}<br>%{customdata[2]}<extra></extra>"
        ),
        name=_label(metric),
        showlegend=False,
    )


def _rests_on(group: GroupMetrics, metric: str, *, brief: bool) -> str:
    """The rows behind the figure: "2 of 50" under a bar, a sentence in its hover."""
    found = group.basis(metric)
    if found is None:  # a review saved before counts were kept
        return f"{group.count:,} rows"
    return found.short if brief else found.text


def _caution_text(group: GroupMetrics, metric: str, flagged: bool, defined: bool) -> str:
    if not defined:
        what = UNDEFINED_WHEN_NO.get(metric)
        return f"undefined: the group has no {what}" if what else "undefined for this group"
    return f"caution: {plain(group.shortfall(metric))}" if flagged else ""


def _why_no_bars(report: FairnessReport, *, metric: str, feature: str) -> str | None:
    """Why the chart of ``metric`` by ``feature`` would be empty, in words, or None."""
    if not report.groups:
        return "This review compared no groups: choose sensitive features and run it again."
    if feature not in report.partitions:
        named = ", ".join(plain(name) for name in report.partitions)
        return f"This review has no groups of '{plain(feature)}'; it compared {named}."
    if metric not in report.metrics:
        named = ", ".join(_in_words(name) for name in report.metrics)
        return f"{_label(metric)} was not measured in this review; it measured {named}."
    groups = report.groups_of(feature)
    if any(_finite(group.metrics.get(metric)) for group in groups):
        return None
    what = UNDEFINED_WHEN_NO.get(metric)
    if what:
        return (
            f"No group of {plain(feature)} has {what}, so {_in_words(metric)} is undefined for "
            "every group."
        )
    return f"No group of {plain(feature)} has a value for {_in_words(metric)}."


def _in_words(metric: str) -> str:
    label = _label(metric)
    return label if label[1:2].isupper() else label[:1].lower() + label[1:]


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
    """Each gap per feature (and intersection) with its interval: differences, then ratios;
    a gap resting on a group with too few rows is hatched, and an empty chart says why."""
    title = "Gaps between groups"
    disparities = report.by_feature
    intervals = report.intervals_by_feature
    names = _disparity_names(disparities)
    differences = [name for name in names if not name.endswith("_ratio")]
    ratios = [name for name in names if name.endswith("_ratio")]
    if not differences and not ratios:
        return empty_figure(title, NO_GAPS)
    if not any(_finite(value) for values in disparities.values() for value in values.values()):
        return empty_figure(title, UNDEFINED_GAPS)
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
                    cautions=report.cautions().get(feature, {}),
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
        title={"text": title, "subtitle": {"text": _gaps_note(report)}},
        barmode="group",
        height=max(320, 140 + 24 * max(len(differences), len(ratios)) * len(disparities)),
    )
    figure.update_yaxes(autorange="reversed")
    return figure


def _gaps_note(report: FairnessReport) -> str:
    note = _confidence_text(report)
    if report.cautions():
        note += f" · hatched: rests on a group with fewer than {MIN_COUNT} rows behind it"
    return note


def _disparity_names(disparities: dict[str, dict[str, Any]]) -> list[str]:
    return list(dict.fromkeys(name for values in disparities.values() for name in values))


def _disparity_bars(
    feature: str,
    names: list[str],
    values: dict[str, Any],
    intervals: dict[str, Any],
    *,
    cautions: dict[str, str],
    color: str,
    legend: bool,
) -> go.Bar:
    shown = [values.get(name) for name in names]
    defined = [_finite(value) for value in shown]
    return go.Bar(
        y=[_label(name) for name in names],
        x=[value if ok else 0.0 for value, ok in zip(shown, defined, strict=True)],
        orientation="h",
        name=plain(feature),
        legendgroup=plain(feature),
        showlegend=legend,
        marker={
            "color": color,
            "pattern": {"shape": [SMALL_PATTERN if name in cautions else "" for name in names]},
        },
        text=["" if ok else "undefined" for ok in defined],
        textposition="outside",
        error_x=_error_bars(shown, [intervals.get(name) for name in names]),
        customdata=[
            [
                f"{value:.4f} {_interval_text(intervals.get(name))}" if ok else UNDEFINED_GAP,
                f"caution: {plain(cautions[name])}" if name in cautions else "",
            ]
            for name, value, ok in zip(names, shown, defined, strict=True)
        ],
        hovertemplate=(
            f"{in_template(feature)}<br>%{{y}} %{{customdata[0]}}<br>%{{customdata[1]}}"
            "<extra></extra>"
        ),
    )


# -- the trade-off ---------------------------------------------------------------------------


def trade_off_figure(
    candidates: Sequence[Candidate], *, metric_label: str, disparity_label: str
) -> go.Figure:
    """Performance against disparity, one labelled point per candidate; the original stands out."""
    title = "Performance vs disparity"
    drawn = [c for c in candidates if _finite(c.performance) and _finite(c.disparity)]
    if not drawn:
        return empty_figure(title)
    left_out = len(candidates) - len(drawn)
    subtitle = "left is fairer · the original run is the large ring"
    if left_out:
        subtitle += f" · {left_out} without a value not shown"
    figure = base_figure(title, x=plain(disparity_label), y=plain(metric_label), subtitle=subtitle)
    originals = [c for c in drawn if c.original]
    others = [c for c in drawn if not c.original]
    if others:
        figure.add_trace(_points(others, metric_label, disparity_label, original=False))
    if originals:
        figure.add_trace(_points(originals, metric_label, disparity_label, original=True))
    figure.update_xaxes(rangemode="tozero")
    return figure


def _points(
    candidates: Sequence[Candidate], metric_label: str, disparity_label: str, *, original: bool
) -> go.Scatter:
    details = [
        [
            plain(c.name),
            plain(words.mitigation(c.method) if c.method else "original"),
            plain(words.mitigation(c.constraint) if c.constraint else "—"),
        ]
        for c in candidates
    ]
    return go.Scatter(
        x=[c.disparity for c in candidates],
        y=[c.performance for c in candidates],
        mode="markers+text",
        text=[short(c.name, LABEL_LIMIT) for c in candidates],
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
                else [METHOD_SYMBOLS.get(str(c.method), "circle") for c in candidates]
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
