"""FER+ votes: ten crowd annotators per FER-2013 face (Barsoum et al. 2016), read beside the data set.
Owns VOTE_COLUMNS, find_votes_file, load_votes, attach_votes, emotion_votes, vote_distribution,
majority_labels and training_rows.

The votes file (Microsoft's ``fer2013new.csv``) has one row per row of ``fer2013.csv``, in the same order,
with the columns ``Usage,Image name`` and then ten vote counts in FER+'s own order (:data:`VOTE_COLUMNS`). Here
the eight emotions are reordered into :data:`core.labels.FERPLUS` (FER-2013's seven, then Contempt) by name.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np
import pandas as pd

from core.fer_csv import DataFormatError
from core.labels import FERPLUS

VOTE_COLUMNS: tuple[str, ...] = (
    "neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear", "contempt", "unknown", "NF",
)
"""The vote columns of ``fer2013new.csv``, in its order (not FER-2013's label order)."""
_EMOTION_OF_COLUMN = {
    "neutral": "Neutral", "happiness": "Happy", "surprise": "Surprise", "sadness": "Sad", "anger": "Angry",
    "disgust": "Disgust", "fear": "Fear", "contempt": "Contempt",
}
_TO_FERPLUS = np.array([FERPLUS.index(_EMOTION_OF_COLUMN[column]) for column in VOTE_COLUMNS[:8]])
UNKNOWN, NOT_A_FACE = 8, 9
"""Column indices of ``unknown`` and ``NF`` in :data:`VOTE_COLUMNS`."""
NO_LABEL = -1
VOTES_FILE_NAMES = ("fer2013new.csv", "fer2013new.csv.gz")


def find_votes_file(data_path: str | os.PathLike) -> Path | None:
    """``fer2013new.csv`` (or ``.csv.gz``) in the folder of a data file, or in a data folder; None if absent."""
    path = Path(data_path)
    folder = path if path.is_dir() else path.parent
    for name in VOTES_FILE_NAMES:
        if (folder / name).is_file():
            return folder / name
    return None


def load_votes(path: str | os.PathLike) -> np.ndarray:
    """The vote counts of a ``fer2013new.csv`` as int (N, 10), in :data:`VOTE_COLUMNS` order."""
    path = Path(path)
    try:
        frame = pd.read_csv(path)
    except (OSError, ValueError, pd.errors.ParserError) as error:
        raise DataFormatError(f"{path}: not a readable FER+ votes file ({type(error).__name__})") from error
    missing = [column for column in VOTE_COLUMNS if column not in frame.columns]
    if missing:
        raise DataFormatError(f"{path}: not a FER+ votes file: missing column(s) {', '.join(missing)}")
    counts = frame[list(VOTE_COLUMNS)].apply(pd.to_numeric, errors="coerce")
    bad = counts.isna().any(axis=1) | (counts < 0).any(axis=1)
    if bad.any():
        raise DataFormatError(f"{path} row {int(np.flatnonzero(bad.to_numpy())[0]) + 2}: votes must be counts >= 0")
    return counts.to_numpy(dtype=np.int16)


def attach_votes(data, votes_path: str | os.PathLike):
    """``data`` (a :class:`core.data.FerDataset`) with the votes of ``votes_path``, row for row.

    Refused when the row counts differ, or rows were skipped: the files are matched by position.
    """
    if data.skipped:
        raise DataFormatError(f"{votes_path}: votes are matched to the data set row by row, so no row may be skipped "
                              f"({len(data.skipped)} were); mend the data file first")
    votes = load_votes(votes_path)
    if len(votes) != len(data):
        raise DataFormatError(f"{votes_path} has {len(votes):,} rows but {data.source} has {len(data):,}: "
                              "the votes file must have one row per face, in the same order")
    return dataclasses.replace(data, votes=votes)


def emotion_votes(votes: np.ndarray) -> np.ndarray:
    """The eight emotions' vote counts (N, 8) in :data:`core.labels.FERPLUS` order (``unknown`` and ``NF`` left out)."""
    reordered = np.zeros((len(votes), len(FERPLUS)), dtype=np.float32)
    reordered[:, _TO_FERPLUS] = votes[:, :8]
    return reordered


def _without_outliers(votes: np.ndarray) -> np.ndarray:
    """FER+'s outlier rule: a single vote for an emotion is removed."""
    return np.where(votes <= 1, 0, votes)


def vote_distribution(votes: np.ndarray, drop_single_votes: bool = False) -> np.ndarray:
    """Each face's votes over the eight emotions as probabilities (N, 8); rows with no emotion vote are all zero."""
    counts = emotion_votes(_without_outliers(votes) if drop_single_votes else votes)
    totals = counts.sum(axis=1, keepdims=True)
    return np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)


def majority_labels(votes: np.ndarray) -> np.ndarray:
    """FER+'s official majority labels (Microsoft's ``ferplus.py``, majority mode), in FERPLUS order.

    Single votes are removed; a face's label is its top column only if that holds more than half of the
    remaining votes. No majority, a majority of ``unknown`` or ``NF``, or no votes at all: :data:`NO_LABEL`.
    """
    kept = _without_outliers(votes).astype(np.float64)
    top = kept.argmax(axis=1)
    majority = kept.max(axis=1) > 0.5 * kept.sum(axis=1)
    labels = np.full(len(votes), NO_LABEL, dtype=np.int8)
    emotion = majority & (top < UNKNOWN)
    labels[emotion] = _TO_FERPLUS[top[emotion]]
    return labels


def training_rows(votes: np.ndarray) -> np.ndarray:
    """Faces to learn the vote distribution from: their top vote (single votes removed) is an emotion."""
    kept = _without_outliers(votes)
    return (kept.sum(axis=1) > 0) & (kept.argmax(axis=1) < UNKNOWN)
