"""Parse one FER-2013 CSV file (plain or gzip) within row and byte limits, into arrays.
Owns parse_csv, CsvRows, DataFormatError, BadRowsError, MAX_ROWS, MAX_CSV_BYTES and the pyarrow memory pool.

Every problem is reported as a :class:`DataFormatError` naming the file, the row (its line
number in the file, header = line 1) and what is wrong; several bad rows raise a :class:`BadRowsError`
unless ``skip_bad_rows=True``, which drops them and lists why. Messages never quote the file's content
(a path typed in the browser may name a file the user could not read): they say where the problem is
and what kind it is.

A CSV is read through a stream that stops at :data:`MAX_CSV_BYTES` of (decompressed) text or
:data:`MAX_ROWS` lines, so a compressed bomb is refused before it fills memory. The table holds the
text once (Arrow strings); its pixels are parsed :data:`_CHUNK_ROWS` rows at a time into uint8 faces.
"""

from __future__ import annotations

import gzip
import io
import os
import re
import warnings
import zlib
from collections import defaultdict
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa

from core.labels import IMAGE_SIZE, NUM_CLASSES, NUM_PIXELS, SPLITS, TRAINING, UNSPLIT

UNLABELLED = -1
MAX_ROWS = 100_000
"""Rows (lines) in a CSV, images in a folder: FER-2013 has 35,887 faces; about 2.8 times that."""
MAX_CSV_BYTES = 512 * 2**20
"""Decompressed CSV text: the full Kaggle FER-2013 is 287 MiB; 1.8 times that. Parsing adds about 1.4 times
the text to resident memory (0.4 GB for shared/'s 258 MiB copy; 0.7 GB at the limit, 0.8 GB for the process)."""

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

_CHUNK_ROWS = 256
"""Pixel rows parsed at once: their text joined and as int64 (about 2 and 5 MB) is all there is beside the table."""

class DataFormatError(ValueError):
    """A data file that cannot be read as FER-2013; the message names file, row and problem."""



class BadRowsError(DataFormatError):
    """Rows that cannot be parsed; the message names the first. Front ends say how to skip them."""


class CsvRows(NamedTuple):
    """A parsed CSV: faces (N, 48, 48) uint8, labels (-1 where unknown), each row's split, skipped rows' reasons."""

    images: np.ndarray
    labels: np.ndarray
    usage: np.ndarray
    skipped: list[str]


def parse_csv(
    path: str | os.PathLike, skip_bad_rows: bool = False, max_rows: int = MAX_ROWS, max_bytes: int = MAX_CSV_BYTES
) -> CsvRows:
    """Parse a FER-2013 CSV (``.csv`` or ``.csv.gz``), its pixels vectorised :data:`_CHUNK_ROWS` rows at a time."""
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
    pixels = frame.pop("pixels")
    del frame
    images = np.empty((len(pixels), NUM_PIXELS), dtype=np.uint8)
    for start in range(0, len(pixels), _CHUNK_ROWS):
        _parse_chunk(pixels.iloc[start : start + _CHUNK_ROWS], start, images, problems)
    del pixels
    good = np.ones(len(images), dtype=bool)
    good[list(problems)] = False
    images = (images if good.all() else images[good]).reshape(-1, IMAGE_SIZE, IMAGE_SIZE)

    messages = [f"{path.name} row {line_numbers[row]}: {problems[row]}" for row in sorted(problems)]
    if messages and not skip_bad_rows:
        first = min(problems)
        extra = f" (and {len(messages) - 1} more bad rows)" if len(messages) > 1 else ""
        raise BadRowsError(f"{path} row {line_numbers[first]}: {problems[first]}{extra}")
    if not good.any():
        raise DataFormatError(f"{path}: every row is bad; first: {messages[0]}")
    return CsvRows(images, labels[good], usage[good], messages)

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
    Every column is text: pyarrow keeps every block's parse of a column whose type it infers (twice
    the text in all), and the C reader's Python strings are not copied into Arrow ones.
    """
    try:
        try:
            with _BoundedStream(path, max_rows, max_bytes) as stream:
                text = defaultdict(lambda: str, emotion=str, pixels=str, Usage=str)  # other columns: pyarrow >= 25
                return pd.read_csv(stream, dtype=text, engine="pyarrow")
        except (pd.errors.ParserError, pa.ArrowInvalid):
            with _BoundedStream(path, max_rows, max_bytes) as stream:
                return pd.read_csv(stream, dtype=object, engine="c")
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


def _parse_chunk(cells: pd.Series, start: int, images: np.ndarray, problems: dict[int, str]) -> None:
    """Parse rows ``start``.. (their pixel cells) into ``images``; bad rows go to ``problems``."""
    texts = cells.fillna("").astype(str).str.strip().tolist()
    counts = np.array([text.count(" ") + 1 if text else 0 for text in texts])
    for index in np.flatnonzero(counts != NUM_PIXELS):
        problems.setdefault(start + int(index), _describe_pixel_count(texts[index]))
    rows = np.array([row for row in range(start, start + len(texts)) if row not in problems], dtype=np.int64)
    if not len(rows):
        return
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", DeprecationWarning)
            flat = np.fromstring(" ".join([texts[row - start] for row in rows]), dtype=np.int64, sep=" ")
    except (ValueError, DeprecationWarning):  # a token that is not an integer (numpy < 2.3 only warns)
        flat = np.zeros(0, dtype=np.int64)
    if flat.size == len(rows) * NUM_PIXELS:
        values = flat.reshape(len(rows), NUM_PIXELS)
        for index in np.flatnonzero(~np.all((values >= 0) & (values <= 255), axis=1)):
            problems[int(rows[index])] = _describe_bad_values(texts[rows[index] - start])
        images[rows] = values  # out-of-range rows wrap around; they are dropped
        return
    # A token is not a number, or a row holds tabs among its spaces: find the rows one by one (bad input only).
    for row in rows:
        text = texts[row - start]
        tokens = text.split()
        problem = _describe_bad_values(text) or (_describe_pixel_count(text) if len(tokens) != NUM_PIXELS else "")
        if problem:
            problems[int(row)] = problem
        else:
            images[row] = np.array(tokens, dtype=np.int64)


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
