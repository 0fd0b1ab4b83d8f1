"""Load FER-2013 in any of its layouts into uint8 arrays.
Owns FerDataset, load_dataset, DataFormatError, the data path (FER2013_PATH) and the parse cache (cache_dir).

Layouts:
- Kaggle's ``fer2013.csv`` (``emotion,pixels,Usage``), plain or gzip-compressed;
- the seed's split files: ``train.csv`` (``emotion,pixels``), ``test.csv`` (``pixels``),
  ``test_with_emotions.csv`` (``emotion,pixels``), one file or their folder;
- an image folder ``ROOT/<split>/<class>/*.jpg|png`` (the 48x48 JPEG release).

Every problem is reported as a :class:`DataFormatError` naming the file, the row (its line
number in the file, header = line 1) and what is wrong. ``skip_bad_rows=True`` drops bad
rows instead and records how many and why in :attr:`FerDataset.skipped`. Messages never quote
the file's content (a path typed in the browser may name a file the user could not read):
they say where the problem is and what kind it is.

A CSV is read through a stream that stops at :data:`MAX_CSV_BYTES` of (decompressed) text or
:data:`MAX_ROWS` lines, so a compressed bomb is refused before it fills memory.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import re
import warnings
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pyarrow as pa

from core.cache import cache_dir
from core.data_roots import DATA_ENV_VAR
from core.labels import (
    EMOTIONS,
    IMAGE_SIZE,
    NUM_CLASSES,
    NUM_PIXELS,
    PRIVATE_TEST,
    PUBLIC_TEST,
    SPLITS,
    TRAINING,
    UNSPLIT,
    emotion_index,
)
from core.vision.image import ImageDecodeError, decode_image

UNLABELLED = -1
MAX_ROWS = 100_000
"""Rows (lines) in a CSV, images in a folder: FER-2013 has 35,887 faces; about 2.8 times that."""
MAX_CSV_BYTES = 512 * 2**20
"""Decompressed CSV text: the full Kaggle FER-2013 is 287 MiB; 1.8 times that. Parsing peaks at about 6 times
the text (1.5 GB for shared/'s 258 MiB copy), so about 3 GB at the limit."""
CACHE_FORMAT = 2
"""Part of every cache key: bump it when parsing changes what a file gives."""
SEED_FILES = ("train.csv", "test_with_emotions.csv", "test.csv")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")
_SPLIT_FOLDERS = {
    "train": TRAINING,
    "training": TRAINING,
    "test": PUBLIC_TEST,
    "val": PUBLIC_TEST,
    "validation": PUBLIC_TEST,
    "publictest": PUBLIC_TEST,
    "privatetest": PRIVATE_TEST,
}


def _use_jemalloc_for_arrow() -> None:
    """Make pyarrow (the CSV reader here, Streamlit's tables) allocate with jemalloc, not mimalloc.

    pyarrow's default, mimalloc, reserves a 1 GiB arena marked for transparent huge pages. Minutes
    after a CSV is parsed, the kernel's khugepaged still backs that arena's sparsely used pages with
    2 MB pages, so resident memory climbs with no allocation at all (the live-path soak of
    ``python -m bench`` saw +50 MB). Must run before pyarrow's first allocation. A pool chosen with
    pyarrow's own ``ARROW_DEFAULT_MEMORY_POOL`` variable is left alone.
    """
    if os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        return
    try:
        pa.set_memory_pool(pa.jemalloc_memory_pool())
    except NotImplementedError:  # a pyarrow built without jemalloc
        pa.set_memory_pool(pa.system_memory_pool())


_use_jemalloc_for_arrow()


class DataFormatError(ValueError):
    """A data file that cannot be read as FER-2013; the message names file, row and problem."""


@dataclass
class FerDataset:
    """Faces as ``uint8`` (N, 48, 48), labels 0..6 (-1 where unknown) and each row's split."""

    images: np.ndarray
    labels: np.ndarray
    usage: np.ndarray
    source: str
    skipped: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.labels)

    def split(self, usage: str) -> FerDataset:
        """The rows of one split (``Training``, ``PublicTest``, ``PrivateTest``, ``Unsplit``)."""
        return self._rows(self.usage == usage)

    def _rows(self, mask: np.ndarray) -> FerDataset:
        return FerDataset(self.images[mask], self.labels[mask], self.usage[mask], self.source)

    @property
    def splits(self) -> list[str]:
        return [name for name in (*SPLITS, UNSPLIT) if (self.usage == name).any()]

    def evaluation_split(self) -> FerDataset:
        """The labelled rows of PrivateTest if any, else of PublicTest, else every labelled row."""
        labelled = self.labels != UNLABELLED
        for name in (PRIVATE_TEST, PUBLIC_TEST):
            if (labelled & (self.usage == name)).any():
                return self._rows(labelled & (self.usage == name))
        return self._rows(labelled)


