"""The dependency direction holds: core never imports streamlit or the app; pages stay thin."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_core_never_imports_streamlit_app_or_pages() -> None:
    offenders = {
        str(path.relative_to(ROOT)): _imports(path) & {"streamlit", "app", "pages"}
        for path in (ROOT / "core").rglob("*.py")
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def test_only_serving_imports_fastapi_or_uvicorn() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "core").rglob("*.py")
        if "serving" not in path.parts and _imports(path) & {"fastapi", "uvicorn"}
    ]
    assert offenders == []


def test_only_the_store_writes_sql() -> None:
    keywords = ("SELECT ", "INSERT ", "UPDATE ", "DELETE FROM")
    store = ROOT / "core" / "store"
    offenders = [
        str(path.relative_to(ROOT))
        for folder in ("core", "app", "pages")
        for path in (ROOT / folder).rglob("*.py")
        if store not in path.parents
        and any(word in path.read_text() for word in keywords)
        and "duckdb" not in path.read_text()
    ]
    assert offenders == []


def test_every_module_starts_with_a_docstring() -> None:
    missing = [
        str(path.relative_to(ROOT))
        for folder in ("core", "app", "pages")
        for path in (ROOT / folder).rglob("*.py")
        if path.read_text().strip() and ast.get_docstring(ast.parse(path.read_text())) is None
    ]
    assert missing == []


def test_pages_are_thin() -> None:
    long_pages = {
        path.name: len(path.read_text().splitlines())
        for path in (ROOT / "pages").glob("*.py")
        if len(path.read_text().splitlines()) > 150
    }
    assert long_pages == {}
