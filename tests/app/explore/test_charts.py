"""Tests for the Explore page figures: each builds, serialises and shows user text only escaped."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from app.charts import theme
from app.explore import charts, target_charts
from core.data import explore
from core.data.schema import ColumnSchema
from tests.app import figure_text

EVIL = "<img src=x onerror=alert(2)>"
EVIL_LEVEL = "<script>alert('level')</script>"


@dataclass(frozen=True)
class Strength:
    name: str
    metric: str
    value: float | None


@pytest.fixture
def evil_frame() -> pd.DataFrame:
    """Every column name and most category values are HTML that must never render as HTML."""
    rng = np.random.default_rng(0)
    n = 600
    frame = pd.DataFrame(
        {
            EVIL: rng.normal(10, 3, n),
            "x & <b>y</b>": rng.normal(size=n),
            "%{x} <i>kind</i>": rng.choice([EVIL_LEVEL, "a&b", "<u>c</u>", ""], n),
            "when <br>": pd.date_range("2024-01-01", periods=n, freq="D", tz="Europe/Paris"),
            "<target>": rng.choice(["<yes>", "<no>"], n),
            "<klass>": rng.choice(["<k1>", "<k2>", "<k3>"], n),
        }
    )
    frame.loc[::7, EVIL] = np.nan
    frame.loc[::11, "%{x} <i>kind</i>"] = None
    return frame


def _schema(frame: pd.DataFrame) -> list[ColumnSchema]:
    roles = {
        EVIL: "numeric",
        "x & <b>y</b>": "numeric",
        "%{x} <i>kind</i>": "categorical",
        "when <br>": "datetime",
        "<target>": "target",
        "<klass>": "categorical",
    }
    return [ColumnSchema(c, str(frame[c].dtype), roles[c]) for c in frame.columns]  # type: ignore[arg-type]


def _figures(frame: pd.DataFrame) -> Iterator[tuple[str, go.Figure]]:
    schema = _schema(frame)
    kind = "%{x} <i>kind</i>"
    yield "histogram", charts.histogram_box_figure(explore.numeric_summary(frame, column=EVIL))
    counts = explore.category_counts(frame, column=kind, top_k=2)
    yield "category", charts.category_bar_figure(counts)
    dates = explore.datetime_counts(frame, column="when <br>")
    yield "datetime", charts.datetime_counts_figure(dates)
    for method in ("pearson", "cramers_v"):
        result = explore.correlations(frame, schema=schema, method=method)  # type: ignore[arg-type]
        yield method, charts.correlation_heatmap_figure(result)
    pattern = explore.missing_pattern(frame)
    yield "missing-bar", charts.missing_bar_figure(pattern)
    yield "missing-matrix", charts.missing_matrix_figure(pattern)
    for color in (None, "<target>", "x & <b>y</b>"):
        sample = explore.scatter_sample(frame, x=EVIL, y="x & <b>y</b>", color=color)
        yield f"scatter-{color}", charts.scatter_figure(sample)
    yield "scatter-text", charts.scatter_figure(explore.scatter_sample(frame, x=kind, y=EVIL))
    for target, feature in [
        ("<target>", EVIL),
        ("<target>", kind),
        ("<klass>", kind),
        ("<klass>", EVIL),
        (EVIL, kind),
        (EVIL, "x & <b>y</b>"),
        ("<target>", "when <br>"),
    ]:
        analysis = explore.target_analysis(frame, target=target, feature=feature, schema=schema)
        yield f"target-{target}-{feature}", target_charts.target_figure(analysis)
    strengths = [Strength(EVIL, "roc_auc", 0.7), Strength(kind, "cramers_v", 0.2)]
    yield "strength", target_charts.feature_strength_figure(strengths)


def test_plain_escapes_markup_only() -> None:
    assert theme.plain(EVIL) == "&lt;img src=x onerror=alert(2)&gt;"
    assert theme.plain('a & b\'s "c"') == 'a &amp; b\'s "c"'
    assert theme.plain(3.5) == "3.5"


def test_every_figure_builds_and_serialises(evil_frame: pd.DataFrame) -> None:
    for name, figure in _figures(evil_frame):
        assert isinstance(figure, go.Figure), name
        data = json.loads(figure.to_json())
        assert data["data"], f"{name} has no traces"
        assert data["layout"]["title"]["text"], f"{name} has no title"


def test_user_text_appears_only_escaped(evil_frame: pd.DataFrame) -> None:
    for name, figure in _figures(evil_frame):
        raw = figure.to_json()
        assert "<img" not in raw and "<script" not in raw, name
        strings = list(figure_text.strings(json.loads(raw)))
        for text in strings:
            for tag in ("<img", "<script", "<b>", "<i>", "<u>", "<target>", "<yes>", "<k1>"):
                assert tag not in text, f"{name}: raw {tag!r} in {text!r}"
        assert any("&lt;" in text for text in strings), name


def test_the_evil_column_name_is_escaped_in_the_histogram(evil_frame: pd.DataFrame) -> None:
    figure = charts.histogram_box_figure(explore.numeric_summary(evil_frame, column=EVIL))
    layout = json.loads(figure.to_json())["layout"]
    assert "&lt;img src=x onerror=alert(2)&gt;" in layout["title"]["text"]
    assert layout["xaxis2"]["title"]["text"] == "&lt;img src=x onerror=alert(2)&gt;"


def test_template_placeholders_in_names_are_not_substituted(evil_frame: pd.DataFrame) -> None:
    sample = explore.scatter_sample(evil_frame, x="%{x} <i>kind</i>", y=EVIL)
    template = charts.scatter_figure(sample).data[0].hovertemplate
    assert "%&#123;x} &lt;i&gt;kind&lt;/i&gt;: %{x}" in template


def test_scatter_uses_webgl_and_colours_by_class(evil_frame: pd.DataFrame) -> None:
    sample = explore.scatter_sample(evil_frame, x=EVIL, y="x & <b>y</b>", color="<target>")
    figure = charts.scatter_figure(sample)
    assert {trace.type for trace in figure.data} == {"scattergl"}
    assert sorted(trace.name for trace in figure.data) == ["&lt;no&gt;", "&lt;yes&gt;"]
    assert sum(len(trace.x) for trace in figure.data) == sample.rows


def test_category_bars_keep_equal_looking_labels_apart() -> None:
    frame = pd.DataFrame({"c": pd.Series([1, "1", "1", None, "x" * 80], dtype=object)})
    figure = charts.category_bar_figure(explore.category_counts(frame, column="c"))
    axis = figure.layout.yaxis
    assert list(axis.tickvals) == [0, 1, 2, 3] and axis.ticktext[-1] == "(missing)"
    assert max(len(text) for text in axis.ticktext) <= theme.LABEL_LIMIT


def test_correlation_heatmap_ranges_and_values(evil_frame: pd.DataFrame) -> None:
    result = explore.correlations(evil_frame, schema=_schema(evil_frame), method="pearson")
    heatmap = charts.correlation_heatmap_figure(result).data[0]
    assert (heatmap.zmin, heatmap.zmax) == (-1.0, 1.0)
    np.testing.assert_allclose(np.asarray(heatmap.z, dtype=float), result.matrix)


@pytest.mark.parametrize(
    "build",
    [
        lambda f: charts.histogram_box_figure(explore.numeric_summary(f, column="empty")),
        lambda f: charts.category_bar_figure(explore.category_counts(f.iloc[:0], column="empty")),
        lambda f: charts.datetime_counts_figure(explore.datetime_counts(f, column="empty")),
        lambda f: charts.correlation_heatmap_figure(
            explore.correlations(f, schema=[], method="pearson")
        ),
        lambda f: charts.missing_bar_figure(explore.missing_pattern(f[["full"]])),
        lambda f: charts.missing_matrix_figure(explore.missing_pattern(f[["full"]])),
        lambda f: charts.scatter_figure(explore.scatter_sample(f, x="empty", y="full")),
        lambda f: target_charts.target_figure(
            explore.target_analysis(f, target="full", feature="empty", schema=[])
        ),
        lambda f: target_charts.feature_strength_figure([Strength("a", "roc_auc", None)]),
    ],
    ids=[
        "histogram",
        "category",
        "datetime",
        "heatmap",
        "missing-bar",
        "missing-matrix",
        "scatter",
        "target",
        "strength",
    ],
)
def test_empty_results_give_a_message(build: Callable[[pd.DataFrame], go.Figure]) -> None:
    frame = pd.DataFrame({"empty": [np.nan, np.nan], "full": [1.0, 2.0]})
    figure = build(frame)
    assert figure.layout.annotations and figure.layout.annotations[0].text
    figure.to_json()


def test_single_row_figures_build() -> None:
    frame = pd.DataFrame({"v": [3.0], "c": ["a"], "t": [pd.Timestamp("2024-01-01")], "y": [1]})
    charts.histogram_box_figure(explore.numeric_summary(frame, column="v")).to_json()
    charts.category_bar_figure(explore.category_counts(frame, column="c")).to_json()
    charts.datetime_counts_figure(explore.datetime_counts(frame, column="t")).to_json()
    charts.scatter_figure(explore.scatter_sample(frame, x="v", y="y", color="c")).to_json()
    for feature in ("v", "c", "t"):
        analysis = explore.target_analysis(frame, target="y", feature=feature, schema=[])
        target_charts.target_figure(analysis).to_json()


def test_feature_strength_sorted_strongest_first() -> None:
    items = [Strength("weak", "abs_corr", 0.1), Strength("strong", "abs_corr", 0.9)]
    figure = target_charts.feature_strength_figure(items)
    assert list(figure.layout.yaxis.ticktext) == ["strong", "weak"]
    assert list(figure.data[0].x) == [0.9, 0.1]


def test_feature_strength_names_its_metric_and_starts_at_chance() -> None:
    items = [Strength("useless", "roc_auc", 0.5), Strength("useful", "roc_auc", 0.8)]
    figure = target_charts.feature_strength_figure(items)
    (bars,) = figure.data
    assert list(figure.layout.yaxis.ticktext) == ["useful", "useless"]
    assert figure.layout.xaxis.range == (0.5, 1.0)
    assert bars.base == 0.5
    assert list(bars.x) == pytest.approx([0.3, 0.0])  # a chance-level feature draws no bar
    assert [row[1] for row in bars.customdata] == [0.8, 0.5]  # the hover shows the real AUC
    axis = figure.layout.xaxis.title.text
    assert axis == "Predictive strength (ROC AUC of the feature alone; 0.5 = chance, 1 = perfect)"
    assert "ROC AUC of the feature alone (0.5 = chance, 1 = perfect)" in bars.hovertemplate
    assert "start at chance (0.5)" in figure.layout.title.subtitle.text


def test_feature_strength_of_a_correlation_starts_at_zero() -> None:
    figure = target_charts.feature_strength_figure([Strength("x", "abs_corr", 0.4)])
    assert figure.layout.xaxis.range == (0.0, 1.0)
    assert "absolute correlation with the target; 0 = none" in figure.layout.xaxis.title.text


def test_pair_plot_escapes_names_and_colours_by_class() -> None:
    from app.explore.charts import pair_plot_figure
    from core.data.explore import pair_sample

    frame = pd.DataFrame(
        {"<img src=x onerror=alert(2)>": range(50), "b": range(50), "y": ["p", "q"] * 25}
    )
    sample = pair_sample(frame, columns=["<img src=x onerror=alert(2)>", "b"], color="y")
    figure = pair_plot_figure(sample)
    assert len(figure.data) == 2
    assert figure.data[0].dimensions[0].label == "&lt;img src=x onerror=alert(2)&gt;"