def require_labels(dataset: FerDataset, purpose: str) -> None:
    """Refuse to ``purpose`` (e.g. "train", "evaluate") a data set without emotion labels.

    Unsplit rows (the seed's unlabelled ``test.csv``) may lack labels; rows of a named split may not.
    """
    unlabelled = dataset.labels == UNLABELLED
    if unlabelled.all():
        raise DataFormatError(f"{dataset.source} has no emotion labels: cannot {purpose} (no 'emotion' column)")
    in_splits = unlabelled & (dataset.usage != UNSPLIT)
    if in_splits.any():
        names = ", ".join(sorted(set(dataset.usage[in_splits])))
        raise DataFormatError(
            f"{dataset.source}: {int(in_splits.sum()):,} {names} rows have no emotion label: cannot {purpose}"
        )


def resolve_data_path(path: str | os.PathLike | None) -> Path:
    """The data path given, else the ``FER2013_PATH`` environment variable; checked to exist."""
    chosen = path if path is not None else os.environ.get(DATA_ENV_VAR)
    if not chosen:
        raise DataFormatError(f"no data set given: pass --data PATH or set {DATA_ENV_VAR}")
    resolved = Path(chosen).expanduser()
    if not resolved.exists():
        raise DataFormatError(f"{resolved}: no such file or folder")
    return resolved


