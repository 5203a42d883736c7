"""The Tour in the sidebar: off by default; on, each page says where it sits and links on."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from app import state
from app.tour import STEPS
from tests.pages.apptest import ENTRYPOINT


def test_the_tour_walks_the_pages_in_order(studio_home: Path) -> None:
    at = AppTest.from_file(ENTRYPOINT, default_timeout=60)
    at.run()
    assert not any("Step 1 of" in caption.value for caption in at.sidebar.caption)
    at.sidebar.toggle(key=state.TOUR_ON).set_value(True).run()
    assert not at.exception
    assert "Step 1 of 7 · Explore" in [caption.value for caption in at.sidebar.caption]
    assert STEPS["explore"] in [text.value for text in at.sidebar.markdown]
    links = [link.proto.label for link in at.sidebar.get("page_link")]
    assert "Next: Prepare" in links
    at.switch_page("../pages/monitor.py").run()
    assert not at.exception
    assert "Step 7 of 7 · Monitor" in [caption.value for caption in at.sidebar.caption]
    links = [link.proto.label for link in at.sidebar.get("page_link")]
    assert "Back to the start: Explore" in links
