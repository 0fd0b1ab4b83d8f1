"""Turn a face with eye points into a 48x48 crop framed like FER-2013's faces, eyes level.

FER-2013's faces were registered so that the face is centred and fills about the same share of
the image; matching that framing is what keeps live accuracy near test accuracy. The constants
below were measured (``python -m bench.detection --framing``): 3,589 PublicTest faces... see
:data:`CROP_EYE_DISTANCES`.
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
