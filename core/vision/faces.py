"""Every face of a frame as a 48x48 crop with its box, by either detector, chosen by name.
Owns make_detector, AlignedDetector, Detector, extract_faces, find_faces, FoundFaces and extract_tracked_faces.

``blazeface`` (the default): BlazeFace finds the face and its eyes; the face is turned upright about
the eyes, and the Haar cascade run on that small upright region frames it as FER-2013's faces are
framed (the eye-only crop of :mod:`core.vision.align` is the fallback when the cascade finds nothing).
``haar``: the cascade on the whole frame and :func:`core.vision.crop.crop_face`, upright faces only.
Figures: ``python -m bench.detection``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import cv2
import numpy as np

from core.vision import DETECTORS
from core.vision.align import aligned_face
from core.vision.blazeface import BlazeFace, Detection
from core.vision.crop import DEFAULT_MARGIN, FaceCrop, crop_face, to_gray
from core.vision.detect import Box, FaceDetector
from core.vision.track import Tracker

VIDEO_DOWNSCALE = 2.0
"""Haar scans video frames at half resolution: 2-3x faster, faces of 48 px and up still found."""
REGION_EYE_DISTANCES = 4.0
"""Side of the upright region the cascade frames the face in, in inter-eye distances."""
REGION_SIZE = 128
"""The region's side in pixels: big enough for a sharp 48x48 crop, small enough for a fast scan."""
EYES_ABOVE_CENTRE = 0.3
"""How far the eye line sits above the region's centre, in inter-eye distances (FER faces' mean)."""
FRAMING_REUSE_FRAMES = 8
"""In video, a person's framing (the cascade's box in their upright region, or its absence) is reused for
this many frames before the cascade runs again: the region follows the eyes, so the box barely moves, and the
cascade is the costliest step of a frame (about 7 ms a face, BlazeFace 5)."""


class AlignedDetector:
    """BlazeFace for where a face is and how it is turned; Haar on the upright region for its framing."""

    def __init__(self, blazeface: BlazeFace | None = None) -> None:
        self.blazeface = blazeface or BlazeFace()
        self.framer = FaceDetector(min_size=round(0.4 * REGION_SIZE))
        self._framings: dict[int, tuple[Box | None, int]] = {}
        """Person id -> (framing box, frames it has served); only the people of the last tracked frame."""

    def detect(self, gray: np.ndarray) -> list[Box]:
        """Face boxes (axis-aligned, in frame pixels), largest first."""
        return [detection.box for detection in self.blazeface.detect(gray)]

    def crops(self, gray: np.ndarray) -> list[FaceCrop]:
        """Every face as an upright 48x48 crop framed like FER-2013, with its box."""
        return [FaceCrop(d.box, self.framed(gray, d.eyes)) for d in self.blazeface.detect(gray)]

    def framed(
        self, gray: np.ndarray, eyes: tuple[tuple[float, float], tuple[float, float]], person: int | None = None
    ) -> np.ndarray:
        """The face with these eyes, eyes level, cropped to the cascade's box in the upright region.

        With a ``person`` id (video), that person's last framing is reused for up to
        :data:`FRAMING_REUSE_FRAMES` frames.
        """
        region = cv2.warpAffine(
            gray, region_matrix(eyes), (REGION_SIZE, REGION_SIZE), flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REPLICATE,
        )
        box = self._framing(region, person)
        if box is None:
            return aligned_face(gray, eyes)
        return crop_face(region, box, DEFAULT_MARGIN)

    def tracked_crops(
        self, gray: np.ndarray, found: list[Detection], tracker: Tracker, t: float
    ) -> tuple[list[FaceCrop], list[int]]:
        """:meth:`crops` of a video frame at ``t`` seconds from its detections, with each face's person id."""
        people = tracker.update([detection.box for detection in found], t)
        self._framings = {person: self._framings[person] for person in people if person in self._framings}
        crops = [FaceCrop(d.box, self.framed(gray, d.eyes, person)) for d, person in zip(found, people, strict=True)]
        return crops, people

    def _framing(self, region: np.ndarray, person: int | None) -> Box | None:
        """The cascade's box for the face at the region's centre (None: it found none), or the person's last one."""
        if person in self._framings:
            box, age = self._framings[person]
            if age < FRAMING_REUSE_FRAMES:
                self._framings[person] = (box, age + 1)
                return box
        centre = REGION_SIZE / 2
        boxes = [b for b in self.framer.detect(region) if abs(b.x + b.w / 2 - centre) < 0.2 * REGION_SIZE]
        box = boxes[0] if boxes else None
        if person is not None:
            self._framings[person] = (box, 1)
        return box


