"""Sample a webcam or video file once per interval and classify the faces in view.
Owns sample_faces, open_source, Sample and VideoSourceError.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import NamedTuple

import cv2
import numpy as np

from core.analysis.live import VIDEO_DOWNSCALE
from core.model.classifier import EmotionClassifier, FacePrediction
from core.vision.detect import FaceDetector


class VideoSourceError(RuntimeError):
    """The camera or video file cannot be opened."""


class Sample(NamedTuple):
    seconds: float
    """Position in the video file, or wall-clock time (seconds since the epoch) for a camera."""
    frame: np.ndarray
    faces: list[FacePrediction]


def open_source(source: str) -> tuple[cv2.VideoCapture, bool]:
    """A capture for a camera index ('0') or a video path; the flag is True for a camera."""
    is_camera = source.isdigit()
    capture = cv2.VideoCapture(int(source) if is_camera else source)
    if not capture.isOpened():
        what = f"camera {source} (none attached, or access denied)" if is_camera else f"video file {source}"
        raise VideoSourceError(f"could not open {what}")
    return capture, is_camera


def sample_faces(
    source: str,
    classifier: EmotionClassifier,
    detector: FaceDetector | None = None,
    interval: float = 1.0,
    max_samples: int | None = None,
) -> Iterator[Sample]:
    """Every ``interval`` seconds (of video time for a file, of wall time for a camera) one sample."""
    detector = detector or FaceDetector(downscale=VIDEO_DOWNSCALE)
    capture, is_camera = open_source(source)
    next_due, taken = 0.0, 0
    try:
        while max_samples is None or taken < max_samples:
            ok, frame = capture.read()
            if not ok:
                if is_camera:
                    raise VideoSourceError(f"camera {source} stopped delivering frames")
                break
            seconds = time.time() if is_camera else capture.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
            if seconds + 1e-6 < next_due:
                continue
            next_due = seconds + interval
            taken += 1
            yield Sample(seconds, frame, classifier.analyze_frame(frame, detector))
    finally:
        capture.release()
