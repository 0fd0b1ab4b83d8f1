"""Live video analysis: one call per frame, with optional smoothing over recent frames.
Owns LiveAnalyzer, FrameResult and VIDEO_DOWNSCALE (the frame -> label path: vision, then the classifier).

Shared by the CLI's ``stream`` command and the dashboard's live page; safe to call from a
video thread (the classifier serialises its own model calls).
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import replace
from typing import NamedTuple

import numpy as np

from core.analysis.annotate import draw_predictions
from core.model.classifier import EmotionClassifier, FacePrediction
from core.vision.detect import FaceDetector

VIDEO_DOWNSCALE = 2.0
"""Video frames are scanned for faces at half resolution: 2-3x faster, faces of 48 px and up still found."""


class FrameResult(NamedTuple):
    """What one frame showed: its faces (largest first), when, and the recent frame rate."""

    faces: list[FacePrediction]
    timestamp: float
    fps: float


class LiveAnalyzer:
    """Detects and classifies faces frame by frame.

    ``smoothing`` > 1 averages the largest face's probabilities over that many recent frames,
    which stops the label flickering between two close emotions.
    """

    def __init__(self, classifier: EmotionClassifier, detector: FaceDetector | None = None, smoothing: int = 1):
        self.classifier = classifier
        self.detector = detector or FaceDetector(downscale=VIDEO_DOWNSCALE)
        self.smoothing = max(1, smoothing)
        self._recent: deque[np.ndarray] = deque(maxlen=self.smoothing)
        self._frame_times: deque[float] = deque(maxlen=30)

    def set_smoothing(self, frames: int) -> None:
        frames = max(1, int(frames))
        if frames != self.smoothing:
            self.smoothing = frames
            self._recent = deque(self._recent, maxlen=frames)

    def analyze(self, frame: np.ndarray) -> FrameResult:
        faces = self.classifier.analyze_frame(frame, self.detector)
        if faces:
            self._recent.append(faces[0].probabilities)
            smoothed = np.mean(np.stack(self._recent), axis=0)
            faces[0] = replace(faces[0], probabilities=smoothed)
        else:
            self._recent.clear()
        now = time.perf_counter()
        self._frame_times.append(now)
        span = self._frame_times[-1] - self._frame_times[0]
        fps = (len(self._frame_times) - 1) / span if span > 0 else 0.0
        return FrameResult(faces, time.time(), fps)

    def annotate(self, frame: np.ndarray) -> tuple[np.ndarray, FrameResult]:
        """The frame with boxes and labels drawn, and the result behind them."""
        result = self.analyze(frame)
        return draw_predictions(frame, result.faces), result
