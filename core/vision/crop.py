"""From a frame and its face boxes to model input: gray, crop with a margin, 48x48, scaled to [0, 1].
Owns to_gray, DEFAULT_MARGIN, FaceCrop, crop_face, resize_face and to_model_input.

This is the one preprocessing path. Training and evaluation start from 48x48 uint8 faces (already
cropped in FER-2013) and call :func:`to_model_input`; photos, live video and attacks call
:func:`core.vision.faces.extract_faces` first, which ends in the same 48x48 uint8 crops.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from core.labels import IMAGE_SIZE
from core.vision.detect import Box

DEFAULT_MARGIN = 0.01
"""Extra border around a detected box, as a fraction of its size.

FER-2013's faces are framed almost exactly like a Haar box: on PublicTest faces pasted into a
frame the box covers 97% of the pasted face, and a 1% margin gives the crop closest to the
original (mean pixel correlation 0.64 against 0.32 with 15%). Matching the training framing
is what keeps live accuracy close to test accuracy."""


@dataclass(frozen=True)
class FaceCrop:
    box: Box
    """Where the face is in the frame (before the margin)."""
    pixels: np.ndarray
    """48x48 uint8 grayscale crop."""


def to_gray(frame: np.ndarray) -> np.ndarray:
    """A uint8 gray image from a gray (H, W) / (H, W, 1), BGR or BGRA frame."""
    frame = np.asarray(frame)
    if frame.dtype != np.uint8:
        frame = np.clip(frame, 0, 255).astype(np.uint8)
    if frame.ndim == 2:
        return frame
    if frame.ndim == 3 and frame.shape[2] == 1:
        return frame[:, :, 0]
    if frame.ndim == 3 and frame.shape[2] == 3:
        return cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    if frame.ndim == 3 and frame.shape[2] == 4:
        return cv2.cvtColor(frame, cv2.COLOR_BGRA2GRAY)
    raise ValueError(f"expected a gray, BGR or BGRA image, got shape {frame.shape}")


def crop_face(gray: np.ndarray, box: Box, margin: float = DEFAULT_MARGIN) -> np.ndarray:
    """The box grown by ``margin`` on each side, clamped to the frame, as a 48x48 uint8 face."""
    pad_x, pad_y = round(box.w * margin), round(box.h * margin)
    top, bottom = max(box.y - pad_y, 0), min(box.y + box.h + pad_y, gray.shape[0])
    left, right = max(box.x - pad_x, 0), min(box.x + box.w + pad_x, gray.shape[1])
    crop = gray[top:bottom, left:right]
    if crop.size == 0:
        raise ValueError(f"box {box} lies outside the {gray.shape[1]}x{gray.shape[0]} frame")
    return resize_face(crop)


def resize_face(gray: np.ndarray) -> np.ndarray:
    """Any gray image resized to 48x48 (area interpolation when shrinking)."""
    if gray.shape == (IMAGE_SIZE, IMAGE_SIZE):
        return gray
    shrinking = gray.shape[0] > IMAGE_SIZE or gray.shape[1] > IMAGE_SIZE
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    return cv2.resize(gray, (IMAGE_SIZE, IMAGE_SIZE), interpolation=interpolation)


def to_model_input(faces: np.ndarray) -> np.ndarray:
    """uint8 faces (48, 48) or (N, 48, 48) as float32 (N, 48, 48, 1) in [0, 1]."""
    faces = np.asarray(faces)
    if faces.ndim == 2:
        faces = faces[None]
    if faces.shape[1:3] != (IMAGE_SIZE, IMAGE_SIZE):
        raise ValueError(f"expected 48x48 faces, got shape {faces.shape}")
    return (faces.reshape(-1, IMAGE_SIZE, IMAGE_SIZE, 1).astype(np.float32)) / 255.0
