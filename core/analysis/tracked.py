"""Faces with a person id: what a frame analysis hands the recording loop, and how today's pieces make them.
Owns TrackedFace (with its display label), FrameAnalyzer and frame_analyzer (any detector of
:mod:`core.vision.faces`, any :class:`core.vision.track.Tracker`).

The loop in :mod:`core.analysis.recording` only sees :class:`TrackedFace` lists, so any detector,
aligner, classifier or tracker can stand behind a :data:`FrameAnalyzer`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from core.model.classifier import EmotionClassifier, EmotionReading
from core.vision.faces import Detector, extract_tracked_faces
from core.vision.track import Tracker

BoxXYWH = tuple[int, int, int, int]
"""x, y, width, height in pixels of the analysed frame."""


@dataclass(frozen=True)
class TrackedFace(EmotionReading):
    person: int
    """Stable id of the person across frames, from the tracker."""
    box: BoxXYWH
    probabilities: np.ndarray
    """(7,) calibrated emotion probabilities in :data:`core.labels.EMOTIONS` order."""
    uncertain_below: float = 0.0
    """The model's uncertain threshold (:func:`core.model.calibration.display_label`)."""


FrameAnalyzer = Callable[[np.ndarray, float], list[TrackedFace]]
"""``analyze_frame(frame_bgr, t_seconds) -> faces``: called once per analysed frame, in time order."""


def frame_analyzer(classifier: EmotionClassifier, detector: Detector, tracker: Tracker) -> FrameAnalyzer:
    """A :data:`FrameAnalyzer` that detects every face, asks ``tracker`` who it is, then crops and classifies it."""

    def analyze_frame(frame: np.ndarray, t: float) -> list[TrackedFace]:
        crops, people = extract_tracked_faces(frame, detector, tracker, t)  # every frame: the tracker sees people leave
        return [
            TrackedFace(person, (face.box.x, face.box.y, face.box.w, face.box.h), face.probabilities,
                        face.uncertain_below)
            for person, face in zip(people, classifier.classify_crops(crops), strict=True)
        ]

    return analyze_frame
