"""Images for display: enlarge 48x48 faces, BGR to RGB (uploads are decoded by :mod:`core.vision.image`).
Owns enlarge and bgr_to_rgb.
"""

from __future__ import annotations

import cv2
import numpy as np


def enlarge(face: np.ndarray, size: int = 192) -> np.ndarray:
    """A 48x48 face scaled up for display (smooth, not blocky)."""
    return cv2.resize(face, (size, size), interpolation=cv2.INTER_CUBIC)


def bgr_to_rgb(frame: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
