"""Making user text (column names, values, file names) safe to show inside Markdown."""

import re

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$&:])")


def md(text: object) -> str:
    """Escape Markdown and HTML so user text shows literally, never as a link, tag or formula."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", str(text)).replace("\n", " ")
