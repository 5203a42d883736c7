"""Tests for the fairness figures: built from a FairnessReport, empty input handled, escaped."""

from __future__ import annotations

from dataclasses import replace
from functools import cache

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from app.charts import figures
from app.review import fairness_charts as charts
from core.review.fairness import FairnessReport, fairness_report

EVIL = "<img src=x onerror=alert(1)>"
ESCAPED = "&lt;img src=x onerror=alert(1)&gt;"
RAW_TAGS = ("<img", "<script", "<b>")


@cache
def _report() -> FairnessReport:
    """Two sensitive columns, one with a user-typed group name and a group of 6 rows."""
    rng = np.random.default_rng(0)
    rows = 600
    sex = rng.choice(["female", "male"], rows)
    band = rng.choice(["18-25", "26-35", EVIL], rows, p=[0.5, 0.46, 0.04])
    band[:6] = "<b>tiny</b>"
    band[6:] = np.where(band[6:] == "<b>tiny</b>", "18-25", band[6:])
    truth = rng.integers(0, 2, rows)
    score = np.clip(0.3 + 0.2 * (sex == "female") + rng.normal(0, 0.2, rows), 0, 1)
    sensitive = pd.DataFrame({"sex": sex, "age<band>": band})
    report = fairness_report(
        truth, (score > 0.45).astype(int), sensitive=sensitive, task="binary", y_score=score
    )
    return report


def _regression_report() -> FairnessReport:
    rng = np.random.default_rng(1)
    truth = rng.normal(0, 1, 300)
    sensitive = pd.DataFrame({"sex": rng.choice(["f", "m"], 300)})
    return fairness_report(
        truth, truth + rng.normal(0, 0.3, 300), sensitive=sensitive, task="regression"
    )


def _no_raw_tags(figure: go.Figure) -> None:
    text = figure.to_json()
    for tag in RAW_TAGS:
        assert tag not in text, tag


def test_group_bars_have_intervals_small_groups_hatched_and_the_overall_line() -> None:
    report = _report()
    figure = charts.group_metric_figure(report, metric="selection_rate", feature="age<band>")
    bars = figure.data[0]
    groups = report.groups_of("age<band>")
    assert len(bars.x) == len(groups)
    assert list(bars.y) == pytest.approx([g.metrics["selection_rate"] for g in groups])
    tiny = list(bars.x).index("&lt;b&gt;tiny&lt;/b&gt;")
    assert bars.marker.pattern.shape[tiny] == charts.SMALL_PATTERN
    assert bars.marker.color[tiny] == charts.SMALL_COLOR
    assert all(shape == "" for i, shape in enumerate(bars.marker.pattern.shape) if i != tiny)
    assert all(value is not None and value >= 0 for value in bars.error_y.array)
    overall = report.overall["selection_rate"]
    assert [shape.y0 for shape in figure.layout.shapes] == pytest.approx([overall])
    assert ESCAPED in bars.x and "age&lt;band&gt;" in figure.layout.title.text
    _no_raw_tags(figure)


def test_intersectional_groups_draw_too() -> None:
    report = _report()
    figure = charts.group_metric_figure(report, metric="roc_auc", feature="sex × age<band>")
    assert len(figure.data[0].x) == len(
        [g for g in report.groups if g.feature == "sex × age<band>"]
    )
    _no_raw_tags(figure)


@pytest.mark.parametrize(
    ("metric", "feature"), [("selection_rate", "nope"), ("mae", "sex"), ("accuracy", "")]
)
def test_unknown_metric_or_feature_draws_an_empty_figure(metric: str, feature: str) -> None:
    figure = charts.group_metric_figure(_report(), metric=metric, feature=feature)
    assert not figure.data
    assert figure.layout.annotations[0].text == figures.NOTHING


def test_disparity_figure_has_a_panel_each_for_differences_and_ratios() -> None:
    report = _report()
    figure = charts.disparity_figure(report)
    partitions = report.partitions
    assert len(figure.data) == 2 * len(partitions)
    assert {trace.name for trace in figure.data} == {
        "sex",
        "age&lt;band&gt;",
        "sex × age&lt;band&gt;",
    }
    ratio_traces = [trace for trace in figure.data if trace.xaxis == "x2"]
    assert all("ratio" in label for trace in ratio_traces for label in trace.y)
    assert any(shape.x0 == charts.FOUR_FIFTHS for shape in figure.layout.shapes)
    _no_raw_tags(figure)


def test_disparity_figure_for_regression_shows_only_gaps() -> None:
    figure = charts.disparity_figure(_regression_report())
    assert len(figure.data) == 1
    assert list(figure.data[0].y) == ["MAE gap (max − min)", "RMSE gap (max − min)"]
    nothing = replace(_regression_report(), by_feature={}, intervals_by_feature={})
    assert charts.disparity_figure(nothing).layout.annotations[0].text == figures.NOTHING


def test_trade_off_highlights_the_original_and_labels_every_point() -> None:
    candidates = [
        {"name": "#3 logistic_regression", "performance": 0.83, "disparity": 0.1, "original": True},
        {
            "name": f"#5 {EVIL}",
            "performance": 0.7,
            "disparity": 0.01,
            "method": "threshold_optimizer",
            "constraint": "demographic_parity",
            "original": False,
        },
        # a Candidate's __dict__ has no "original": no method means the original
        {
            "name": "#6 eg",
            "performance": 0.71,
            "disparity": 0.03,
            "method": "exponentiated_gradient",
        },
        {"name": "#7 broken", "performance": None, "disparity": 0.02, "method": "x"},
    ]
    figure = charts.trade_off_figure(
        candidates, metric_label="ROC <AUC>", disparity_label="Demographic parity difference"
    )
    mitigated, original = figure.data
    assert original.name == "original" and list(original.x) == [0.1]
    assert original.marker.size > mitigated.marker.size
    assert len(mitigated.x) == 2 and mitigated.text[0].startswith("#5 &lt;img")
    assert mitigated.customdata[0][0] == "#5 " + ESCAPED  # the full name, in the hover
    assert "1 without a value" in figure.layout.title.subtitle.text
    assert figure.layout.yaxis.title.text == "ROC &lt;AUC&gt;"
    _no_raw_tags(figure)


def test_trade_off_without_points_is_empty() -> None:
    figure = charts.trade_off_figure([], metric_label="AUC", disparity_label="gap")
    assert figure.layout.annotations[0].text == figures.NOTHING
