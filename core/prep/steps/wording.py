"""How cleaning steps word values, column lists and counts in their messages and notes."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

SHOW_MAX = 60


def _show(value: Any) -> str:
    """A setting value as the user wrote it in JSON, shortened."""
    text = json.dumps(value, ensure_ascii=False, default=repr)
    return text if len(text) <= SHOW_MAX else text[: SHOW_MAX - 1] + "…"


def _or_list(names: Sequence[str]) -> str:
    return _either([f"‘{name}’" for name in names])


def _either(words: Sequence[str]) -> str:
    """'a', 'a or b', 'a, b or c'."""
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def _names(columns: Sequence[str]) -> str:
    return ", ".join(columns)


def _rows(count: int) -> str:
    return f"{count:,} row" if count == 1 else f"{count:,} rows"


def _values(count: int) -> str:
    return f"{count:,} value" if count == 1 else f"{count:,} values"
