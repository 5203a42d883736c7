"""The shared figures: one base figure in the house template, live or not, and the empty one."""

from __future__ import annotations

from app.charts import figures, theme


def test_base_figure_sets_titles_only_where_given() -> None:
    layout = figures.base_figure("T", x="a", subtitle="s").to_plotly_json()["layout"]
    assert layout["title"] == {"text": "T", "subtitle": {"text": "s"}}
    assert layout["xaxis"]["title"]["text"] == "a"
    assert "yaxis" not in layout
    assert layout["height"] == figures.HEIGHT


def test_live_figures_carry_the_layout_only_template_and_tighter_margins() -> None:
    live = figures.base_figure("T", y="y", height=320, live=True).to_plotly_json()["layout"]
    assert live["margin"] == figures.LIVE_MARGIN and live["height"] == 320
    assert set(live["template"]["layout"]) <= set(theme.LIVE_LAYOUT_KEYS)
    assert "data" not in live["template"]
    still = figures.base_figure("T").layout
    assert still.template.layout.paper_bgcolor == "white" and still.margin.t is None


def test_empty_figure_says_why_and_hides_its_axes() -> None:
    for live in (False, True):
        figure = figures.empty_figure("T", live=live)
        assert [note.text for note in figure.layout.annotations] == [figures.NOTHING]
        assert figure.layout.height == figures.EMPTY_HEIGHT
        assert figure.layout.xaxis.visible is False and figure.layout.yaxis.visible is False


def test_user_text_helpers_escape_and_cut() -> None:
    assert theme.plain("<b>&") == "&lt;b&gt;&amp;"
    assert theme.in_template("%{x}") == "%&#123;x}"
    assert theme.short("x" * 40, 10) == "x" * 9 + "…"
    assert theme.short("") == "(empty)"
    assert theme.series_color(len(theme.COLORWAY)) == theme.COLORWAY[0]
