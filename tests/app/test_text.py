"""User text in Markdown and in widget labels: shown literally, without stray backslashes."""

import pytest

from app.deploy.playground import unreadable_dates
from app.text import label, md
from core.serving.scoring import FormInput


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("support_tickets", "support_tickets"),  # screen readers read the label as it is
        ("plain name", "plain name"),
        ("_private", "\\_private"),
        ("a*b", "a\\*b"),
        ("[x](http://example.invalid)", "\\[x\\](http://example.invalid)"),
        ("$5 fee", "\\$5 fee"),
    ],
)
def test_a_label_escapes_only_what_inline_markdown_acts_on(text, shown):
    assert label(text) == shown


def test_markdown_text_escapes_everything():
    assert md("support_tickets") == "support\\_tickets"


def test_the_playground_names_dates_the_service_could_not_read():
    inputs = (FormInput("opened", "datetime", "timestamp[us]"), FormInput("n", "number", "int64"))
    assert unreadable_dates({"opened": "2024-05-31", "n": 3}, inputs) == []
    assert unreadable_dates({"opened": "31 May 2024 14:30", "n": 3}, inputs) == []
    assert unreadable_dates({"opened": "tomorrow", "n": 3}, inputs) == ["opened"]
    assert unreadable_dates({"opened": None, "n": 3}, inputs) == []
