"""What a training run fits and selects on: the faces of each side and their target distributions.
Owns TrainingSets, training_sets, vote_selection, LABEL_SOURCES and VALIDATION_SHARE.

- ``fer2013``: each face's FER-2013 label, one-hot; fit on Training, select on PublicTest.
- ``ferplus``: each face's ten FER+ votes as a distribution over the eight emotions (Barsoum et al. 2016
  found this beats majority voting), optionally mixed with FER-2013's own label (``fer2013_weight``), which
  holds back the annotators' pull towards Neutral on faint faces. Faces whose top vote is ``unknown`` or not
  a face are left out. Selection is on PublicTest's faces with an official FER+ majority
  (:func:`core.ferplus.majority_labels`), whose vote distribution peaks at that majority, so Keras' accuracy
  there is FER+'s official accuracy.
- An image folder: its labels, one-hot in the model's label set; with no PublicTest (``test/``) rows, a
  stratified :data:`VALIDATION_SHARE` of Training is held out for selection.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from core.data import FerDataset
from core.ferplus import majority_labels, training_rows, vote_distribution
from core.labels import FERPLUS, PUBLIC_TEST, TRAINING, LabelSet

LABEL_SOURCES = ("fer2013", "ferplus")
VALIDATION_SHARE = 0.15


@dataclass(frozen=True)
class TrainingSets:
    """Faces (uint8 N x 48 x 48) and float32 targets (N x labels) to fit and to select on."""

    train_faces: np.ndarray
    train_targets: np.ndarray
    val_faces: np.ndarray
    val_targets: np.ndarray
    validation: str
    """Where the selection faces come from, in words, for the log and the report."""
    selection: FerDataset
    """The selection faces as a data set, labelled with their target's top emotion (the official FER+ majority
    for votes), to measure the finished model on."""


def one_hot(labels: np.ndarray, label_set: LabelSet) -> np.ndarray:
    """One-hot rows in ``label_set`` for labels that index :data:`core.labels.FERPLUS` (mapped by name)."""
    columns = np.array([label_set.index(FERPLUS.emotions[label]) for label in labels], dtype=np.int64)
    targets = np.zeros((len(labels), len(label_set)), dtype=np.float32)
    targets[np.arange(len(labels)), columns] = 1.0
    return targets


def training_sets(
    data: FerDataset, label_set: LabelSet, source: str = "fer2013", fer2013_weight: float = 0.0, seed: int = 42
) -> TrainingSets:
    """The fit and selection sets of ``data`` for a model predicting ``label_set``; see the module's doc."""
    if source not in LABEL_SOURCES:
        raise ValueError(f"unknown label source {source!r}; choose one of {', '.join(LABEL_SOURCES)}")
    train, val = data.split(TRAINING), data.split(PUBLIC_TEST)
    if source == "ferplus":
        return _vote_sets(train, val, label_set, fer2013_weight)
    if len(train) == 0:
        raise ValueError(f"{data.source}: training needs Training rows; found splits {', '.join(data.splits)}")
    if len(val) == 0:
        return _held_out_sets(train, label_set, seed)
    return TrainingSets(train.images, one_hot(train.labels, label_set), val.images, one_hot(val.labels, label_set),
                        f"{len(val):,} PublicTest faces", val)


def _vote_sets(train: FerDataset, val: FerDataset, label_set: LabelSet, fer2013_weight: float) -> TrainingSets:
    if label_set != FERPLUS:
        raise ValueError(f"FER+ votes train FER+'s eight emotions, not {label_set.name}'s {len(label_set)}")
    if train.votes is None:
        raise ValueError(f"{train.source} has no FER+ votes: put fer2013new.csv beside it, or pass --votes PATH")
    if len(train) == 0 or len(val) == 0:
        raise ValueError(f"{train.source}: training on votes needs Training and PublicTest rows")
    if not 0 <= fer2013_weight <= 1:
        raise ValueError(f"the FER-2013 label's weight must lie in [0, 1], got {fer2013_weight}")
    keep = training_rows(train.votes)
    targets = (1 - fer2013_weight) * vote_distribution(train.votes[keep])
    if fer2013_weight:
        targets += fer2013_weight * one_hot(train.labels[keep], label_set)
    selection, described = vote_selection(val)
    return TrainingSets(train.images[keep], targets.astype(np.float32), selection.images,
                        vote_distribution(selection.votes), described, selection)


def vote_selection(public: FerDataset) -> tuple[FerDataset, str]:
    """``public``'s faces with an official FER+ majority, labelled with it, and their name for reports: what a
    model of the votes is selected, fitted and measured on."""
    majority = majority_labels(public.votes)
    judged = majority >= 0
    described = f"{int(judged.sum()):,} PublicTest faces' FER+ majority"
    return replace(public.rows(judged), labels=majority[judged]), described


def _held_out_sets(train: FerDataset, label_set: LabelSet, seed: int) -> TrainingSets:
    from sklearn.model_selection import train_test_split

    indices = np.arange(len(train))
    counts = np.bincount(train.labels)
    stratify = train.labels if counts[counts > 0].min() >= 2 else None  # a class of one face cannot be split
    fit, held = train_test_split(indices, test_size=VALIDATION_SHARE, random_state=seed, stratify=stratify)
    return TrainingSets(train.images[fit], one_hot(train.labels[fit], label_set), train.images[held],
                        one_hot(train.labels[held], label_set),
                        f"{len(held):,} faces held out of Training ({VALIDATION_SHARE:.0%}, stratified, seed {seed})",
                        train.rows(np.isin(indices, held)))
