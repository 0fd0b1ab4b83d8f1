"""Grad-CAM overlays for the pages: which pixels each prediction rests on, as RGB images ready for ``st.image``.
Owns saliency_images (cached per model, face and class) and SALIENCY_HELP; the maps are :mod:`core.model.saliency`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import streamlit as st

from components.images import bgr_to_rgb
from core.model.classifier import EmotionClassifier

SHOWN_SIZE = 192
"""Side in pixels of an overlay on a page that does not choose one."""
SALIENCY_HELP = ("Grad-CAM: the warmer (red) an area, the more it raised the score of the class named in the caption; "
                 "blue areas did not.")


@st.cache_data(max_entries=256, show_spinner="Computing saliency…")
def _overlays(model_key: str, faces: np.ndarray, targets: tuple[int, ...], size: int,
              _classifier: EmotionClassifier) -> list[np.ndarray]:
    from core.model.saliency import saliency_overlays  # here: Grad-CAM needs TensorFlow, the pages' import does not

    overlays = saliency_overlays(_classifier.model, faces, targets, size, flip_tta=_classifier.flip_tta)
    return [bgr_to_rgb(image) for image in overlays]


def saliency_images(classifier: EmotionClassifier, model_key: str, faces: np.ndarray, targets: Sequence[int],
                    size: int = SHOWN_SIZE) -> list[np.ndarray]:
    """One RGB Grad-CAM overlay per uint8 48x48 face, explaining ``targets`` (one class per face).

    ``model_key`` names the model version (path and mtime): the cache key, as the classifier itself is not hashed.
    """
    faces = np.ascontiguousarray(faces, dtype=np.uint8).reshape(-1, *np.shape(faces)[-2:])
    return _overlays(model_key, faces, tuple(int(target) for target in targets), size, classifier)
