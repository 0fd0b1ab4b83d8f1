"""The FER-2013 label set and image geometry shared by every part of the project.
Owns EMOTIONS (label order 0..6), the split names and the 48x48 face size.
"""

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


def emotion_index(name: str) -> int:
    """Index of an emotion name, case-insensitive; raises ValueError for unknown names."""
    lowered = name.strip().lower()
    for index, emotion in enumerate(EMOTIONS):
        if emotion.lower() == lowered:
            return index
    raise ValueError(f"unknown emotion {name!r}; expected one of {', '.join(EMOTIONS)}")