Detector = FaceDetector | AlignedDetector
"""Either detector: both have ``detect(gray) -> list[Box]``, largest first."""


def region_matrix(eyes: tuple[tuple[float, float], tuple[float, float]]) -> np.ndarray:
    """The 2x3 affine map from frame pixels to the upright square region around the face."""
    (right_x, right_y), (left_x, left_y) = eyes
    angle = math.degrees(math.atan2(left_y - right_y, left_x - right_x))
    distance = max(math.hypot(left_x - right_x, left_y - right_y), 1e-6)
    scale = REGION_SIZE / (REGION_EYE_DISTANCES * distance)
    centre = ((right_x + left_x) / 2, (right_y + left_y) / 2)
    matrix = cv2.getRotationMatrix2D(centre, angle, scale)
    matrix[:, 2] += (REGION_SIZE / 2 - centre[0], REGION_SIZE / 2 - EYES_ABOVE_CENTRE * distance * scale - centre[1])
    return matrix


def make_detector(name: str = "blazeface", video: bool = False) -> Detector:
    """The named detector; ``video`` trades Haar's smallest faces for speed (BlazeFace is fast as it is)."""
    if name == "blazeface":
        return AlignedDetector()
    if name == "haar":
        return FaceDetector(downscale=VIDEO_DOWNSCALE if video else 1.0)
    raise ValueError(f"unknown detector {name!r}; choose one of {', '.join(DETECTORS)}")


def extract_faces(frame: np.ndarray, detector: Detector, margin: float = DEFAULT_MARGIN) -> list[FaceCrop]:
    """Every detected face in a gray/BGR/BGRA frame as a 48x48 crop with its box, largest first.

    ``margin`` applies to Haar's boxes; BlazeFace's crops take the margin of the cascade's box in the region."""
    gray = to_gray(frame)
    if isinstance(detector, AlignedDetector):
        return detector.crops(gray)
    return [FaceCrop(box, crop_face(gray, box, margin)) for box in detector.detect(gray)]


class FoundFaces(NamedTuple):
    """A frame's detection step: its grey image and what the detector found (BlazeFace detections or boxes)."""

    gray: np.ndarray
    found: list


def find_faces(frame: np.ndarray, detector: Detector) -> FoundFaces:
    """The detection step of :func:`extract_tracked_faces` alone, so it can run ahead of the rest on another
    thread (the video path decodes and detects on its reading thread); a detector serves one thread at a time."""
    gray = to_gray(frame)
    if isinstance(detector, AlignedDetector):
        return FoundFaces(gray, detector.blazeface.detect(gray))
    return FoundFaces(gray, detector.detect(gray))


def extract_tracked_faces(
    frame: np.ndarray,
    detector: Detector,
    tracker: Tracker,
    t: float,
    found: FoundFaces | None = None,
    margin: float = DEFAULT_MARGIN,
) -> tuple[list[FaceCrop], list[int]]:
    """:func:`extract_faces` for a video frame at ``t`` seconds, with each face's person id from ``tracker``.

    Tracking comes before cropping so that BlazeFace's framing can be reused per person (see
    :data:`FRAMING_REUSE_FRAMES`); the crops are otherwise those of :func:`extract_faces`. ``found``:
    this frame's :func:`find_faces`, when it was run ahead.
    """
    gray, found_faces = found if found is not None else find_faces(frame, detector)
    if isinstance(detector, AlignedDetector):
        return detector.tracked_crops(gray, found_faces, tracker, t)
    crops = [FaceCrop(box, crop_face(gray, box, margin)) for box in found_faces]
    return crops, tracker.update([crop.box for crop in crops], t)
