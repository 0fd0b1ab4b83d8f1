"""Text that came from a user (file names, messages quoting them) shown in Markdown as plain text.
Owns escape_markdown.
"""

from __future__ import annotations

import re

_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:=^])")


def escape_markdown(text: str) -> str:
    """``text`` with each character that Markdown or Streamlit (``:red[...]``, ``:icon:``) acts on escaped."""
    return _MARKDOWN.sub(r"\\\1", text)
