"""The words that mean true or false, and a column's yes/no labels as its source file wrote them."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

# The pairs import reads as a yes/no column, in the order it tries them. 1/0 are left out:
# a column of 1s and 0s stays numbers, and only its name can make it a flag.
WORD_PAIRS = (("true", "false"), ("yes", "no"), ("y", "n"), ("t", "f"))
TRUE_WORDS = ("true", "yes", "y", "1", "t")
FALSE_WORDS = ("false", "no", "n", "0", "f")
_TRUTH = {word: True for word in TRUE_WORDS} | {word: False for word in FALSE_WORDS}
# Arrow field metadata that carries a yes/no column's source labels from import to the schema
LABELS_KEY = b"mlops_studio.labels"


def truth(value: Any) -> bool | None:
    """What a value means as true/false: JSON booleans, 1/0 and the words above in any case;
    None when it means neither (including a missing value)."""
    if isinstance(value, bool):
        return value
    if type(value) in (int, float):
        return {1: True, 0: False}.get(value)
    if isinstance(value, str):
        return _TRUTH.get(value.strip().lower())
    return None


def labels_metadata(true_label: str, false_label: str) -> dict[bytes, bytes]:
    """The field metadata that records a yes/no column's source labels."""
    return {LABELS_KEY: json.dumps([true_label, false_label]).encode()}


def labels_from_metadata(metadata: dict[bytes, bytes] | None) -> tuple[str, str] | None:
    """(true label, false label) as the source file wrote them, if import recorded them."""
    raw = (metadata or {}).get(LABELS_KEY)
    if raw is None:
        return None
    found = json.loads(raw)
    return (str(found[0]), str(found[1])) if isinstance(found, list) and len(found) == 2 else None


def most_common_spelling(counts: Iterable[tuple[str, int]], word: str) -> str:
    """The spelling of ``word`` (``Yes``, ``YES``, ``yes``...) the file used most often; the
    first one seen on a tie."""
    best, most = word, 0
    for text, count in counts:
        if text.strip().lower() == word and count > most:
            best, most = text.strip(), count
    return best


def class_of(label: Any, classes: list[Any]) -> tuple[bool, Any]:
    """(found, the class) for a label a user sent back: the class itself, its text (``"1"``
    for 1), or for a yes/no target any word meaning the same (``"yes"`` for True, ``true``
    for ``"Yes"``)."""
    plain = label.item() if hasattr(label, "item") else label
    for known in classes:
        if plain == known and isinstance(plain, bool) == isinstance(known, bool):
            return True, known
    text = str(plain).strip()
    for known in classes:
        if not isinstance(plain, bool) and text == str(known):
            return True, known
    meaning = truth(plain)
    same = [known for known in classes if meaning is not None and truth(known) == meaning]
    return (True, same[0]) if len(same) == 1 and is_yes_no(classes) else (False, None)


def is_yes_no(classes: list[Any]) -> bool:
    """Two classes that read as true and false."""
    return len(classes) == 2 and {truth(known) for known in classes} == {True, False}
