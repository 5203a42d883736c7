"""The studio's one SQLite store: connection, numbered migrations and one module per entity."""

from core.store._rows import now
from core.store.connection import connect, writing

__all__ = ["connect", "now", "writing"]
