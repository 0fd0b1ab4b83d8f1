"""Images for display and from uploads: decode uploaded bytes, enlarge 48x48 faces, BGR to RGB.
Owns decode_image (uploads, scaled down to MAX_PHOTO_SIDE), enlarge and bgr_to_rgb.
"""

from __future__ import annotations

import cv2
import numpy as np

MAX_PHOTO_SIDE = 1600
"""Larger uploads are scaled down first: Haar detection time grows with the pixel count."""


def decode_image(data: bytes) -> np.ndarray | None:
    """A BGR image from encoded bytes, or ``None`` when they are not an image OpenCV can read."""
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR) if data else None
    if image is None or image.size == 0:
        return None
    scale = MAX_PHOTO_SIDE / max(image.shape[:2])
    if scale < 1:
        image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    return image


def enlarge(face: np.ndarray, size: int = 192) -> np.ndarray:
    """A 48x48 face scaled up for display (smooth, not blocky)."""
    return cv2.resize(face, (size, size), interpolation=cv2.INTER_CUBIC)


def bgr_to_rgb(frame: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
