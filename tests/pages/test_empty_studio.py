"""On an empty studio each life-cycle page says, without an error, what has to come first."""

from pathlib import Path

import pytest

from tests.pages.apptest import no_errors, open_page

FIRST = {
    "prepare": "No datasets yet",
    "train": "No datasets yet",
    "review": "No registered model versions",
    "deploy": "No registered model versions",
}


@pytest.mark.parametrize("name", FIRST)
def test_an_empty_studio_says_what_comes_first(studio_home: Path, name: str) -> None:
    at = open_page(name)
    no_errors(at)
    assert any(FIRST[name] in info.value for info in at.info)
