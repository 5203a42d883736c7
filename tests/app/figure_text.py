"""Every text a figure's JSON holds, for the tests that check user text is escaped in charts."""

from __future__ import annotations

from collections.abc import Iterator


def strings(node: object) -> Iterator[str]:
    """Each string in a JSON value: keys and values, at any depth."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield key
            yield from strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from strings(value)
