"""The model card as a projector shows it: Markdown and HTML parsed back, tables and text whole."""

from html.parser import HTMLParser

from markdown_it import MarkdownIt

from core.review.card import ModelCard

NASTY = 'O\'Brien & <b>Co</b> | 50% "quoted" *bold* _x_ #1 [link](http://x) $a$ :red[no]'
ENTITY_RESIDUE = ("&#", "&amp;", "&lt;", "&gt;", "&quot;", "&apos;")


def nasty_card() -> ModelCard:
    return ModelCard(
        title=f"Model card: {NASTY} v1",
        summary=[("Model", NASTY), ("Review state", "approved")],
        intended_use=f"Pre-screening by {NASTY}\nsecond line",
        data=[("Dataset", NASTY), ("Source file", "loans|2024.csv")],
        recipe=[NASTY, "Cleaning step: Drop rows with a missing value"],
        metrics=[("ROC AUC", "0.9100 ± 0.0100", "0.9200")],
        gates=[("Holdout ROC AUC", "pass", f"0.92 on the holdout; {NASTY}")],
        fairness=[("demographic parity difference (sex)", "0.0400")],
        top_features=[(NASTY, "0.1234"), ("income", "0.1000")],
        limitations=[f"Weaker on {NASTY}"],
        reviews=[("2026-01-02 03:04 UTC", NASTY, "Approve", NASTY)],
    )


class _Cells(HTMLParser):
    """Tables as lists of rows of cell text (``th`` marked), and all the page's text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[list[list[tuple[str, str]]]] = []
        self.text: list[str] = []
        self._cell: list[str] | None = None
        self._tag = ""

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell, self._tag = [], tag

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append((self._tag, "".join(self._cell).strip()))
            self._cell = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)


def parsed(page: str) -> _Cells:
    cells = _Cells()
    cells.feed(page)
    return cells


def rendered_markdown(markdown: str) -> _Cells:
    return parsed(MarkdownIt("commonmark").enable("table").render(markdown))


def assert_tables_whole(cells: _Cells, expected: int) -> None:
    assert len(cells.tables) == expected
    for table in cells.tables:
        header, *rows = table
        assert all(kind == "th" and text for kind, text in header), header  # no empty first row
        assert rows, table
        for row in rows:
            assert len(row) == len(header), (header, row)
            assert all(kind == "td" for kind, _ in row)


def assert_literal_text(cells: _Cells) -> None:
    text = "".join(cells.text)
    assert NASTY in text  # every special character shown as typed
    assert not any(residue in text for residue in ENTITY_RESIDUE), text
    assert "<b>" in text and "\\" not in text  # escapes are invisible once rendered


def test_the_markdown_renders_every_table_whole_and_every_text_literally() -> None:
    markdown = nasty_card().to_markdown()
    cells = rendered_markdown(markdown)
    assert_tables_whole(cells, expected=7)
    assert_literal_text(cells)
    features = next(table for table in cells.tables if table[0][0][1] == "feature")
    assert [text for _, text in features[0]] == ["feature", "mean |SHAP|"]
    assert features[1] == [("td", NASTY), ("td", "0.1234")]
    assert "Pre-screening" in "".join(cells.text) and "second line" in "".join(cells.text)


def test_the_html_has_the_same_tables_and_escapes_once() -> None:
    page = nasty_card().to_html()
    assert "<b>Co</b>" not in page and "&amp;lt;" not in page  # escaped, and only once
    cells = parsed(page)
    assert_tables_whole(cells, expected=7)
    assert_literal_text(cells)


def test_empty_sections_say_so_in_both_forms() -> None:
    card = ModelCard(
        title="Model card: loans v1",
        summary=[("Model", "loans")],
        intended_use="",
        data=[("Dataset", "loans v1")],
        recipe=[],
        metrics=[],
        gates=[],
        fairness=[],
        top_features=[],
        limitations=[],
        reviews=[],
    )
    for cells in (rendered_markdown(card.to_markdown()), parsed(card.to_html())):
        text = "".join(cells.text)
        assert "Not run." in text and "Not measured." in text and "Not computed yet." in text
        assert all(table[0] for table in cells.tables)


def test_user_text_that_starts_like_markdown_stays_a_line_of_text() -> None:
    starts = ["# not a heading", "- not a list", "+ nor this", "1. nor this", "> not a quote"]
    card = nasty_card()
    card = ModelCard(**{**card.__dict__, "intended_use": starts[0], "recipe": starts[1:]})
    page = MarkdownIt("commonmark").enable("table").render(card.to_markdown())
    text = "".join(parsed(page).text)
    assert all(line in text for line in starts)
    assert page.count("<h1>") == 1 and "<blockquote>" not in page and "<ol>" not in page
    assert page.count("<ul>") == 3  # recipe, limitations and checklist: no list inside a list