def file_sha256(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _cache_key(path: Path, skip_bad_rows: bool) -> str:
    """SHA-256 of everything that shapes a parsed file: the content, the name (it decides the split
    of a seed file), the options and :data:`CACHE_FORMAT`."""
    digest = hashlib.sha256(f"{CACHE_FORMAT}\0{path.name}\0{skip_bad_rows}\0".encode())
    digest.update(bytes.fromhex(file_sha256(path)))
    return digest.hexdigest()


def load_dataset(
    path: str | os.PathLike,
    skip_bad_rows: bool = False,
    use_cache: bool = False,
    max_rows: int = MAX_ROWS,
    max_bytes: int = MAX_CSV_BYTES,
) -> FerDataset:
    """Load a CSV file (any layout above), a seed folder or an image folder, within the limits given.

    With ``use_cache`` a CSV that parsed without bad rows is kept as ``.npz`` under
    :func:`cache_dir`, keyed by its content, its name, the options and :data:`CACHE_FORMAT`, and read
    from there next time.
    """
    path = Path(path)
    if path.is_dir():
        if any((path / name).is_file() for name in SEED_FILES):
            return _load_seed_folder(path, skip_bad_rows, max_rows, max_bytes)
        return load_image_folder(path, max_rows)
    if not path.is_file():
        raise DataFormatError(f"{path}: no such file or folder")
    if not use_cache:
        return load_csv(path, skip_bad_rows, max_rows, max_bytes)
    cached = cache_dir() / f"{_cache_key(path, skip_bad_rows)}.npz"
    if cached.is_file():
        with np.load(cached, allow_pickle=False) as arrays:
            return FerDataset(arrays["images"], arrays["labels"], arrays["usage"].astype(object), str(path))
    data = load_csv(path, skip_bad_rows, max_rows, max_bytes)
    if not data.skipped:
        cached.parent.mkdir(parents=True, exist_ok=True)
        partial = cached.with_suffix(".tmp.npz")
        np.savez(partial, images=data.images, labels=data.labels, usage=data.usage.astype(str))
        partial.replace(cached)
    return data


def _load_seed_folder(folder: Path, skip_bad_rows: bool, max_rows: int, max_bytes: int) -> FerDataset:
    # test.csv holds the same faces as test_with_emotions.csv without labels: read it only alone.
    names = [name for name in SEED_FILES if (folder / name).is_file()]
    if "test_with_emotions.csv" in names and "test.csv" in names:
        names.remove("test.csv")
    parts = [load_csv(folder / name, skip_bad_rows, max_rows, max_bytes) for name in names]
    return FerDataset(
        images=np.concatenate([part.images for part in parts]),
        labels=np.concatenate([part.labels for part in parts]),
        usage=np.concatenate([part.usage for part in parts]),
        source=str(folder),
        skipped=[reason for part in parts for reason in part.skipped],
    )


def load_csv(
    path: str | os.PathLike, skip_bad_rows: bool = False, max_rows: int = MAX_ROWS, max_bytes: int = MAX_CSV_BYTES
) -> FerDataset:
    """Parse a FER-2013 CSV (``.csv`` or ``.csv.gz``) with vectorised pixel parsing."""
    path = Path(path)
    frame = _read_table(path, max_rows, max_bytes)
    if "pixels" not in frame.columns:
        raise DataFormatError(
            f"{path}: missing column 'pixels' (the first line must be the header emotion,pixels,Usage)"
        )
    if len(frame) == 0:
        raise DataFormatError(f"{path}: no data rows")
    line_numbers = np.arange(len(frame)) + 2
    problems: dict[int, str] = {}

    labels = _parse_labels(frame, problems)
    usage = _parse_usage(frame, path, problems)
    pixel_text = frame["pixels"].fillna("").astype(str).str.strip().tolist()
    counts = np.array([text.count(" ") + 1 if text else 0 for text in pixel_text])
    for row in np.flatnonzero(counts != NUM_PIXELS):
        problems.setdefault(int(row), _describe_pixel_count(pixel_text[row]))

    good = np.ones(len(frame), dtype=bool)
    good[list(problems)] = False
    rows = np.flatnonzero(good)
    images = _parse_pixels([pixel_text[row] for row in rows], rows, problems)
    images = images[[row not in problems for row in rows]]
    good[list(problems)] = False

    messages = [f"{path.name} row {line_numbers[row]}: {problems[row]}" for row in sorted(problems)]
    if messages and not skip_bad_rows:
        first = min(problems)
        extra = f" (and {len(messages) - 1} more bad rows; skip them with --skip-bad-rows)" if len(messages) > 1 else ""
        raise DataFormatError(f"{path} row {line_numbers[first]}: {problems[first]}{extra}")
    if not good.any():
        raise DataFormatError(f"{path}: every row is bad; first: {messages[0]}")
    return FerDataset(images, labels[good], usage[good], str(path), messages)


class _BoundedStream(io.RawIOBase):
    """A binary stream (gzip-decompressed for ``.gz``) that raises :class:`DataFormatError` past its limits."""

    def __init__(self, path: Path, max_rows: int, max_bytes: int) -> None:
        super().__init__()
        self._path, self._max_rows, self._max_bytes = path, max_rows, max_bytes
        self._raw = gzip.open(path, "rb") if path.suffix.lower() == ".gz" else open(path, "rb")
        self._bytes = self._lines = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        count = self._raw.readinto(buffer)
        self._bytes += count
        self._lines += memoryview(buffer)[:count].tobytes().count(b"\n")
        if self._bytes > self._max_bytes:
            raise DataFormatError(f"{self._path}: more than {self._max_bytes / 2**20:g} MiB of CSV text (the limit)")
        if self._lines > self._max_rows + 1:  # the header line, then one line per row
            raise DataFormatError(f"{self._path}: more than {self._max_rows:,} rows (the limit)")
        return count

    def close(self) -> None:
        self._raw.close()
        super().close()


def _read_table(path: Path, max_rows: int, max_bytes: int) -> pd.DataFrame:
    """The CSV as strings: pyarrow's multithreaded reader, or pandas' C reader where pyarrow refuses a file.

    The C reader keeps a short row (its missing fields empty, so the row check names it) and says
    on which line a long row is; pyarrow only says that some row is malformed (and quotes it).
    """
    strings = {"pixels": str, "Usage": str}
    try:
        try:
            with _BoundedStream(path, max_rows, max_bytes) as stream:
                return pd.read_csv(stream, dtype=strings, engine="pyarrow")
        except (pd.errors.ParserError, pa.ArrowInvalid):
            with _BoundedStream(path, max_rows, max_bytes) as stream:
                return pd.read_csv(stream, dtype=strings, engine="c")
    except pd.errors.EmptyDataError as error:
        raise DataFormatError(f"{path}: no header line (the file is empty or not a CSV file)") from error
    except (gzip.BadGzipFile, EOFError, zlib.error) as error:
        raise DataFormatError(f"{path}: corrupt or truncated gzip data") from error
    except UnicodeDecodeError as error:
        raise DataFormatError(f"{path}: not a readable CSV file (not UTF-8 text)") from error
    except pd.errors.ParserError as error:  # pandas' C reader names a line, never its content
        raise DataFormatError(f"{path}: not a readable CSV file ({error})") from error


def _parse_labels(frame: pd.DataFrame, problems: dict[int, str]) -> np.ndarray:
    if "emotion" not in frame.columns:
        return np.full(len(frame), UNLABELLED, dtype=np.int8)
    cells = frame["emotion"]
    numeric = pd.to_numeric(cells, errors="coerce")
    valid = numeric.notna() & (numeric % 1 == 0) & numeric.between(0, NUM_CLASSES - 1)
    for row in np.flatnonzero(~valid.to_numpy()):
        cell = cells.iloc[row]
        empty = pd.isna(cell) or not str(cell).strip()
        problems[int(row)] = "label is empty" if empty else f"label is not an integer in 0..{NUM_CLASSES - 1}"
    return numeric.where(valid, UNLABELLED).astype(np.int8).to_numpy()


def _parse_usage(frame: pd.DataFrame, path: Path, problems: dict[int, str]) -> np.ndarray:
    if "Usage" not in frame.columns:
        default = TRAINING if path.name.startswith("train") else UNSPLIT
        return np.full(len(frame), default, dtype=object)
    usage = frame["Usage"].fillna("").astype(str).str.strip().to_numpy(dtype=object)
    known = np.isin(usage, SPLITS)
    for row in np.flatnonzero(~known):
        problems.setdefault(int(row), "Usage is empty" if not usage[row] else f"Usage is not {', '.join(SPLITS)}")
    return usage


def _parse_pixels(texts: list[str], rows: np.ndarray, problems: dict[int, str]) -> np.ndarray:
    """Parse rows known to hold 2304 tokens each; rows with bad tokens go to ``problems``."""
    if not texts:
        return np.zeros((0, IMAGE_SIZE, IMAGE_SIZE), dtype=np.uint8)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", DeprecationWarning)
            flat = np.fromstring(" ".join(texts), dtype=np.int64, sep=" ")
    except (ValueError, DeprecationWarning):  # a token that is not an integer (numpy < 2.3 only warns)
        flat = np.zeros(0, dtype=np.int64)
    if flat.size == len(texts) * NUM_PIXELS:
        values = flat.reshape(len(texts), NUM_PIXELS)
        bad = ~np.all((values >= 0) & (values <= 255), axis=1)
        for index in np.flatnonzero(bad):
            problems[int(rows[index])] = _describe_bad_values(texts[index])
        return values.astype(np.uint8).reshape(-1, IMAGE_SIZE, IMAGE_SIZE)
    # Some token is not a number: find the rows one by one (slow path, only on bad input).
    images = np.zeros((len(texts), NUM_PIXELS), dtype=np.uint8)
    for index, text in enumerate(texts):
        problem = _describe_bad_values(text)
        if problem:
            problems[int(rows[index])] = problem
        else:
            images[index] = np.array(text.split(), dtype=np.int64)
    return images.reshape(-1, IMAGE_SIZE, IMAGE_SIZE)


_INTEGER = re.compile(r"[+-]?[0-9]+")


def _describe_pixel_count(text: str) -> str:
    found = len(text.split())
    if found == NUM_PIXELS:
        return "pixels must be separated by single spaces (found tabs, line breaks or repeated spaces)"
    return f"expected {NUM_PIXELS} pixels, found {found}"


def _describe_bad_values(text: str) -> str:
    for position, token in enumerate(text.split(), start=1):
        if not _INTEGER.fullmatch(token):
            return f"pixel {position} is not an integer"
        if not 0 <= int(token) <= 255:
            return f"pixel {position} is outside 0..255"
    return ""


def load_image_folder(root: str | os.PathLike, max_rows: int = MAX_ROWS) -> FerDataset:
    """Read ``ROOT/<split>/<class>/*`` images as 48x48 grayscale faces, at most ``max_rows`` of them."""
    root = Path(root)
    images, labels, usage, skipped = [], [], [], []
    for split_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        split = _SPLIT_FOLDERS.get(split_dir.name.lower())
        if split is None:
            continue
        for class_dir in sorted(p for p in split_dir.iterdir() if p.is_dir()):
            try:
                label = emotion_index(class_dir.name)
            except ValueError:
                skipped.append(f"{class_dir}: folder name is not an emotion ({', '.join(EMOTIONS)})")
                continue
            for file in sorted(class_dir.iterdir()):
                if file.suffix.lower() not in IMAGE_SUFFIXES:
                    continue
                if len(images) == max_rows:
                    raise DataFormatError(f"{root}: more than {max_rows:,} images (the limit)")
                try:
                    image = cv2.cvtColor(decode_image(file), cv2.COLOR_BGR2GRAY)
                except ImageDecodeError as error:
                    skipped.append(str(error))
                    continue
                if image.shape != (IMAGE_SIZE, IMAGE_SIZE):
                    image = cv2.resize(image, (IMAGE_SIZE, IMAGE_SIZE), interpolation=cv2.INTER_AREA)
                images.append(image)
                labels.append(label)
                usage.append(split)
    if not images:
        raise DataFormatError(
            f"{root}: no images found; expected ROOT/<train|test>/<emotion>/*.jpg or a FER-2013 CSV"
        )
    return FerDataset(
        np.stack(images), np.array(labels, dtype=np.int8), np.array(usage, dtype=object), str(root), skipped
    )
