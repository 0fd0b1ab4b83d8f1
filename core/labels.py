"""Label sets and image geometry shared by every part of the project.
Owns LabelSet, FER2013 (seven emotions, label order 0..6) and FERPLUS (those seven, then Contempt as 7),
EMOTIONS (FER-2013's seven), the split names and the 48x48 face size.

A model carries its own label set (:mod:`core.model.emotion_output`); code that shows or writes a model's
emotions reads them from the model, never from here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

EMOTIONS: tuple[str, ...] = ("Angry", "Disgust", "Fear", "Happy", "Sad", "Surprise", "Neutral")
NUM_CLASSES = len(EMOTIONS)
IMAGE_SIZE = 48
NUM_PIXELS = IMAGE_SIZE * IMAGE_SIZE

TRAINING = "Training"
PUBLIC_TEST = "PublicTest"
PRIVATE_TEST = "PrivateTest"
SPLITS: tuple[str, ...] = (TRAINING, PUBLIC_TEST, PRIVATE_TEST)
"""FER-2013's official splits, in Kaggle's ``Usage`` spelling."""
UNSPLIT = "Unsplit"
"""Usage given to rows of a file that names no split (the seed's test files)."""




@dataclass(frozen=True)
class LabelSet:
    """A named, ordered tuple of emotions: the order of a model's outputs."""

    name: str
    emotions: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.emotions)

    def index(self, emotion: str) -> int:
        """Index of an emotion name, case-insensitive; ValueError for a name not in this set."""
        lowered = emotion.strip().lower()
        for index, known in enumerate(self.emotions):
            if known.lower() == lowered:
                return index
        raise ValueError(f"unknown emotion {emotion!r}; expected one of {', '.join(self.emotions)}")


FER2013 = LabelSet("fer2013", EMOTIONS)
FERPLUS = LabelSet("ferplus", (*EMOTIONS, "Contempt"))
"""FER+'s eight emotions in this project's order: FER-2013's seven (0..6), then Contempt (7)."""
LABEL_SETS: dict[str, LabelSet] = {FER2013.name: FER2013, FERPLUS.name: FERPLUS}
KNOWN_EMOTIONS: tuple[str, ...] = FERPLUS.emotions
"""Every emotion name the project knows, for image folders named by emotion."""


def label_set_of(emotions: Sequence[str]) -> LabelSet:
    """The known label set with exactly these emotions in this order, else a custom one named by its emotions."""
    emotions = tuple(emotions)
    for known in LABEL_SETS.values():
        if known.emotions == emotions:
            return known
    return LabelSet("custom", emotions)


def emotion_index(name: str) -> int:
    """Index of an emotion name among every known emotion (FER+'s order), case-insensitive; ValueError if unknown."""
    return FERPLUS.index(name)
