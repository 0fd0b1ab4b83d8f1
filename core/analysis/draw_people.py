"""Draw tracked faces onto a video frame: a box per face and a '#2 Happy 81%' label (person, emotion, confidence).
A confidence below the model's uncertain threshold reads '#2 Sad? 41%'.
"""

from __future__ import annotations

import cv2
import numpy as np

from core.analysis.annotate import EMOTION_COLOURS_BGR
from core.analysis.tracked import TrackedFace


def draw_people(frame: np.ndarray, faces: list[TrackedFace]) -> np.ndarray:
    """Draws on the BGR ``frame`` itself (a decoded frame is ours to mark) and returns it."""
    thickness = max(1, round(max(frame.shape[:2]) / 400))
    for face in faces:
        x, y, w, h = face.box
        colour = EMOTION_COLOURS_BGR[face.label_index]
        cv2.rectangle(frame, (x, y), (x + w, y + h), colour, thickness + 1)
        text = f"#{face.person} {face.display_label}"
        scale = max(0.4, w / 260)
        (width, height), baseline = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
        top = y - height - baseline - 4 if y - height - baseline - 4 >= 0 else y + h
        cv2.rectangle(frame, (x, top), (x + width + 4, top + height + baseline + 4), colour, -1)
        cv2.putText(
            frame, text, (x + 2, top + height + 2), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), thickness, cv2.LINE_AA
        )
    return frame
