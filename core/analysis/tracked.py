"""Faces with a person id: what a frame analysis hands the recording loop, and how today's pieces make them.
Owns TrackedFace (with its display label), FrameAnalyzer, Tracker and frame_analyzer (any detector of
:mod:`core.vision.faces`).

The loop in :mod:`core.analysis.recording` only sees :class:`TrackedFace` lists, so any detector,
aligner, classifier or tracker can stand behind a :data:`FrameAnalyzer`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from core.model.classifier import EmotionClassifier, EmotionReading
from core.vision.detect import Box
from core.vision.faces import Detector, extract_faces

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


class Tracker(Protocol):
    """Gives each box of a frame the id of the person it shows, the same id from frame to frame."""

    def update(self, boxes: Sequence[Box], t: float) -> list[int]:
        """One id per box, in the boxes' order; ``t`` is the frame's time in seconds."""
        ...


def frame_analyzer(classifier: EmotionClassifier, detector: Detector, tracker: Tracker) -> FrameAnalyzer:
    """A :data:`FrameAnalyzer` that detects, crops and classifies every face, and asks ``tracker`` who it is."""

    def analyze_frame(frame: np.ndarray, t: float) -> list[TrackedFace]:
        crops = extract_faces(frame, detector)
        people = tracker.update([crop.box for crop in crops], t)  # every frame, so the tracker sees people leave
        boxes = [(crop.box.x, crop.box.y, crop.box.w, crop.box.h) for crop in crops]
        if not crops:
            return []
        probabilities = classifier.predict_faces(np.stack([crop.pixels for crop in crops]))
        return [
            TrackedFace(*face, classifier.uncertain_below) for face in zip(people, boxes, probabilities, strict=True)
        ]

    return analyze_frame
