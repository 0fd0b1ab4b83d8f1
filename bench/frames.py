"""Test frames: real FER PublicTest faces pasted, upscaled, on a grey 640x480 background."""

from __future__ import annotations

import itertools

import cv2
import numpy as np

FRAME_WIDTH, FRAME_HEIGHT = 640, 480
BACKGROUND = 128
ONE_FACE_SIZE = 170
THREE_FACE_SIZES = (150, 170, 190)


def grey_frame(width: int = FRAME_WIDTH, height: int = FRAME_HEIGHT) -> np.ndarray:
    return np.full((height, width, 3), BACKGROUND, dtype=np.uint8)


def paste(frame: np.ndarray, face: np.ndarray, x: int, y: int, size: int) -> None:
    """Paste a 48x48 gray face upscaled to ``size`` px at (x, y), in place, as BGR."""
    big = cv2.resize(face, (size, size), interpolation=cv2.INTER_CUBIC)
    frame[y : y + size, x : x + size] = big[:, :, None]


def frame_with_faces(faces: list[np.ndarray], sizes: tuple[int, ...] | None = None) -> np.ndarray:
    """A 640x480 BGR frame with the faces side by side, vertically centred, evenly spaced."""
    frame = grey_frame()
    if not faces:
        return frame
    sizes = sizes or (ONE_FACE_SIZE,) * len(faces)
    gap = (FRAME_WIDTH - sum(sizes)) // (len(faces) + 1)
    if gap < 0:
        raise ValueError("faces do not fit in the frame")
    x = gap
    for face, size in zip(faces, sizes, strict=True):
        paste(frame, face, x, (FRAME_HEIGHT - size) // 2, size)
        x += size + gap
    return frame


def detectable_faces(candidates: np.ndarray, detector, wanted: int = 3, max_tries: int = 300) -> tuple[list, int]:
    """``wanted`` candidate faces that the detector finds: alone (each at every size used) and together.

    Candidates are tried in order; each one found exactly once alone at every size joins a pool,
    and the first ``wanted`` of the pool that are all found side by side in one frame are
    returned. Returns the faces (fewer if none fit) and how many candidates were tried.
    """
    from core.vision.crop import to_gray

    def found(faces, sizes) -> int:
        return len(detector.detect(to_gray(frame_with_faces(list(faces), sizes))))

    sizes = THREE_FACE_SIZES[:wanted] if wanted == len(THREE_FACE_SIZES) else None
    pool: list[np.ndarray] = []
    tried = 0
    for face in candidates[:max_tries]:
        tried += 1
        if not all(found([face], (size,)) == 1 for size in (ONE_FACE_SIZE, *THREE_FACE_SIZES)):
            continue
        pool.append(face)
        if len(pool) < wanted:
            continue
        for group in itertools.combinations(range(len(pool) - 1), wanted - 1):
            chosen = [pool[index] for index in group] + [pool[-1]]
            if found(chosen, sizes) == wanted:
                return chosen, tried
        if len(pool) >= 8:
            break
    return pool[:wanted], tried
