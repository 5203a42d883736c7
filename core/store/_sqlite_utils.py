"""sqlite-utils, imported without the pandas and NumPy it would load only to map their types."""

# sqlite_utils.db imports pandas and NumPy whenever they are installed, only to map pandas'
# Timestamp and NumPy's scalar types to SQLite column types for tables it creates from Python
# values. The store creates every table in SQL (core/store/migrations.py), so those mappings are
# never used, while importing pandas costs 0.3-0.8 s of every CLI command and of the studio's
# first page. Hidden only from this thread and only while sqlite_utils is first imported: another
# thread importing pandas meanwhile is not affected, and a process that already holds pandas or
# NumPy imports sqlite_utils as usual.

from __future__ import annotations

import importlib
import importlib.abc
import sys
import threading
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType

NOT_NEEDED = ("pandas", "numpy")


class _Hidden(importlib.abc.MetaPathFinder):
    """Makes ``names`` look not installed, to one thread only."""

    def __init__(self, names: frozenset[str]) -> None:
        self.names = names
        self.thread = threading.get_ident()

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname in self.names and threading.get_ident() == self.thread:
            raise ModuleNotFoundError(f"{fullname} is not needed by sqlite_utils", name=fullname)
        return None


def load() -> None:
    """Import sqlite_utils (once) without importing pandas or NumPy for it."""
    if "sqlite_utils.db" in sys.modules:
        return
    hidden = _Hidden(frozenset(name for name in NOT_NEEDED if name not in sys.modules))
    sys.meta_path.insert(0, hidden)
    try:
        importlib.import_module("sqlite_utils.db")
    finally:
        sys.meta_path.remove(hidden)


load()
