"""Load FER-2013 in any of its layouts into uint8 arrays.
Owns FerDataset, load_dataset, require_labels, the data path (FER2013_PATH) and the parse cache (cache_dir).

Layouts:
- Kaggle's ``fer2013.csv`` (``emotion,pixels,Usage``), plain or gzip-compressed;
- the seed's split files: ``train.csv`` (``emotion,pixels``), ``test.csv`` (``pixels``),
  ``test_with_emotions.csv`` (``emotion,pixels``), one file or their folder;
- an image folder ``ROOT/<split>/<class>/*.jpg|png`` (the 48x48 JPEG release).

Parsing a CSV and its limits (rows, bytes) is :mod:`core.fer_csv`; its errors are re-raised as they are.
``skip_bad_rows=True`` drops bad rows and records how many and why in :attr:`FerDataset.skipped`.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from core.cache import cache_dir
from core.data_roots import DATA_ENV_VAR
from core.fer_csv import MAX_CSV_BYTES, MAX_ROWS, UNLABELLED, DataFormatError, parse_csv
from core.labels import IMAGE_SIZE, KNOWN_EMOTIONS, PRIVATE_TEST, PUBLIC_TEST, SPLITS, TRAINING, UNSPLIT, emotion_index
from core.vision.image import ImageDecodeError, decode_image

CACHE_FORMAT = 3
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


@dataclass
class FerDataset:
    """Faces as ``uint8`` (N, 48, 48), labels (-1 where unknown), each row's split, and FER+ votes when known.

    Labels index :data:`core.labels.FERPLUS` (FER-2013's 0..6, and Contempt as 7 from an image folder).
    ``votes`` (N, 10) are FER+'s counts in :data:`core.ferplus.VOTE_COLUMNS` order (see :mod:`core.ferplus`).
    """

    images: np.ndarray
    labels: np.ndarray
    usage: np.ndarray
    source: str
    skipped: list[str] = field(default_factory=list)
    votes: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.labels)

    def split(self, usage: str) -> FerDataset:
        """The rows of one split (``Training``, ``PublicTest``, ``PrivateTest``, ``Unsplit``)."""
        return self.rows(self.usage == usage)

    def rows(self, mask: np.ndarray) -> FerDataset:
        """The rows where ``mask`` is true."""
        votes = None if self.votes is None else self.votes[mask]
        return FerDataset(self.images[mask], self.labels[mask], self.usage[mask], self.source, votes=votes)

    @property
    def splits(self) -> list[str]:
        return [name for name in (*SPLITS, UNSPLIT) if (self.usage == name).any()]

    def evaluation_split(self) -> FerDataset:
        """The labelled rows of PrivateTest if any, else of PublicTest, else every labelled row."""
        labelled = self.labels != UNLABELLED
        for name in (PRIVATE_TEST, PUBLIC_TEST):
            if (labelled & (self.usage == name)).any():
                return self.rows(labelled & (self.usage == name))
        return self.rows(labelled)


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
    """Parse a FER-2013 CSV (``.csv`` or ``.csv.gz``) into a data set; see :func:`core.fer_csv.parse_csv`."""
    rows = parse_csv(path, skip_bad_rows, max_rows, max_bytes)
    return FerDataset(rows.images, rows.labels, rows.usage, str(path), rows.skipped)


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
                skipped.append(f"{class_dir}: folder name is not an emotion ({', '.join(KNOWN_EMOTIONS)})")
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
