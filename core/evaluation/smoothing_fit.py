"""Choosing the input smoothing's width on PublicTest, after selection, as the temperature is chosen.
Owns SIGMAS, with_members_smoothed and fit_input_smoothing.

Each network gets its own width, chosen together for the model's output. The criterion is log-loss (of
flip-averaged probabilities unless the model is served without flip TTA), or for networks of the FER+ votes the
cross-entropy to each face's vote distribution: it uses every face's probability, not only whether the top label
is right, so it moves less with the noise of 3,589 faces than accuracy does over a grid of eight widths.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import keras
import numpy as np

from core.data import FerDataset
from core.evaluation.metrics import evaluate
from core.model.calibration import cross_entropy, log_loss
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
    members: Sequence[keras.Model],
    validation: FerDataset,
    sigmas: Sequence[float] = SIGMAS,
    flip_tta: bool = True,
    targets: np.ndarray | None = None,
) -> tuple[list[float], list[list[dict[str, float]]]]:
    """Each network's width, and each network's accuracy and log-loss (``log_loss``) alone at every width; with
    ``targets`` (the faces' FER+ vote distributions, for networks of the votes) the cross-entropy to them
    (``cross_entropy``) instead.

    The widths are chosen together, as the combination whose averaged probabilities have the lowest loss on
    ``validation`` (every one of the ``len(sigmas) ** len(members)``; each network's probabilities at each width
    are computed once). Networks may want different widths: the mismatch depends on how each one's training
    resampled faces (three chained warps want more blur than one, ``train --single-warp``)."""
    criterion = "log_loss" if targets is None else "cross_entropy"

    def loss(probabilities: np.ndarray) -> float:
        return log_loss(probabilities, validation.labels) if targets is None else cross_entropy(probabilities, targets)

    probabilities, grids = [], []
    for member in members:
        by_width, rows = [], []
        for sigma in sigmas:
            classifier = EmotionClassifier(with_input_smoothing(member, sigma), flip_tta=flip_tta)
            metrics, member_probabilities = evaluate(classifier, validation)
            by_width.append(member_probabilities)
            rows.append({"sigma": float(sigma), "accuracy": metrics["accuracy"], criterion: loss(member_probabilities)})
        probabilities.append(by_width)
        grids.append(rows)

    def averaged_loss(picks: tuple[int, ...]) -> float:
        return loss(np.mean([probabilities[member][pick] for member, pick in enumerate(picks)], axis=0))

    best = min(itertools.product(range(len(sigmas)), repeat=len(members)), key=averaged_loss)
    return [float(sigmas[pick]) for pick in best], grids
