"""Confine paths typed in the browser to the allowed data folders.
Owns allowed_roots, resolve_user_path, PathNotAllowed and the roots' variables (FER2013_PATH, FER_DATA_ROOTS).

The allowed roots, in order (the first one anchors relative paths):

1. the folder of ``FER2013_PATH`` (the path itself when it is a folder), when set;
2. each folder in ``FER_DATA_ROOTS`` (separated by ``os.pathsep``, ``:`` on Linux);
3. ``~/fer-data``, the default data folder (it need not exist), independent of where the server starts.

A root that is the file system's root (``/``) would allow every file and is ignored.
A path is allowed when, with every symlink and ``..`` resolved, it lies inside a resolved root.
The refusal reads the same whether or not the path exists and never shows any file's content.
The command line reads whatever its user can; only the dashboard confines paths.
"""

from __future__ import annotations

import os
from pathlib import Path

DATA_ENV_VAR = "FER2013_PATH"
ROOTS_ENV_VAR = "FER_DATA_ROOTS"
DEFAULT_DATA_ROOT = Path("~/fer-data")


class PathNotAllowed(ValueError):
    """A typed path outside the allowed data folders (or no path at all)."""


def allowed_roots() -> list[Path]:
    """The allowed data folders, resolved, without duplicates, in the order above."""
    candidates = []
    configured = os.environ.get(DATA_ENV_VAR, "").strip()
    if configured:
        path = Path(configured).expanduser()
        candidates.append(path if path.is_dir() else path.parent)
    candidates += [Path(entry).expanduser() for entry in os.environ.get(ROOTS_ENV_VAR, "").split(os.pathsep) if entry]
    candidates.append(DEFAULT_DATA_ROOT.expanduser())
    roots: list[Path] = []
    for candidate in candidates:
        root = candidate.resolve()
        if root != Path(root.anchor) and root not in roots:
            roots.append(root)
    return roots


def resolve_user_path(text: str) -> Path:
    """The typed path, resolved (symlinks followed), if inside an allowed root; else :class:`PathNotAllowed`.

    Relative paths are taken relative to the first root. Existence is not checked here: inside the
    roots the loader may say that a file does not exist.
    """
    roots = allowed_roots()
    text = text.strip()
    if not text:
        raise PathNotAllowed("no path given")
    try:
        resolved = (roots[0] / Path(text).expanduser()).resolve()
    except (ValueError, OSError, RuntimeError):  # a NUL byte, an unknown ~user, a symlink loop
        resolved = None
    if resolved is None or not any(resolved.is_relative_to(root) for root in roots):
        raise PathNotAllowed(
            f"this path is outside the allowed data folders: {', '.join(map(str, roots))} "
            f"(add folders with {ROOTS_ENV_VAR})"
        )
    return resolved
