"""The one bounded polling helper every test waits with: nothing in a test waits forever."""

from __future__ import annotations

import time


def wait_until(condition, *, timeout=30.0, every=0.1, ignoring=(), message=None):
    """Poll ``condition`` until it returns something truthy and return that; fail after
    ``timeout`` seconds with ``message`` (a text, or a callable that explains what was seen).
    Exceptions of the ``ignoring`` types count as "not yet" (a server still starting)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            found = condition()
        except ignoring:
            found = None
        if found:
            return found
        if time.monotonic() > deadline:
            detail = message() if callable(message) else message
            raise AssertionError(detail or f"not met within {timeout:g} s: {condition}")
        time.sleep(every)
