"""Draw predictions onto frames: a box and 'Emotion NN%' per face ('Emotion? NN%' when uncertain).
Owns draw_predictions and EMOTION_COLOURS_BGR (the one colour per emotion the dashboard reuses).
"""

from __future__ import annotations

import cv2
import numpy as np

from core.labels import EMOTIONS
from core.model.classifier import FacePrediction

# One BGR colour per emotion, in label order.
EMOTION_COLOURS_BGR: tuple[tuple[int, int, int], ...] = (
    (60, 60, 230),  # Angry: red
    (60, 160, 60),  # Disgust: green
    (180, 80, 160),  # Fear: purple
    (40, 200, 250),  # Happy: yellow
    (200, 120, 40),  # Sad: blue
    (40, 140, 250),  # Surprise: orange
    (170, 170, 170),  # Neutral: grey
)
assert len(EMOTION_COLOURS_BGR) == len(EMOTIONS)


def draw_predictions(frame: np.ndarray, predictions: list[FacePrediction]) -> np.ndarray:
    """A BGR copy of the frame with each face boxed and labelled."""
    if frame.ndim == 2:
        canvas = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
    elif frame.shape[2] == 4:
        canvas = cv2.cvtColor(frame, cv2.COLOR_BGRA2BGR)
    else:
        canvas = frame.copy()
    thickness = max(1, round(max(canvas.shape[:2]) / 400))
    for prediction in predictions:
        box = prediction.box
        colour = EMOTION_COLOURS_BGR[prediction.label_index]
        cv2.rectangle(canvas, (box.x, box.y), (box.x + box.w, box.y + box.h), colour, thickness + 1)
        text = prediction.display_label
        scale = max(0.4, box.w / 220)
        (width, height), baseline = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
        top = box.y - height - baseline - 4 if box.y - height - baseline - 4 >= 0 else box.y + box.h
        cv2.rectangle(canvas, (box.x, top), (box.x + width + 4, top + height + baseline + 4), colour, -1)
        cv2.putText(canvas, text, (box.x + 2, top + height + 2), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0),
                    thickness, cv2.LINE_AA)
    return canvas
