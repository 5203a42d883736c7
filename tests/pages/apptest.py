"""What the page tests share: the entrypoint, opening one page in AppTest, and reading it back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
ENTRYPOINT = str(ROOT / "app" / "streamlit_app.py")


def open_page(
    name: str,
    *,
    timeout: float = 90,
    query: dict[str, str] | None = None,
    settings: dict[str, Any] | None = None,
) -> AppTest:
    """The studio opened as a browser opens it (with ``query`` in the address and ``settings``
    in the session before the first run draws any picker), then on pages/``name``.py."""
    at = AppTest.from_file(ENTRYPOINT, default_timeout=timeout)
    for key, value in (settings or {}).items():
        at.session_state[key] = value
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.run()
    at.switch_page(f"../pages/{name}.py").run()
    return at


def no_errors(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def table_with(at: AppTest, column: str) -> pd.DataFrame:
    """The shown table that has this column (read-only tables carry no key in AppTest)."""
    return next(table.value for table in at.dataframe if column in table.value.columns)


def texts(at: AppTest, kind: str) -> str:
    """The text of every ``kind`` element, with Markdown escapes removed."""
    return " ".join(element.value for element in at.get(kind)).replace("\\", "")
