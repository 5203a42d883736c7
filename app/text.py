"""Making user text (column names, values, file names) safe to show inside Markdown."""

import re

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$&:])")


def md(text: object) -> str:
    """Escape Markdown and HTML so user text shows literally, never as a link, tag or formula."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", str(text)).replace("\n", " ")


# A one-line widget label renders only inline Markdown; escaping the rest would reach screen
# readers as stray backslashes (the label is also the field's aria-label: "support\_tickets").
_LABEL_SPECIAL = re.compile(r"([\\`*~\[\]<>$!]|(?<!\w)_|_(?!\w))")


def label(text: object) -> str:
    """User text for a widget label: escaped only where inline Markdown would act on it
    (an underscore inside a word, as in ``support_tickets``, stays as it is)."""
    return _LABEL_SPECIAL.sub(r"\\\1", str(text)).replace("\n", " ")
