"""The studio's one SQLite store: connection, numbered migrations and one module per entity."""

# first, so that sqlite_utils is imported without pandas (see _sqlite_utils)
from core.store import _sqlite_utils  # noqa: F401, I001
from core.store._rows import now
from core.store.connection import connect, writing

from typing import TypeVar

T = TypeVar("T")


def required(found: T | None, error: Exception) -> T:
    """``found``, or ``error`` raised when the store had none (an id or name not there)."""
    if found is None:
        raise error
    return found


__all__ = ["connect", "now", "required", "writing"]
