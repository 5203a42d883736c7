"""What the page tests share: the entrypoint, opening one page in AppTest, and reading it back."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
ENTRYPOINT = str(ROOT / "app" / "streamlit_app.py")


def open_page(name: str, *, timeout: float = 90, query: dict[str, str] | None = None) -> AppTest:
    """The studio opened as a browser opens it (with ``query`` in the address), then on
    pages/``name``.py."""
    at = AppTest.from_file(ENTRYPOINT, default_timeout=timeout)
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


def imported(home: Path, frame: pd.DataFrame, folder: Path, name: str) -> Path:
    """``home`` with ``frame`` imported as the dataset ``name`` (through a CSV in ``folder``)."""
    from core.data.datasets import import_dataset

    path = folder / f"{name}.csv"
    frame.to_csv(path, index=False)
    import_dataset(home, path=path, name=name)
    return home
