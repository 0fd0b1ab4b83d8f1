"""Live video analysis: one call per frame, each face with a stable person id and its own smoothing.
Owns LiveAnalyzer and FrameResult (the frame -> label path: vision, the tracker, then the classifier).

Shared by the dashboard's live page and the benchmarks; safe to call from a video thread (the
classifier serialises its own model calls). One analyser per stream: its tracker is the stream's.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import replace
from typing import NamedTuple

import numpy as np

from core.analysis.annotate import draw_predictions
from core.model.classifier import EmotionClassifier, FacePrediction
from core.vision import DETECTORS
from core.vision.faces import Detector, extract_tracked_faces, make_detector
from core.vision.track import PersonTracker


class FrameResult(NamedTuple):
    """What one frame showed: its faces (largest first, each with ``person`` set), when, and the recent frame rate."""

    faces: list[FacePrediction]
    timestamp: float
    fps: float


class LiveAnalyzer:
    """Detects, tracks and classifies faces frame by frame.

    ``smoothing_s`` > 0 averages each person's probabilities over about that many seconds (their own
    history only), which stops the label flickering between two close emotions.
    """

    def __init__(
        self, classifier: EmotionClassifier, detector: Detector | str = DETECTORS[0], smoothing_s: float = 0.0
    ) -> None:
        self.classifier = classifier
        self.detector_name = detector if isinstance(detector, str) else None
        self.detector = make_detector(detector, video=True) if isinstance(detector, str) else detector
        self.tracker = PersonTracker(smoothing_s=max(0.0, smoothing_s))
        self._frame_times: deque[float] = deque(maxlen=30)

    @property
    def smoothing_s(self) -> float:
        return self.tracker.smoothing_s

    def set_smoothing(self, seconds: float) -> None:
        self.tracker.smoothing_s = max(0.0, float(seconds))

    def set_detector(self, name: str) -> None:
        """Switch to the named detector (a no-op when it is already in use); people keep their ids."""
        if name != self.detector_name:
            self.detector, self.detector_name = make_detector(name, video=True), name

    def analyze(self, frame: np.ndarray, t_seconds: float | None = None) -> FrameResult:
        """Faces in the frame; ``t_seconds`` is the stream's clock (default: now), never decreasing."""
        now = time.perf_counter()
        t = now if t_seconds is None else t_seconds
        crops, people = extract_tracked_faces(frame, self.detector, self.tracker, t)
        faces = self.classifier.classify_crops(crops)
        faces = [
            replace(face, person=person, probabilities=self.tracker.smooth(person, face.probabilities))
            for person, face in zip(people, faces, strict=True)
        ]
        self._frame_times.append(now)
        span = self._frame_times[-1] - self._frame_times[0]
        fps = (len(self._frame_times) - 1) / span if span > 0 else 0.0
        return FrameResult(faces, time.time(), fps)

    def annotate(self, frame: np.ndarray) -> tuple[np.ndarray, FrameResult]:
        """The frame with boxes and '#person emotion NN%' labels drawn, and the result behind them."""
        result = self.analyze(frame)
        return draw_predictions(frame, result.faces), result
