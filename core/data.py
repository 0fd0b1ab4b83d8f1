"""Load FER-2013 in any of its layouts into uint8 arrays.
Owns FerDataset, load_dataset, DataFormatError, the data path (FER2013_PATH) and the parse cache (cache_dir).

Layouts:
- Kaggle's ``fer2013.csv`` (``emotion,pixels,Usage``), plain or gzip-compressed;
- the seed's split files: ``train.csv`` (``emotion,pixels``), ``test.csv`` (``pixels``),
  ``test_with_emotions.csv`` (``emotion,pixels``), one file or their folder;
- an image folder ``ROOT/<split>/<class>/*.jpg|png`` (the 48x48 JPEG release).

Every problem is reported as a :class:`DataFormatError` naming the file, the row (its line
number in the file, header = line 1) and what is wrong. ``skip_bad_rows=True`` drops bad
rows instead and records how many and why in :attr:`FerDataset.skipped`.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import warnings
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pyarrow as pa

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

DATA_ENV_VAR = "FER2013_PATH"
CACHE_ENV_VAR = "FER_CACHE_DIR"
UNLABELLED = -1
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
        mask = self.usage == usage
        return FerDataset(self.images[mask], self.labels[mask], self.usage[mask], self.source)

    @property
    def splits(self) -> list[str]:
        return [name for name in (*SPLITS, UNSPLIT) if (self.usage == name).any()]

    def evaluation_split(self) -> FerDataset:
        """PrivateTest if present, else PublicTest, else every labelled row."""
        for name in (PRIVATE_TEST, PUBLIC_TEST):
            if (self.usage == name).any():
                return self.split(name)
        mask = self.labels != UNLABELLED
        return FerDataset(self.images[mask], self.labels[mask], self.usage[mask], self.source)


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


def cache_dir() -> Path:
    """Where parsed CSV files are kept: ``$FER_CACHE_DIR``, else ``~/.cache/fer-emotion``."""
    return Path(os.environ.get(CACHE_ENV_VAR) or Path.home() / ".cache" / "fer-emotion")


def load_dataset(path: str | os.PathLike, skip_bad_rows: bool = False, use_cache: bool = False) -> FerDataset:
    """Load a CSV file (any layout above), a seed folder or an image folder.

    With ``use_cache`` a CSV that parsed without bad rows is kept as ``.npz`` under
    :func:`cache_dir`, keyed by the file's SHA-256, and read from there next time.
    """
    path = Path(path)
    if path.is_dir():
        if any((path / name).is_file() for name in SEED_FILES):
            return _load_seed_folder(path, skip_bad_rows)
        return load_image_folder(path)
    if not path.is_file():
        raise DataFormatError(f"{path}: no such file or folder")
    if not use_cache:
        return load_csv(path, skip_bad_rows)
    cached = cache_dir() / f"{file_sha256(path)}.npz"
    if cached.is_file():
        with np.load(cached, allow_pickle=False) as arrays:
            return FerDataset(arrays["images"], arrays["labels"], arrays["usage"].astype(object), str(path))
    data = load_csv(path, skip_bad_rows)
    if not data.skipped:
        cached.parent.mkdir(parents=True, exist_ok=True)
        partial = cached.with_suffix(".tmp.npz")
        np.savez(partial, images=data.images, labels=data.labels, usage=data.usage.astype(str))
        partial.replace(cached)
    return data


def _load_seed_folder(folder: Path, skip_bad_rows: bool) -> FerDataset:
    # test.csv holds the same faces as test_with_emotions.csv without labels: read it only alone.
    names = [name for name in SEED_FILES if (folder / name).is_file()]
    if "test_with_emotions.csv" in names and "test.csv" in names:
        names.remove("test.csv")
    parts = [load_csv(folder / name, skip_bad_rows) for name in names]
    return FerDataset(
        images=np.concatenate([part.images for part in parts]),
        labels=np.concatenate([part.labels for part in parts]),
        usage=np.concatenate([part.usage for part in parts]),
        source=str(folder),
        skipped=[reason for part in parts for reason in part.skipped],
    )


def load_csv(path: str | os.PathLike, skip_bad_rows: bool = False) -> FerDataset:
    """Parse a FER-2013 CSV (``.csv`` or ``.csv.gz``) with vectorised pixel parsing."""
    path = Path(path)
    frame = _read_table(path)
    if "pixels" not in frame.columns:
        raise DataFormatError(f"{path}: missing column 'pixels' (found: {', '.join(map(str, frame.columns))})")
    if len(frame) == 0:
        raise DataFormatError(f"{path}: no data rows")
    line_numbers = np.arange(len(frame)) + 2
    problems: dict[int, str] = {}

    labels = _parse_labels(frame, problems)
    usage = _parse_usage(frame, path, problems)
    pixel_text = frame["pixels"].fillna("").astype(str).str.strip().tolist()
    counts = np.array([text.count(" ") + 1 if text else 0 for text in pixel_text])
    for row in np.flatnonzero(counts != NUM_PIXELS):
        problems.setdefault(int(row), f"expected {NUM_PIXELS} pixels, found {counts[row]}")

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


def _read_table(path: Path) -> pd.DataFrame:
    """The CSV as strings: pyarrow's multithreaded reader, or pandas' C reader where pyarrow refuses a file.

    The C reader keeps a short row (its missing fields empty, so the row check names it) and says
    on which line a long row is; pyarrow only says that some row is malformed.
    """
    strings = {"pixels": str, "Usage": str}
    try:
        try:
            return pd.read_csv(path, dtype=strings, engine="pyarrow")
        except (pd.errors.ParserError, pa.ArrowInvalid):
            return pd.read_csv(path, dtype=strings, engine="c")
    except pd.errors.EmptyDataError as error:
        raise DataFormatError(f"{path}: the file is empty") from error
    except (gzip.BadGzipFile, EOFError, zlib.error) as error:
        raise DataFormatError(f"{path}: corrupt or truncated gzip data ({error})") from error
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise DataFormatError(f"{path}: not a readable CSV file ({error})") from error


def _parse_labels(frame: pd.DataFrame, problems: dict[int, str]) -> np.ndarray:
    if "emotion" not in frame.columns:
        return np.full(len(frame), UNLABELLED, dtype=np.int8)
    numeric = pd.to_numeric(frame["emotion"], errors="coerce")
    valid = numeric.notna() & (numeric % 1 == 0) & numeric.between(0, NUM_CLASSES - 1)
    for row in np.flatnonzero(~valid.to_numpy()):
        problems[int(row)] = f"label {str(frame['emotion'].iloc[row])!r} is not an integer in 0..{NUM_CLASSES - 1}"
    return numeric.where(valid, UNLABELLED).astype(np.int8).to_numpy()


def _parse_usage(frame: pd.DataFrame, path: Path, problems: dict[int, str]) -> np.ndarray:
    if "Usage" not in frame.columns:
        default = TRAINING if path.name.startswith("train") else UNSPLIT
        return np.full(len(frame), default, dtype=object)
    usage = frame["Usage"].fillna("").astype(str).str.strip().to_numpy(dtype=object)
    known = np.isin(usage, SPLITS)
    for row in np.flatnonzero(~known):
        problems.setdefault(int(row), f"Usage {usage[row]!r} is not Training, PublicTest or PrivateTest")
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


def _describe_bad_values(text: str) -> str:
    for position, token in enumerate(text.split(), start=1):
        if not token.isdigit():
            return f"pixel {position} is {token!r}, not an integer"
        if int(token) > 255:
            return f"pixel {position} is {token}, outside 0..255"
    return ""


def load_image_folder(root: str | os.PathLike) -> FerDataset:
    """Read ``ROOT/<split>/<class>/*`` images as 48x48 grayscale faces."""
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
                image = cv2.imread(str(file), cv2.IMREAD_GRAYSCALE)
                if image is None:
                    skipped.append(f"{file}: not a readable image")
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
