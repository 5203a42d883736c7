"""The architecture stays visible: pages -> app -> core, no Streamlit in core, HTTP serving
only in core/serving, SQL only in core/store/, one concern per module, and every package the
code imports is declared (and nothing declared goes unused)."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SQL = re.compile(r"\b(SELECT\s+.+\s+FROM|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM)\b", re.S)
OWN = {"core", "app", "pages"}
MAX_MODULE_LINES = 650
# Modules allowed past MAX_MODULE_LINES, each with the reason it is still one concern.
LONG_MODULES: set[str] = set()


def _modules(*folders: str) -> list[Path]:
    return sorted(path for folder in folders for path in (ROOT / folder).rglob("*.py"))


def _name(path: Path) -> str:
    return str(path.relative_to(ROOT))


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


@pytest.mark.parametrize("path", _modules("core"), ids=_name)
def test_core_never_reaches_up_or_imports_streamlit(path):
    assert not _roots(path) & {"streamlit", "app", "pages"}


@pytest.mark.parametrize("path", _modules("core"), ids=_name)
def test_only_core_serving_speaks_http(path):
    if "serving" not in path.parts:
        assert not _roots(path) & {"fastapi", "uvicorn", "starlette"}


@pytest.mark.parametrize("path", _modules("app"), ids=_name)
def test_app_never_imports_pages_or_a_web_server(path):
    assert not _roots(path) & {"pages", "fastapi", "uvicorn"}


@pytest.mark.parametrize("path", _modules("core", "app", "pages"), ids=_name)
def test_sql_lives_only_in_the_store(path):
    if ROOT / "core" / "store" not in path.parents:
        assert not SQL.search(path.read_text(encoding="utf-8")), f"SQL in {path}"


@pytest.mark.parametrize("path", _modules("core", "app", "pages"), ids=_name)
def test_every_module_starts_with_a_docstring(path):
    text = path.read_text(encoding="utf-8")
    assert not text.strip() or ast.get_docstring(ast.parse(text)), f"{_name(path)} says nothing"


@pytest.mark.parametrize("path", _modules("core", "app"), ids=_name)
def test_modules_stay_small_enough_to_hold_one_concern(path):
    lines = len(path.read_text(encoding="utf-8").splitlines())
    if _name(path) not in LONG_MODULES:
        assert lines <= MAX_MODULE_LINES, f"{_name(path)}: {lines} lines; split it by concern"


def test_pages_are_thin():
    long_pages = {
        path.name: len(path.read_text().splitlines())
        for path in (ROOT / "pages").glob("*.py")
        if len(path.read_text().splitlines()) > 150
    }
    assert long_pages == {}


def _normal(name: str) -> str:
    """A distribution name as PEP 503 compares them."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared() -> set[str]:
    specs = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    return {_normal(re.split(r"[\[<>=!~; ]", spec, maxsplit=1)[0]) for spec in specs}


def _distributions(folders: tuple[str, ...]) -> set[str]:
    """The installed distributions that the code in ``folders`` imports directly."""
    by_module = packages_distributions()
    roots = set().union(*(_roots(path) for path in _modules(*folders)))
    third_party = roots - OWN - set(sys.stdlib_module_names)
    return {_normal(dist) for root in third_party for dist in by_module.get(root, [root])}


def test_every_package_the_product_imports_is_declared():
    missing = _distributions(("core", "app", "pages")) - _declared()
    assert not missing, f"imported but not in pyproject's dependencies: {sorted(missing)}"


def test_every_declared_package_is_imported():
    unused = _declared() - _distributions(("core", "app", "pages", "tests"))
    assert not unused, f"declared in pyproject but imported nowhere: {sorted(unused)}"
