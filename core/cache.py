"""Where derived files (parsed CSVs, converted models) are kept; imports nothing heavy.
Owns cache_dir and its variable FER_CACHE_DIR.
"""

from __future__ import annotations

import os
from pathlib import Path

CACHE_ENV_VAR = "FER_CACHE_DIR"


def cache_dir() -> Path:
    """``$FER_CACHE_DIR``, else ``~/.cache/fer-emotion``."""
    return Path(os.environ.get(CACHE_ENV_VAR) or Path.home() / ".cache" / "fer-emotion")
