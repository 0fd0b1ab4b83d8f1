"""Choosing the input smoothing's width on PublicTest, after selection, as the temperature is chosen.
Owns SIGMAS, with_members_smoothed and fit_input_smoothing.

The criterion is the log-loss of the probabilities the product shows (flip-averaged unless the model is served
without flip TTA): it uses
every face's probability, not only whether the top label is right, so it moves less with the noise
of 3,589 faces than accuracy does over a grid of eight widths.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras

from core.data import FerDataset
from core.evaluation.metrics import evaluate
from core.model.calibration import log_loss
from core.model.classifier import EmotionClassifier
from core.model.ensemble import build_ensemble
from core.model.smoothing import with_input_smoothing

SIGMAS: tuple[float, ...] = (0.0, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
"""Widths tried, in pixels of the 48x48 face; 0 is the network as trained."""


def with_members_smoothed(members: Sequence[keras.Model], sigma: float) -> keras.Model:
    """The product model from trained networks: each blurred by ``sigma``, averaged when there are several.

    Each member carries its own blur, so an ensemble's members stay whole models (Grad-CAM explains them one by one).
    """
    smoothed = [with_input_smoothing(member, sigma) for member in members]
    return smoothed[0] if len(smoothed) == 1 else build_ensemble(smoothed)


def fit_input_smoothing(
    members: Sequence[keras.Model], validation: FerDataset, sigmas: Sequence[float] = SIGMAS, flip_tta: bool = True
) -> tuple[float, list[dict[str, float]]]:
    """The width with the lowest log-loss on ``validation``, and every width's accuracy and log-loss."""
    rows = []
    for sigma in sigmas:
        model = with_members_smoothed(members, sigma)
        metrics, probabilities = evaluate(EmotionClassifier(model, flip_tta=flip_tta), validation)
        rows.append({"sigma": float(sigma), "accuracy": metrics["accuracy"],
                     "log_loss": log_loss(probabilities, validation.labels)})
    best = min(rows, key=lambda row: row["log_loss"])
    return best["sigma"], rows
