"""A griffe extension for the library reference: the docstrings' reStructuredText roles read as code in Markdown.

The docstrings name other objects the Sphinx way (``:func:`core.data.load_dataset```, ``:class:`X```); Markdown
has no roles, so each becomes a plain code span (```core.data.load_dataset```).
"""

from __future__ import annotations

import re

import griffe

ROLE = re.compile(r":(?:py:)?(?:func|class|meth|mod|data|attr|obj|exc|const):`~?([^`]+)`")


class SphinxRolesAsCode(griffe.Extension):
    def on_instance(self, *, obj, **kwargs) -> None:
        if obj.docstring is not None:
            obj.docstring.value = ROLE.sub(r"`\1`", obj.docstring.value)
