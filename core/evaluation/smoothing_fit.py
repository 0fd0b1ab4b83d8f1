"""Choosing the input smoothing's width on PublicTest, after selection, as the temperature is chosen.
Owns SIGMAS, with_members_smoothed and fit_input_smoothing.

Each network gets its own width, fitted on it alone. The criterion is log-loss (of flip-averaged probabilities
unless the model is served without flip TTA): it uses every face's probability, not only whether the top label
is right, so it moves less with the noise of 3,589 faces than accuracy does over a grid of eight widths.
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


def with_members_smoothed(members: Sequence[keras.Model], sigmas: Sequence[float]) -> keras.Model:
    """The product model from trained networks: each blurred by its own width, averaged when there are several.

    Each member carries its own blur, so an ensemble's members stay whole models (Grad-CAM explains them one by one).
    """
    smoothed = [with_input_smoothing(member, sigma) for member, sigma in zip(members, sigmas, strict=True)]
    return smoothed[0] if len(smoothed) == 1 else build_ensemble(smoothed)


def fit_input_smoothing(
    members: Sequence[keras.Model], validation: FerDataset, sigmas: Sequence[float] = SIGMAS, flip_tta: bool = True
) -> tuple[list[float], list[list[dict[str, float]]]]:
    """Each network's own width, the lowest log-loss on ``validation`` of that network alone, and each one's
    accuracy and log-loss at every width.

    Each network is fitted alone because the mismatch is its own: it depends on how its training resampled
    faces (three chained warps want more blur than one, ``train --single-warp``)."""
    widths, grids = [], []
    for member in members:
        rows = []
        for sigma in sigmas:
            classifier = EmotionClassifier(with_input_smoothing(member, sigma), flip_tta=flip_tta)
            metrics, probabilities = evaluate(classifier, validation)
            rows.append({"sigma": float(sigma), "accuracy": metrics["accuracy"],
                         "log_loss": log_loss(probabilities, validation.labels)})
        widths.append(min(rows, key=lambda row: row["log_loss"])["sigma"])
        grids.append(rows)
    return widths, grids
