"""Explanation figures: each builds and serialises, and user text only ever appears escaped."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from app.review import explain_charts as charts
from core.review.explain import Explanation, ExplanationPoints
from core.review.explain.inspection import PartialDependence
from tests.app import figure_text

EVIL = "<img src=x onerror=alert(2)>"
EVIL_LEVEL = "<script>alert('level')</script>"
TEMPLATED = "%{x} <i>kind</i>"


@pytest.fixture
def explanation() -> Explanation:
    """A hand-made explanation whose column names and levels are HTML that must stay inert."""
    rng = np.random.default_rng(0)
    n = 80
    data = pd.DataFrame(
        {
            EVIL: rng.normal(size=n),
            TEMPLATED: rng.choice([EVIL_LEVEL, "a&b", None], n),
            "when": pd.date_range("2024-01-01", periods=n, freq="D"),
        }
    )
    values = rng.normal(size=(n, 3)) * [1.0, 0.5, 0.1]
    return Explanation(
        task="binary",
        explainer="tree",
        output="probability of class <yes>",
        base_value=0.3,
        features=list(data.columns),
        values=values,
        data=data,
        encoded_features=list(data.columns),
        encoded_values=values,
        outputs=0.3 + values.sum(axis=1),
        target_class="<yes>",
    )


@pytest.fixture
def pdp() -> PartialDependence:
    return PartialDependence(
        feature=EVIL,
        kind="numeric",
        output="probability of class <yes>",
        target_class="<yes>",
        grid=(1.0, 2.0, 3.0),
        average=(0.1, 0.2, 0.4),
        ice=((0.1, 0.1, 0.2), (0.0, 0.3, None)),
        rows=2,
    )


def _figures(explanation: Explanation, pdp: PartialDependence) -> dict[str, go.Figure]:
    local = explanation.local(0)
    return {
        "importance": charts.importance_bar_figure(explanation.mean_abs()),
        "importance_from_explanation": charts.importance_bar_figure(explanation),
        "beeswarm": charts.beeswarm_figure(explanation),
        "beeswarm_from_dict": charts.beeswarm_figure(
            ExplanationPoints.from_dict(explanation.to_dict())
        ),
        "dependence_number": charts.dependence_figure(explanation, EVIL),
        "dependence_level": charts.dependence_figure(explanation, TEMPLATED),
        "dependence_date": charts.dependence_figure(explanation, "when"),
        "waterfall": charts.waterfall_figure(
            dict(zip(local["features"], local["values"], strict=True)),
            local["base_value"],
            local["output_value"],
            output=explanation.output,
            feature_values={TEMPLATED: EVIL_LEVEL},
        ),
        "permutation": charts.permutation_figure(
            [(EVIL, 0.2, 0.01), (TEMPLATED, 0.05, 0.02), ("when", float("nan"), None)],
            metric="<auc>",
        ),
        "pdp": charts.pdp_figure(pdp),
        "pdp_levels": charts.pdp_figure(
            replace(pdp, feature=TEMPLATED, kind="categorical", grid=(EVIL_LEVEL, "a", "b"))
        ),
    }


def test_every_figure_builds_and_serialises(
    explanation: Explanation, pdp: PartialDependence
) -> None:
    for name, figure in _figures(explanation, pdp).items():
        data = json.loads(figure.to_json())
        assert data["data"], f"{name} has no traces"
        assert data["layout"]["title"]["text"], f"{name} has no title"


def test_user_text_appears_only_escaped(explanation: Explanation, pdp: PartialDependence) -> None:
    for name, figure in _figures(explanation, pdp).items():
        strings = list(figure_text.strings(json.loads(figure.to_json())))
        for text in strings:
            for tag in ("<img", "<script", "<i>", "<yes>", "<auc>"):
                assert tag not in text, f"{name}: raw {tag!r} in {text!r}"
        assert any("&lt;" in text for text in strings), name


def test_template_placeholders_in_names_are_not_substituted(explanation: Explanation) -> None:
    figure = charts.importance_bar_figure(explanation.mean_abs())
    custom = [row[0] for row in figure.data[0].customdata]
    assert "%&#123;x} &lt;i&gt;kind&lt;/i&gt;" in custom


def test_importance_is_sorted_largest_first_on_top(explanation: Explanation) -> None:
    figure = charts.importance_bar_figure([("small", 0.1), ("big", 0.9), ("mid", 0.5)])
    assert list(figure.layout.yaxis.ticktext) == ["small", "mid", "big"]  # drawn bottom-up
    assert list(figure.data[0].x) == [0.1, 0.5, 0.9]


def test_beeswarm_has_every_point_and_greys_text_and_gaps(explanation: Explanation) -> None:
    figure = charts.beeswarm_figure(explanation, top=2)
    grey, coloured = figure.data
    assert len(grey.x) + len(coloured.x) == 2 * explanation.rows  # the top two columns
    assert len(grey.x) == explanation.rows  # the text column
    assert min(coloured.marker.color) == 0.0 and max(coloured.marker.color) == 1.0


def test_waterfall_runs_from_base_to_prediction_and_groups_the_rest() -> None:
    values = {f"c{i}": float(i) for i in range(14)}
    figure = charts.waterfall_figure(values, 1.0, 1.0 + sum(values.values()), top=5)
    bars = figure.data[0]
    assert list(bars.measure) == ["absolute", *["relative"] * 6, "total"]
    assert bars.x[0] == 1.0 and bars.x[-1] == pytest.approx(92.0)
    assert bars.x[6] == pytest.approx(sum(range(9)))  # the 9 smallest as "other columns"
    assert figure.layout.yaxis.ticktext[6] == "9 other columns"


def test_what_if_contributions_are_accepted_as_they_come() -> None:
    contributions = [{"feature": "age", "value": 150, "shap": 0.4}, {"feature": "x", "shap": -0.1}]
    figure = charts.waterfall_figure(contributions, 0.2, 0.5)
    assert list(figure.data[0].x) == [0.2, 0.4, -0.1, 0.5]


def test_pdp_draws_the_average_over_faint_ice_lines(pdp: PartialDependence) -> None:
    ice, average = charts.pdp_figure(pdp).data
    assert list(average.y) == [0.1, 0.2, 0.4]
    assert len(ice.x) == 2 * (3 + 1)  # each line ends with a gap


@pytest.mark.parametrize(
    "build",
    [
        lambda: charts.importance_bar_figure([]),
        lambda: charts.beeswarm_figure(ExplanationPoints.from_dict({"features": [], "values": []})),
        lambda: charts.dependence_figure(
            ExplanationPoints.from_dict({"features": ["a"], "values": [[1.0]]}), "b"
        ),
        lambda: charts.waterfall_figure({}, 0.0, 0.0),
        lambda: charts.permutation_figure([]),
        lambda: charts.pdp_figure(PartialDependence(EVIL, "numeric", "", None, (), (), (), 0)),
    ],
)
def test_empty_inputs_give_a_message(build: Callable[[], go.Figure]) -> None:
    figure = build()
    assert figure.layout.annotations and figure.layout.annotations[0].text
    assert "<img" not in figure.to_json()
