"""The studio's one SQLite store: connection, numbered migrations and the named record functions."""

from core.store.connection import connect, writing

__all__ = ["connect", "writing"]
