"""Sample a webcam or video file once per interval and classify the faces in view, each with a person id.
Owns sample_faces, open_source, Sample and VideoSourceError.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from typing import NamedTuple

import cv2
import numpy as np

from core.model.classifier import EmotionClassifier, FacePrediction
from core.vision.faces import Detector, make_detector
from core.vision.track import PersonTracker


class VideoSourceError(RuntimeError):
    """The camera or video file cannot be opened."""


class Sample(NamedTuple):
    seconds: float
    """Position in the video file, or wall-clock time (seconds since the epoch) for a camera."""
    frame: np.ndarray
    faces: list[FacePrediction]
    """Largest first, each with ``person`` set."""


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
    detector: Detector | None = None,
    interval: float = 1.0,
    max_samples: int | None = None,
) -> Iterator[Sample]:
    """Every ``interval`` seconds (of video time for a file, of wall time for a camera) one sample."""
    detector = detector or make_detector(video=True)
    tracker = PersonTracker(max_age_s=max(3.0, 3 * interval))
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
            faces = classifier.analyze_frame(frame, detector)
            people = tracker.update([face.box for face in faces], seconds)
            yield Sample(seconds, frame, [replace(f, person=p) for f, p in zip(faces, people, strict=True)])
    finally:
        capture.release()
