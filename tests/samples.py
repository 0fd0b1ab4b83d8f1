"""A sample photo and clip with faces that need no data set: the Video page's drawn (synthetic) faces.

Tests that run commands as a user would (the README's examples, the quiet console) feed them these.
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parent.parent
if str(REPO / "dashboard") not in sys.path:  # as Streamlit does for the pages
    sys.path.insert(0, str(REPO / "dashboard"))

from components.video_sample import SAMPLE_NAME, sample_clip  # noqa: E402

SAMPLE_FACES = 2
"""Faces in every frame of the clip (and so in the photo)."""


def write_sample_clip(path: Path) -> Path:
    """The sample clip (two drawn faces, 5 s at 15 fps, 480x272) at ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(sample_clip(path.parent))
    if path.name != SAMPLE_NAME:
        (path.parent / SAMPLE_NAME).unlink()
    return path


def write_sample_photo(path: Path) -> Path:
    """The sample clip's first frame as an image at ``path`` (any format OpenCV writes, by its suffix)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = cv2.imdecode(np.frombuffer(_first_frame_png(), np.uint8), cv2.IMREAD_COLOR)
    assert cv2.imwrite(str(path), frame)
    return path


def _first_frame_png() -> bytes:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        clip = write_sample_clip(Path(folder) / SAMPLE_NAME)
        capture = cv2.VideoCapture(str(clip))
        ok, frame = capture.read()
        capture.release()
    assert ok, "could not read the sample clip's first frame"
    return cv2.imencode(".png", frame)[1].tobytes()
