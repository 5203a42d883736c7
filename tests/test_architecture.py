"""The architecture stays visible: pages -> app -> core, no Streamlit in core, HTTP serving
only in core/serving, and SQL only in core/store/."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SQL = re.compile(r"\b(SELECT\s+.+\s+FROM|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM)\b", re.S)


def _modules(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _roots(path: Path) -> set[str]:
    return {name.split(".")[0] for name in _imports(path)}


@pytest.mark.parametrize("path", _modules("core"), ids=lambda p: str(p.relative_to(ROOT)))
def test_core_never_reaches_up_or_imports_streamlit(path):
    assert not _roots(path) & {"streamlit", "app", "pages"}


@pytest.mark.parametrize("path", _modules("core"), ids=lambda p: str(p.relative_to(ROOT)))
def test_only_core_serving_speaks_http(path):
    if "serving" not in path.parts:
        assert not _roots(path) & {"fastapi", "uvicorn", "starlette"}


@pytest.mark.parametrize("path", _modules("app"), ids=lambda p: str(p.relative_to(ROOT)))
def test_app_never_imports_pages_or_a_web_server(path):
    assert not _roots(path) & {"pages", "fastapi", "uvicorn"}


@pytest.mark.parametrize(
    "path",
    [*_modules("core"), *_modules("app"), *_modules("pages")],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_sql_lives_only_in_the_store(path):
    if ROOT / "core" / "store" not in path.parents:
        assert not SQL.search(path.read_text(encoding="utf-8")), f"SQL in {path}"
