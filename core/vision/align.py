"""Turn a face with eye points into a 48x48 crop framed like FER-2013's faces, eyes level.
Owns CROP_EYE_DISTANCES, EYE_LINE, alignment_matrix and aligned_face (the eye-only framing).

FER-2013's faces are not framed alike (their eye lines are not even level), so the framing is a
compromise measured on the data: 150 PublicTest faces pasted at 160 and 240 px into 640x480 grey
frames, rolled by 0, 15, 30 and 45 degrees, found by BlazeFace and cropped on a grid of both
constants; the pair with the highest mean pixel correlation between the aligned 48x48 crop and the
original face was 2.6 eye distances and an eye line at 0.38 (mean correlation 0.51; 0.52 upright,
0.48 at 45 degrees; each size and roll alone picked a pair within 0.1 eye distance of it, and
400 faces gave the same pair).
Rerun: ``python -m bench.detection --framing``. Framing by BlazeFace's box instead reached 0.47,
a least-squares fit of all six keypoints to their mean FER positions 0.45-0.50. A Haar box on an
upright face reaches 0.64: FER's crops look like a Haar-style detector's boxes, which no keypoint
rule reproduces exactly.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from core.labels import IMAGE_SIZE

CROP_EYE_DISTANCES = 2.6
"""Side of the crop, in inter-eye distances."""
EYE_LINE = 0.38
"""Height of the eye line in the crop, as a fraction of its side from the top."""


def alignment_matrix(
    eyes: tuple[tuple[float, float], tuple[float, float]],
    size: int = IMAGE_SIZE,
    crop_eye_distances: float = CROP_EYE_DISTANCES,
    eye_line: float = EYE_LINE,
) -> np.ndarray:
    """The 2x3 affine map from frame pixels to a ``size`` square crop with the eyes level.

    ``eyes`` are the person's right eye then left eye (image left, then image right when upright).
    Rotation, scale and translation are one matrix so the crop is resampled once.
    """
    (right_x, right_y), (left_x, left_y) = eyes
    angle = math.degrees(math.atan2(left_y - right_y, left_x - right_x))
    distance = max(math.hypot(left_x - right_x, left_y - right_y), 1e-6)
    centre = ((right_x + left_x) / 2, (right_y + left_y) / 2)
    matrix = cv2.getRotationMatrix2D(centre, angle, size / (crop_eye_distances * distance))
    matrix[:, 2] += (size / 2 - centre[0], eye_line * size - centre[1])
    return matrix


def aligned_face(
    gray: np.ndarray,
    eyes: tuple[tuple[float, float], tuple[float, float]],
    size: int = IMAGE_SIZE,
    crop_eye_distances: float = CROP_EYE_DISTANCES,
    eye_line: float = EYE_LINE,
) -> np.ndarray:
    """A ``size`` x ``size`` uint8 crop of a gray frame, rotated so the eyes are level, framed like FER-2013.

    Parts of the crop outside the frame repeat the frame's border pixels.
    """
    matrix = alignment_matrix(eyes, size, crop_eye_distances, eye_line)
    return cv2.warpAffine(gray, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
