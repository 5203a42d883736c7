"""Tests for the Train page figures: each builds from plain data, handles empty input, escapes."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from functools import cache

import numpy as np
import plotly.graph_objects as go
import pytest

from app.charts import figures, theme
from app.train import charts, search_charts
from core.train.evaluate import ConfusionMatrix, PlotData, RocPlot, plot_data
from tests.app import figure_text

EVIL = "<img src=x onerror=alert(1)>"
EVIL_CLASS = "<b>yes</b>"
ESCAPED_CLASS = "&lt;b&gt;yes&lt;/b&gt;"
RAW_TAGS = ("<img", "<b>yes", "<script", "<i>")


def _binary_plots() -> PlotData:
    rng = np.random.default_rng(0)
    truth = rng.choice(["<i>no</i>", EVIL_CLASS], 300)
    positive = np.clip((truth == EVIL_CLASS) * 0.35 + rng.uniform(0, 0.65, 300), 0, 1)
    return plot_data(
        truth,
        predicted=np.where(positive > 0.5, EVIL_CLASS, "<i>no</i>"),
        probabilities=np.column_stack([1 - positive, positive]),
        classes=["<i>no</i>", EVIL_CLASS],
        task="binary",
    )


def _multiclass_plots() -> PlotData:
    rng = np.random.default_rng(1)
    classes = ["a", EVIL, "%{x}"]
    codes = rng.integers(0, 3, 300)
    logits = np.eye(3)[codes] + rng.normal(size=(300, 3))
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return plot_data(
        np.array(classes)[codes],
        predicted=np.array(classes)[proba.argmax(axis=1)],
        probabilities=proba,
        classes=classes,
        task="multiclass",
    )


def _regression_plots() -> PlotData:
    rng = np.random.default_rng(2)
    truth = rng.normal(10, 2, 300)
    return plot_data(
        truth,
        predicted=truth + rng.normal(0, 1, 300),
        probabilities=None,
        classes=[],
        task="regression",
    )


def _trials() -> list[dict]:
    rng = np.random.default_rng(3)
    trials = []
    for number in range(12):
        status = "pruned" if number % 5 == 4 else "failed" if number == 7 else "done"
        trials.append(
            {
                "number": number,
                "score": None if status == "failed" else float(rng.uniform(0.6, 0.9)),
                "status": status,
                "params": {
                    "C": float(10 ** rng.uniform(-3, 2)),
                    "max_iter": int(rng.integers(100, 500)),
                    EVIL: str(rng.choice(["l1", "<u>l2</u>"])),
                },
            }
        )
    return trials


def _runs() -> list[dict]:
    return [
        {"label": EVIL, "metrics": {"roc_auc": 0.81, "log_loss": 0.45, "f1": None}},
        {"label": "baseline", "metrics": {"roc_auc": 0.5, "log_loss": 0.69, "f1": 0.0}},
    ]


@cache
def _figures() -> list[tuple[str, go.Figure]]:
    """Built once per session; the tests only read them."""
    return list(_build_figures())


@cache
def _figure_data() -> list[tuple[str, dict]]:
    return [(name, json.loads(figure.to_json())) for name, figure in _figures()]


def _build_figures() -> Iterator[tuple[str, go.Figure]]:
    binary, multiclass, regression = _binary_plots(), _multiclass_plots(), _regression_plots()
    for name, plots, task in (
        ("binary", binary, "binary"),
        ("multiclass", multiclass, "multiclass"),
        ("regression", regression, "regression"),
    ):
        for title, figure in charts.evaluation_figures(plots, task).items():
            yield f"{name}: {title}", figure
    trials = _trials()
    yield (
        "progress",
        search_charts.search_progress_figure(trials, metric="roc_auc", higher_is_better=True),
    )
    yield "parallel", search_charts.parallel_coordinates_figure(trials, metric="roc_auc")
    yield "vs C", search_charts.metric_vs_param_figure(trials, param="C", metric="roc_auc")
    yield "vs evil", search_charts.metric_vs_param_figure(trials, param=EVIL, metric="roc_auc")
    yield (
        "runs",
        search_charts.runs_comparison_figure(_runs(), metrics=["roc_auc", "log_loss", "f1"]),
    )


def _layout(figure: go.Figure) -> dict:
    return json.loads(figure.to_json())["layout"]


EMPTY_BUILDERS: list[tuple[str, Callable[[], go.Figure]]] = [
    ("confusion", lambda: charts.confusion_matrix_figure(PlotData())),
    ("roc", lambda: charts.roc_figure(PlotData(roc=RocPlot(curves=())))),
    ("pr", lambda: charts.pr_figure(PlotData())),
    ("calibration", lambda: charts.calibration_figure(PlotData())),
    ("gain", lambda: charts.gain_figure(PlotData())),
    ("threshold", lambda: charts.threshold_figure(PlotData())),
    ("residuals", lambda: charts.residuals_figure(PlotData())),
    ("pred-vs-actual", lambda: charts.predicted_vs_actual_figure(PlotData())),
    ("histogram", lambda: charts.residual_histogram_figure(PlotData())),
    (
        "progress",
        lambda: search_charts.search_progress_figure([], metric="rmse", higher_is_better=False),
    ),
    ("parallel", lambda: search_charts.parallel_coordinates_figure([], metric="rmse")),
    ("vs-param", lambda: search_charts.metric_vs_param_figure([], param="C", metric="rmse")),
    ("runs", lambda: search_charts.runs_comparison_figure([], metrics=["rmse"])),
]


def test_evaluation_figures_come_in_reading_order_for_whatever_is_present() -> None:
    titles: dict[str, list[str]] = {}
    for name, _ in _figures():
        task, _, title = name.partition(": ")
        titles.setdefault(task, []).append(title)
    assert titles["binary"] == [
        "Confusion matrix",
        "ROC curve",
        "Precision–recall",
        "Calibration",
        "Gain and lift",
        "Threshold",
    ]
    assert titles["multiclass"] == [
        "Confusion matrix",
        "ROC curve",
        "Precision–recall",
        "Calibration",
    ]
    assert titles["regression"] == ["Predicted vs actual", "Residuals", "Residual distribution"]
    assert charts.evaluation_figures(PlotData(), "binary") == {}


def test_every_figure_has_data_a_title_and_the_template() -> None:
    for (name, figure), (_, data) in zip(_figures(), _figure_data(), strict=True):
        assert isinstance(figure, go.Figure), name
        assert data["data"], f"{name} has no traces"
        assert data["layout"]["title"]["text"], f"{name} has no title"
        assert figure.layout.template.layout.paper_bgcolor == "white", name
        if data["data"][0]["type"] != "parcoords":
            assert data["layout"]["xaxis"]["title"]["text"], f"{name} has no x title"
            assert data["layout"]["yaxis"]["title"]["text"], f"{name} has no y title"


@pytest.mark.parametrize(("name", "build"), EMPTY_BUILDERS, ids=[n for n, _ in EMPTY_BUILDERS])
def test_empty_input_gives_a_nothing_to_show_figure(
    name: str, build: Callable[[], go.Figure]
) -> None:
    figure = build()
    layout = _layout(figure)
    assert layout["title"]["text"]
    assert [note["text"] for note in layout["annotations"]] == [figures.NOTHING]


def test_user_text_appears_only_escaped() -> None:
    for name, data in _figure_data():
        strings = list(figure_text.strings(data))
        for text in strings:
            for tag in RAW_TAGS:
                assert tag not in text, f"{name}: raw {tag!r} in {text!r}"


def test_a_class_name_with_html_stays_escaped_in_titles() -> None:
    plots = _binary_plots()
    for build in (charts.roc_figure, charts.pr_figure, charts.calibration_figure):
        title = _layout(build(plots))["title"]["text"]
        assert ESCAPED_CLASS in title and EVIL_CLASS not in title
    gain = _layout(charts.gain_figure(plots))["title"]["text"]
    assert gain.endswith(ESCAPED_CLASS)
    names = [trace.name for trace in charts.roc_figure(plots).data]
    assert any(name.startswith(ESCAPED_CLASS + " (AUC") for name in names)


def test_template_placeholders_in_class_names_are_not_substituted() -> None:
    figure = charts.roc_figure(_multiclass_plots())
    templates = [trace.hovertemplate or "" for trace in figure.data]
    assert any("%&#123;x}" in template for template in templates)
    assert not any(template.startswith("%{x}") for template in templates)


def test_confusion_matrix_shows_counts_and_row_shares() -> None:
    plots = PlotData(confusion_matrix=ConfusionMatrix(("0", "1"), ((8, 2), (0, 0))))
    heatmap = charts.confusion_matrix_figure(plots).data[0]
    assert [list(row) for row in heatmap.text] == [["8", "2"], ["0", "0"]]
    assert heatmap.z[0] == pytest.approx([0.8, 0.2]) and list(heatmap.z[1]) == [0.0, 0.0]
    assert "of actual" in heatmap.hovertemplate


def test_search_progress_greys_pruned_trials_and_steps_the_best() -> None:
    trials: list[dict] = [
        {"number": 0, "score": 3.0, "status": "done"},
        {"number": 1, "score": 1.0, "status": "pruned"},
        {"number": 2, "score": 2.0, "status": "done"},
        {"number": 3, "score": None, "status": "failed"},
        {"number": 4, "score": 2.5, "status": "done"},
    ]
    figure = search_charts.search_progress_figure(trials, metric="rmse", higher_is_better=False)
    traces = {trace.name: trace for trace in figure.data}
    assert list(traces["pruned early"].x) == [1]
    assert traces["pruned early"].marker.color == theme.MUTED
    best = traces["best so far"]
    assert list(best.y) == [3.0, 3.0, 2.0, 2.0, 2.0] and best.line.shape == "hv"
    assert "1 failed" in _layout(figure)["title"]["subtitle"]["text"]
    higher = search_charts.search_progress_figure(trials, metric="r2", higher_is_better=True)
    assert list({t.name: t for t in higher.data}["best so far"].y) == [3.0] * 5


def test_parallel_coordinates_log_scales_wide_numbers_and_codes_choices() -> None:
    trials: list[dict] = [
        {"params": {"C": 0.001, "solver": "lbfgs"}, "score": 0.7},
        {"params": {"C": 10.0, "solver": "saga"}, "score": 0.8},
        {"params": {"C": 1.0, "solver": "lbfgs"}, "score": 0.75},
        {"params": {"C": 5.0, "solver": "saga"}, "score": None},
    ]
    figure = search_charts.parallel_coordinates_figure(trials, metric="roc_auc")
    dimensions = figure.data[0].dimensions
    assert [d.label for d in dimensions] == ["log10(C)", "solver", "ROC AUC"]
    assert list(dimensions[0].values) == pytest.approx([-3.0, 1.0, 0.0])
    assert list(dimensions[1].values) == [0, 1, 0]
    assert list(dimensions[1].ticktext) == ["lbfgs", "saga"]
    assert list(figure.data[0].line.color) == [0.7, 0.8, 0.75]


def test_metric_vs_param_uses_boxes_for_choices_and_a_log_axis_for_wide_numbers() -> None:
    trials = _trials()
    numeric = search_charts.metric_vs_param_figure(trials, param="C", metric="roc_auc")
    assert numeric.data[0].type == "scatter" and numeric.layout.xaxis.type == "log"
    choices = search_charts.metric_vs_param_figure(trials, param=EVIL, metric="roc_auc")
    assert choices.data[0].type == "box"
    done = [t for t in trials if t["status"] == "done"]
    assert len(choices.data[0].y) == len(done)


def test_runs_comparison_has_one_bar_trace_per_run() -> None:
    figure = search_charts.runs_comparison_figure(_runs(), metrics=["roc_auc", "log_loss", "f1"])
    assert [trace.type for trace in figure.data] == ["bar", "bar"]
    assert list(figure.data[0].x) == ["ROC AUC ↑", "Log loss ↓", "F1 ↑"]
    assert figure.data[0].y[2] is None
    assert figure.data[0].name == "&lt;img src=x onerror=alert(1)&gt;"
    assert figure.layout.barmode == "group"
