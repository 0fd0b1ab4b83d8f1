"""The server's sample clip for the Video page: two drawn (synthetic, not FER-2013) faces drifting across a wall.
Owns sample_clip, which makes the clip on first use in the cache folder and returns its bytes.

The faces are cartoons drawn with OpenCV, so the clip is licence-clean and needs no data set: the
left one smiles, the right one's mouth turns down half-way through. The Haar cascade finds both.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from core.analysis.video_writer import H264Writer
from core.cache import cache_dir

SAMPLE_NAME = "sample_two_faces.mp4"
WIDTH, HEIGHT, FPS, SECONDS = 480, 272, 15, 5
FACE_SIZE = 120


def sample_clip(folder: Path | None = None) -> bytes:
    """The sample clip's MP4 bytes, written to ``folder`` (default the cache's ``samples/``) the first time."""
    path = (folder or cache_dir() / "samples") / SAMPLE_NAME
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".part.mp4")
        with H264Writer(partial, WIDTH, HEIGHT, FPS) as writer:
            for index in range(FPS * SECONDS):
                writer.write(_frame(index), index / FPS)
        partial.replace(path)  # whole or absent, even with two sessions making it at once
    return path.read_bytes()


def _frame(index: int) -> np.ndarray:
    frame = np.full((HEIGHT, WIDTH, 3), (90, 110, 100), np.uint8)
    drift = round(20 * np.sin(2 * np.pi * index / (3 * FPS)))
    _draw_face(frame, 120 + drift, 136, smile=1.0)
    _draw_face(frame, 360 - drift, 136, smile=1.0 if index < FPS * SECONDS // 2 else -1.0)
    return frame


def _draw_face(frame: np.ndarray, cx: int, cy: int, smile: float, s: int = FACE_SIZE) -> None:
    """A skin-toned oval with brows, eyes, a nose and a mouth curved up (``smile`` > 0) or down."""
    cv2.ellipse(frame, (cx, cy), (int(s * 0.42), int(s * 0.55)), 0, 0, 360, (150, 170, 200), -1)
    for side in (-1, 1):
        ex, ey = cx + side * int(s * 0.18), cy - int(s * 0.1)
        cv2.ellipse(frame, (ex, ey - int(s * 0.1)), (int(s * 0.11), int(s * 0.03)), 0, 180, 360, (40, 50, 60), -1)
        cv2.ellipse(frame, (ex, ey), (int(s * 0.09), int(s * 0.05)), 0, 0, 360, (240, 240, 240), -1)
        cv2.circle(frame, (ex, ey), int(s * 0.04), (30, 30, 30), -1)
    cv2.line(frame, (cx, cy - int(s * 0.05)), (cx - int(s * 0.04), cy + int(s * 0.12)), (110, 130, 160), 3)
    start, end = (0, 180) if smile > 0 else (180, 360)
    mouth = (int(s * 0.16), int(s * (0.07 * abs(smile) + 0.01)))
    cv2.ellipse(frame, (cx, cy + int(s * 0.25)), mouth, 0, start, end, (60, 60, 150), -1)
