"""Knowledge distillation and class balance: what a training run adds to its targets beyond the data's labels.
Owns teacher_distributions, with_teacher and balanced_weights.

A teacher (typically the three-network ``fer2013`` ensemble) gives each training face its served probabilities;
mixed into the targets they let one network learn what the ensemble knows, at a third of its cost per face.
Several teachers are averaged, as an ensemble of them would be. Emotions a teacher lacks (the seven-emotion
ensemble has no Contempt) get none of its share.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from core.labels import LabelSet
from core.model.targets import TrainingSets


def teacher_distributions(
    teachers: Sequence[str | os.PathLike], faces: np.ndarray, label_set: LabelSet
) -> np.ndarray:
    """The teachers' mean probabilities (each as it is served) for uint8 ``faces``, as columns of ``label_set``,
    matched by name."""
    from core.model.classifier import EmotionClassifier

    if not teachers:
        raise ValueError("distillation needs at least one teacher")
    mapped = np.zeros((len(faces), len(label_set)), dtype=np.float32)
    for teacher in teachers:
        classifier = EmotionClassifier.load(teacher)
        probabilities = classifier.predict_faces(faces)
        for column, name in enumerate(label_set.emotions):
            with contextlib.suppress(ValueError):  # an emotion the teacher lacks keeps 0
                mapped[:, column] += probabilities[:, classifier.labels.index(name)]
    return mapped / len(teachers)


def with_teacher(sets: TrainingSets, teacher: np.ndarray, weight: float) -> TrainingSets:
    """``sets`` whose fit targets give the share ``weight`` to ``teacher``'s distributions (one row per fit face)."""
    if not 0 <= weight <= 1:
        raise ValueError(f"the teacher's weight must lie in [0, 1], got {weight}")
    if teacher.shape != sets.train_targets.shape:
        raise ValueError(f"teacher distributions {teacher.shape} do not match the targets {sets.train_targets.shape}")
    targets = (1 - weight) * sets.train_targets + weight * teacher
    return replace(sets, train_targets=targets.astype(np.float32))


def balanced_weights(targets: np.ndarray, power: float) -> np.ndarray:
    """Per-face weights that lift rare emotions: ``(N / (K * count of the face's top emotion)) ** power``,
    scaled to a mean of 1. ``power`` 0 weighs every face alike, 1 weighs every emotion alike, 0.5 between."""
    if power < 0:
        raise ValueError(f"the class-balance power must be at least 0, got {power}")
    top = targets.argmax(axis=1)
    counts = np.bincount(top, minlength=targets.shape[1]).astype(np.float64)
    present = int((counts > 0).sum())
    weights = (len(top) / (present * counts[top])) ** power
    return (weights / weights.mean()).astype(np.float32)
