"""Faces with a person id: what a frame analysis hands the recording loop, and how today's pieces make them.
Owns TrackedFace (with its display label), FrameAnalyzer, DetectTrackClassify and frame_analyzer (any detector of
:mod:`core.vision.faces`, any :class:`core.vision.track.Tracker`).

The loop in :mod:`core.analysis.recording` only sees :class:`TrackedFace` lists, so any detector,
aligner, classifier or tracker can stand behind a :data:`FrameAnalyzer`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from core.labels import FER2013
from core.model.classifier import EmotionClassifier, EmotionReading
from core.vision.faces import Detector, FoundFaces, extract_tracked_faces, find_faces
from core.vision.track import Tracker

BoxXYWH = tuple[int, int, int, int]
"""x, y, width, height in pixels of the analysed frame."""


@dataclass(frozen=True)
class TrackedFace(EmotionReading):
    person: int
    """Stable id of the person across frames, from the tracker."""
    box: BoxXYWH
    probabilities: np.ndarray
    """Calibrated probabilities, one per emotion of ``emotions``."""
    uncertain_below: float = 0.0
    """The model's uncertain threshold (:func:`core.model.calibration.display_label`)."""
    emotions: tuple[str, ...] = FER2013.emotions
    """The model's emotions, in the order of ``probabilities``."""


FrameAnalyzer = Callable[[np.ndarray, float], list[TrackedFace]]
"""``analyze_frame(frame_bgr, t_seconds) -> faces``: called once per analysed frame, in time order. One that
also has ``find(frame_bgr)`` (as :class:`DetectTrackClassify`) may be handed that frame's ``find`` result as a
third argument, computed ahead on another thread. Its ``emotions`` attribute names the probabilities' columns;
an analyser without one predicts FER-2013's seven."""


class DetectTrackClassify:
    """The :data:`FrameAnalyzer` of :func:`frame_analyzer`: detection may run ahead of the rest (``find``)."""

    def __init__(self, classifier: EmotionClassifier, detector: Detector, tracker: Tracker) -> None:
        self.classifier, self.detector, self.tracker = classifier, detector, tracker
        self.emotions = classifier.labels.emotions

    def find(self, frame: np.ndarray) -> FoundFaces:
        """The detection step alone; frames in order, from one thread (the video reader's)."""
        return find_faces(frame, self.detector)

    def __call__(self, frame: np.ndarray, t: float, found: FoundFaces | None = None) -> list[TrackedFace]:
        # every analysed frame goes through the tracker, so it sees people leave
        crops, people = extract_tracked_faces(frame, self.detector, self.tracker, t, found)
        return [
            TrackedFace(person, (face.box.x, face.box.y, face.box.w, face.box.h), face.probabilities,
                        face.uncertain_below, face.emotions)
            for person, face in zip(people, self.classifier.classify_crops(crops), strict=True)
        ]


def frame_analyzer(classifier: EmotionClassifier, detector: Detector, tracker: Tracker) -> DetectTrackClassify:
    """A :data:`FrameAnalyzer` that detects every face, asks ``tracker`` who it is, then crops and classifies it."""
    return DetectTrackClassify(classifier, detector, tracker)
