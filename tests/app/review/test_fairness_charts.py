"""Tests for the fairness figures: built from a FairnessReport, empty input handled, escaped."""

from __future__ import annotations

import math
from dataclasses import replace
from functools import cache

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from app.charts import figures
from app.review import fairness_charts as charts
from core.review.fairness import FairnessReport, fairness_report
from core.review.mitigation.measuring import Candidate

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
    flagged = [g.too_few("selection_rate") for g in groups]
    assert flagged[tiny] and not all(flagged)
    assert [shape == charts.SMALL_PATTERN for shape in bars.marker.pattern.shape] == flagged
    assert all(value is not None and value >= 0 for value in bars.error_y.array)
    overall = report.overall["selection_rate"]
    assert [shape.y0 for shape in figure.layout.shapes] == pytest.approx([overall])
    assert ESCAPED in bars.x and "age&lt;band&gt;" in figure.layout.title.text
    _no_raw_tags(figure)


def _few_predicted_positives() -> FairnessReport:
    """Group 'b' has 50 rows but only 2 predicted positives; group 'a' has plenty."""
    truth = np.array([1, 0] * 100 + [1, 0] * 25)
    guess = np.array([1] * 60 + [0] * 140 + [1, 1] + [0] * 48)
    sensitive = pd.DataFrame({"g": ["a"] * 200 + ["b"] * 50})
    return fairness_report(truth, guess, sensitive=sensitive, task="binary", n_boot=0)


def test_the_rows_behind_each_rate_sit_under_its_bar_and_in_its_hover() -> None:
    figure = charts.group_metric_figure(
        _few_predicted_positives(), metric="selection_rate", feature="g"
    )
    bars = figure.data[0]
    assert list(figure.layout.xaxis.ticktext) == ["a<br>60 of 200", "b<br>2 of 50"]
    assert [row[1] for row in bars.customdata] == [
        "60 of 200 rows predicted positive",
        "2 of 50 rows predicted positive",
    ]
    assert bars.customdata[1][2] == "caution: only 2 predicted positives"
    assert bars.customdata[0][2] == ""
    assert list(bars.marker.pattern.shape) == ["", charts.SMALL_PATTERN]
    assert "fewer than 10 of them" in figure.layout.title.subtitle.text


def test_a_gap_resting_on_too_few_rows_is_hatched_with_the_reason() -> None:
    report = _few_predicted_positives()
    figure = charts.disparity_figure(report)
    shaky = {
        label: (shape, data[1])
        for trace in figure.data
        for label, shape, data in zip(
            trace.y, trace.marker.pattern.shape, trace.customdata, strict=True
        )
    }
    reason = "caution: rests on group 'b', which has only 2 predicted positives"
    assert shaky["Demographic parity ratio"] == (charts.SMALL_PATTERN, reason)
    assert shaky["Demographic parity difference"] == (charts.SMALL_PATTERN, reason)
    assert shaky["Equalized odds ratio"] == ("", "")
    assert "hatched: rests on a group with fewer than 10 rows" in figure.layout.title.subtitle.text


def test_a_metric_undefined_in_every_group_says_why_its_chart_is_empty() -> None:
    truth = np.array([0, 1] * 30)
    guess = np.zeros(60, dtype=int)  # no predicted positives anywhere: no precision
    sensitive = pd.DataFrame({"g": ["a", "a", "b"] * 20})
    report = fairness_report(truth, guess, sensitive=sensitive, task="binary", n_boot=0)
    figure = charts.group_metric_figure(report, metric="precision", feature="g")
    assert not figure.data
    assert figure.layout.annotations[0].text == (
        "No group of g has predicted positives, so precision is undefined for every group."
    )


def test_an_undefined_group_or_gap_is_labelled_not_left_blank() -> None:
    truth = np.array([0, 0, 0, 1] * 15)
    sensitive = pd.DataFrame({"g": ["a", "b", "a", "a"] * 15})  # 'b' has no actual positives
    guess = np.array([1, 0, 0, 1] * 15)
    report = fairness_report(truth, guess, sensitive=sensitive, task="binary", n_boot=0)
    bars = charts.group_metric_figure(report, metric="true_positive_rate", feature="g").data[0]
    assert list(bars.text) == ["", "undefined"]
    assert bars.customdata[1][0] == "undefined"
    assert bars.customdata[1][2] == "undefined: the group has no actual positives"
    every = replace(report, by_feature={"g": {"demographic_parity_ratio": float("nan")}})
    assert charts.disparity_figure(every).layout.annotations[0].text == charts.UNDEFINED_GAPS


def test_a_report_saved_before_counts_shows_rows_and_hatches_small_groups() -> None:
    saved = _report().to_dict()
    del saved["cautions"]
    for group in saved["groups"]:
        del group["counts"], group["too_few"]
    old = FairnessReport.from_dict(saved)
    figure = charts.group_metric_figure(old, metric="accuracy", feature="age<band>")
    ticks = list(figure.layout.xaxis.ticktext)
    groups = old.groups_of("age<band>")
    assert ticks == [f"{charts.short(g.group, 28)}<br>{g.count:,} rows" for g in groups]
    small = [charts.SMALL_PATTERN if g.small else "" for g in groups]
    assert list(figure.data[0].marker.pattern.shape) == small


def test_intersectional_groups_draw_too() -> None:
    report = _report()
    figure = charts.group_metric_figure(report, metric="roc_auc", feature="sex × age<band>")
    assert len(figure.data[0].x) == len(
        [g for g in report.groups if g.feature == "sex × age<band>"]
    )
    _no_raw_tags(figure)


@pytest.mark.parametrize(
    ("metric", "feature", "why"),
    [
        ("selection_rate", "nope", "This review has no groups of 'nope'; it compared sex, "),
        ("mae", "sex", "MAE was not measured in this review; it measured selection rate, "),
        ("accuracy", "", "This review has no groups of ''"),
    ],
)
def test_unknown_metric_or_feature_draws_an_empty_figure_that_says_why(
    metric: str, feature: str, why: str
) -> None:
    figure = charts.group_metric_figure(_report(), metric=metric, feature=feature)
    assert not figure.data
    assert figure.layout.annotations[0].text.startswith(why)


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
    assert charts.disparity_figure(nothing).layout.annotations[0].text == charts.NO_GAPS


def test_trade_off_highlights_the_original_and_labels_every_point() -> None:
    candidates = [
        Candidate("#3 logistic_regression", 3, performance=0.83, disparity=0.1, metrics={}),
        Candidate(
            f"#5 {EVIL}",
            5,
            performance=0.7,
            disparity=0.01,
            metrics={},
            method="threshold_optimizer",
            constraint="demographic_parity",
        ),
        Candidate("#6 eg", 6, 0.71, 0.03, {}, method="exponentiated_gradient"),
        Candidate("#7 broken", 7, performance=math.nan, disparity=0.02, metrics={}, method="x"),
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
