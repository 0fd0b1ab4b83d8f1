"""Confine paths typed in the browser to the allowed data folders.
Owns allowed_roots, resolve_user_path, PathNotAllowed, the roots' variables (FER2013_PATH, FER_DATA_ROOTS) and the
words that explain them (ALLOWED_FOLDERS, REFUSAL).

The allowed roots, in order (the first one anchors relative paths):

1. the folder of ``FER2013_PATH`` (the path itself when it is a folder), when set;
2. each folder in ``FER_DATA_ROOTS`` (separated by ``os.pathsep``, ``:`` on Linux);
3. ``~/fer-data``, the default data folder (it need not exist), independent of where the server starts.

A root that is the file system's root (``/``) would allow every file and is ignored.
A path is allowed when, with every symlink and ``..`` resolved, it lies inside a resolved root.
The refusal reads the same whether or not the path exists; it says what to do and shows no folder of the server
(the browser's user may not be the server's), nor any file's content.
The command line reads whatever its user can; only the dashboard confines paths.
"""

from __future__ import annotations

import os
from pathlib import Path

DATA_ENV_VAR = "FER2013_PATH"
ROOTS_ENV_VAR = "FER_DATA_ROOTS"
DEFAULT_DATA_ROOT = Path("~/fer-data")

ALLOWED_FOLDERS = f"{DEFAULT_DATA_ROOT}, the folder of {DATA_ENV_VAR} and each folder listed in {ROOTS_ENV_VAR}"
"""Which folders a typed path may reach, by their rule: the same words on every page, in the README and the docs."""
REFUSAL = (
    f"This path is outside the folders the app may read ({ALLOWED_FOLDERS}). Move the file into "
    f"{DEFAULT_DATA_ROOT} on the server, or start the app with {ROOTS_ENV_VAR} set to the file's folder."
)
"""The message of :class:`PathNotAllowed` for a path outside every root."""


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
        raise PathNotAllowed("No path given: type the path of a FER-2013 file on the server.")
    try:
        resolved = (roots[0] / Path(text).expanduser()).resolve()
    except (ValueError, OSError, RuntimeError):  # a NUL byte, an unknown ~user, a symlink loop
        resolved = None
    if resolved is None or not any(resolved.is_relative_to(root) for root in roots):
        raise PathNotAllowed(REFUSAL)
    return resolved
