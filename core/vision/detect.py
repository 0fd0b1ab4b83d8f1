"""Where the faces are in a gray frame: OpenCV's frontal-face Haar cascade and the boxes it finds.
Owns Box, FaceDetector and HAAR_CASCADE; cropping a box to model input is :mod:`core.vision.crop`.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

HAAR_CASCADE = "haarcascade_frontalface_default.xml"


@dataclass(frozen=True)
class Box:
    x: int
    y: int
    w: int
    h: int


class FaceDetector:
    """OpenCV's frontal-face Haar cascade (opencv 4.x ships it)."""

    def __init__(
        self, scale_factor: float = 1.1, min_neighbors: int = 5, min_size: int = 24, downscale: float = 1.0
    ) -> None:
        path = cv2.data.haarcascades + HAAR_CASCADE
        self._cascade = cv2.CascadeClassifier(path)
        if self._cascade.empty():
            raise RuntimeError(f"could not load the Haar cascade {path}")
        self.scale_factor = scale_factor
        self.min_neighbors = min_neighbors
        self.min_size = min_size
        self.downscale = max(1.0, float(downscale))
        """Scan a frame shrunk by this factor (boxes are mapped back): much faster on video frames."""

    def detect(self, gray: np.ndarray) -> list[Box]:
        """Face boxes in a gray image, largest first; empty for frames too small to hold one."""
        if gray.shape[0] < self.min_size or gray.shape[1] < self.min_size:
            return []
        height, width = gray.shape[:2]
        small = gray
        if self.downscale > 1.0:
            size = (max(1, round(width / self.downscale)), max(1, round(height / self.downscale)))
            small = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
        fx, fy = width / small.shape[1], height / small.shape[0]
        min_side = max(1, round(self.min_size / max(fx, fy)))
        found = self._cascade.detectMultiScale(
            small, scaleFactor=self.scale_factor, minNeighbors=self.min_neighbors, minSize=(min_side, min_side)
        )
        boxes = [Box(round(x * fx), round(y * fy), round(w * fx), round(h * fy)) for x, y, w, h in found]
        return sorted(boxes, key=lambda box: box.w * box.h, reverse=True)
