"""Every face of a frame as a 48x48 crop with its box, by either detector, chosen by name.
Owns make_detector, AlignedDetector, Detector and extract_faces.

``blazeface`` (the default): BlazeFace finds the face and its eyes; the face is turned upright about
the eyes, and the Haar cascade run on that small upright region frames it as FER-2013's faces are
framed (the eye-only crop of :mod:`core.vision.align` is the fallback when the cascade finds nothing).
``haar``: the cascade on the whole frame and :func:`core.vision.crop.crop_face`, upright faces only.
Figures: ``python -m bench.detection``.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from core.vision import DETECTORS
from core.vision.align import aligned_face
from core.vision.blazeface import BlazeFace
from core.vision.crop import DEFAULT_MARGIN, FaceCrop, crop_face, to_gray
from core.vision.detect import Box, FaceDetector

VIDEO_DOWNSCALE = 2.0
"""Haar scans video frames at half resolution: 2-3x faster, faces of 48 px and up still found."""
REGION_EYE_DISTANCES = 4.0
"""Side of the upright region the cascade frames the face in, in inter-eye distances."""
REGION_SIZE = 128
"""The region's side in pixels: big enough for a sharp 48x48 crop, small enough for a fast scan."""
EYES_ABOVE_CENTRE = 0.3
"""How far the eye line sits above the region's centre, in inter-eye distances (FER faces' mean)."""


class AlignedDetector:
    """BlazeFace for where a face is and how it is turned; Haar on the upright region for its framing."""

    def __init__(self, blazeface: BlazeFace | None = None) -> None:
        self.blazeface = blazeface or BlazeFace()
        self.framer = FaceDetector(min_size=round(0.4 * REGION_SIZE))

    def detect(self, gray: np.ndarray) -> list[Box]:
        """Face boxes (axis-aligned, in frame pixels), largest first."""
        return [detection.box for detection in self.blazeface.detect(gray)]

    def crops(self, gray: np.ndarray) -> list[FaceCrop]:
        """Every face as an upright 48x48 crop framed like FER-2013, with its box."""
        return [FaceCrop(d.box, self.framed(gray, d.eyes)) for d in self.blazeface.detect(gray)]

    def framed(self, gray: np.ndarray, eyes: tuple[tuple[float, float], tuple[float, float]]) -> np.ndarray:
        """The face with these eyes, eyes level, cropped to the cascade's box in the upright region."""
        region = cv2.warpAffine(
            gray, region_matrix(eyes), (REGION_SIZE, REGION_SIZE), flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REPLICATE,
        )
        centre = REGION_SIZE / 2
        boxes = [b for b in self.framer.detect(region) if abs(b.x + b.w / 2 - centre) < 0.2 * REGION_SIZE]
        if not boxes:
            return aligned_face(gray, eyes)
        return crop_face(region, boxes[0], DEFAULT_MARGIN)


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
