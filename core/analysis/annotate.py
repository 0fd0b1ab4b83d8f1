"""Draw faces onto frames: a box and a label per face ('Happy 81%'; '#2 Happy 81%' for a tracked person;
'Happy? 45%' below the model's uncertain threshold).
Owns draw_predictions, draw_people and EMOTION_COLOURS_BGR (the one colour per emotion the dashboard reuses).
"""

from __future__ import annotations

import cv2
import numpy as np

from core.analysis.tracked import TrackedFace
from core.labels import FERPLUS
from core.model.classifier import FacePrediction

# One BGR colour per emotion, in FER+'s label order (FER-2013's seven, then Contempt).
EMOTION_COLOURS_BGR: tuple[tuple[int, int, int], ...] = (
    (60, 60, 230),  # Angry: red
    (60, 160, 60),  # Disgust: green
    (180, 80, 160),  # Fear: purple
    (40, 200, 250),  # Happy: yellow
    (200, 120, 40),  # Sad: blue
    (40, 140, 250),  # Surprise: orange
    (170, 170, 170),  # Neutral: grey
    (150, 150, 40),  # Contempt: teal
)
assert len(EMOTION_COLOURS_BGR) == len(FERPLUS)


def draw_predictions(frame: np.ndarray, predictions: list[FacePrediction]) -> np.ndarray:
    """A BGR copy of the frame with each face boxed and labelled."""
    if frame.ndim == 2:
        canvas = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
    elif frame.shape[2] == 4:
        canvas = cv2.cvtColor(frame, cv2.COLOR_BGRA2BGR)
    else:
        canvas = frame.copy()
    for prediction in predictions:
        box = prediction.box
        person = "" if prediction.person is None else f"#{prediction.person} "
        text = f"{person}{prediction.display_label}"
        _box_and_label(canvas, (box.x, box.y, box.w, box.h), prediction.label_index, text, box.w / 220)
    return canvas


def draw_people(frame: np.ndarray, faces: list[TrackedFace]) -> np.ndarray:
    """Draws each tracked face on the BGR ``frame`` itself (a decoded frame is ours to mark) and returns it."""
    for face in faces:
        text = f"#{face.person} {face.display_label}"
        _box_and_label(frame, face.box, face.label_index, text, face.box[2] / 260)
    return frame


def _box_and_label(
    canvas: np.ndarray, box: tuple[int, int, int, int], label_index: int, text: str, scale: float
) -> None:
    """A box in the emotion's colour with ``text`` on a filled tab above it (below it at the frame's top edge)."""
    x, y, w, h = box
    colour = EMOTION_COLOURS_BGR[label_index]
    thickness = max(1, round(max(canvas.shape[:2]) / 400))
    scale = max(0.4, scale)
    cv2.rectangle(canvas, (x, y), (x + w, y + h), colour, thickness + 1)
    (width, height), baseline = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
    top = y - height - baseline - 4 if y - height - baseline - 4 >= 0 else y + h
    cv2.rectangle(canvas, (x, top), (x + width + 4, top + height + baseline + 4), colour, -1)
    cv2.putText(canvas, text, (x + 2, top + height + 2), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), thickness,
                cv2.LINE_AA)
