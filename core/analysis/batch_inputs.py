"""What a batch analyses: video files, folders (searched recursively) and glob patterns, each with a unique name.
Owns BatchInput, collect_inputs and unique_names.

Every file found in a folder is an input except hidden ones and the batch's own outputs: a file that holds
no video fails alone with the reason, so nothing in the folder is passed over in silence. A file given twice
(or found twice) is analysed once. Names are file stems made unique, stable from one run to the next: a name
the last run gave a file is kept, and two files with the same stem are told apart by their folders.
"""

from __future__ import annotations

import glob
import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

RESERVED_NAMES = frozenset({"batch.json", "frames.parquet"})
"""Names a video's folder may not take: the batch's own files sit beside those folders."""
_GLOB_CHARACTERS = re.compile(r"[*?\[]")
_UNSAFE = re.compile(r"[^\w.-]")


@dataclass(frozen=True)
class BatchInput:
    given: str
    """The command-line argument it came from."""
    path: Path
    """Absolute path of the file."""
    name: str
    """Its folder's name in the batch's output folder, unique in the batch."""


def collect_inputs(
    arguments: Sequence[str], out_dir: str | Path, previous: Mapping[str, str] | None = None
) -> tuple[list[BatchInput], list[str]]:
    """The files the arguments name, in argument order (a folder's or pattern's files sorted), and the
    arguments that name nothing. ``previous`` maps absolute paths to the names an earlier run gave them.

    Files inside ``out_dir`` are left out, so an output folder inside the input folder is never analysed.
    """
    out_dir = Path(out_dir).resolve()
    found: list[tuple[str, Path]] = []
    missing: list[str] = []
    seen: set[Path] = set()
    for argument in arguments:
        files = _files_of(argument, out_dir)
        if files is None:
            missing.append(argument)
            continue
        for path in files:
            if path not in seen:
                seen.add(path)
                found.append((argument, path))
    names = unique_names([path for _, path in found], previous or {})
    return [BatchInput(given, path, names[path]) for given, path in found], missing


def _files_of(argument: str, out_dir: Path) -> list[Path] | None:
    path = Path(argument).expanduser()
    if path.is_file():
        return [path.resolve()]
    if path.is_dir():
        return _walk(path.resolve(), out_dir)
    if not _GLOB_CHARACTERS.search(argument):
        return None
    matches = sorted(glob.glob(str(path), recursive=True))
    if not matches:
        return None
    files: list[Path] = []
    for match in map(Path, matches):
        if match.is_dir():
            files += _walk(match.resolve(), out_dir)
        elif match.is_file() and not _inside(match.resolve(), out_dir):
            files.append(match.resolve())
    return files


def _walk(folder: Path, out_dir: Path) -> list[Path]:
    """Every file below ``folder`` (sorted), except hidden ones and those in ``out_dir``."""
    if _inside(folder, out_dir):
        return []
    files = []
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder).parts
        if any(part.startswith(".") for part in relative) or not path.is_file():
            continue
        if not _inside(path, out_dir):
            files.append(path)
    return files


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def unique_names(paths: Iterable[Path], previous: Mapping[str, str] | None = None) -> dict[Path, str]:
    """A folder name per path: its stem, made safe; kept from ``previous`` (absolute path -> name) where it can be;
    paths sharing a stem are told apart by as many parent folders as it takes (else by a short hash)."""
    paths = list(dict.fromkeys(paths))
    previous = previous or {}
    names: dict[Path, str] = {}
    taken: set[str] = set()
    for path in paths:
        name = previous.get(str(path))
        if name and name not in taken and _safe(name) == name:
            names[path] = name
            taken.add(name)
    rest = [path for path in paths if path not in names]
    stems: dict[str, int] = {}
    for path in rest:
        stems[_safe(path.stem)] = stems.get(_safe(path.stem), 0) + 1
    for path in rest:
        stem = _safe(path.stem)
        name = stem if stems[stem] == 1 and stem not in taken else _distinct(path, rest, taken)
        names[path] = name
        taken.add(name)
    return names


def _distinct(path: Path, group: list[Path], taken: set[str]) -> str:
    """The shortest name made of the path's last folders and its stem that no other path of the group shares."""
    others = [other for other in group if other != path]
    for depth in range(1, 4):
        name = _tail(path, depth)
        if name not in taken and all(_tail(other, depth) != name for other in others):
            return name
    for name in (_safe(path.name), f"{_safe(path.stem)}-{hashlib.sha1(str(path).encode()).hexdigest()[:8]}"):
        if name not in taken and all(_safe(other.name) != name for other in others):
            return name
    raise ValueError(f"no unique name for {path}")  # a hash collision among the batch's own paths


def _tail(path: Path, depth: int) -> str:
    """The stem with ``depth`` - 1 parent folders before it, joined by '_' (depth 1: the stem alone)."""
    parts = [*path.parent.parts[-(depth - 1):], path.stem] if depth > 1 else [path.stem]
    return _safe("_".join(part.strip("/") for part in parts if part.strip("/")))


def _safe(text: str) -> str:
    """Letters, digits, '_', '-' and '.', not starting with '.', and none of the batch's own names."""
    name = _UNSAFE.sub("_", text).lstrip(".") or "video"
    return f"{name}_video" if name in RESERVED_NAMES else name
